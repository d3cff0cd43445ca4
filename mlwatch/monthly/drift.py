"""Distribution drift through Evidently, wrapped so that callers only see our own types.

A run scores each column with Evidently's own statistic (``ValueDrift`` with the ``wasserstein`` method: the
Wasserstein distance of the two samples over the reference sample's standard deviation, at least 0.001,
NaN and infinities dropped) on a seeded sample; Evidently's report of the same sample, with the same scores,
is made when someone asks for it on the Drift page (``render_report``) and kept in the run's ``cache/``. Running
Evidently's Report inside the run cost about 4 s at a million users, and importing Evidently 3-6 s more,
for a page most runs never open; the checks and the sign-off bind to the scores, which are the same.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Evidently's default for numerical columns with more than 1,000 rows; we force
# it for every size so that the drift score always means the same thing.
DRIFT_METHOD = "wasserstein"


@dataclass(frozen=True)
class DriftReport:
    """Drift scores per column, the method, and the rows scored."""

    scores: dict[str, float]
    method: str
    # rows scored and rows in the table, per month ({"reference": {"scored": n, "users": N}, ...})
    sample: dict[str, dict[str, int]]


@dataclass(frozen=True)
class RenderedReport:
    """Evidently's report of a run's drift: its HTML page and its results as JSON."""

    html: str
    json: dict[str, Any]


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: list[str],
    thresholds: dict[str, float],
    sample_size: int = 0,
    seed: int = 0,
) -> DriftReport:
    """Score the drift of each numerical column between two per-user tables.

    Args:
        reference, current: per-user tables holding ``columns``.
        columns: the columns to score.
        thresholds: per-column drift threshold (the report shows them).
        sample_size: score a seeded uniform sample of this many users of each month
            (0: every user). The Wasserstein distance of a 200k sample stays within
            0.01 of the full-table score on the benchmark data (docs/BENCHMARKS.md).
        seed: the sample's seed: the same tables give the same scores.

    Returns:
        Scores keyed by column (normalised Wasserstein distance; 0 = identical), as Evidently's report of the
        same sample gives them (``render_report``).
    """
    from scipy import stats

    ref_rows, cur_rows = _sample(reference, sample_size, seed), _sample(current, sample_size, seed)
    scores = {}
    for column in columns:
        ref, cur = _finite(ref_rows[column]), _finite(cur_rows[column])
        if not len(ref) or not len(cur):  # Evidently refuses an empty column; nothing can have drifted
            scores[column] = 0.0
            continue
        score = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
        scores[column] = float(score) if not math.isnan(score) else 0.0
    sample = {
        "reference": {"scored": len(ref_rows), "users": len(reference)},
        "current": {"scored": len(cur_rows), "users": len(current)},
    }
    return DriftReport(scores, DRIFT_METHOD, sample)


def render_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: list[str],
    thresholds: dict[str, float],
    sample_size: int = 0,
    seed: int = 0,
) -> RenderedReport:
    """Evidently's report of the same seeded sample ``compute_drift`` scores: the same scores, drawn.

    Evidently sees only the scored columns, declared numerical (a count with few
    distinct values would otherwise be taken as categorical); ``user_id`` is never
    passed, so it is never scored (and Evidently does not spend seconds typing a
    million ids). The report holds Evidently's ``DriftedColumnsCount`` and one
    ``ValueDrift`` per column, the metrics ``DataDriftPreset`` is made of, without
    the preset's second pass over the data to render its table (1.5x slower).
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
    return RenderedReport(html, json.loads(json.dumps(snapshot.dict(), default=str)))


def _finite(values: pd.Series) -> pd.Series:
    """The column as Evidently scores it: numbers, NaN and infinities dropped (a Series: Evidently's standard
    deviation is pandas')."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return numbers.replace([-np.inf, np.inf], np.nan).dropna()


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
