"""How often healthy months report a change point, and how often a rename is found at its hour.

Usage: python -m bench.false_alarms [--seeds 200]

Healthy: March to June generated with weekly rhythm, a daily rhythm and a campaign day on a random
May day, at 300, 2,000 and 10,000 users. Rename: ``user_login`` renamed at a random hour of May.
Prints one JSON object: the seeds tried, the healthy months with any change, and the renames
whose stop and starts were found at the right hour and linked.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mlwatch.ingest import db
from mlwatch.monthly.changes import detect_changes, link_names
from mlwatch.monthly.timeline import hourly_counts, period_end
from tests.streams import generate_stream

MONTHS = ("2026-03", "2026-04", "2026-05", "2026-06")


def changes_of(frame):  # type: ignore[no-untyped-def]
    con = db.connect()
    con.register("stream", frame)
    con.execute("CREATE TABLE events AS SELECT user_id, event, ts::TIMESTAMP AS ts, event_id FROM stream")
    end = period_end("2026-05")
    hourly = hourly_counts(con, "2026-03", end)
    return link_names(con, detect_changes(hourly, "2026-03", "2026-05", end), hourly, "2026-03", "2026-05", end)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    healthy = {"tried": 0, "with_changes": 0, "examples": []}
    renames = {"tried": 0, "found": 0, "missed": []}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        users = (300, 2000, 10000)[seed % 3]
        day = f"2026-05-{int(rng.integers(1, 32)):02d}"
        found = changes_of(generate_stream(MONTHS, users=users, seed=seed, campaign_day=day))
        healthy["tried"] += 1
        if found:
            healthy["with_changes"] += 1
            healthy["examples"].append([seed, users, [c.message for c in found]])
        hour = f"2026-05-{int(rng.integers(2, 30)):02d}T{int(rng.integers(0, 24)):02d}"
        found = changes_of(generate_stream(MONTHS, users=users, seed=seed, rename_at=hour))
        renames["tried"] += 1
        at = f"{hour}:00:00Z"
        stop = [c for c in found if c.kind == "stopped" and c.event == "user_login"]
        starts = [c for c in found if c.kind == "started" and c.replaces]
        if stop and abs(_hours(stop[0].at, at)) <= 1 and len(starts) == 2:
            renames["found"] += 1
        else:
            renames["missed"].append([seed, users, hour, [c.message for c in found]])
    print(json.dumps({"healthy": healthy, "renames": renames, "seconds": round(time.perf_counter() - started)}))


def _hours(a: str, b: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(a[:-1]) - datetime.fromisoformat(b[:-1])).total_seconds() / 3600


if __name__ == "__main__":
    main()
