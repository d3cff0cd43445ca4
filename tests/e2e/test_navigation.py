"""Only st.navigation decides what a browser can reach, from a fresh server's very first request on.

Streamlit runs a ``pages/`` folder as an automatic multipage app until the entry script has called
``st.navigation`` once in the process; these tests check that no page of ``pages/`` renders for a
visitor who has not logged in, whichever URL the first request of a new server names.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlwatch.governance.auth import add_user
from tests.conftest import ROOT
from tests.e2e.conftest import dashboard, settle

FIXTURE_STATE = ROOT / "tests" / "fixtures" / "state_v3"


@pytest.fixture
def guarded_state(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    shutil.copytree(FIXTURE_STATE, state)
    add_user(state, "mia", "marketer", "a long password 1")
    return state


@pytest.mark.parametrize("path", ["audit", "export", "overview", "_shared", "login"])
def test_the_first_request_of_a_new_server_cannot_open_a_page_without_login(
    guarded_state: Path, chromium, path: str
) -> None:
    with dashboard(guarded_state) as url:
        context = chromium.new_context()
        page = context.new_page()
        page.goto(f"{url}/{path}")
        page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
        settle(page)
        text = page.locator("section.main, [data-testid='stMain']").first.inner_text()
        assert "Audit trail" not in text
        assert "Prospect list" not in text
        assert "GATE" not in text
        # The navigation offers nothing but the login page; no file of pages/ is listed.
        assert page.get_by_test_id("stSidebarNav").count() == 0
        context.close()
