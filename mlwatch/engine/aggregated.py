"""The per-user monthly and per-hour tables every stage after reading runs on, and the queries on them.

One row per user and month (``user_months``: the month's event count, each feature's count, the
target, the days the user was active as a bit mask) and one row per event name and hour
(``event_hours``: events and distinct users). The functions of ``monthly/features.py``,
``timeline.py``, ``vocabulary.py`` and ``changes.py`` answer from these tables when the session holds
them (``active``): 30 million events become a million rows once, and the features, checks and timeline
ask those instead of scanning ``events`` again for each question. Three sources fill them:

- a whole read with DuckDB: ``from_events`` aggregates the ``events`` table the reader left, for one run;
- ``[engine] kind = "spark"``: no per-event table reaches this machine; Spark returns both tables
  (``store_tables``, with the event names each user used);
- a month-to-date run: the days it keeps with the state (``monthly/to_date.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from mlwatch.errors import InputError
from mlwatch.ingest.db import quote_ident, quote_literal
from mlwatch.months import month_days, month_of, month_start, next_month

USER_MONTHS = "user_months"
EVENT_HOURS = "event_hours"
FEATURE_COLUMNS = "user_month_features"  # feature name -> the event names its column counts
# ``month, user_id, names``: the event names each user used, for the rare question of who used a name
# (``user_share``): a view of ``user_months``, or of the kept days of a month-to-date run (``monthly/to_date.py``).
USER_NAMES = "user_names"
# Events and distinct users per event name and hour: the one definition every engine runs (Spark through
# sqlglot, engine/spark.py; a month-to-date run per day, ingest/days.py), completed with ``GROUP BY ALL``
# (and a time filter when ``monthly/timeline.py`` asks ``events`` directly).
HOURLY_SQL = (
    "SELECT event, date_trunc('hour', ts) AS hour, count(*) AS events, count(DISTINCT user_id) AS users FROM events"
)


def store_tables(
    con: duckdb.DuckDBPyConnection, user_months: pa.Table, event_hours: pa.Table, features: dict[str, tuple[str, ...]]
) -> None:
    """Keep an engine's per-user and per-hour tables in the DuckDB session, with the feature definitions."""
    con.register("incoming_user_months", user_months)
    con.register("incoming_event_hours", event_hours)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {USER_MONTHS} AS SELECT * FROM incoming_user_months")
        con.execute(
            f"CREATE OR REPLACE TABLE {EVENT_HOURS} AS SELECT event, CAST(hour AS TIMESTAMP) AS hour, "
            "CAST(events AS BIGINT) AS events, CAST(users AS BIGINT) AS users FROM incoming_event_hours"
        )
    finally:
        con.unregister("incoming_user_months")
        con.unregister("incoming_event_hours")
    con.execute(f"CREATE OR REPLACE VIEW {USER_NAMES} AS SELECT month, user_id, names FROM {USER_MONTHS}")
    record_features(con, features)


@contextlib.contextmanager
def from_events(
    con: duckdb.DuckDBPyConnection,
    features: dict[str, tuple[str, ...]],
    target: str,
    first: str,
    start: datetime,
    end: datetime,
) -> Iterator[None]:
    """Aggregate the run's events into ``user_months`` from the month ``first`` to the month after ``end``'s
    (whose counts are the target of the month before) and into ``event_hours`` from ``start`` to ``end``
    (exclusive), for the block; then drop them (a backfill reads its logs once and runs several months;
    actuals are measured on ``events``, whichever month they need).

    Does nothing when the session holds the tables already (Spark, a month-to-date run's kept days).
    ``user_names`` is a view of ``events`` (one name per row): it is asked only about the names of a change.
    """
    if active(con):
        yield
        return
    target_end = month_start(next_month(next_month(month_of(end - timedelta(microseconds=1)))))
    hours = f"ts >= TIMESTAMP '{start.isoformat(sep=' ')}' AND ts < TIMESTAMP '{end.isoformat(sep=' ')}'"
    try:  # the month counts once in a table: the join with the next month reads them twice
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE month_counts AS {month_counts_sql(features, (month_start(first), target_end))}"
        )
        con.execute(f"CREATE OR REPLACE TABLE {USER_MONTHS} AS {user_months_sql(features, target)}")
        con.execute("DROP TABLE month_counts")
        con.execute(f"CREATE OR REPLACE TABLE {EVENT_HOURS} AS {HOURLY_SQL} WHERE {hours} GROUP BY ALL")
        con.execute(
            f"CREATE OR REPLACE VIEW {USER_NAMES} AS "
            f"SELECT strftime(ts, '%Y-%m') AS month, user_id, [event] AS names FROM events WHERE {hours}"
        )
        record_features(con, features)
        yield
    finally:
        drop_tables(con)


def month_counts_sql(
    features: dict[str, tuple[str, ...]], bounds: tuple[datetime, datetime] | None = None, names: bool = False
) -> str:
    """One row per user and month of ``events`` (within ``bounds``, start inclusive): ``start`` (the month as
    year * 12 + month - 1, cheaper to group and to join with the next than text), the events, each feature's
    count and the active days as a bit mask (day 1 = bit 0); with ``names``, the event names used, sorted.

    The one definition both engines run (Spark through sqlglot, ``engine/spark.py``).
    """
    counts = ", ".join(
        f"count(*) FILTER (WHERE event IN ({', '.join(quote_literal(e) for e in events)})) AS {quote_ident(name)}"
        for name, events in features.items()
    )
    used = ", list_sort(list_distinct(list(event))) AS names" if names else ""
    within = ""
    if bounds is not None:
        first, end = (bound.isoformat(sep=" ") for bound in bounds)
        within = f"WHERE ts >= TIMESTAMP '{first}' AND ts < TIMESTAMP '{end}'"
    return f"""
        SELECT year(ts) * 12 + month(ts) - 1 AS start, user_id, count(*) AS events, {counts},
               bit_or(CAST(1 AS BIGINT) << (dayofmonth(ts) - 1)) AS days{used}
        FROM events {within} GROUP BY ALL
    """  # fmt: skip


def user_months_sql(features: dict[str, tuple[str, ...]], target: str, names: bool = False) -> str:
    """``user_months`` from the table (or named subquery) ``month_counts`` of ``month_counts_sql``: each row
    with its month as ``YYYY-MM`` and the ``target`` feature's count of the user's next month (0 when none)."""
    columns = ", ".join(f"m.{quote_ident(name)}" for name in features)
    return f"""
        SELECT printf('%04d-%02d', m.start // 12, m.start % 12 + 1) AS month, m.user_id, m.events, {columns},
               coalesce(t.{quote_ident(target)}, 0) AS target, m.days{", m.names" if names else ""}
        FROM month_counts m
        LEFT JOIN month_counts t ON t.user_id = m.user_id AND t.start = m.start + 1
    """  # fmt: skip


def drop_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the aggregated tables (``events``, when the session has it, is untouched)."""
    con.execute("DROP TABLE IF EXISTS month_counts")
    con.execute(f"DROP VIEW IF EXISTS {USER_NAMES}")
    for table in (USER_MONTHS, EVENT_HOURS, FEATURE_COLUMNS):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def record_features(con: duckdb.DuckDBPyConnection, features: dict[str, tuple[str, ...]]) -> None:
    """Keep which event names each feature column of ``user_months`` counts."""
    con.execute(f"CREATE OR REPLACE TABLE {FEATURE_COLUMNS} (name VARCHAR, events VARCHAR[])")
    con.executemany(f"INSERT INTO {FEATURE_COLUMNS} VALUES (?, ?)", [[n, list(e)] for n, e in features.items()])


def active(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this session holds an engine's aggregated tables instead of ``events``."""
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [USER_MONTHS]).fetchall()[0][0]
    )


def features_sql(
    con: duckdb.DuckDBPyConnection, month: str, features: dict[str, tuple[str, ...]], target: tuple[str, ...] | None
) -> tuple[str, list[object]]:
    """``build_features``'s query on ``user_months``: each feature is the stored column counting its events.

    Raises:
        InputError: a feature (or the target) counts events no stored column counts (another config).
    """
    stored = {
        tuple(events): name for name, events in con.execute(f"SELECT name, events FROM {FEATURE_COLUMNS}").fetchall()
    }
    columns = [
        f"{quote_ident(_column(stored, events, name))} AS {quote_ident(name)}" for name, events in features.items()
    ]
    if target is not None:
        _column(stored, target, "target")
        columns.append("target")
    sql = f"SELECT user_id, events, {', '.join(columns)} FROM {USER_MONTHS} WHERE month = ? ORDER BY user_id"
    return sql, [month]


def months_present(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The months with at least one valid event."""
    return [m for (m,) in con.execute(f"SELECT DISTINCT month FROM {USER_MONTHS} ORDER BY month").fetchall()]


def month_totals(con: duckdb.DuckDBPyConnection, month: str) -> tuple[int, int, dict[str, int]]:
    """The month's events, active users and events per day with any."""
    events, users = con.execute(
        f"SELECT coalesce(sum(events), 0), count(*) FROM {USER_MONTHS} WHERE month = ?", [month]
    ).fetchall()[0]
    per_day = con.execute(
        f"SELECT CAST(hour AS DATE) AS day, sum(events) FROM {EVENT_HOURS} WHERE hour >= ? AND hour < ? GROUP BY day",
        _bounds(month),
    ).fetchall()
    return int(events), int(users), {day.isoformat(): int(n) for day, n in per_day}


def returning_share(con: duckdb.DuckDBPyConnection, month: str, earlier: str) -> tuple[float, int]:
    """The share of ``month``'s users active in ``earlier``, and ``month``'s users."""
    share, users = con.execute(
        f"""SELECT count(b.user_id) / greatest(count(*), 1), count(*)
            FROM (SELECT user_id FROM {USER_MONTHS} WHERE month = ?) n
            LEFT JOIN (SELECT user_id FROM {USER_MONTHS} WHERE month = ?) b ON n.user_id = b.user_id""",
        [month, earlier],
    ).fetchall()[0]
    return float(share), int(users)


def users_only_on(con: duckdb.DuckDBPyConnection, month: str, days: tuple[str, ...]) -> int:
    """How many of ``month``'s users were active on ``days`` only (their active days as a bit mask)."""
    mask = sum(1 << (int(day[8:10]) - 1) for day in days if day[:7] == month)
    return int(
        con.execute(
            f"SELECT count(*) FROM {USER_MONTHS} WHERE month = ? AND (days & ~CAST(? AS BIGINT)) = 0", [month, mask]
        ).fetchall()[0][0]
    )


def id_shape_sql() -> str:
    """The users of a month (bound: the month), for the id shape query."""
    return f"SELECT user_id FROM {USER_MONTHS} WHERE month = ?"


def hourly_sql() -> str:
    """``hourly_counts``'s query on ``event_hours`` (bound: start and end)."""
    return f"SELECT event, hour, events, users FROM {EVENT_HOURS} WHERE hour >= ? AND hour < ? ORDER BY event, hour"


def event_counts_sql() -> str:
    """``event_counts``'s query on ``event_hours`` (bound: the month's start and end)."""
    return (
        f"SELECT event, sum(events) AS n FROM {EVENT_HOURS} WHERE hour >= ? AND hour < ? "
        "GROUP BY event ORDER BY n DESC, event"
    )


def user_share(con: duckdb.DuckDBPyConnection, new: str, old: str, reference: str, end: datetime) -> tuple[int, int]:
    """Of the users of ``new`` after the reference month (up to ``end``), how many used ``old`` in it, and how many.

    The tables hold nothing from ``end`` on: a month's start, or (month to date, ``monthly/to_date.py``)
    the day after ``--as-of``, whose month's row holds its days up to then.
    """
    last = month_of(end - timedelta(microseconds=1))
    seen, users = con.execute(
        f"""WITH n AS (SELECT DISTINCT user_id FROM {USER_NAMES}
                       WHERE month > ? AND month <= ? AND list_contains(names, ?)),
                 o AS (SELECT DISTINCT user_id FROM {USER_NAMES} WHERE month = ? AND list_contains(names, ?))
            SELECT count(o.user_id), count(*) FROM n LEFT JOIN o ON n.user_id = o.user_id""",
        [reference, last, new, reference, old],
    ).fetchall()[0]
    return int(seen), int(users)


def refuse_to_date() -> None:
    """A month-to-date run cuts the reference month by day, which an engine's per-user monthly tables cannot.

    Raises:
        InputError: always.
    """
    raise InputError(_TO_DATE)


_TO_DATE = (
    '--as-of (month to date) needs the events by day: run it with [engine] kind = "duckdb" '
    "(the Spark engine returns per-user monthly tables)"
)


def _column(stored: dict[tuple[str, ...], str], events: tuple[str, ...], name: str) -> str:
    found = stored.get(tuple(events))
    if found is None:
        raise InputError(
            f"feature {name!r} counts {', '.join(events)}, which the engine's per-user table does not hold; "
            "run again with the config that maps it"
        )
    return found


def _bounds(month: str) -> list[object]:
    return [month_start(month), month_start(next_month(month))]


def all_days(month: str, days: int | None, per_day: dict[str, int]) -> dict[str, int]:
    """Every calendar day of the month (the first ``days``), 0 where none had events."""
    return {day.isoformat(): int(per_day.get(day.isoformat(), 0)) for day in month_days(month)[:days]}
