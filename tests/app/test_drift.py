"""Drift page: zero-rate table, one histogram per feature on shared bins, the Evidently report."""

from __future__ import annotations

from tests.app.conftest import open_page


def test_empty_state(app_env) -> None:
    app_env()
    assert "No run yet" in open_page("drift.py").info[0].value


def test_zero_rate_table_and_histograms_of_the_broken_month(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("drift.py", stored_runs["closed"])
    zero = at.dataframe[0].value.set_index("feature")
    assert zero.loc["login", "May 2026 (%)"] == 100.0
    assert round(zero.loc["login", "March 2026 (%)"], 1) == 9.1
    assert zero.loc["login", "status"] == "FAIL" and zero.loc["view", "status"] == "pass"
    charts = at.get("plotly_chart")
    assert len(charts) == 4
    scores = {m.label: m.value for m in at.metric}
    assert "Drift score" in scores
    assert b"<html" in downloads[f"evidently-{stored_runs['closed']}.html"][:2000].lower()


def test_report_embeds_on_request(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("drift.py", stored_runs["open"])
    assert not at.get("iframe")
    at.toggle(key="show_report").set_value(True).run()
    assert not at.exception
    assert len(at.get("iframe")) == 1
