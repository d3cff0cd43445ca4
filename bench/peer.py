"""The peer pipeline: the monthly job as a data scientist would write it with the same tools, in one process.

Usage: python -m bench.peer --logs DIR --html FILE [--reference 2026-03 --current 2026-04]
Prints one JSON object: the seconds from the first import to the HTML report saved (``seconds``,
imports included, as ``bench.scale`` reports ``import_seconds`` + ``run_seconds`` for mlwatch),
each step's seconds and the process's peak RSS.

The steps: pandas reads every Parquet file (all three months, the columns the job needs), counts
each user's events per month and feature with ``groupby``, takes the next month's purchases as the
target, fits the same scikit-learn model as mlwatch on the reference month and predicts both months,
then runs Evidently's ``DataDriftPreset`` on the full feature tables (the features and the
prediction, declared numerical) and saves its HTML. No validation, no reject counting, no
de-duplication, nothing stored: the least a notebook does to answer "did the inputs drift?".
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

# feature -> the event it counts (mlwatch's default [features])
FEATURES = {"login": "user_login", "view": "item_view", "cart": "add_to_cart", "purchase": "purchase"}
TARGET = "purchase"


def run_peer(logs: Path, html: Path, reference: str, current: str) -> dict[str, Any]:
    """Run the peer pipeline once and return its timings; the report is written to ``html``."""
    started = time.perf_counter()
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset
    from sklearn.ensemble import HistGradientBoostingRegressor

    steps = {"imports": time.perf_counter() - started}
    mark = time.perf_counter()

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        steps[name] = now - mark
        mark = now

    files = sorted(logs.rglob("*.parquet"))
    events = pd.concat(
        [pd.read_parquet(f, columns=["user_id", "event", "timestamp"]) for f in files], ignore_index=True
    )
    step("read")

    events["month"] = events["timestamp"].dt.to_period("M")
    events["feature"] = events["event"].map({event: name for name, event in FEATURES.items()})
    monthly = events.groupby(["user_id", "month"]).size().rename("events").to_frame()
    counts = events.groupby(["user_id", "month", "feature"]).size().unstack("feature", fill_value=0)
    monthly = monthly.join(counts).fillna(0).reindex(columns=["events", *FEATURES], fill_value=0)
    ref = monthly.xs(pd.Period(reference, "M"), level="month").copy()
    cur = monthly.xs(pd.Period(current, "M"), level="month").copy()
    following = monthly.xs(pd.Period(reference, "M") + 1, level="month")[TARGET]
    ref["target"] = following.reindex(ref.index, fill_value=0)
    step("features")

    model = HistGradientBoostingRegressor(loss="poisson", max_iter=200, learning_rate=0.05, random_state=0)
    model.fit(ref[list(FEATURES)], ref["target"])
    ref["prediction"] = model.predict(ref[list(FEATURES)])
    cur["prediction"] = model.predict(cur[list(FEATURES)])
    step("model")

    columns = [*FEATURES, "prediction"]
    definition = DataDefinition(numerical_columns=columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur[columns].reset_index(drop=True), data_definition=definition),
            Dataset.from_pandas(ref[columns].reset_index(drop=True), data_definition=definition),
        )
        snapshot.save_html(str(html))
    step("drift")
    return {
        "rows": len(events),
        "users": {"reference": len(ref), "current": len(cur)},
        "seconds": round(time.perf_counter() - started, 2),
        "steps": {name: round(seconds, 2) for name, seconds in steps.items()},
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "html_bytes": html.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--html", type=Path, required=True)
    parser.add_argument("--reference", default="2026-03")
    parser.add_argument("--current", default="2026-04")
    args = parser.parse_args(argv)
    print(json.dumps(run_peer(args.logs, args.html, args.reference, args.current)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
