"""A run's stages answer from the per-user monthly and per-hour tables (``aggregated.from_events``) exactly as
from the ``events`` table itself: every question asked of both, on months with a rename, a gap day, users
who come and go, a month before the reference month and the target month."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from mlwatch.config import Columns, parse_config
from mlwatch.engine import aggregated
from mlwatch.errors import ConfigError, InputError
from mlwatch.ingest.db import connect
from mlwatch.ingest.logs import read_events
from mlwatch.monthly import changes
from mlwatch.monthly.features import (
    build_features,
    buyers,
    has_events_on,
    month_activity,
    returning_users,
    unknown_users,
)
from mlwatch.monthly.timeline import hourly_counts
from mlwatch.monthly.vocabulary import event_counts
from mlwatch.months import month_start
from tests.conftest import generate_events, write_jsonl

FEATURES = {"login": ("user_login",), "view": ("item_view",), "purchase": ("purchase",)}
END = month_start("2026-05")  # the run 2026-03 -> 2026-04: its period ends with April


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    rows = generate_events(("2026-02", "2026-03", "2026-04", "2026-05"), users=300, seed=5, renamed_login=("2026-04",),
                           skip_days={"2026-04": {7}})  # fmt: skip
    rows += [  # a user active on the gap's neighbour only, and one seen in February only
        {"event_id": "x1", "user_id": "only-6th", "event": "item_view", "timestamp": "2026-04-06T10:00:00Z"},
        {"event_id": "x2", "user_id": "gone", "event": "purchase", "timestamp": "2026-02-03T10:00:00Z"},
        {"event_id": "x2", "user_id": "gone", "event": "purchase", "timestamp": "2026-02-03T10:00:00Z"},  # repeated
    ]
    path = write_jsonl(tmp_path_factory.mktemp("agg") / "e.jsonl", rows)
    session = connect()
    read_events(session, path, Columns())
    yield session
    session.close()


def _answers(con) -> dict[str, object]:
    """Every question a run asks after reading, as plain data."""
    hourly = hourly_counts(con, "2026-03", END)
    return {
        "reference": build_features(con, "2026-03", FEATURES, ("purchase",)).to_dict("list"),
        "current": build_features(con, "2026-04", FEATURES, ("purchase",)).to_dict("list"),
        "volume": [month_activity(con, m) for m in ("2026-03", "2026-04")],
        "volume_first_days": month_activity(con, "2026-03", 10),
        "known": [returning_users(con, "2026-04", "2026-03"), returning_users(con, "2026-03", "2026-02")],
        "unknown": unknown_users(con, "2026-04", ("2026-04-06", "2026-04-08")),
        "hourly": hourly.to_dict("list"),
        "counts": [event_counts(con, m) for m in ("2026-03", "2026-04")],
        "share": changes._user_share(con, "user_login_from_pc", "user_login", "2026-03", END),
        "days with events": [has_events_on(con, date(2026, 4, day)) for day in (6, 7, 30)],
        "buyers": buyers(con, "2026-04", ("purchase",)).to_dict("list"),
    }


def test_every_stage_answers_the_same_from_the_aggregated_tables(con) -> None:
    from_events = _answers(con)
    assert not aggregated.active(con)
    with aggregated.from_events(con, FEATURES, "purchase", "2026-02", month_start("2026-03"), END):
        assert aggregated.active(con)
        from_tables = _answers(con)
    assert not aggregated.active(con)  # dropped after the run: a backfill's next month reads events again
    assert from_tables == from_events
    # the comparison is not empty: the rename, the gap-day user, the returning users and the target are there
    assert from_events["share"] > 0.5  # most of the new name's users used the old name in March
    assert from_events["unknown"] >= 1
    assert 0.5 < from_events["known"][0].share < 1
    assert sum(from_events["reference"]["target"]) > 0
    assert "user_login_from_pc" in from_events["counts"][1]
    assert pd.Timestamp(max(from_events["hourly"]["hour"])) < pd.Timestamp(END)
    assert from_events["days with events"] == [True, False, True]  # April 7th is the gap: no event at all
    bought = build_features(con, "2026-04", {"bought": ("purchase",)})  # every active user, 0 for most
    assert from_events["buyers"] == bought.loc[bought["bought"] > 0, ["user_id", "bought"]].to_dict("list")


def test_a_feature_the_tables_do_not_count_is_refused_by_name(con) -> None:
    tables = aggregated.from_events(con, FEATURES, "purchase", "2026-03", month_start("2026-03"), datetime(2026, 5, 1))
    with tables, pytest.raises(InputError, match="feature 'cart' counts add_to_cart"):
        build_features(con, "2026-03", {"cart": ("add_to_cart",)})


def test_a_column_name_of_the_tables_is_not_a_feature_name() -> None:
    for name in ("days", "Days", "names", "EVENTS"):
        with pytest.raises(ConfigError, match=f"features.{name}: a feature name must be a plain identifier"):
            parse_config({"features": {name: ["item_view"], "purchase": ["purchase"]}}, "c.toml")
