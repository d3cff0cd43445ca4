"""The real dashboard in a real headless Chromium: every page opens and shows what matters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwatch.config import load_config
from mlwatch.pipeline import run_monthly
from tests.conftest import ROOT, SAMPLE_LOGS
from tests.e2e.conftest import dashboard, require_chromium, settle

SCREENSHOTS = Path(os.environ.get("MLWATCH_SCREENSHOTS", ROOT / "build" / "screenshots"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    state = tmp_path_factory.mktemp("state")
    run_monthly(SAMPLE_LOGS, "2026-03", "2026-05", load_config(ROOT / "mlwatch.toml"), state)
    with dashboard(state) as url:
        yield url


@pytest.fixture
def page(server: str, chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def _shot(page, name: str) -> None:
    settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_overview_shows_the_closed_gate_and_the_failed_checks(server: str, page) -> None:
    page.goto(server)
    gate = page.get_by_test_id("gate-status")
    gate.wait_for(timeout=30_000)
    assert "GATE CLOSED" in gate.inner_text()
    page.get_by_text("Login count is 0 for 100% of users this month").first.wait_for(timeout=10_000)
    assert page.get_by_text("Traceback").count() == 0
    _shot(page, "overview")


def test_drift_page_renders_a_histogram_per_feature(server: str, page) -> None:
    page.goto(f"{server}/drift")
    page.get_by_text("Share of users with 0").first.wait_for(timeout=30_000)
    charts = page.get_by_test_id("stVegaLiteChart")
    charts.nth(3).wait_for(timeout=30_000)
    assert charts.count() == 4
    # Drawn, not just placed: each histogram is an SVG with its axis title and a bar per bin and month.
    first = charts.first
    first.locator("svg.marks").wait_for(timeout=30_000)
    assert "X-axis titled 'login events per user in the month'" in first.locator(
        "[aria-roledescription='axis']"
    ).first.get_attribute("aria-label")
    assert first.locator(".mark-rect path").count() >= 4
    _shot(page, "drift")


def test_data_page_shows_events_per_day_and_offers_the_mapping_fix(server: str, page) -> None:
    page.goto(f"{server}/data")
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot .gtitle").first.text_content() == "Events per day"
    form = page.get_by_test_id("stForm")
    form.wait_for(timeout=30_000)
    # The mapping form offers each new event name with its likely feature pre-selected.
    assert "user_login_from_mobile" in form.inner_text()
    assert "user_login_from_pc" in form.inner_text()
    choices = [box.input_value() for box in form.get_by_role("combobox").all()]
    assert choices == ["login", "login"], choices
    assert form.get_by_role("button", name="Save mapping and re-run").count() == 1
    _shot(page, "data")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("model", "Actual performance on May 2026"),
        ("export", "The download is blocked"),
    ],
)
def test_model_and_export_pages_open_without_errors(server: str, page, path: str, text: str) -> None:
    page.goto(f"{server}/{path}")
    page.get_by_text(text).first.wait_for(timeout=30_000)
    assert page.get_by_text("Traceback").count() == 0
    _shot(page, path)


def test_data_page_draws_the_event_timeline_with_the_change_point_marked(server: str, page) -> None:
    page.goto(f"{server}/data")
    page.get_by_text("Event timeline").first.wait_for(timeout=30_000)
    panel = page.get_by_test_id("stExpander").filter(has_text="user_login_from_mobile").first
    panel.get_by_text("`user_login` stopped on 2026-04-30 at 23:00 UTC", exact=False).or_(
        panel.get_by_text("user_login stopped on 2026-04-30 at 23:00 UTC", exact=False)
    ).first.wait_for(timeout=30_000)
    chart = panel.get_by_test_id("stVegaLiteChart")
    chart.locator("svg.marks").wait_for(timeout=30_000)
    # The stop is drawn on the chart: a rule and its label, beside the lines of the old and new names.
    assert chart.locator(".mark-rule line, .mark-rule path").count() >= 1
    assert "user_login stopped (2026-04-30 23:00)" in chart.locator(".mark-text.role-mark").text_content()
    assert chart.locator(".mark-line path").count() >= 3
    _shot(page, "timeline")
