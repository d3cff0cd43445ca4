"""The monthly job: logs -> features -> model -> checks -> gate -> stored run, one function per stage.

Each stage returns its part of the typed ``RunSummary`` (mlwatch/summary.py); ``run_monthly``
chains them and stores the run. docs/ARCHITECTURE.md shows the stages and their types.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from mlwatch.checks import models, rules
from mlwatch.checks.gate import GateDecision, evaluate_gate
from mlwatch.config import Config
from mlwatch.contract.version import record_if_tracked
from mlwatch.engine import aggregated, read_logs
from mlwatch.errors import ConfigError, InputError, MlwatchError
from mlwatch.governance.auth import User, require
from mlwatch.ingest import db
from mlwatch.ingest.files import input_fingerprint
from mlwatch.measure import Frames, Measures, Months, Stream, check_stage, measure_stage, stream_stage
from mlwatch.monthly.estimate import estimate_mae, fit_error_model
from mlwatch.monthly.features import (
    build_features,
    months_present,
)
from mlwatch.monthly.histograms import run_histograms
from mlwatch.monthly.model import evaluate_predictions
from mlwatch.monthly.ranking import estimate_ranking
from mlwatch.monthly.scorers import ModelSource
from mlwatch.monthly.timeline import (
    FEATURE_DAILY_FILE,
    TIMELINE_FILE,
)
from mlwatch.monthly.to_date import parse_as_of, read_to_date, release_events, restrict_events
from mlwatch.months import month_name, month_start, next_month, parse_month, previous_month
from mlwatch.scoring import PreparedModel, ScoredModel, for_months, model_stage, prepare_model, reference_held_out
from mlwatch.state import store
from mlwatch.summary import (
    CheckResult,
    DriftPart,
    IngestReport,
    MaeEstimate,
    ModelPart,
    RankingEstimate,
    RunSummary,
    SampleSize,
    Status,
)


@dataclass(frozen=True)
class RunResult:
    """A stored run: its decision, its typed summary and its artifact folder."""

    run_id: str
    gate: GateDecision
    checks: tuple[CheckResult, ...]
    summary: RunSummary
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


@dataclass(frozen=True)
class Estimates:
    """What the current month's list is estimated to achieve before its actuals: error, ranking, calibration."""

    mae: MaeEstimate | None  # None: no reference-month predictions to learn from (scores only)
    ranking: RankingEstimate | None


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
            "set [engine] temp_directory to a writable folder",
            path=str(temp),
            key="engine.temp_directory",
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
        with db.engine_errors(str(logs)):
            return LoadedLogs(con, str(logs), read_logs(con, str(logs), config))
    except BaseException:
        con.close()
        raise


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
    within: tuple[Path | str, ...] | None = None,
    as_of: str | None = None,
) -> RunResult:
    """Run the monthly job and store it as a new, immutable run.

    Args:
        progress: called with a short description as each stage starts.
        user: the dashboard user starting the run (must be allowed to run); recorded as its starter.
        loaded: logs already read by ``load_logs`` (backfill reads them once for every month).
        measure_actuals: afterwards, measure the actual performance of stored runs of these logs
            whose next month is now in the logs.
        as_of: ``YYYY-MM-DD``, a day of the current month: check the days so far against the same days
            of the reference month (a provisional gate: alerts, never an export).
        within: for a run started from the browser, the real folders ([logs] allowed) that every
            log file found must lie in, links resolved; a file elsewhere refuses the run.

    Raises:
        PermissionDenied: ``user`` may not start runs.
        InputError: unusable logs or months; nothing is stored then.
        ConfigError, StateError: as raised by the config and the store.
    """
    if user is not None:
        started_by = require(user, "run", state).name
    parse_month(reference)
    parse_month(current)
    if reference >= current:
        raise InputError(f"--reference {reference} must be before --current {current}")
    to_date = parse_as_of(as_of, current) if as_of else None
    if to_date and config.engine.kind == "spark":
        aggregated.refuse_to_date()  # before Spark reads anything
    config = for_months(config, reference, current)
    prepared = prepare_model(config)  # a wrong model or scores file fails before the logs are read
    threading.Thread(target=_import_model_libraries, name="mlwatch-imports", daemon=True).start()
    con = loaded.con if loaded else connect(config, state)
    stages = _Stages(progress or _silent)
    try:
        with db.engine_errors(str(logs)), contextlib.ExitStack() as held:
            if to_date and loaded is None:  # a daily run reads only the log files it has not read before
                stages("Reading the logs")
                ingest = held.enter_context(read_to_date(con, str(logs), config, state, reference, to_date, within))
            else:
                ingest = read_stage(con, str(logs), config, stages, loaded, within)
                if to_date:
                    restrict_events(con, reference, to_date)
            asked = Months(reference, current, (), to_date)
            result = _run(con, str(logs), asked, ingest, config, state, started_by, stages, prepared)
            _record_contract(state, config, started_by, result.run_id)
            if measure_actuals and not to_date:
                measure_stored_actuals(con, state, str(logs), result.summary.months_in_logs)
        return result
    finally:
        if to_date:
            release_events(con)
        if loaded is None:
            con.close()


def _import_model_libraries() -> None:
    """Import scikit-learn while DuckDB reads the logs (it releases the GIL): about a second of imports that the
    model stage would otherwise wait for."""
    import sklearn.ensemble
    import sklearn.metrics
    import sklearn.model_selection  # noqa: F401


def _record_contract(state: str | Path, config: Config, actor: str, run_id: str) -> None:
    """Record the next contract version when this run's [columns] or [features] changed the exported contract's
    terms; a failure is logged, never raised (the run is stored)."""
    try:
        record_if_tracked(state, config, actor, cause=f"run {run_id}")
    except MlwatchError as exc:
        logging.getLogger(__name__).warning("contract version not recorded: %s", exc)


def measure_stored_actuals(
    con: duckdb.DuckDBPyConnection, state: str | Path, logs: str, present: tuple[str, ...] | None = None
) -> None:
    """Measure stored runs whose next month is in the loaded logs (``present``: its months, when known);
    a failure is logged, never raised."""
    from mlwatch.actuals import update_actuals

    try:
        update_actuals(con, state, logs, present=present)
    except (MlwatchError, duckdb.Error) as exc:  # the run itself is stored; its actuals can be measured later
        logging.getLogger(__name__).warning("actual performance not measured: %s", exc)


def _run(
    con: duckdb.DuckDBPyConnection,
    logs: str,
    asked: Months,
    ingest: IngestReport,
    config: Config,
    state: str | Path,
    started_by: str,
    stages: _Stages,
    prepared: PreparedModel,
) -> RunResult:
    months = require_months(con, logs, asked.reference, asked.current, asked.as_of)
    with aggregate_stage(con, months, config, stages):
        timeline = stream_stage(con, months, config, stages)
        frames = features_stage(con, months, config, stages)
        model = model_stage(frames, config, stages, prepared)
        measures = measure_stage(con, months, frames, config, stages, timeline)
    labels = rules.MonthLabels.of(months.reference, months.current)
    checks = check_stage(config, ingest, measures, months, labels)
    estimates = estimate_stage(frames, model, config, stages)
    checks.append(_estimated_mae_check(config, estimates.mae, labels))
    checks.append(_estimated_ranking_check(config, estimates.ranking, labels))
    checks.extend(model_checks(state, months, frames, model, config, labels))
    stages("Summarising: histograms and the fingerprints of the inputs")
    summary = assemble_summary(logs, months, ingest, measures, model, frames, estimates, checks, config)
    return store_stage(state, summary, frames, model, started_by, stages, measures.stream)


def read_stage(
    con: duckdb.DuckDBPyConnection,
    logs: str,
    config: Config,
    stages: _Stages,
    loaded: LoadedLogs | None = None,
    within: tuple[Path | str, ...] | None = None,
) -> IngestReport:
    """Read, validate and de-duplicate the logs into the ``events`` table (unless ``loaded`` did already)."""
    stages("Reading the logs")
    return loaded.ingest if loaded else read_logs(con, logs, config, within=within)


def aggregate_stage(
    con: duckdb.DuckDBPyConnection, months: Months, config: Config, stages: _Stages
) -> contextlib.AbstractContextManager[None]:
    """One row per user and month and one per event name and hour of the run's months (from the reference
    month to the end of the current period; the users also of the month after, whose purchases are the
    target, and of the month before when the known-users check needs it), from ``events``, for the stages
    that measure (``engine/aggregated.py``); nothing to do when the engine or the kept days gave them."""
    if not aggregated.active(con):
        stages("Aggregating the events per user and per hour")
    # the known-users check of the month after the reference month compares with the month before it
    first = previous_month(months.reference) if months.current == next_month(months.reference) else months.reference
    start = month_start(months.reference)
    return aggregated.from_events(con, config.features, config.target, first, start, months.end)


def require_months(
    con: duckdb.DuckDBPyConnection, logs: str, reference: str, current: str, as_of: date | None = None
) -> Months:
    """Check that the reference month, its next month (the target) and the current month have events.

    Raises:
        InputError: naming the month without events and the months that have some.
    """
    present = tuple(months_present(con))
    found = f"months with events: {', '.join(present)}"
    for month, role in ((reference, "reference"), (next_month(reference), "target"), (current, "current")):
        if month not in present:
            why = "the model's target is the purchases of the month after the reference month"
            raise InputError(
                f"{logs}: no events in {month} ({role} month{'; ' + why if role == 'target' else ''}); {found}",
                path=logs,
            )
    return Months(reference, current, present, as_of)


def features_stage(con: duckdb.DuckDBPyConnection, months: Months, config: Config, stages: _Stages) -> Frames:
    """Build both months' per-user features (the current month's ``actual`` when its next month is known)."""
    stages("Building the monthly features")
    ref = build_features(con, months.reference, config.features, config.target_events())
    target = config.target_events() if months.has_actuals else None
    cur = build_features(con, months.current, config.features, target)
    if months.has_actuals:
        cur = cur.rename(columns={"target": "actual"})
    return Frames(ref, cur)


def estimate_stage(frames: Frames, model: ScoredModel, config: Config, stages: _Stages) -> Estimates:
    """Estimate the current month's error, ranking and calibration before its purchases are known.

    Both estimators learn from the same held-out predictions of the reference month (computed once);
    without reference-month predictions (scores without ``reference_scores``) there is no estimate.
    """
    stages("Estimating this month's error and ranking before its purchases are known")
    held = reference_held_out(frames, config, model)
    if held is None:
        return Estimates(None, None)
    names = list(config.features)
    scored = frames.current[frames.current["prediction"].notna()]

    def mae() -> MaeEstimate:
        error_model = fit_error_model(frames.reference, names, None, held_out=held, stress=len(held.stressed_x) > 0)
        return estimate_mae(error_model, scored)

    with ThreadPoolExecutor(1) as pool:  # the two estimators are independent: the error model's fits beside ranking's
        estimated_mae = pool.submit(mae)
        ranking = estimate_ranking(held, scored)
        return Estimates(estimated_mae.result(), ranking)


def assemble_summary(
    logs: str,
    months: Months,
    ingest: IngestReport,
    measures: Measures,
    model: ScoredModel,
    frames: Frames,
    estimates: Estimates,
    checks: list[CheckResult],
    config: Config,
) -> RunSummary:
    """Put the stages' parts together, with the fingerprints a sign-off is bound to."""
    cur = frames.current
    stored_config = config.to_dict()
    if months.as_of:  # kept with the run's row: lists tell a provisional run from a complete one without its summary
        stored_config["as_of"] = months.as_of.isoformat()
    scored = cur[cur["prediction"].notna()]
    actual = (
        evaluate_predictions(scored["actual"].to_numpy(), scored["prediction"].to_numpy())
        if months.has_actuals
        else None
    )
    sample = measures.drift.sample
    summary = RunSummary(
        run_id=store.new_run_id(months.current),
        reference_month=months.reference,
        current_month=months.current,
        gate=evaluate_gate(checks).status,
        checks=tuple(checks),
        vocabulary=measures.vocabulary,
        ingest=ingest,
        features=measures.features,
        changes=measures.stream.changes,
        volume=measures.volume,
        drift=DriftPart(
            measures.drift.method,
            measures.drift.scores,
            SampleSize(**sample["reference"]),
            SampleSize(**sample["current"]),
        ),
        model=ModelPart(
            kind=model.description,
            target=config.target,
            train_rows=model.train_rows,
            validation=model.validation,
            actuals_month=next_month(months.current) if months.has_actuals else None,
            actual=actual,
            source=model.source.to_json(),
        ),
        months_in_logs=months.present,
        config=stored_config,
        logs=logs,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        histograms=run_histograms(frames.reference, cur, list(config.features)),
        estimate=estimates.mae,
        ranking=estimates.ranking,
        inputs_fingerprint=input_fingerprint(logs, stored_config),
        as_of=months.as_of.isoformat() if months.as_of else None,
    )
    return _with_fingerprint(summary)


def store_stage(
    state: str | Path,
    summary: RunSummary,
    frames: Frames,
    model: ScoredModel,
    started_by: str,
    stages: _Stages,
    stream: Stream | None = None,
) -> RunResult:
    """Write the run's artifacts and rows: nothing is visible until both are complete."""
    import joblib

    stages("Storing the run")
    record = store.RunRecord(
        run_id=summary.run_id,
        created_at=summary.created_at,
        reference_month=summary.reference_month,
        current_month=summary.current_month,
        logs=summary.logs,
        gate=str(summary.gate),
        fingerprint=summary.fingerprint,
        inputs_fingerprint=summary.inputs_fingerprint,
        config=summary.config,
        users=summary.features.users,
        events=summary.volume.current.events,
        rows_read=summary.ingest.rows_read,
        rows_rejected=summary.ingest.rows_rejected,
        duplicates=summary.ingest.duplicates,
        started_by=started_by,
    )
    stored: list[RunSummary] = []

    def write(folder: Path) -> None:
        frames.reference.to_parquet(folder / "features_reference.parquet", index=False)
        frames.current.to_parquet(folder / "features_current.parquet", index=False)
        if stream is not None:
            stream.hourly.to_parquet(folder / TIMELINE_FILE, index=False)
            stream.daily.rename_axis("day").reset_index().to_parquet(folder / FEATURE_DAILY_FILE, index=False)
        if model.trained is not None:  # the team's model stays where it is; the run records which one it was
            joblib.dump(model.trained, folder / "model.joblib")
        stages.finish()
        timed = replace(summary, seconds=dict(stages.seconds))  # each stage's wall time (storing: up to this file)
        (folder / "summary.json").write_text(json.dumps(timed.to_json(), indent=1), encoding="utf-8")
        stored.append(timed)

    path = store.save_run(state, record, list(summary.checks), write)
    final = stored[0]
    return RunResult(final.run_id, evaluate_gate(final.checks), final.checks, final, path)


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


def _silent(_: str) -> None:
    return None


def model_checks(
    state: str | Path, months: Months, frames: Frames, model: ScoredModel, config: Config, labels: rules.MonthLabels
) -> list[CheckResult]:
    """``scores_coverage`` for a scoring job's output, and ``model_changed`` for the team's model or scores
    (mlwatch's own model is trained again each month by design: it has neither)."""
    if config.model.kind == "builtin":
        return []
    results = []
    if model.scores is not None:
        users = set(frames.current["user_id"].astype("string"))
        matched = int(model.scores["user_id"].isin(users).sum())
        results.append(models.check_scores_coverage(
            len(users), matched, len(model.scores), matched, config.checks.scores_coverage,
            config.checks.scores_unmatched, labels,
        ))  # fmt: skip
    before = previous_month(months.current)
    earlier = [r for r in store.list_runs(state) if r.current_month == before and not r.config.get("as_of")]
    previous = ModelSource.from_json(store.read_summary(state, earlier[0].run_id).model.source) if earlier else None
    results.append(models.check_model_changed(model.source, previous, labels, month_name(before)))
    return results


_NO_REFERENCE_SCORES = (
    "cannot be estimated: the scoring job's output has no reference month to learn from; set [model] "
    "reference_scores to the reference month's scores"
)


def _estimated_mae_check(config: Config, estimate: MaeEstimate | None, labels: rules.MonthLabels) -> CheckResult:
    if estimate is None:
        return CheckResult("estimated_mae", None, Status.WARN, None, None, config.checks.estimated_mae_ratio,
                           f"The list's error before this month's purchases are known {_NO_REFERENCE_SCORES}.")  # fmt: skip
    return rules.check_estimated_mae(
        estimate.estimated_mae, estimate.lower, estimate.upper, estimate.reference_mae,
        config.checks.estimated_mae_ratio, config.checks.estimated_mae_fails, labels,
    )  # fmt: skip


def _estimated_ranking_check(
    config: Config, estimate: RankingEstimate | None, labels: rules.MonthLabels
) -> CheckResult:
    if estimate is None:
        return CheckResult("estimated_ranking", None, Status.WARN, None, None, config.checks.estimated_ranking_ratio,
                           f"The top of the list's lift {_NO_REFERENCE_SCORES}.")  # fmt: skip
    return rules.check_estimated_ranking(
        estimate, config.checks.estimated_ranking_ratio, config.checks.estimated_ranking_fails, labels
    )


def _with_fingerprint(summary: RunSummary) -> RunSummary:
    """Hash a run's inputs and results: a sign-off is bound to exactly this."""
    digest = hashlib.sha256(summary.inputs_fingerprint.encode())
    digest.update(json.dumps([c.to_json() for c in summary.checks], sort_keys=True).encode())
    digest.update(json.dumps([summary.reference_month, summary.current_month, summary.features.users]).encode())
    if summary.as_of:
        digest.update(f"as_of={summary.as_of}".encode())
    return replace(summary, fingerprint=digest.hexdigest())
