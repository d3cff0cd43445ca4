"""How often ``estimated_ranking`` sees a broken month, and how often it raises on a healthy one.

Usage: python -m bench.ranking_alarms --world sample|events|stream [--seeds 100] [--users 2000] [--first 0]

Each seed gives a reference month (2026-03, target: April's purchases), a healthy current month and
a broken one (the login event renamed, so logins read 0), each with its real next-month purchases:

- ``sample``: the shipped sample's generator (``mlwatch.ingest.sample.draw_counts``: a buying intent
  that shows in logins and purchases only), the whole current month renamed;
- ``events``: ``tests.conftest.generate_events`` (one propensity drives every event), 2026-04 renamed;
- ``stream``: ``tests.streams.generate_stream`` (weekly rhythm; the healthy May has a campaign day on
  a random day; the broken May is renamed from a random hour, so part of its logins still count).

The features come from DuckDB (``build_features``), the model and the estimate from the production
code. Prints one JSON object per seed (estimated and actual figures of both months); ``--summary FILE``
summarises such lines instead for a given share.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mlwatch.actuals import lift_at, precision_at
from mlwatch.ingest import db
from mlwatch.ingest import sample as sample_logs
from mlwatch.monthly.estimate import held_out_predictions
from mlwatch.monthly.features import build_features
from mlwatch.monthly.model import predict, train_model
from mlwatch.monthly.ranking import estimate_ranking, top_lift

FEATURES = {"login": ("user_login",), "view": ("item_view",), "cart": ("add_to_cart",), "purchase": ("purchase",)}


def months_of(world: str, seed: int, users: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Reference (with ``target``), healthy and broken current months (with ``actual``), and what was broken."""
    if world == "sample":
        return _sample_world(seed, users)
    rng = np.random.default_rng(10_000 + seed)
    if world == "events":
        from tests.conftest import generate_events

        healthy = _events(generate_events(("2026-03", "2026-04", "2026-05"), users, seed))
        broken = _events(generate_events(("2026-03", "2026-04", "2026-05"), users, seed, renamed_login=["2026-04"]))
        return (*_features(healthy, "2026-03", "2026-04"), _features(broken, "2026-03", "2026-04")[1], {})
    from tests.streams import generate_stream

    months = ("2026-03", "2026-04", "2026-05", "2026-06")
    day = f"2026-05-{int(rng.integers(1, 32)):02d}"
    hour = f"2026-05-{int(rng.integers(2, 30)):02d}T{int(rng.integers(0, 24)):02d}"
    healthy = generate_stream(months, users=users, seed=seed, campaign_day=day)
    broken = generate_stream(months, users=users, seed=seed, rename_at=hour)
    detail = {"campaign_day": day, "rename_at": hour}
    return (*_features(healthy, "2026-03", "2026-05"), _features(broken, "2026-03", "2026-05")[1], detail)


def measure(world: str, seed: int, users: int) -> dict[str, Any]:
    """One seed's estimated and actual figures."""
    started = time.perf_counter()
    reference, healthy, broken, detail = months_of(world, seed, users)
    names = list(FEATURES)
    model = train_model(reference, names)
    fitted_at = time.perf_counter()
    held = held_out_predictions(reference, names, clone(model.estimator))
    fit_seconds = time.perf_counter() - fitted_at
    out: dict[str, Any] = {"world": world, "seed": seed, "users": users, "reference_users": len(reference), **detail}
    out["reference"] = {
        "lift": top_lift(held.y, held.prediction),
        "predicted": float(held.prediction.mean()),
        "actual": float(held.y.mean()),
    }
    for name, month in (("healthy", healthy), ("broken", broken)):
        month = month.assign(prediction=predict(model, month))
        estimate = estimate_ranking(held, month)
        actual, scored = month["actual"].to_numpy(dtype="float64"), month["prediction"].to_numpy()
        out[name] = {
            "lift": estimate.lift,
            "predicted": estimate.predicted,
            "expected": estimate.expected,
            "relative_calibration": estimate.relative_calibration,
            "actual_lift": lift_at(actual, scored, 0.1),
            "actual_precision": precision_at(actual, scored, 0.1),
            "actual_mean": float(actual.mean()),
            "zero_login": float((month["login"] == 0).mean()),
        }
    out["seconds"] = {"fit": round(fit_seconds, 2), "all": round(time.perf_counter() - started, 2)}
    return out


def raised(row: dict[str, Any], case: str, share: float) -> bool:
    """Whether ``estimated_ranking`` would raise: lift or calibration below ``share`` of the reference's."""
    figures, reference = row[case], row["reference"]
    low_lift = figures["lift"] is not None and reference["lift"] and figures["lift"] < share * reference["lift"]
    low_calibration = figures["relative_calibration"] is not None and figures["relative_calibration"] < share
    return bool(low_lift or low_calibration)


def summarise(rows: list[dict[str, Any]], share: float) -> dict[str, Any]:
    """Healthy months that raise, broken months that raise, per world and size."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(f"{row['world']}@{row['users']}", []).append(row)
    return {
        key: {
            "seeds": len(group),
            "healthy_raised": sum(raised(r, "healthy", share) for r in group),
            "broken_raised": sum(raised(r, "broken", share) for r in group),
            "broken_actual_lift_ratio_median": float(
                np.median([r["broken"]["actual_lift"] / r["reference"]["lift"] for r in group])
            ),
        }
        for key, group in groups.items()
    }


def _sample_world(seed: int, users: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    propensity = sample_logs.draw_propensity(rng, users)
    sigma = sample_logs._INTENT_SIGMA
    intent = rng.lognormal(-(sigma**2) / 2, sigma, users)
    counts = [sample_logs.draw_counts(rng, propensity, intent) for _ in range(3)]
    columns = {"login": 0, "view": 1, "cart": 4, "purchase": 3}
    frames = []
    for month, following in itertools.pairwise(counts):
        active = month.sum(axis=1) > 0
        frame = pd.DataFrame({name: month[active, col] for name, col in columns.items()})
        frames.append(frame.assign(target=following[active, 3]))
    current = frames[1].rename(columns={"target": "actual"})
    return frames[0], current, current.assign(login=0), {}


def _events(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame.assign(ts=pd.to_datetime(frame["timestamp"]).dt.tz_localize(None)).drop(columns="timestamp")


def _features(frame: pd.DataFrame, reference: str, current: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = db.connect()
    try:
        con.register("stream", frame)
        con.execute("CREATE TABLE events AS SELECT user_id, event, ts::TIMESTAMP AS ts, event_id FROM stream")
        ref = build_features(con, reference, FEATURES, ("purchase",))
        cur = build_features(con, current, FEATURES, ("purchase",)).rename(columns={"target": "actual"})
        return ref, cur
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--world", choices=("sample", "events", "stream"), default="sample")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--summary", help="summarise the JSON lines of this file instead")
    parser.add_argument("--share", type=float, default=0.8)
    args = parser.parse_args()
    if args.summary:
        with open(args.summary, encoding="utf-8") as lines:
            print(json.dumps(summarise([json.loads(line) for line in lines if line.strip()], args.share), indent=1))
        return
    for seed in range(args.first, args.first + args.seeds):
        print(json.dumps(measure(args.world, seed, args.users)), flush=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
