"""Per-user monthly features: one SQL aggregation per month over the ``events`` table.

The aggregation is plain SQL (CASE inside SUM, LEFT JOIN, bound parameters)
so that sqlglot can transpile it to Spark SQL for a data-lake backend; all
later steps work on the per-user table it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from mlwatch.engine import aggregated
from mlwatch.ingest.db import quote_ident
from mlwatch.months import month_days, month_start, next_month
from mlwatch.summary import FeatureStats, MonthVolume

QUANTILES = (0.25, 0.5, 0.75, 0.9, 0.99)


@dataclass(frozen=True)
class Returning:
    """Share of a month's users already seen in an earlier month, and the usual shape of each month's ids."""

    share: float
    users: int
    shape: str
    earlier_shape: str


def build_features(
    con: duckdb.DuckDBPyConnection,
    month: str,
    features: dict[str, tuple[str, ...]],
    target_events: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Aggregate the events of ``month`` into one row per active user.

    The population is every user with at least one valid event in the month.
    With ``target_events``, a ``target`` column holds each user's count of
    those events in the next month (0 when none).

    Returns:
        Columns ``user_id``, ``events``, one int64 column per feature, and ``target``.
    """
    if aggregated.active(con):  # the Spark engine's per-user table (engine/aggregated.py)
        sql, params = aggregated.features_sql(con, month, features, target_events)
    else:
        sql, params = aggregation_sql(month, features, target_events)
    frame = con.execute(sql, params).df()
    for column in frame.columns:
        if column != "user_id":
            frame[column] = frame[column].astype("int64")
    return frame


def aggregation_sql(
    month: str, features: dict[str, tuple[str, ...]], target_events: tuple[str, ...] | None
) -> tuple[str, list[object]]:
    params: list[object] = []
    columns = []
    for name, events in features.items():
        columns.append(f"SUM(CASE WHEN event IN ({_marks(events)}) THEN 1 ELSE 0 END) AS {quote_ident(name)}")
        params.extend(events)
    params.extend([month_start(month), month_start(next_month(month))])
    sql = (
        "SELECT user_id, COUNT(*) AS events, "
        + ", ".join(columns)
        + " FROM events WHERE ts >= ? AND ts < ? GROUP BY user_id"
    )
    if target_events is None:
        return f"SELECT * FROM ({sql}) AS m ORDER BY user_id", params
    following = next_month(month)
    params.extend(target_events)
    params.extend([month_start(following), month_start(next_month(following))])
    target = (
        f"SELECT user_id, COUNT(*) AS target FROM events WHERE event IN ({_marks(target_events)})"
        " AND ts >= ? AND ts < ? GROUP BY user_id"
    )
    return (
        (
            f"SELECT m.*, COALESCE(t.target, 0) AS target FROM ({sql}) AS m"
            f" LEFT JOIN ({target}) AS t ON m.user_id = t.user_id ORDER BY m.user_id"
        ),
        params,
    )


def summarise_features(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, names: list[str], unknown: dict[str, int] | None = None
) -> dict[str, FeatureStats]:
    """Compute exact missing and zero counts, moments and quantiles of each column in DuckDB.

    Args:
        unknown: per feature, how many users' counts are unknown though the column holds the 0 the
            model sees: every user where none of its events arrived in the month (``silent_features``),
            else the users active only on its gap days (``unknown_users``).
    """
    if not names:
        return {}
    con.register("feature_frame", frame)
    try:  # every column in one scan; each column's quantiles from one sort
        row = con.execute(f"SELECT {', '.join(_stats_sql(name) for name in names)} FROM feature_frame").fetchall()[0]
    finally:
        con.unregister("feature_frame")
    per_column = len(row) // max(1, len(names))
    return {
        name: _stats(row[i * per_column : (i + 1) * per_column], (unknown or {}).get(name))
        for i, name in enumerate(names)
    }


def silent_features(features: dict[str, tuple[str, ...]], counts: dict[str, int]) -> frozenset[str]:
    """The features none of whose event names occur in a month's event ``counts``."""
    return frozenset(name for name, events in features.items() if not any(counts.get(e, 0) for e in events))


def _stats_sql(name: str) -> str:
    col = quote_ident(name)
    return (
        f"count(*), count(*) - count({col}), count(*) FILTER (WHERE {col} = 0), avg({col}), stddev_samp({col}), "
        f"min({col}), max({col}), quantile_cont({col}, {list(QUANTILES)})"
    )


def _stats(row: tuple, unknown: int | None) -> FeatureStats:
    users, missing, zeros, mean, std, low, high, qs = row
    return FeatureStats(
        users=int(users),
        missing=int(missing) + (min(unknown, int(users)) if unknown else 0),
        zeros=int(zeros),
        mean=_float(mean),
        std=_float(std),
        minimum=_float(low),
        maximum=_float(high),
        quantiles={f"p{round(q * 100)}": _float(v) for q, v in zip(QUANTILES, qs or [None] * len(QUANTILES))},
    )


def month_activity(con: duckdb.DuckDBPyConnection, month: str, days: int | None = None) -> MonthVolume:
    """Return the month's event and user totals and its events per calendar day (0 for empty days).

    Args:
        days: only the month's first days (a month-to-date run); default every day.
    """
    if aggregated.active(con):
        events, users, per_day_text = aggregated.month_totals(con, month)
        return MonthVolume(events, users, aggregated.all_days(month, days, per_day_text))
    start, end = month_start(month), month_start(next_month(month))
    events, users = con.execute(
        "SELECT count(*), count(DISTINCT user_id) FROM events WHERE ts >= ? AND ts < ?", [start, end]
    ).fetchall()[0]
    per_day = dict(
        con.execute(
            "SELECT CAST(ts AS DATE) AS day, count(*) FROM events WHERE ts >= ? AND ts < ? GROUP BY day",
            [start, end],
        ).fetchall()
    )
    daily = {day.isoformat(): int(per_day.get(day, 0)) for day in month_days(month)[:days]}
    return MonthVolume(int(events), int(users), daily)


def buyers(con: duckdb.DuckDBPyConnection, month: str, events: tuple[str, ...]) -> pd.DataFrame:
    """The users with at least one of ``events`` in ``month`` and how many (``user_id``, ``bought``): the
    ``bought`` column of ``build_features`` without the users who bought nothing."""
    if aggregated.active(con):
        frame = build_features(con, month, {"bought": events})
        return frame.loc[frame["bought"] > 0, ["user_id", "bought"]].reset_index(drop=True)
    frame = con.execute(
        f"SELECT user_id, count(*) AS bought FROM events WHERE event IN ({_marks(events)}) AND ts >= ? AND ts < ? "
        "GROUP BY user_id ORDER BY user_id",
        [*events, *_bounds(month)],
    ).df()
    frame["bought"] = frame["bought"].astype("int64")
    return frame


def has_events_on(con: duckdb.DuckDBPyConnection, day: date) -> bool:
    """Whether ``day`` has a valid event (without counting the month's users, as ``month_activity`` does)."""
    table, column = (aggregated.EVENT_HOURS, "hour") if aggregated.active(con) else ("events", "ts")
    start = datetime.combine(day, datetime.min.time())
    return bool(
        con.execute(
            f"SELECT count(*) > 0 FROM {table} WHERE {column} >= ? AND {column} < ?", [start, start + timedelta(days=1)]
        ).fetchall()[0][0]
    )


def months_present(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the months that have at least one valid event, in order."""
    if aggregated.active(con):
        return aggregated.months_present(con)
    rows = con.execute(
        "SELECT DISTINCT strftime(date_trunc('month', ts), '%Y-%m') AS m FROM (SELECT DISTINCT date_trunc('month', ts) AS ts FROM events) ORDER BY m"
    ).fetchall()
    return [row[0] for row in rows]


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def returning_users(
    con: duckdb.DuckDBPyConnection, month: str, earlier: str, shapes: dict[str, str] | None = None
) -> Returning:
    """The share of ``month``'s users with an event in ``earlier``, and each month's usual id shape.

    Args:
        shapes: the id shapes of months already found in this run (month -> shape), filled here: each month's
            users are shaped once (over a second at a million users).
    """
    shapes = {} if shapes is None else shapes
    for wanted in (month, earlier):
        if wanted not in shapes:
            shapes[wanted] = _id_shape(con, wanted)
    if aggregated.active(con):
        share, users = aggregated.returning_share(con, month, earlier)
        return Returning(share, users, shapes[month], shapes[earlier])
    share, users = con.execute(
        """WITH now AS (SELECT DISTINCT user_id FROM events WHERE ts >= ? AND ts < ?),
                before AS (SELECT DISTINCT user_id FROM events WHERE ts >= ? AND ts < ?)
           SELECT count(before.user_id) / greatest(count(*), 1), count(*)
           FROM now LEFT JOIN before ON now.user_id = before.user_id""",
        [*_bounds(month), *_bounds(earlier)],
    ).fetchall()[0]
    return Returning(float(share), int(users), shapes[month], shapes[earlier])


def unknown_users(con: duckdb.DuckDBPyConnection, month: str, days: tuple[str, ...]) -> int:
    """How many of ``month``'s users were active only on ``days`` (a feature's gap days: its count is unknown)."""
    if not days:
        return 0
    if aggregated.active(con):
        return aggregated.users_only_on(con, month, days)
    return int(
        con.execute(
            """SELECT count(*) FROM (
                   SELECT user_id FROM events WHERE ts >= ? AND ts < ? GROUP BY user_id
                   HAVING bool_and(strftime(ts, '%Y-%m-%d') IN (SELECT unnest(?::VARCHAR[])))
               )""",
            [*_bounds(month), list(days)],
        ).fetchall()[0][0]
    )


def _id_shape(con: duckdb.DuckDBPyConnection, month: str) -> str:
    """The most common shape of the month's user ids: digits as 9, letters as a (``u00012`` -> ``a99999``)."""
    users, bounds = (
        (aggregated.id_shape_sql(), [month])
        if aggregated.active(con)
        else ("SELECT DISTINCT user_id FROM events WHERE ts >= ? AND ts < ?", _bounds(month))
    )
    row = con.execute(
        f"""SELECT regexp_replace(regexp_replace(user_id, '[0-9]', '9', 'g'), '[A-Za-z]', 'a', 'g') AS shape
           FROM ({users}) GROUP BY shape ORDER BY count(*) DESC, shape LIMIT 1""",
        bounds,
    ).fetchall()
    return row[0][0] if row else ""


def _bounds(month: str) -> list[object]:
    return [month_start(month), month_start(next_month(month))]
