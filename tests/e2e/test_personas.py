"""The three people who use mlwatch, each in a real Chromium with a real account, by visible words only.

A marketer lands on May, reads that its list must not be used and whom to ask, and downloads April's
list; an approver follows the Overview to the mapping fix, sees the new run's gate open, and is
warned before signing off the superseded run; an admin reads who signed off what and which export
followed. Each test has its own copy of the state (and of the config, which a mapping rewrites).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwatch.config import AuthConfig, load_config
from mlwatch.governance.auth import User, add_user
from mlwatch.governance.export import export_prospects
from mlwatch.governance.signoff import failed_labels, sign_off
from mlwatch.pipeline import run_monthly
from mlwatch.state import store
from tests.conftest import ROOT, SAMPLE_LOGS, built_once
from tests.e2e.conftest import dashboard, require_chromium, settle
from tests.e2e.test_browser import SCREENSHOTS

PASSWORD = "correct horse battery"
REASON = "The login event was renamed upstream and the campaign of this month does not use logins."


def _store(folder: Path) -> None:
    config = load_config(ROOT / "mlwatch.toml")
    state = folder / "state"
    run_monthly(SAMPLE_LOGS, "2026-03", "2026-05", config, state)  # closed: the login rename
    run_monthly(SAMPLE_LOGS, "2026-03", "2026-04", config, state)  # open, stored after May
    for name, role in (("mia", "marketer"), ("ana", "approver"), ("adam", "admin")):
        add_user(state, name, role, PASSWORD)


@pytest.fixture
def app(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A dashboard over a private copy of the two sample runs with three accounts; yields (url, state)."""
    require_chromium()
    built = built_once(tmp_path_factory, "persona-state", _store)
    state = tmp_path / "state"
    shutil.copytree(built / "state", state)
    config = tmp_path / "mlwatch.toml"
    config.write_text((ROOT / "mlwatch.toml").read_text())
    with dashboard(state, config) as url:
        yield url, state


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)  # 2 cores shared with the other test worker (a Spark JVM, a re-run)
    yield page
    context.close()


def _log_in(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("Account name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", level=1).filter(has_not_text="mlwatch").wait_for(timeout=30_000)
    settle(page)


def test_a_marketer_is_told_not_to_use_may_and_whom_to_ask_then_downloads_april(app, browser_page) -> None:
    url, _ = app
    page = browser_page
    _log_in(page, url, "mia")
    # The latest month checked, as the heading, although April's run was stored after it.
    assert page.get_by_role("heading", level=1).inner_text() == "May 2026"
    page.get_by_text("Do not use May 2026's list. Ask ana to review the failures").wait_for()
    for title in ("Tracked events missing", "Login events missing on some days", "Logins changed a lot"):
        page.get_by_text(title, exact=True).first.wait_for()  # plain titles, the code names in tooltips
    # No jargon and nothing of the machinery on a marketer's page.
    body = page.get_by_test_id("stMain").inner_text()
    for word in ("vocabulary", "drift score", "State:", "zero_rate[", "run_id"):
        assert word not in body, word
    settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "overview-marketer.png"), full_page=True)  # the README's picture
    page.get_by_role("button", name="See what went wrong").click()
    page.get_by_role("heading", name="Data · May 2026").wait_for()
    page.get_by_text("stopped on 2026-04-30 at 23:00 UTC").first.wait_for(timeout=30_000)
    # April: the gate is open, one primary button leads to the list.
    page.get_by_test_id("stSidebar").get_by_role("combobox").click()
    page.get_by_role("option", name="Apr 2026 · open").click()
    settle(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Overview", exact=True).click()
    page.get_by_role("button", name="Download April 2026's list").click()
    page.get_by_role("heading", name="Export · April 2026").wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").filter(has_text="users").click()
    assert download.value.suggested_filename.startswith("prospects-2026-04")


def test_an_approver_fixes_the_mapping_sees_the_new_gate_and_is_warned_off_the_old_run(app, browser_page) -> None:
    url, _ = app
    page = browser_page
    _log_in(page, url, "ana")
    page.get_by_text("Do not use May 2026's list yet. Map the renamed events").wait_for()
    page.get_by_role("button", name="Fix the event mapping").click()
    page.get_by_role("heading", name="Data · May 2026").wait_for()
    # The fix first: the new names with "login" suggested, before the timeline.
    page.get_by_role("heading", name="Event timeline").wait_for()  # the whole page drawn
    headings = page.locator("h3").all_inner_texts()
    assert headings.index("Event names") < headings.index("Event timeline")
    page.get_by_role("button", name="Save mapping and re-run").click()
    page.get_by_text("New run stored: gate OPEN").wait_for(timeout=120_000)
    settle(page)
    assert page.get_by_role("button", name="Save mapping and re-run").count() == 0  # not offered again
    page.get_by_role("button", name="Go to Export").click()
    page.get_by_role("heading", name="Export · May 2026").wait_for()
    page.get_by_role("button", name="Download").filter(has_text="users").wait_for()
    # The original May run is now marked superseded; signing it off needs an explicit confirmation.
    page.get_by_test_id("stSidebar").get_by_role("combobox").click()
    page.get_by_role("option").filter(has_text="May 2026 · closed · superseded").click()
    page.get_by_text("A newer run of this month exists (gate open").wait_for(timeout=30_000)
    for box in page.locator("[data-testid='stForm'] [data-testid='stCheckbox']").all()[:-1]:
        box.locator("label").click()
    page.get_by_label("Why are these failures acceptable this month?").fill(REASON)
    page.get_by_role("button", name="Sign off this run").click()
    page.get_by_text("Not signed off yet.").wait_for()
    page.get_by_text("Tick the box that you sign off this older run although a newer run exists.").wait_for()


def test_an_admin_reads_who_signed_off_what_and_the_export_that_followed(app, browser_page, tmp_path) -> None:
    url, state = app
    may = next(r for r in store.list_runs(state) if r.current_month == "2026-05")
    sign_off(
        state, may.run_id, User("ana", "approver"), REASON, AuthConfig(), accepted=failed_labels(state, may.run_id)
    )
    export_prospects(state, may.run_id, User("mia", "marketer"), tmp_path / "may-campaign.csv", holdout=0.1)
    page = browser_page
    _log_in(page, url, "adam")
    page.get_by_text("SIGNED OFF").first.wait_for()
    page.get_by_test_id("stSidebarNav").get_by_text("Audit", exact=True).click()
    page.get_by_role("heading", name="Audit trail").wait_for()
    page.get_by_text("Sign-offs and exports").click()
    page.get_by_text("Each sign-off with the exports it released").wait_for()  # this view drawn
    settle(page)
    page.get_by_test_id("stDataFrame").wait_for()  # one table: the previous view's is gone
    # The grid is drawn on a canvas; its CSV download holds exactly what it shows.
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").get_by_role("button", name="Download as CSV").click()
    (row,) = csv.DictReader(Path(download.value.path()).read_text(encoding="utf-8").splitlines())
    assert (row["month"], row["released by"], row["reason"]) == ("May 2026", "ana", REASON)
    assert (row["exported by"], row["file"]) == ("mia", "may-campaign.csv")
