"""Month-to-date runs (``--as-of``): the current month's days so far against the same days of the reference month.

A run sees, of the reference month, only its first days (as many as the current month has so far)
and nothing after the ``--as-of`` day. A daily run (``read_to_date``) reads only the log files it
has not read before and keeps each day's aggregates with the state (``ingest/days.py``,
``state/partials.py``); it builds, from the days it sees, the per-user monthly and per-hour tables
every later stage answers from (``engine/aggregated.py``), with the results a whole read gives.
Logs already read into a session (backfill reads them once for every day) are seen through a view
of ``events`` instead (``restrict_events``). Its gate is provisional: it alerts, but its list is
never exported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from mlwatch.config import Config
from mlwatch.engine import aggregated
from mlwatch.errors import InputError
from mlwatch.ingest import days
from mlwatch.ingest.db import quote_ident, sql_list
from mlwatch.ingest.files import find_log_files
from mlwatch.months import month_days, month_of, month_start, next_month
from mlwatch.state import partials
from mlwatch.summary import IngestReport

_READ = "events_read"  # the table the reader filled, while a month-to-date view stands in for it


def parse_as_of(text: str, current: str) -> date:
    """Validate ``--as-of``: a day of the current month.

    Raises:
        InputError: not a date, or outside the current month.
    """
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--as-of {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-05-16") from exc
    if month_of(day) != current:
        raise InputError(f"--as-of {text} is not a day of the current month {current}; give a day of {current}")
    return day


def same_days(reference: str, as_of: date) -> int:
    """How many first days of the reference month stand against the current month's days so far."""
    return min(as_of.day, len(month_days(reference)))


@contextlib.contextmanager
def read_to_date(
    con: duckdb.DuckDBPyConnection,
    logs: str,
    config: Config,
    state: str | Path,
    reference: str,
    as_of: date,
    within: tuple[Path | str, ...] | None = None,
) -> Iterator[IngestReport]:
    """Read the logs for a month-to-date run: only the files not read before, the others from their kept days.

    Fills ``user_months``, ``event_hours`` and ``user_names`` with the days the run sees
    (``engine/aggregated.py``) and yields the ingest report. The partials stay held until the block
    ends: ``user_names`` reads the kept days when asked, so no other run may replace them meanwhile.

    Raises:
        InputError: unusable logs (as a whole read says it).
        StateError: the partials cannot be kept.
    """
    files = find_log_files(logs, within)
    root = partials.partials_root(state, days.reading_key(logs, config, within))
    with partials.locked(root) as kept:
        current = days.update(con, files, config, kept)
        report = days.ingest_report(con, logs, files, config, current)
        _store_days(con, current, _days_seen(current, reference, as_of), config)
        yield report


def _days_seen(kept: partials.Partials, reference: str, as_of: date) -> list[str]:
    """The kept days with events up to ``as_of``, the reference month's cut to its first days."""
    cut = (month_start(reference) + timedelta(days=same_days(reference, as_of))).date()
    end = month_start(next_month(reference)).date()
    seen = []
    for day, record in sorted(kept.days.items()):
        when = date.fromisoformat(day)
        if record.events and when <= as_of and not cut <= when < end:
            seen.append(day)
    return seen


def _store_days(con: duckdb.DuckDBPyConnection, kept: partials.Partials, seen: list[str], config: Config) -> None:
    """``user_months`` (each user's month: the sums of its days, its days as a bit mask, and the target: its next
    month's count of the target feature), ``event_hours`` and ``user_names`` (a view), from the days ``seen``.

    The names a user used are read from the days only when asked (``aggregated.user_share``): merging them
    into each user's month would cost more than everything else here.
    """
    names = list(config.features)
    sums = ", ".join(f"CAST(sum({quote_ident(n)}) AS BIGINT) AS {quote_ident(n)}" for n in names)
    counts = [(quote_ident(n), "BIGINT") for n in names]
    schema = [("day", "DATE"), ("user_id", "VARCHAR"), ("events", "BIGINT"), *counts, ("names", "VARCHAR[]")]
    users = _scan(kept, seen, "users", schema)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE seen_months AS
        SELECT date_trunc('month', day) AS start, user_id, CAST(sum(events) AS BIGINT) AS events, {sums},
               bit_or(CAST(1 AS BIGINT) << (dayofmonth(day) - 1)) AS days
        FROM {users} GROUP BY ALL
    """)  # fmt: skip
    con.execute(f"""
        CREATE OR REPLACE TABLE {aggregated.USER_MONTHS} AS
        SELECT strftime(m.start, '%Y-%m') AS month, m.user_id, m.events, {", ".join(f"m.{quote_ident(n)}" for n in names)},
               coalesce(t.{quote_ident(config.target)}, 0) AS target, m.days
        FROM seen_months m LEFT JOIN seen_months t ON t.user_id = m.user_id AND t.start = m.start + INTERVAL 1 MONTH
    """)  # fmt: skip
    con.execute("DROP TABLE seen_months")
    con.execute(
        f"CREATE OR REPLACE VIEW {aggregated.USER_NAMES} AS SELECT strftime(day, '%Y-%m') AS month, user_id, names "
        f"FROM {users}"
    )
    hours = _scan(
        kept, seen, "hours", [("event", "VARCHAR"), ("hour", "TIMESTAMP"), ("events", "BIGINT"), ("users", "BIGINT")]
    )
    con.execute(f"CREATE OR REPLACE TABLE {aggregated.EVENT_HOURS} AS SELECT event, hour, events, users FROM {hours}")
    aggregated.record_features(con, config.features)


def _scan(kept: partials.Partials, seen: list[str], kind: str, schema: list[tuple[str, str]]) -> str:
    """A ``FROM`` item reading the days' Parquet files of ``kind`` (no row, with the columns of ``schema``, for no day)."""
    if not seen:
        return "(SELECT " + ", ".join(f"CAST(NULL AS {kind_}) AS {name}" for name, kind_ in schema) + " WHERE false)"
    return f"read_parquet({sql_list([kept.day_path(day, kind) for day in seen])}, hive_partitioning = false)"


def restrict_events(con: duckdb.DuckDBPyConnection, reference: str, as_of: date) -> None:
    """Make ``events`` show the reference month's first days only and nothing after the ``as_of`` day.

    Raises:
        InputError: the session holds an engine's per-user monthly tables (no events by day).
    """
    if aggregated.active(con):
        aggregated.refuse_to_date()
    if not _has_table(con, _READ):
        con.execute(f"ALTER TABLE events RENAME TO {_READ}")
    ref_start = month_start(reference)
    ref_cut = ref_start + timedelta(days=same_days(reference, as_of))
    ref_end = month_start(next_month(reference))
    end = datetime.combine(as_of, datetime.min.time()) + timedelta(days=1)
    con.execute(
        f"""CREATE OR REPLACE VIEW events AS SELECT * FROM {_READ}
            WHERE ts < TIMESTAMP '{end.isoformat()}'
              AND NOT (ts >= TIMESTAMP '{ref_cut.isoformat()}' AND ts < TIMESTAMP '{ref_end.isoformat()}')"""
    )


def release_events(con: duckdb.DuckDBPyConnection) -> None:
    """Undo ``restrict_events``: ``events`` is the whole table read again (backfill runs several months)."""
    if _has_table(con, _READ):
        con.execute("DROP VIEW IF EXISTS events")
        con.execute(f"ALTER TABLE {_READ} RENAME TO events")


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [name]).fetchall()[
            0
        ][0]
    )
