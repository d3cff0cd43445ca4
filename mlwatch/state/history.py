"""Month over month: every stored run's checks, volumes, and estimated and actual performance.

One row per month (the newest run of that month, since a rerun supersedes
the runs before it), or every run with ``all_runs``. The long table
(``metric_frame``) has one row per month, metric and feature, ready to chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlwatch.errors import StateError
from mlwatch.state import store
from mlwatch.state.performance import latest_performance
from mlwatch.summary import RunSummary

if TYPE_CHECKING:  # pandas loads only for the tables the dashboard draws, not for `history` in a terminal
    import pandas as pd

ACTUAL_METRICS = (
    "r2",
    "mae",
    "poisson_deviance",
    "precision_top10",
    "precision_top20",
    "lift_top10",
    "lift_top20",
    "mean_actual",
    "mean_predicted",
)
METRIC_COLUMNS = ("month", "run_id", "metric", "feature", "value", "reference", "threshold", "status", "lower", "upper")


@dataclass(frozen=True)
class History:
    """The stored runs as points in time, oldest month first."""

    runs: tuple[dict[str, Any], ...]

    @property
    def months(self) -> list[str]:
        """The months shown, oldest first."""
        return [run["month"] for run in self.runs]

    def run_of(self, month: str) -> str | None:
        """The run shown for ``month``."""
        return next((run["run_id"] for run in self.runs if run["month"] == month), None)

    def to_json(self) -> list[dict[str, Any]]:
        """Plain data: one object per run."""
        return [dict(run) for run in self.runs]


def load_history(state: str | Path, all_runs: bool = False) -> History:
    """Read every stored run's figures (summary, checks, latest actual performance).

    Args:
        all_runs: keep every run, not only the newest of each month.
    """
    # Month-to-date runs are provisional: the month is shown by its complete runs (month_to_date lists them).
    records = [record for record in store.list_runs(state) if not record.config.get("as_of")]  # newest first
    if not all_runs:
        newest: dict[str, store.RunRecord] = {}
        for record in records:
            newest.setdefault(record.current_month, record)
        records = list(newest.values())
    performance = latest_performance(state) if records else {}
    runs = []
    for record in sorted(records, key=lambda r: (r.current_month, r.created_at, r.run_id)):
        try:
            summary = store.read_summary(state, record.run_id)
        except StateError:
            continue  # a run whose folder was removed by hand: shown nowhere rather than breaking history
        measured = performance.get(record.run_id)
        runs.append(
            _point(
                record, summary, measured.metrics if measured else None, measured.actuals_month if measured else None
            )
        )
    return History(tuple(runs))


def metric_frame(history: History) -> pd.DataFrame:
    """One row per month, metric and feature: ``value``, ``reference``, ``threshold``, ``status``, ``lower``, ``upper``.

    Metrics: the check names (``zero_rate``, ``missing_rate``, ``drift`` per
    feature; ``rejected_rows``, ``duplicates``, ``prediction_drift``,
    ``estimated_mae``, ``estimated_ranking``), ``events`` and ``users`` (with the volume check's
    status and ratio), ``expected_purchases`` and ``predicted_purchases`` (per user, estimated before
    the actuals, with the reference month's real purchases per user as ``reference``) and
    ``actual_<name>`` for the actual performance.
    """
    rows: list[dict[str, Any]] = []
    for run in history.runs:
        base = {"month": run["month"], "run_id": run["run_id"]}
        for check in run["checks"]:
            if check["name"] in ("volume", "vocabulary"):
                continue
            row = {
                **base,
                "metric": check["name"],
                "feature": check["feature"],
                "value": check["value"],
                "reference": check["reference"],
                "threshold": check["threshold"],
                "status": check["status"],
            }
            if check["name"] == "estimated_mae" and run["estimate"]:
                row.update(lower=run["estimate"]["lower"], upper=run["estimate"]["upper"])
            rows.append(row)
        rows.extend(_calibration_rows(base, run["ranking"]))
        volume = next((c for c in run["checks"] if c["name"] == "volume"), None)
        for key in ("events", "users"):
            rows.append(
                {
                    **base,
                    "metric": key,
                    "feature": None,
                    "value": run[key],
                    "reference": run[f"reference_{key}"],
                    "threshold": volume["threshold"] if volume else None,
                    "status": volume["status"] if volume else None,
                }
            )
        for name in ACTUAL_METRICS:
            if run["actual"] and run["actual"].get(name) is not None:
                rows.append({**base, "metric": f"actual_{name}", "feature": None, "value": run["actual"][name]})
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
    return frame


def _calibration_rows(base: dict[str, Any], ranking: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Purchases per user estimated before the actuals, and predicted by the list (runs with a ranking estimate)."""
    if not ranking:
        return []
    return [
        {**base, "metric": "expected_purchases", "feature": None, "value": ranking["expected"],
         "reference": ranking["reference_actual"]},
        {**base, "metric": "predicted_purchases", "feature": None, "value": ranking["predicted"],
         "reference": ranking["reference_predicted"]},
    ]  # fmt: skip


def history_table(history: History, feature: str | None = None) -> list[dict[str, Any]]:
    """A readable month-by-month table: gate, failed checks, volumes, and the key rates of ``feature`` (or all)."""
    rows = []
    for run in history.runs:
        row: dict[str, Any] = {
            "month": run["month"],
            "reference": run["reference_month"],
            "gate": run["gate"],
            "failed": ", ".join(run["failed"]) or "-",
            "model": run.get("model", "built-in"),
            "events": run["events"],
            "users": run["users"],
        }
        for check in run["checks"]:
            if check["name"] in ("zero_rate", "missing_rate", "drift") and (feature in (None, check["feature"])):
                row[f"{check['name']} {check['feature']}"] = check["value"]
        estimate = run["estimate"]
        row["estimated MAE"] = estimate["estimated_mae"] if estimate else None
        row["actual MAE"] = run["actual"]["mae"] if run["actual"] else None
        row["estimated lift top 10%"] = run["ranking"]["lift"] if run["ranking"] else None
        row["actual lift top 10%"] = run["actual"].get("lift_top10") if run["actual"] else None
        row["actual R2"] = run["actual"]["r2"] if run["actual"] else None
        rows.append(row)
    return rows


def campaign_table(history: History) -> pd.DataFrame:
    """Every measured export with a control group: campaign minus control purchases and its interval."""
    rows = []
    for run in history.runs:
        for effect in (run["actual"] or {}).get("campaigns", []):
            rows.append(
                {
                    "month": run["month"],
                    "exported at": effect["exported_at"],
                    "model": effect.get("model", ""),
                    "campaign users": effect["campaign_users"],
                    "control users": effect["control_users"],
                    "campaign mean": effect["campaign_mean"],
                    "control mean": effect["control_mean"],
                    "difference": effect["difference"],
                    "interval low": effect["ci_low"],
                    "interval high": effect["ci_high"],
                }
            )
    import pandas as pd

    return pd.DataFrame(rows)


def state_version(state: str | Path) -> tuple[int, ...]:
    """A cheap stamp that changes whenever the state database is written (a cache key for the dashboard)."""
    stamp: list[int] = []
    for name in (store.DB_FILE, f"{store.DB_FILE}-wal"):
        path = Path(state) / name
        info = path.stat() if path.exists() else None
        stamp += [info.st_mtime_ns, info.st_size] if info else [0, 0]
    return tuple(stamp)


def _point(
    record: store.RunRecord, summary: RunSummary, actual: dict[str, Any] | None, actuals_month: str | None
) -> dict[str, Any]:
    reference = summary.volume.reference
    return {
        "run_id": record.run_id,
        "month": record.current_month,
        "reference_month": record.reference_month,
        "gate": record.gate,
        "created_at": record.created_at,
        "events": record.events,
        "users": record.users,
        "reference_events": reference.events,
        "reference_users": reference.users,
        "rejected_share": record.rows_rejected / record.rows_read if record.rows_read else 0.0,
        "failed": [c.label for c in summary.failed],
        "checks": [c.to_json() for c in summary.checks],
        "estimate": summary.estimate.to_json() if summary.estimate else None,
        "ranking": summary.ranking.to_json() if summary.ranking else None,
        "actual": actual,
        "actuals_month": actuals_month,
        "model": _model_version(summary.model.source),
    }


def _model_version(source: dict[str, str] | None) -> str:
    """What scored a month, short: ``built-in``, or the team's model's kind and version (``sklearn sha256 1a2b``)."""
    if not source or source.get("kind", "builtin") == "builtin":
        return "built-in"
    return f"{source['kind']} {source.get('version', '')}".strip()


def month_to_date(state: str | Path) -> dict[str, list[dict[str, Any]]]:
    """The month-to-date runs of each month, one per day (the newest), oldest day first.

    Each row: ``as_of``, ``run_id``, ``reference_month``, ``gate``, ``statuses`` (check label -> status).
    """
    newest: dict[tuple[str, str], store.RunRecord] = {}
    for record in store.list_runs(state):  # newest first
        day = record.config.get("as_of")
        if day:
            newest.setdefault((record.current_month, day), record)
    months: dict[str, list[dict[str, Any]]] = {}
    for (month, day), record in sorted(newest.items()):
        statuses = {check.label: str(check.status) for check in store.get_checks(state, record.run_id)}
        months.setdefault(month, []).append(
            {"as_of": day, "run_id": record.run_id, "reference_month": record.reference_month, "gate": record.gate,
             "statuses": statuses}
        )  # fmt: skip
    return months


def first_failures(days: list[dict[str, Any]]) -> dict[str, str]:
    """The day each check first failed in a month's month-to-date runs (``month_to_date``), in that order."""
    first: dict[str, str] = {}
    for day in days:
        for label, status in day["statuses"].items():
            if status == "fail":
                first.setdefault(label, day["as_of"])
    return dict(sorted(first.items(), key=lambda item: (item[1], item[0])))
