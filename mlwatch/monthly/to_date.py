"""Month-to-date runs (``--as-of``): the current month's days so far against the same days of the reference month.

The run reads the logs as usual, then sees them through a view that keeps, of the reference month,
only its first days (as many as the current month has so far) and drops everything after the
``--as-of`` day; every later step reads ``events`` unchanged. Its gate is provisional: it alerts,
but its list is never exported.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from mlwatch.engine import aggregated
from mlwatch.errors import InputError
from mlwatch.months import month_days, month_of, month_start, next_month

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
