"""The drift stage of a stored run: mlwatch's way against Evidently on the full feature tables.

mlwatch's drift stage computes the exact zero rates, missing rates, moments and quantiles of every
column in DuckDB over all users, and has Evidently score a seeded uniform sample of each month
(``[drift] sample_size``). The comparison runs Evidently's ``DataDriftPreset`` directly on every
user of both months, with the same column definitions, method and thresholds. Both render the HTML
report, as a run stores it.

Usage: python -m bench.drift --state DIR [--run RUN_ID] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from mlwatch import checks as ck
from mlwatch import db, store
from mlwatch.config import parse_config
from mlwatch.drift import compute_drift
from mlwatch.features import summarise_features


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
    full = compute_drift(ref, cur, columns, thresholds, sample_size=0).scores
    evidently_seconds = time.perf_counter() - started
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
        for scores in sampled.values() for c in columns
    )
    return {
        "run_id": record.run_id,
        "users": {"reference": len(ref), "current": len(cur)},
        "sample_size": sample_size,
        "seconds": {"mlwatch": round(min(seconds), 2), "evidently_full": round(evidently_seconds, 2)},
        "full_scores": {c: round(full[c], 5) for c in columns},
        "max_score_difference": {
            c: round(max(abs(scores[c] - full[c]) for scores in sampled.values()), 5) for c in columns
        },
        "seeds": seeds,
        "same_check_status": same_status,
        "thresholds": thresholds,
    }


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
