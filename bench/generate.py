"""Seeded generator of large event logs in JSONL, CSV and Parquet for the benchmarks.

Usage: python -m bench.generate --users 1000000 --out DIR [--format parquet] [--seed 0]

Three months (March to May 2026 by default): the reference month, the current month and the month
after it (its purchases are the current month's actuals). Each user has a heavy-tailed activity
level (log-normal), is active in a month with probability 0.9, and draws about
``events_per_user`` events a month; purchases depend on activity. The current month has 15% more
item views per user, so the drift scores are not all zero. Every row has a unique ``event_id``.
The same arguments give the same files.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mlwatch.months import next_month

MONTHS = ("2026-03", "2026-04", "2026-05")
EVENTS = np.array(["user_login", "item_view", "add_to_cart", "purchase"])
# Share of each event among a typical user's events (login, view, cart, purchase).
MIX = np.array([0.15, 0.70, 0.11, 0.04])
FORMATS = ("parquet", "csv", "jsonl")
ROWS_PER_FILE = 4_000_000


@dataclass(frozen=True)
class GeneratedLogs:
    """Where the logs were written and what they hold."""

    path: Path
    format: str
    users: int
    rows: int
    months: tuple[str, ...]
    files: int


def generate_logs(
    out: Path,
    users: int,
    fmt: str = "parquet",
    events_per_user: float = 11.1,
    seed: int = 0,
    months: tuple[str, ...] = MONTHS,
) -> GeneratedLogs:
    """Write the logs of ``users`` users over ``months`` under ``out/<fmt>/``.

    Args:
        events_per_user: mean events per active user and month.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    folder = out / fmt
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    level = rng.lognormal(mean=0.0, sigma=1.0, size=users)
    level /= level.mean()
    buyer = rng.beta(1.2, 6.0, size=users)  # how much of a user's activity ends in purchases
    rows = files = 0
    first_id = 0
    for index, month in enumerate(months):
        table = _month_table(rng, month, level, buyer, events_per_user, first_id, uplift=1.15 if index == 1 else 1.0)
        first_id += table.num_rows
        rows += table.num_rows
        for start in range(0, table.num_rows, ROWS_PER_FILE):
            part = table.slice(start, ROWS_PER_FILE)
            _write(part, folder / f"events-{month}-{start // ROWS_PER_FILE:03d}.{fmt}", fmt)
            files += 1
    return GeneratedLogs(folder, fmt, users, rows, months, files)


def _month_table(
    rng: np.random.Generator,
    month: str,
    level: np.ndarray,
    buyer: np.ndarray,
    per_user: float,
    first_id: int,
    uplift: float,
) -> pa.Table:
    users = len(level)
    active = rng.random(users) < 0.9
    counts = rng.poisson(level * per_user) * active
    user = np.repeat(np.arange(users, dtype=np.int64), counts)
    # Purchases replace part of the cart adds and views, more for the users inclined to buy.
    mix = np.tile(MIX, (len(user), 1))
    mix[:, 3] *= 0.5 + 2.0 * buyer[user]
    mix[:, 1] *= uplift
    mix /= mix.sum(axis=1, keepdims=True)
    cumulative = mix.cumsum(axis=1)
    event = (rng.random(len(user))[:, None] > cumulative).sum(axis=1).clip(0, 3)
    start = np.datetime64(f"{month}-01T00:00:00", "s")
    end = np.datetime64(next_month(month) + "-01T00:00:00", "s")
    seconds = rng.integers(0, int((end - start).astype(np.int64)), size=len(user))
    order = np.argsort(seconds, kind="stable")
    user, event, seconds = user[order], event[order], seconds[order]
    ids = np.arange(first_id, first_id + len(user), dtype=np.int64)
    return pa.table(
        {
            "user_id": pc.binary_join_element_wise("u", pa.array(user).cast(pa.string()), ""),
            "event": pa.DictionaryArray.from_arrays(pa.array(event.astype(np.int32)), pa.array(EVENTS)).cast(
                pa.string()
            ),
            "timestamp": pa.array((start + seconds.astype("timedelta64[s]")).astype("datetime64[us]")),
            "event_id": pc.binary_join_element_wise("e", pa.array(ids).cast(pa.string()), ""),
        }
    )


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=1_000_000)
        return
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("part", table)
        select = "SELECT user_id, event, strftime(timestamp, '%Y-%m-%dT%H:%M:%SZ') AS timestamp, event_id FROM part"
        options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT json"
        con.execute(f"COPY ({select}) TO '{path}' ({options})")
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--format", choices=FORMATS, default="parquet")
    parser.add_argument("--events-per-user", type=float, default=11.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    logs = generate_logs(args.out, args.users, args.format, args.events_per_user, args.seed)
    print(
        f"{logs.rows:,} events of {logs.users:,} users in {logs.files} {logs.format} files under {logs.path} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
