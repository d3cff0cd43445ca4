"""The monthly job: logs -> features -> model -> checks -> gate -> stored run."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import joblib
import pandas as pd
from sklearn.base import clone

from mlwatch.checks import rules as ck
from mlwatch.ingest import db
from mlwatch.state import store
from mlwatch.governance.auth import User, require
from mlwatch.config import Config
from mlwatch.monthly.drift import DriftReport, compute_drift
from mlwatch.errors import ConfigError, InputError, MlwatchError
from mlwatch.monthly.estimate import MaeEstimate, estimate_mae, fit_error_model
from mlwatch.monthly.features import (
    FeatureStats,
    build_features,
    month_activity,
    months_present,
    next_month,
    parse_month,
    summarise_features,
)
from mlwatch.checks.gate import GateDecision, evaluate_gate
from mlwatch.monthly.histograms import run_histograms
from mlwatch.ingest.logs import IngestReport, find_log_files, read_events
from mlwatch.monthly.model import TrainedModel, evaluate_predictions, predict, train_model
from mlwatch.monthly.vocabulary import VocabularyDiff, diff_vocabulary, event_counts


@dataclass(frozen=True)
class RunResult:
    """A stored run: its decision and the JSON summary of DESIGN.md."""

    run_id: str
    gate: GateDecision
    checks: tuple[ck.CheckResult, ...]
    summary: dict[str, Any]
    path: Path


@dataclass(frozen=True)
class LoadedLogs:
    """Logs read once into a DuckDB session, for several runs (backfill)."""

    con: duckdb.DuckDBPyConnection
    logs: str
    ingest: IngestReport

    def months(self) -> list[str]:
        """The months with at least one valid event, in order."""
        return months_present(self.con)


def connect(config: Config, state: str | Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB session with the [engine] limits, spilling to its temp folder (by default ``<state>/tmp``).

    Raises:
        ConfigError: the spill folder cannot be created.
    """
    engine = config.engine
    temp = Path(engine.temp_directory) if engine.temp_directory else store.state_dir(state) / "tmp"
    try:
        temp.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{temp}: cannot create DuckDB's spill folder ({exc.strerror}); "
            "set [engine] temp_directory to a writable folder"
        ) from exc
    return db.connect(memory_limit=engine.memory_limit, temp_directory=str(temp), threads=engine.threads)


def load_logs(logs: str | Path, config: Config, state: str | Path) -> LoadedLogs:
    """Read the logs once; the caller closes ``con``.

    Raises:
        InputError: unusable logs.
        ConfigError: the spill folder cannot be created.
    """
    con = connect(config, state)
    try:
        with _engine_errors(str(logs)):
            return LoadedLogs(con, str(logs), read_events(con, str(logs), config.columns))
    except BaseException:
        con.close()
        raise


@contextlib.contextmanager
def _engine_errors(logs: str) -> Iterator[None]:
    """Turn a DuckDB failure past reading (out of memory or spill space at scale) into a one-line error."""
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise InputError(
            f"{logs}: DuckDB ran out of memory or spill space ({str(exc).splitlines()[0]}); raise [engine] "
            "memory_limit or point [engine] temp_directory to a disk with more room"
        ) from exc
    except duckdb.Error as exc:
        raise InputError(f"{logs}: DuckDB failed ({str(exc).splitlines()[0]}); nothing was stored") from exc


@dataclass(frozen=True)
class _Months:
    reference: str
    current: str
    present: tuple[str, ...]

    @property
    def has_actuals(self) -> bool:
        return next_month(self.current) in self.present


def run_monthly(
    logs: str | Path,
    reference: str,
    current: str,
    config: Config,
    state: str | Path,
    started_by: str = "cli",
    progress: Callable[[str], None] | None = None,
    user: User | None = None,
    loaded: LoadedLogs | None = None,
    measure_actuals: bool = True,
) -> RunResult:
    """Run the monthly job and store it as a new, immutable run.

    Args:
        progress: called with a short description as each stage starts.
        user: the dashboard user starting the run (must be allowed to run); recorded as its starter.
        loaded: logs already read by ``load_logs`` (backfill reads them once for every month).
        measure_actuals: afterwards, measure the actual performance of stored runs of these logs
            whose next month is now in the logs.

    Raises:
        PermissionDenied: ``user`` may not start runs.
        InputError: unusable logs or months; nothing is stored then.
        ConfigError, StateError: as raised by the config and the store.
    """
    if user is not None:
        started_by = require(user, "run").name
    parse_month(reference)
    parse_month(current)
    if reference >= current:
        raise InputError(f"--reference {reference} must be before --current {current}")
    con = loaded.con if loaded else connect(config, state)
    try:
        with _engine_errors(str(logs)):
            result = _run(
                con,
                str(logs),
                reference,
                current,
                config,
                state,
                started_by,
                _Stages(progress or _silent),
                loaded.ingest if loaded else None,
            )
            if measure_actuals:
                measure_stored_actuals(con, state, str(logs))
        return result
    finally:
        if loaded is None:
            con.close()


def measure_stored_actuals(con: duckdb.DuckDBPyConnection, state: str | Path, logs: str) -> None:
    """Measure stored runs whose next month is in the loaded logs; a failure is logged, never raised."""
    from mlwatch.state.performance import update_actuals

    try:
        update_actuals(con, state, logs)
    except (MlwatchError, duckdb.Error) as exc:  # the run itself is stored; its actuals can be measured later
        logging.getLogger(__name__).warning("actual performance not measured: %s", exc)


class _Stages:
    """Reports each stage as it starts and times it (the timings go into the run summary)."""

    def __init__(self, progress: Callable[[str], None]) -> None:
        self._progress = progress
        self._stage: str | None = None
        self._started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str) -> None:
        self.finish()
        self._stage, self._started = stage, time.perf_counter()
        self._progress(stage)

    def finish(self) -> None:
        if self._stage is not None:
            self.seconds[self._stage] = round(time.perf_counter() - self._started, 3)
            self._stage = None


def _run(
    con: duckdb.DuckDBPyConnection,
    logs: str,
    reference: str,
    current: str,
    config: Config,
    state: str | Path,
    started_by: str,
    progress: _Stages,
    ingest: IngestReport | None = None,
) -> RunResult:
    progress("Reading the logs")
    ingest = ingest or read_events(con, logs, config.columns)
    months = _require_months(con, logs, reference, current)
    names = list(config.features)
    progress("Building the monthly features")
    ref = build_features(con, reference, config.features, config.target_events())
    cur = build_features(con, current, config.features, config.target_events() if months.has_actuals else None)
    if months.has_actuals:
        cur = cur.rename(columns={"target": "actual"})
    progress("Training the model on the reference month")
    model = train_model(ref, names)
    ref["prediction"], cur["prediction"] = predict(model, ref), predict(model, cur)
    progress("Checking the current month against the reference month")
    stats = {
        "reference": summarise_features(con, ref, [*names, "prediction"]),
        "current": summarise_features(con, cur, [*names, "prediction"]),
    }
    activity = {"reference": month_activity(con, reference), "current": month_activity(con, current)}
    vocab = diff_vocabulary(event_counts(con, reference), event_counts(con, current), config.features)
    thresholds = {name: config.threshold("drift", name) for name in names}
    thresholds["prediction"] = config.threshold("prediction_drift")
    drift = compute_drift(ref, cur, [*names, "prediction"], thresholds, config.drift.sample_size, config.drift.seed)
    labels = ck.MonthLabels.of(reference, current)
    results = _checks(config, ingest, stats, activity, vocab, drift, labels, months)
    progress("Estimating this month's error before its purchases are known")
    estimate = estimate_mae(fit_error_model(ref, names, clone(model.estimator)), cur)
    results.append(_estimated_mae_check(config, estimate, labels))
    gate = evaluate_gate(results)
    run_id = store.new_run_id(current)
    summary = _summary(run_id, logs, months, gate, results, vocab, ingest, stats, activity, drift, model, cur, config)
    summary["histograms"] = run_histograms(ref, cur, names)
    summary["estimate"] = estimate.to_json()
    summary["inputs_fingerprint"] = input_fingerprint(logs, config.to_dict())
    summary["fingerprint"] = _fingerprint(summary["inputs_fingerprint"], results, summary)
    record = store.RunRecord(
        run_id=run_id,
        created_at=summary["created_at"],
        reference_month=reference,
        current_month=current,
        logs=logs,
        gate=gate.status,
        fingerprint=summary["fingerprint"],
        inputs_fingerprint=summary["inputs_fingerprint"],
        config=config.to_dict(),
        users=len(cur),
        events=activity["current"]["events"],
        rows_read=ingest.rows_read,
        rows_rejected=ingest.rows_rejected,
        duplicates=ingest.duplicates,
        started_by=started_by,
    )

    def write(folder: Path) -> None:
        ref.to_parquet(folder / "features_reference.parquet", index=False)
        cur.to_parquet(folder / "features_current.parquet", index=False)
        (folder / "report.html").write_text(drift.html, encoding="utf-8")
        (folder / "report.json").write_text(json.dumps(drift.json), encoding="utf-8")
        joblib.dump(model, folder / "model.joblib")
        progress.finish()
        summary["seconds"] = progress.seconds  # each stage's wall time (storing: up to this file)
        (folder / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")

    progress("Storing the run")
    path = store.save_run(state, record, results, write)
    return RunResult(run_id, gate, tuple(results), summary, path)


def _silent(_: str) -> None:
    return None


def _require_months(con: duckdb.DuckDBPyConnection, logs: str, reference: str, current: str) -> _Months:
    present = tuple(months_present(con))
    found = f"months with events: {', '.join(present)}"
    for month, role in ((reference, "reference"), (next_month(reference), "target"), (current, "current")):
        if month not in present:
            why = (
                "the model's target is the purchases of the month after the reference month" if role == "target" else ""
            )
            raise InputError(f"{logs}: no events in {month} ({role} month{'; ' + why if why else ''}); {found}")
    return _Months(reference, current, present)


def _checks(
    config: Config,
    ingest: IngestReport,
    stats: dict[str, dict[str, FeatureStats]],
    activity: dict[str, dict[str, Any]],
    vocab: VocabularyDiff,
    drift: DriftReport,
    labels: ck.MonthLabels,
    months: _Months,
) -> list[ck.CheckResult]:
    duplicates = {
        "reference": ingest.duplicates_by_month.get(months.reference, 0),
        "current": ingest.duplicates_by_month.get(months.current, 0),
    }
    events = {key: activity[key]["events"] for key in ("reference", "current")}
    results = [
        ck.check_rejected_rows(ingest, config.threshold("rejected_rows")),
        ck.check_duplicates(duplicates, events, config.threshold("duplicates"), labels),
        ck.check_volume(activity["reference"], activity["current"], config.threshold("volume_ratio"), labels),
        ck.check_vocabulary(vocab, config.features, labels),
    ]
    ref, cur = stats["reference"], stats["current"]
    for name in config.features:
        results.append(
            ck.check_missing_rate(name, ref[name], cur[name], config.threshold("missing_rate_change", name), labels)
        )
    for name in config.features:
        results.append(
            ck.check_zero_rate(name, ref[name], cur[name], config.threshold("zero_rate_change", name), labels)
        )
    for name in config.features:
        results.append(ck.check_drift(name, drift.scores[name], config.threshold("drift", name), labels))
    results.append(ck.check_drift(None, drift.scores["prediction"], config.threshold("prediction_drift"), labels))
    return results


def _estimated_mae_check(config: Config, estimate: MaeEstimate, labels: ck.MonthLabels) -> ck.CheckResult:
    return ck.check_estimated_mae(
        estimate.estimated_mae,
        estimate.lower,
        estimate.upper,
        estimate.reference_mae,
        config.checks.estimated_mae_ratio,
        config.checks.estimated_mae_fails,
        labels,
    )


def _summary(
    run_id: str,
    logs: str,
    months: _Months,
    gate: GateDecision,
    results: list[ck.CheckResult],
    vocab: VocabularyDiff,
    ingest: IngestReport,
    stats: dict[str, dict[str, FeatureStats]],
    activity: dict[str, dict[str, Any]],
    drift: DriftReport,
    model: TrainedModel,
    cur: pd.DataFrame,
    config: Config,
) -> dict[str, Any]:
    actual = (
        evaluate_predictions(cur["actual"].to_numpy(), cur["prediction"].to_numpy()) if months.has_actuals else None
    )
    return {
        "run_id": run_id,
        "reference_month": months.reference,
        "current_month": months.current,
        "gate": gate.status,
        "checks": [result.to_json() for result in results],
        "vocabulary": vocab.to_json(),
        "ingest": ingest.to_json(),
        "features": {
            "users": len(cur),
            "reference_users": stats["reference"][next(iter(config.features))].users,
            "names": list(config.features),
            "stats": {
                month: {
                    name: {**vars(s), "zero_rate": s.zero_rate, "missing_rate": s.missing_rate}
                    for name, s in per.items()
                }
                for month, per in stats.items()
            },
        },
        "volume": activity,
        "drift": {"method": drift.method, "scores": drift.scores, "sample": drift.sample},
        "model": {
            "kind": "HistGradientBoostingRegressor(loss='poisson')",
            "target": config.target,
            "train_rows": model.train_rows,
            "validation": model.validation,
            "actuals_month": next_month(months.current) if months.has_actuals else None,
            "actual": actual,
        },
        "months_in_logs": list(months.present),
        "config": config.to_dict(),
        "logs": logs,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def input_fingerprint(logs: str, config: dict[str, Any]) -> str:
    """Hash what a run read: its config and each log file's path, size and modification time."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    for path in find_log_files(logs):
        info = path.stat()
        digest.update(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _fingerprint(inputs: str, results: list[ck.CheckResult], summary: dict[str, Any]) -> str:
    """Hash a run's inputs and results: a sign-off is bound to exactly this."""
    digest = hashlib.sha256(inputs.encode())
    digest.update(json.dumps([r.to_json() for r in results], sort_keys=True).encode())
    digest.update(
        json.dumps([summary["reference_month"], summary["current_month"], summary["features"]["users"]]).encode()
    )
    return digest.hexdigest()
