"""Monthly features: population, counts and target exactly as DESIGN.md defines them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlglot

from mlwatch.config import Columns
from mlwatch.errors import InputError
from mlwatch.ingest.db import connect
from mlwatch.ingest.logs import read_events
from mlwatch.monthly.features import aggregation_sql, build_features, month_activity, summarise_features
from mlwatch.months import next_month, parse_month
from tests.conftest import write_jsonl

FEATURES = {"login": ("user_login", "user_login_from_pc"), "purchase": ("purchase",)}


def _events(tmp_path: Path, rows: list[tuple[str, str, str]]):
    path = write_jsonl(tmp_path / "e.jsonl", [{"user_id": u, "event": e, "timestamp": t} for u, e, t in rows])
    con = connect()
    read_events(con, path, Columns(event_id=None))
    return con


def test_population_counts_and_next_month_target(tmp_path: Path) -> None:
    con = _events(
        tmp_path,
        [
            ("a", "user_login", "2026-03-01T00:00:00Z"),
            ("a", "user_login_from_pc", "2026-03-31T23:59:59Z"),
            ("a", "purchase", "2026-03-10"),
            ("b", "search", "2026-03-02"),  # active through an unmapped event: in the population with zeros
            ("c", "purchase", "2026-04-03"),  # active only next month: not in March's population
            ("a", "purchase", "2026-04-01T00:00:00Z"),
            ("a", "purchase", "2026-04-30T23:00:00Z"),
            ("a", "user_login", "2026-02-28T23:59:59Z"),  # previous month: ignored
            ("b", "purchase", "2026-05-01"),  # two months later: not the target
        ],
    )
    frame = build_features(con, "2026-03", FEATURES, ("purchase",))
    assert frame.to_dict("records") == [
        {"user_id": "a", "events": 3, "login": 2, "purchase": 1, "target": 2},
        {"user_id": "b", "events": 1, "login": 0, "purchase": 0, "target": 0},
    ]
    without_target = build_features(con, "2026-04", FEATURES)
    assert list(without_target.columns) == ["user_id", "events", "login", "purchase"]
    assert without_target.user_id.tolist() == ["a", "c"]


def test_timestamps_with_offsets_fall_in_their_utc_month(tmp_path: Path) -> None:
    con = _events(tmp_path, [("a", "purchase", "2026-04-01T01:00:00+02:00")])  # 2026-03-31 23:00 UTC
    assert build_features(con, "2026-03", FEATURES).purchase.tolist() == [1]


def test_summary_statistics_are_exact(tmp_path: Path) -> None:
    con = connect()
    frame = pd.DataFrame({"user_id": list("abcd"), "login": [0, 0, 3, None]})
    stats = summarise_features(con, frame, ["login"])["login"]
    assert (stats.users, stats.zeros, stats.missing) == (4, 2, 1)
    assert stats.zero_rate == 0.5 and stats.missing_rate == 0.25
    assert stats.mean == 1.0 and stats.quantiles["p50"] == 0.0


def test_month_activity_lists_every_day_including_empty_ones(tmp_path: Path) -> None:
    con = _events(tmp_path, [("a", "x", "2026-02-01"), ("b", "x", "2026-02-01"), ("a", "x", "2026-02-28")])
    activity = month_activity(con, "2026-02")
    assert (activity.events, activity.users, len(activity.daily)) == (3, 2, 28)
    assert activity.daily["2026-02-01"] == 2 and activity.daily["2026-02-02"] == 0


def test_aggregation_sql_transpiles_to_spark() -> None:
    sql, params = aggregation_sql("2026-03", FEATURES, ("purchase",))
    spark = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    assert "GROUP BY user_id" in spark and "LEFT JOIN" in spark
    assert sql.count("?") == len(params)


def test_month_helpers() -> None:
    assert next_month("2026-12") == "2027-01"
    with pytest.raises(InputError, match="YYYY-MM"):
        parse_month("2026-13")
