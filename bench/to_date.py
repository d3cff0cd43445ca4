"""A daily month-to-date run against a whole-month run, on the same logs (docs/BENCHMARKS.md, "Month to date").

Usage: python -m bench.to_date --source DIR --out DIR [--config FILE] [--reference 2026-03 --current 2026-04]
       [--day 20]

``--source`` holds ``bench.generate`` Parquet logs (three files a month). The current month is written
again as one file per day (``<out>/logs/2026-04-DD.parquet``, as a daily export delivers it); the other
months are linked as they are. Then, each in a process of its own:

1. ``warm``: the month-to-date run of the day before ``--day`` with the files of days 1 to that day (it
   reads every file and keeps every day's partials: the state days 1 to ``--day - 1`` run one by one leave,
   tests/integration/test_to_date_incremental.py shows that both give the same results);
2. ``day``: the file of ``--day`` arrives; the month-to-date run of that day (reads that file only);
3. ``month``: the remaining days arrive; the whole-month run, in a fresh state.

Prints one JSON object: each run's wall time (imports excluded) and its stages' seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def prepare(source: Path, out: Path, current: str) -> Path:
    """Write the current month one file per day under ``<out>/days`` and link the other months' files in
    ``<out>/logs``; return ``<out>/logs``."""
    import duckdb

    from mlwatch.months import month_days

    logs, days = out / "logs", out / "days"
    logs.mkdir(parents=True, exist_ok=True)
    days.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.parquet")):
        if current not in path.name and not (logs / path.name).exists():
            (logs / path.name).symlink_to(path.resolve())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    files = str(source / f"*{current}*.parquet")
    for day in month_days(current):
        target = days / f"{day.isoformat()}.parquet"
        if not target.exists():
            con.execute(
                f"COPY (SELECT * FROM read_parquet('{files}') WHERE CAST(timestamp AS DATE) = ?) TO '{target}'",
                [day],
            )
    con.close()
    return logs


def arrive(out: Path, current: str, through: int) -> None:
    """Move the day files of ``current`` up to day ``through`` into the logs folder."""
    for path in sorted((out / "days").glob(f"{current}-*.parquet")):
        if int(path.stem[-2:]) <= through:
            path.rename(out / "logs" / path.name)


def timed_run(
    logs: Path, state: Path, config_path: Path | None, reference: str, current: str, as_of: str | None
) -> dict[str, Any]:
    """One run (``run_monthly``) and its stages' seconds."""
    from mlwatch.config import load_config
    from mlwatch.pipeline import run_monthly

    config = load_config(config_path)
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    result = run_monthly(
        logs, reference, current, config, state, as_of=as_of, progress=lambda s: marks.append((s, time.perf_counter()))
    )
    ended = time.perf_counter()
    bounds = [*marks, ("end", ended)]
    return {
        "as_of": as_of,
        "run_seconds": round(ended - started, 2),
        "stages": {name: round(bounds[i + 1][1] - at, 2) for i, (name, at) in enumerate(marks)},
        "rows_read": result.summary.ingest.rows_read,
        "users": result.summary.features.users,
        "gate": result.gate.status,
    }


def _in_process(args: list[str]) -> dict[str, Any]:
    found = subprocess.run(
        [sys.executable, "-m", "bench.to_date", *args], capture_output=True, text=True, check=True, env=os.environ
    )
    return json.loads(found.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--reference", default="2026-03")
    parser.add_argument("--current", default="2026-04")
    parser.add_argument("--day", type=int, default=20)
    parser.add_argument("--run", help=argparse.SUPPRESS)  # one run, in this process: warm | day | month
    args = parser.parse_args(argv)
    common = ["--out", str(args.out), "--reference", args.reference, "--current", args.current]
    common += ["--day", str(args.day), *(["--config", str(args.config)] if args.config else [])]
    if args.run:
        day = args.day - 1 if args.run == "warm" else args.day
        as_of = None if args.run == "month" else f"{args.current}-{day:02d}"
        state = args.out / ("state-month" if args.run == "month" else "state")
        run = timed_run(args.out / "logs", state, args.config, args.reference, args.current, as_of)
        print(json.dumps(run))
        return 0
    if args.source is None:
        parser.error("--source is required")
    prepare(args.source, args.out, args.current)
    arrive(args.out, args.current, args.day - 1)
    results = {"warm": _in_process([*common, "--run", "warm"])}
    arrive(args.out, args.current, args.day)
    results["day"] = _in_process([*common, "--run", "day"])
    arrive(args.out, args.current, 31)
    results["month"] = _in_process([*common, "--run", "month"])
    results["day_share_of_month"] = round(results["day"]["run_seconds"] / results["month"]["run_seconds"], 3)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
