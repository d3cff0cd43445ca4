"""Feature build and ingest: mlwatch against a bare DuckDB query and a straightforward pandas version.

All three build the same table from the same files: per user of the reference month, the count
of each feature's events, and the purchases of the following month (the model's target).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from mlwatch.config import Config
from mlwatch.ingest import db
from mlwatch.ingest.db import sql_list
from mlwatch.ingest.files import find_log_files
from mlwatch.ingest.logs import EVENTS_SCHEMA, read_events, validated_sql
from mlwatch.ingest.staging import drop_rejects, json_lines_sql
from mlwatch.monthly.features import build_features
from mlwatch.months import month_start, next_month

REFERENCE = "2026-03"


def compare_feature_build(logs: Path, fmt: str, config: Config, repeat: int = 3) -> dict[str, Any]:
    """Time each way of building the reference month's feature table from the files in ``logs``.

    Returns seconds (best of ``repeat``) for: ``bare_files`` (one GROUP BY over the files),
    ``bare_table`` (the same GROUP BY over mlwatch's validated table), ``mlwatch_build``
    (``build_features`` over that table), ``mlwatch_ingest`` (``read_events``: read, validate,
    count rejects, de-duplicate), ``pandas_read`` and ``pandas_build``; and the users built.
    """
    files = [str(p) for p in find_log_files(logs)]
    con = db.connect()
    try:
        seconds = {
            "bare_files": _best(repeat, lambda: con.execute(_bare_sql(events_source(files, fmt), config)).df()),
            "mlwatch_ingest": _best(repeat, lambda: read_events(con, logs, config.columns)),
        }
        seconds["bare_table"] = _best(repeat, lambda: con.execute(_bare_sql("events", config)).df())
        built = build_features(con, REFERENCE, config.features, config.target_events())
        seconds["mlwatch_build"] = _best(
            repeat, lambda: build_features(con, REFERENCE, config.features, config.target_events())
        )
    finally:
        con.close()
    events: list[pd.DataFrame] = []
    seconds["pandas_read"] = _best(1, lambda: events.append(_pandas_read(files, fmt)))
    frame = events[-1]
    by_pandas: list[pd.DataFrame] = []
    seconds["pandas_build"] = _best(1, lambda: by_pandas.append(_pandas_build(frame, config)))
    _same_table(built, by_pandas[-1], config)
    return {"format": fmt, "rows": len(frame), "users": len(built), "seconds": seconds}


def compare_line_validation(logs: Path, config: Config, repeat: int = 3) -> dict[str, Any]:
    """Time loading clean JSON Lines with every line read as text and validated (mlwatch),
    against the same load through DuckDB's ``read_json`` (which cannot count the lines it rejects)."""
    files = [str(p) for p in find_log_files(logs)]
    names = config.columns
    plain = f"""
        SELECT filename AS file, NULL::BIGINT AS line, NULL AS reason, NULL AS raw,
               {_q(names.user_id)} AS user_id, {_q(names.event)} AS event, {_q(names.timestamp)} AS ts_text,
               NULL::TIMESTAMP AS ts_value, {_q(names.event_id or "event_id")} AS event_id
        FROM read_json({sql_list(files)}, format = 'newline_delimited', filename = true, columns = {{
            {", ".join(f"'{c}': 'VARCHAR'" for c in (names.user_id, names.event, names.timestamp, names.event_id or "event_id"))}}})
    """
    con = db.connect()
    try:

        def load(*sources: str) -> Callable[[], Any]:
            def run() -> None:
                con.execute(f"CREATE OR REPLACE TABLE events ({EVENTS_SCHEMA})")
                drop_rejects(con)
                for source in sources:
                    con.execute(f"INSERT INTO events {validated_sql(source, names)}")

            return run

        seconds = {
            "text_validated": _best(repeat, load(*json_lines_sql(files, names))),
            "read_json": _best(repeat, load(plain)),
            "read_json_bare": _best(
                repeat,
                lambda: con.execute(
                    f"CREATE OR REPLACE TABLE bare AS SELECT * FROM read_json({sql_list(files)}, format = 'newline_delimited')"
                ),
            ),
        }
        rows = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    finally:
        con.close()
    return {"rows": rows, "seconds": seconds}


def events_source(files: list[str], fmt: str) -> str:
    """A subquery of every event in ``files``: ``user_id``, ``event`` and ``ts``, read straight from the files."""
    if fmt == "parquet":
        return f"(SELECT user_id, event, CAST(timestamp AS TIMESTAMP) AS ts FROM read_parquet({sql_list(files)}))"
    reader = "read_csv" if fmt == "csv" else "read_json"
    return (
        f"(SELECT user_id, event, CAST(timestamp AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS ts"
        f" FROM {reader}({sql_list(files)}))"
    )


def _bare_sql(source: str, config: Config) -> str:
    """The GROUP BY a data engineer would write by hand, with the event names inlined."""
    start, end, after = (month_start(m) for m in (REFERENCE, next_month(REFERENCE), next_month(next_month(REFERENCE))))
    counts = ", ".join(
        f"count(*) FILTER (WHERE event IN ({', '.join(repr(e) for e in events)})) AS {name}"
        for name, events in config.features.items()
    )
    target = ", ".join(repr(e) for e in config.target_events())
    return f"""
        WITH e AS (SELECT * FROM {source})
        SELECT m.*, coalesce(t.target, 0) AS target
        FROM (SELECT user_id, count(*) AS events, {counts} FROM e
              WHERE ts >= '{start}' AND ts < '{end}' GROUP BY user_id) AS m
        LEFT JOIN (SELECT user_id, count(*) AS target FROM e
                   WHERE event IN ({target}) AND ts >= '{end}' AND ts < '{after}' GROUP BY user_id) AS t
        USING (user_id)
    """


def _pandas_read(files: list[str], fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        frame = pd.concat([pd.read_parquet(f, columns=["user_id", "event", "timestamp"]) for f in files])
    elif fmt == "csv":
        frame = pd.concat([pd.read_csv(f, usecols=["user_id", "event", "timestamp"], dtype=str) for f in files])
    else:
        frame = pd.concat([pd.read_json(f, lines=True, dtype=False)[["user_id", "event", "timestamp"]] for f in files])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _pandas_build(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The straightforward pandas version: filter the month, map events to features, pivot, join the target."""
    start, end, after = (
        pd.Timestamp(month_start(m), tz="UTC")
        for m in (REFERENCE, next_month(REFERENCE), next_month(next_month(REFERENCE)))
    )
    month = frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)]
    feature_of = {event: name for name, events in config.features.items() for event in events}
    table = month.assign(feature=month["event"].map(feature_of)).pivot_table(
        index="user_id", columns="feature", values="event", aggfunc="count", fill_value=0
    )
    table = table.reindex(columns=list(config.features), fill_value=0)
    table.insert(0, "events", month.groupby("user_id").size())
    following = frame[
        (frame["timestamp"] >= end) & (frame["timestamp"] < after) & frame["event"].isin(config.target_events())
    ]
    table["target"] = following.groupby("user_id").size().reindex(table.index, fill_value=0)
    return table.reset_index()


def _same_table(mlwatch: pd.DataFrame, pandas: pd.DataFrame, config: Config) -> None:
    """The comparison is only fair if both build the same figures."""
    columns = ["events", *config.features, "target"]
    left = mlwatch.set_index("user_id")[columns].sort_index()
    right = pandas.set_index("user_id")[columns].sort_index().astype("int64")
    if not left.equals(right):
        raise AssertionError("pandas and mlwatch built different feature tables")


def _best(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(min(times), 3)


def _q(name: str) -> str:
    return db.quote_ident(name)
