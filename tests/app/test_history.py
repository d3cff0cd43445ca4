"""The History page: empty state, charts of every month, and opening a month from the page."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from mlwatch.config import Config
from mlwatch.pipeline import run_monthly
from tests.app.conftest import open_page
from tests.conftest import SAMPLE_LOGS


def test_without_runs_the_page_says_how_to_start(app_env, tmp_path: Path) -> None:
    app_env(tmp_path / "nothing-yet")
    at = open_page("history.py")
    assert at.title[0].value == "History"
    assert any("No runs yet" in info.value and "backfill" in info.value for info in at.info)
    assert not at.get("plotly_chart")


def test_every_month_is_charted_with_its_failed_checks(app_env, backfilled_sample) -> None:
    app_env(backfilled_sample["state"])
    at = open_page("history.py")
    table = at.dataframe[0].value
    assert list(table["month"]) == ["2026-04", "2026-05", "2026-06"]
    assert list(table["gate"]) == ["open", "closed", "closed"]
    # Plain column titles and check titles, not code names.
    may = table.loc[table["month"] == "2026-05"]
    assert "Login count 0 for many users" in may["failed checks"].item()
    assert may["Login count 0"].item() == 1.0 and "zero_rate login" not in table.columns
    assert may["actual R2"].notna().item()
    # One view at a time: zero rate, missing rate, drift, prediction drift; events, users, rejected, duplicates;
    # MAE, lift, calibration, R2, precision, deviance.
    counts = [len(at.get("plotly_chart"))]
    for view in ("Volume and ingest", "Model performance"):
        at.segmented_control(key="history_view").set_value(view).run()
        assert not at.exception, at.exception
        counts.append(len(at.get("plotly_chart")))
    assert counts == [4, 4, 6]


def test_the_page_opens_on_the_sidebar_month_and_its_failing_feature(app_env, backfilled_sample) -> None:
    app_env(backfilled_sample["state"])
    at = open_page("history.py", backfilled_sample["runs"]["2026-05"])
    assert at.selectbox(key="history_month").value == "2026-05"
    assert at.selectbox(key="history_feature").value == "login"  # not "cart", the first in alphabetical order
    healthy = open_page("history.py", backfilled_sample["runs"]["2026-04"])
    assert healthy.selectbox(key="history_month").value == "2026-04"


def test_choosing_a_month_opens_its_run_on_the_overview(app_env, backfilled_sample) -> None:
    app_env(backfilled_sample["state"])
    at = open_page("history.py")
    at.selectbox(key="history_month").set_value("2026-05")
    at.button(key="history_open").click().run()
    assert not at.exception, at.exception
    assert at.session_state["run_id"] == backfilled_sample["runs"]["2026-05"]
    assert at.title[0].value == "May 2026" and at.caption[0].value.startswith("Overview: ")
    assert any("GATE CLOSED" in md.value for md in at.markdown)


def test_month_to_date_runs_show_the_day_each_check_first_failed(app_env, private_state) -> None:
    app_env(private_state)
    at = open_page("history.py")
    at.segmented_control(key="history_view").set_value("Month to date").run()
    assert at.info[-1].value.startswith("No month-to-date run yet")
    for day in ("2026-05-01", "2026-05-02"):
        run_monthly(SAMPLE_LOGS, "2026-03", "2026-05", Config(), private_state, as_of=day)
    at = open_page("history.py")
    at.segmented_control(key="history_view").set_value("Month to date").run()
    assert at.selectbox(key="history_mtd_month").value == "2026-05"
    first = next(m.value for m in at.markdown if m.value.startswith("**First failed:**"))
    assert "`coverage[login]` on 2026-05-01" in first  # the sample renamed logins from the first of May
    (chart,) = [c for c in at.get("vega_lite_chart") if "checked up to" in c.proto.spec]
    days = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_pandas()
    assert sorted(days["day"].unique()) == ["2026-05-01", "2026-05-02"]
    assert set(days.loc[days["check"] == "coverage[login]", "status"]) == {"fail"}
    # The month's row in the table is still its complete run: provisional runs do not stand for a month.
    table = at.dataframe[0].value
    assert list(table["month"]).count("2026-05") == 1
