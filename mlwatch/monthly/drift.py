"""Distribution drift through Evidently, wrapped so that callers only see our own types."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

# Evidently's default for numerical columns with more than 1,000 rows; we force
# it for every size so that the drift score always means the same thing.
DRIFT_METHOD = "wasserstein"


@dataclass(frozen=True)
class DriftReport:
    """Drift scores per column, and the rendered Evidently report."""

    scores: dict[str, float]
    method: str
    html: str
    json: dict[str, Any]
    # rows scored and rows in the table, per month ({"reference": {"scored": n, "users": N}, ...})
    sample: dict[str, dict[str, int]]


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: list[str],
    thresholds: dict[str, float],
    sample_size: int = 0,
    seed: int = 0,
) -> DriftReport:
    """Score the drift of each numerical column between two per-user tables.

    Evidently sees only the scored columns, declared numerical (a count with few
    distinct values would otherwise be taken as categorical); ``user_id`` is never
    passed, so it is never scored (and Evidently does not spend seconds typing a
    million ids). The report holds Evidently's ``DriftedColumnsCount`` and one
    ``ValueDrift`` per column, the metrics ``DataDriftPreset`` is made of, without
    the preset's second pass over the data to render its table (1.5x slower).

    Args:
        reference, current: per-user tables holding ``columns``.
        columns: the columns to score.
        thresholds: per-column drift threshold, shown in the report.
        sample_size: score a seeded uniform sample of this many users of each month
            (0: every user). The Wasserstein distance of a 200k sample stays within
            0.01 of the full-table score on the benchmark data (docs/BENCHMARKS.md).
        seed: the sample's seed: the same tables give the same scores.

    Returns:
        Scores keyed by column (normalised Wasserstein distance; 0 = identical).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    definition = DataDefinition(numerical_columns=list(columns))
    ref_rows, cur_rows = _sample(reference, sample_size, seed), _sample(current, sample_size, seed)
    ref = Dataset.from_pandas(_numeric(ref_rows, columns), data_definition=definition)
    cur = Dataset.from_pandas(_numeric(cur_rows, columns), data_definition=definition)
    metrics = [
        DriftedColumnsCount(columns=list(columns), method=DRIFT_METHOD, per_column_threshold=dict(thresholds)),
        *(ValueDrift(column=column, method=DRIFT_METHOD, threshold=thresholds[column]) for column in columns),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant columns make numpy warn inside Evidently
        snapshot = Report(metrics).run(cur, ref)
        html = snapshot.get_html_str(as_iframe=False)
    data = snapshot.dict()
    sample = {
        "reference": {"scored": len(ref_rows), "users": len(reference)},
        "current": {"scored": len(cur_rows), "users": len(current)},
    }
    return DriftReport(
        drift_scores(data, columns), DRIFT_METHOD, html, json.loads(json.dumps(data, default=str)), sample
    )


def _sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    if size <= 0 or len(frame) <= size:
        return frame
    return frame.sample(n=size, random_state=seed)


def _numeric(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.to_numeric(frame[column], errors="coerce").astype("float64") for column in columns})


def drift_scores(data: dict[str, Any], columns: list[str]) -> dict[str, float]:
    """Return each column's ``ValueDrift`` score from an Evidently snapshot's ``dict()`` (NaN read as 0).

    Raises:
        RuntimeError: a column has no score in the snapshot.
    """
    scores: dict[str, float] = {}
    for metric in data.get("metrics", []):
        config = metric.get("config", {})
        column = config.get("column")
        if column in columns and config.get("type", "").endswith("ValueDrift"):
            value = metric.get("value")
            scores[column] = float(value) if value is not None and not math.isnan(float(value)) else 0.0
    missing = [c for c in columns if c not in scores]
    if missing:
        raise RuntimeError(f"Evidently returned no drift score for {', '.join(missing)}")
    return scores
