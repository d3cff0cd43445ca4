"""The drift stage of a stored run: mlwatch's way against Evidently on the full feature tables.

mlwatch's drift stage computes the exact zero rates, missing rates, moments and quantiles of every
column in DuckDB over all users, and has Evidently score a seeded uniform sample of each month
(``[drift] sample_size``) with its ``DriftedColumnsCount`` and ``ValueDrift`` metrics. The baseline
runs Evidently's ``DataDriftPreset`` directly on every user of both months, given only the scored
columns (its fastest use) with the same method and thresholds; a second one runs mlwatch's own
metrics on every user (what the sample alone saves). Each renders the HTML report, as a run does.

Usage: python -m bench.drift --state DIR [--run RUN_ID] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from mlwatch.checks import rules as ck
from mlwatch.config import parse_config
from mlwatch.ingest import db
from mlwatch.monthly.drift import DRIFT_METHOD, compute_drift, drift_scores
from mlwatch.monthly.features import summarise_features
from mlwatch.state import store


def compare_drift(state: Path, run_id: str | None = None, seeds: int = 3) -> dict[str, Any]:
    """Time both ways on the stored run's feature tables and compare their scores and check statuses.

    Returns seconds of ``mlwatch`` (exact statistics + sampled Evidently) and ``evidently_full``,
    the largest score difference over ``seeds`` sample seeds, and whether every drift check
    (and so the gate's view of drift) has the same status with sampled and full scores.
    """
    record = store.get_run(state, run_id) if run_id else store.list_runs(state)[0]
    folder = store.run_path(state, record.run_id)
    ref = pd.read_parquet(folder / "features_reference.parquet")
    cur = pd.read_parquet(folder / "features_current.parquet")
    config = parse_config(record.config)
    names = list(config.features)
    columns = [*names, "prediction"]
    thresholds = {name: config.threshold("drift", name) for name in names}
    thresholds["prediction"] = config.threshold("prediction_drift")
    sample_size = config.drift.sample_size

    def mlwatch_stage(seed: int) -> dict[str, float]:
        con = db.connect()
        try:
            summarise_features(con, ref, columns)
            summarise_features(con, cur, columns)
        finally:
            con.close()
        return compute_drift(ref, cur, columns, thresholds, sample_size, seed).scores

    started = time.perf_counter()
    preset = _preset_scores(ref, cur, columns, thresholds)
    preset_seconds = time.perf_counter() - started
    started = time.perf_counter()
    full = compute_drift(ref, cur, columns, thresholds, sample_size=0).scores
    full_seconds = time.perf_counter() - started
    if any(abs(preset[c] - full[c]) > 1e-9 for c in columns):
        raise AssertionError(f"the preset and mlwatch's metrics disagree on the full tables: {preset} vs {full}")
    sampled: dict[int, dict[str, float]] = {}
    seconds: list[float] = []
    for seed in range(seeds):
        started = time.perf_counter()
        sampled[seed] = mlwatch_stage(seed)
        seconds.append(time.perf_counter() - started)
    labels = ck.MonthLabels.of(record.reference_month, record.current_month)
    same_status = all(
        ck.check_drift(None if c == "prediction" else c, scores[c], thresholds[c], labels).status
        == ck.check_drift(None if c == "prediction" else c, full[c], thresholds[c], labels).status
        for scores in sampled.values()
        for c in columns
    )
    return {
        "run_id": record.run_id,
        "users": {"reference": len(ref), "current": len(cur)},
        "sample_size": sample_size,
        "seconds": {
            "mlwatch": round(min(seconds), 2),
            "evidently_full": round(preset_seconds, 2),
            "mlwatch_metrics_full": round(full_seconds, 2),
        },
        "full_scores": {c: round(full[c], 5) for c in columns},
        "max_score_difference": {
            c: round(max(abs(scores[c] - full[c]) for scores in sampled.values()), 5) for c in columns
        },
        "seeds": seeds,
        "same_check_status": same_status,
        "thresholds": thresholds,
    }


def _preset_scores(
    ref: pd.DataFrame, cur: pd.DataFrame, columns: list[str], thresholds: dict[str, float]
) -> dict[str, float]:
    """Evidently's DataDriftPreset on every user, as a user of Evidently would run it; its HTML rendered."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=list(columns))
    datasets = [
        Dataset.from_pandas(frame[columns].astype("float64"), data_definition=definition) for frame in (ref, cur)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preset = DataDriftPreset(columns=list(columns), method=DRIFT_METHOD, per_column_threshold=dict(thresholds))
        snapshot = Report([preset]).run(datasets[1], datasets[0])
        snapshot.get_html_str(as_iframe=False)
    return drift_scores(snapshot.dict(), columns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--run")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(compare_drift(args.state, args.run, args.seeds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
