"""The History page: empty state, charts of every month, and opening a month from the page."""

from __future__ import annotations

from pathlib import Path

from tests.app.conftest import open_page


def test_without_runs_the_page_says_how_to_start(app_env, tmp_path: Path) -> None:
    app_env(tmp_path / "nothing-yet")
    at = open_page("history.py")
    assert at.title[0].value == "History"
    assert any("No runs yet" in info.value and "backfill" in info.value for info in at.info)
    assert not at.get("plotly_chart")


def test_every_month_is_charted_with_its_failed_checks(app_env, backfilled_sample) -> None:
    app_env(backfilled_sample["state"])
    at = open_page("history.py")
    charts = at.get("plotly_chart")
    # zero rate, missing rate, drift, prediction drift; events, users, rejected, duplicates; MAE, R2, deviance, precision, lift
    assert len(charts) >= 12
    table = at.dataframe[0].value
    assert list(table["month"]) == ["2026-04", "2026-05", "2026-06"]
    assert list(table["gate"]) == ["open", "closed", "closed"]
    assert "zero_rate[login]" in table.loc[table["month"] == "2026-05", "failed"].item()
    assert table.loc[table["month"] == "2026-05", "actual R2"].notna().item()


def test_choosing_a_month_opens_its_run_on_the_overview(app_env, backfilled_sample) -> None:
    app_env(backfilled_sample["state"])
    at = open_page("history.py")
    at.selectbox(key="history_month").set_value("2026-05")
    at.button(key="history_open").click().run()
    assert not at.exception, at.exception
    assert at.session_state["run_id"] == backfilled_sample["runs"]["2026-05"]
    assert at.title[0].value == "Overview"
    assert any("GATE CLOSED" in md.value for md in at.markdown)
