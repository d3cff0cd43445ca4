"""Measuring the actual performance of stored runs, once the logs contain the month after the scored month.

For each run it measures R2, MAE, Poisson deviance and the precision and lift
of the top 10% and 20% of the list, and, for every export with a control
group, the campaign's effect: the campaign group's mean purchases minus the
control group's, with a Welch confidence interval. Results are appended to
the ``performance`` table (runs themselves are immutable).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import mean_absolute_error, mean_poisson_deviance, r2_score

from mlwatch.config import parse_config
from mlwatch.errors import MlwatchError
from mlwatch.monthly.features import buyers, has_events_on, months_present
from mlwatch.months import month_days, next_month
from mlwatch.state import store
from mlwatch.state.performance import Performance, exported_since, latest_performance, record_performance

SHARES = (0.10, 0.20)
CONFIDENCE = 0.95
_LOG = logging.getLogger(__name__)


def actual_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Return R2, MAE, Poisson deviance, and precision and lift of the top 10% and 20%.

    Precision of the top k%: the share of the users ranked in the top k% by
    prediction who are also in the top k% by actual purchases (as on the Model
    page). Lift of the top k%: their mean actual purchases over everyone's.
    Predictions are clipped to 1e-9 for the deviance, which needs them > 0.
    """
    actual = np.asarray(actual, dtype="float64")
    predicted = np.asarray(predicted, dtype="float64")
    figures: dict[str, float | None] = {"users": float(len(actual))}
    if len(actual) < 2:
        return {
            **figures,
            "r2": None,
            "mae": None,
            "poisson_deviance": None,
            **{f"{kind}_top{round(s * 100)}": None for s in SHARES for kind in ("precision", "lift")},
        }
    figures["r2"] = float(r2_score(actual, predicted))
    figures["mae"] = float(mean_absolute_error(actual, predicted))
    figures["poisson_deviance"] = float(mean_poisson_deviance(actual, np.clip(predicted, 1e-9, None)))
    figures["mean_actual"] = float(actual.mean())
    figures["mean_predicted"] = float(predicted.mean())
    for share in SHARES:
        figures[f"precision_top{round(share * 100)}"] = precision_at(actual, predicted, share)
        figures[f"lift_top{round(share * 100)}"] = lift_at(actual, predicted, share)
    return figures


def precision_at(actual: np.ndarray, predicted: np.ndarray, share: float) -> float:
    """Share of the top ``share`` by prediction who are in the top ``share`` by actual purchases.

    Ties at the actual cut-off count as in; a user who bought nothing never does.
    """
    k = max(1, math.ceil(share * len(actual)))
    top = np.argsort(-predicted, kind="stable")[:k]
    cutoff = np.sort(actual)[::-1][k - 1]
    return float(np.sum((actual[top] >= cutoff) & (actual[top] > 0)) / k)


def lift_at(actual: np.ndarray, predicted: np.ndarray, share: float) -> float | None:
    """Mean actual purchases of the top ``share`` by prediction, over the mean of everyone (None if nobody bought)."""
    k = max(1, math.ceil(share * len(actual)))
    top = np.argsort(-predicted, kind="stable")[:k]
    overall = float(np.mean(actual))
    return float(np.mean(actual[top]) / overall) if overall > 0 else None


def campaign_effect(campaign: np.ndarray, control: np.ndarray, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Campaign minus control mean purchases, with a Welch t confidence interval.

    Returns None bounds when a group has fewer than two users.
    """
    campaign = np.asarray(campaign, dtype="float64")
    control = np.asarray(control, dtype="float64")
    result: dict[str, Any] = {
        "campaign_users": len(campaign),
        "control_users": len(control),
        "campaign_mean": float(campaign.mean()) if len(campaign) else None,
        "control_mean": float(control.mean()) if len(control) else None,
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "confidence": confidence,
    }
    if len(campaign) < 2 or len(control) < 2:
        return result
    difference = float(campaign.mean() - control.mean())
    v1, v2 = campaign.var(ddof=1) / len(campaign), control.var(ddof=1) / len(control)
    se = math.sqrt(v1 + v2)
    if se == 0:
        return {**result, "difference": difference, "ci_low": difference, "ci_high": difference}
    dof = (v1 + v2) ** 2 / (v1**2 / (len(campaign) - 1) + v2**2 / (len(control) - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, dof)) * se
    return {**result, "difference": difference, "ci_low": difference - half, "ci_high": difference + half}


def measure_run(con: duckdb.DuckDBPyConnection, state: str | Path, run: store.RunRecord) -> dict[str, Any]:
    """Measure a stored run's list against the purchases of the month after its current month.

    ``con`` holds the ``events`` table of logs that contain that month.
    """
    config = parse_config(run.config, source=f"run {run.run_id}")
    month = next_month(run.current_month)
    scored = store.read_features(state, run.run_id, "current", ["user_id", "prediction"])
    scored = scored[scored["prediction"].notna()]  # users a scoring job did not score were not in the list
    bought = buyers(con, month, config.target_events())
    joined = scored.merge(bought, on="user_id", how="left").fillna({"bought": 0})
    metrics = actual_metrics(joined["bought"].to_numpy(), joined["prediction"].to_numpy())
    metrics["campaigns"] = _campaigns(state, run.run_id, bought)
    return metrics


def update_actuals(
    con: duckdb.DuckDBPyConnection,
    state: str | Path,
    logs: str | None = None,
    run_ids: list[str] | None = None,
    recompute: bool = False,
    present: tuple[str, ...] | None = None,
) -> list[Performance]:
    """Measure every stored run whose next month is complete in the loaded logs and not yet measured.

    A run is (re)measured when it has no measurement, when an export with a
    control group came after its last one, or when ``recompute``. Only runs
    read from the same ``logs`` (when given) or listed in ``run_ids`` are considered.
    A month counts as complete when its last calendar day has events.

    Args:
        present: the months with events in the loaded logs, when the caller knows them already (a run does).
    """
    present = set(present if present is not None else months_present(con))
    latest = latest_performance(state)
    done: list[Performance] = []
    for run in store.list_runs(state):
        if run_ids is not None and run.run_id not in run_ids:
            continue
        if run.config.get("as_of"):
            continue  # a month-to-date run is provisional: its list never left, nothing to measure
        if run_ids is None and logs is not None and not _same_logs(run.logs, logs):
            continue
        month = next_month(run.current_month)
        if month not in present or not _complete(con, month):
            continue
        previous = latest.get(run.run_id)
        if previous and not recompute and not exported_since(state, run.run_id, previous.computed_at):
            continue
        try:
            metrics = measure_run(con, state, run)
        except MlwatchError as exc:  # a damaged old run must not stop the others
            _LOG.warning("actual performance of run %s not measured: %s", run.run_id, exc)
            continue
        done.append(record_performance(state, run.run_id, month, metrics))
    return done


def _campaigns(state: str | Path, run_id: str, bought: pd.DataFrame) -> list[dict[str, Any]]:
    with store.connect(state) as con:
        exports = con.execute(
            "SELECT id, at, groups_file FROM exports WHERE run_id = ? AND control_rows > 0 ORDER BY id", [run_id]
        ).fetchall()
    effects = []
    for export_id, at, groups_file in exports:
        try:
            groups = pd.read_parquet(groups_file)
        except (OSError, ValueError) as exc:
            _LOG.warning("export %s of run %s: groups file %s unreadable (%s)", export_id, run_id, groups_file, exc)
            continue
        joined = groups.merge(bought, on="user_id", how="left").fillna({"bought": 0})
        # A split export (champion and challenger) is measured per model, each against its own control group.
        arms = joined.groupby("model") if "model" in joined else [(None, joined)]
        for model, arm in arms:
            effect = campaign_effect(
                arm.loc[arm["group"] == "campaign", "bought"].to_numpy(),
                arm.loc[arm["group"] == "control", "bought"].to_numpy(),
            )
            effects.append({"export_id": export_id, "exported_at": at, **({"model": model} if model else {}), **effect})
    return effects


def _complete(con: duckdb.DuckDBPyConnection, month: str) -> bool:
    return has_events_on(con, month_days(month)[-1])


def _same_logs(stored: str, logs: str) -> bool:
    try:
        return Path(stored).resolve() == Path(logs).resolve()
    except OSError:
        return stored == logs
