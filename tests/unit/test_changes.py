"""Change points of the event stream, on generated months the project never shipped: a rename at a known
hour, an outage, a level shift, partial days, and healthy months that must stay quiet."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd
import pytest

from mlwatch.ingest import db
from mlwatch.measure import Months
from mlwatch.monthly.changes import detect_changes, link_names
from mlwatch.monthly.features import month_activity
from mlwatch.monthly.timeline import hourly_counts, period_end
from mlwatch.summary import Change
from tests.streams import generate_stream

MONTHS = ("2026-03", "2026-04", "2026-05", "2026-06")


def _events(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """A DuckDB session holding ``frame`` as the ``events`` table the reader builds."""
    con = db.connect()
    con.register("stream", frame)
    con.execute("CREATE TABLE events AS SELECT user_id, event, ts::TIMESTAMP AS ts, event_id FROM stream")
    return con


def _changes(frame: pd.DataFrame, reference: str = "2026-03", current: str = "2026-05") -> list[Change]:
    con = _events(frame)
    end = period_end(current)
    hourly = hourly_counts(con, reference, end)
    return link_names(con, detect_changes(hourly, reference, current, end), hourly, reference, current, end)


def _kinds(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.event, c.at) for c in changes]


def test_a_rename_at_noon_reads_stopped_and_started_at_noon_with_the_link() -> None:
    changes = _changes(generate_stream(MONTHS, seed=1, rename_at="2026-05-15T12"))
    assert _kinds(changes) == [
        ("started", "user_login_from_mobile", "2026-05-15T12:00:00Z"),
        ("started", "user_login_from_pc", "2026-05-15T12:00:00Z"),
        ("stopped", "user_login", "2026-05-15T12:00:00Z"),
    ]
    for started in changes[:2]:
        (link,) = started.replaces
        assert link.old == "user_login" and link.hours_apart == 0
        assert link.user_share > 0.75  # most of its users logged in with the old name in March
        assert 0.9 < link.level < 1.1  # together the two new names make up the old level
        assert "It probably replaces `user_login`" in started.message
    assert changes[2].message.startswith("`user_login` stopped on 2026-05-15 at 12:00 UTC: no event since")
    json = changes[0].to_json()
    assert list(json) == ["event", "kind", "at", "message", "replaces"]
    assert json["replaces"][0]["old"] == "user_login"


def test_a_ten_day_outage_of_one_event_is_a_gap_to_the_hour() -> None:
    outage = ("add_to_cart", "2026-05-05T14", "2026-05-15T09")
    (gap,) = _changes(generate_stream(MONTHS, seed=2, outage=outage))
    assert (gap.kind, gap.event, gap.at, gap.until) == (
        "gap", "add_to_cart", "2026-05-05T14:00:00Z", "2026-05-15T09:00:00Z",
    )  # fmt: skip
    assert gap.to_json()["until"] == "2026-05-15T09:00:00Z"
    assert gap.message == "`add_to_cart` was absent from 2026-05-05 at 14:00 UTC until 2026-05-15 at 09:00 UTC."


def test_a_share_that_falls_and_stays_is_a_level_shift() -> None:
    frame = generate_stream(MONTHS, seed=3)
    late_search = (frame["event"] == "search") & (frame["ts"] >= pd.Timestamp("2026-05-20T00"))
    dropped = frame[late_search].sample(frac=0.75, random_state=0).index
    (shift,) = _changes(frame.drop(dropped))
    assert (shift.kind, shift.event) == ("level_shift", "search")
    assert shift.at in ("2026-05-19T23:00:00Z", "2026-05-20T00:00:00Z", "2026-05-20T01:00:00Z")
    assert "stayed there" in shift.message


def test_partial_days_move_no_share_so_no_name_is_blamed() -> None:
    # Every event loses the same share: the stream's volume changed, not any name (the volume check says so).
    frame = generate_stream(MONTHS, seed=4, partial_days={f"2026-05-{d}": 0.2 for d in (28, 29, 30, 31)})
    assert _changes(frame) == []


@pytest.mark.parametrize("seed", range(20))
def test_healthy_months_with_weekly_rhythm_and_a_campaign_day_report_nothing(seed: int) -> None:
    assert _changes(generate_stream(MONTHS, seed=100 + seed, campaign_day="2026-05-08")) == []


def test_a_new_name_unrelated_to_any_stop_is_started_without_a_link() -> None:
    frame = generate_stream(MONTHS, seed=5)
    extra = frame[(frame["event"] == "item_view") & (frame["ts"] >= pd.Timestamp("2026-05-10"))].head(400)
    frame = pd.concat([frame, extra.assign(event="wishlist_add", event_id=extra["event_id"] + "w")])
    (started,) = _changes(frame)
    assert (started.kind, started.event, started.replaces) == ("started", "wishlist_add", ())


def test_month_to_date_compares_as_many_reference_days_as_there_are_and_every_current_day() -> None:
    # March to date on the 31st against February: February's 28 days, March's 31.
    months = Months("2026-02", "2026-03", ("2026-02", "2026-03"), date(2026, 3, 31))
    assert months.days == 28 and months.end == datetime(2026, 4, 1)
    con = _events(generate_stream(("2026-02", "2026-03"), users=100, seed=6))
    assert len(month_activity(con, "2026-02", months.days).daily) == 28
    assert len(month_activity(con, "2026-03", months.as_of.day).daily) == 31
