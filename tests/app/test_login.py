"""Login: required once an account exists; wrong passwords refused vaguely; sessions time out."""

from __future__ import annotations

import sqlite3
import time

import pytest
from streamlit.testing.v1 import AppTest

from mlwatch.governance import throttle
from mlwatch.governance.auth import User, add_user, disable_user
from mlwatch.state import store
from tests.app.conftest import APP

PASSWORD = "correct horse battery"


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_without_accounts_the_app_runs_in_demo_mode_with_a_banner(app_env) -> None:
    app_env()
    at = _app()
    assert "Demo mode" in at.warning[0].value
    assert at.selectbox(key="demo_role").value == "approver"


def test_with_an_account_login_is_required_and_works(app_env, tmp_path) -> None:
    state = tmp_path / "state"
    add_user(state, "mia", "marketer", PASSWORD)
    app_env(state)
    at = _app()
    assert [t.value for t in at.title] == ["mlwatch"]  # only the login page is reachable
    assert not at.get("download_button") and not any("Demo mode" in w.value for w in at.warning)
    at.text_input(key="login_name").set_value("mia")
    at.text_input(key="login_password").set_value("wrong password!")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong name or password."
    at.text_input(key="login_name").set_value("nobody")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong name or password."  # the same words: no hint which was wrong
    at.text_input(key="login_name").set_value("mia")
    at.text_input(key="login_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert any("**mia** · marketer" in m.value for m in at.sidebar.markdown)
    failures = store.read_audit(state, action="login_failed")
    assert [f["actor"] for f in failures] == ["mia", "nobody"]
    assert PASSWORD not in (state / "mlwatch.db").read_bytes().decode("latin-1")


def test_an_idle_session_times_out(app_env, tmp_path) -> None:
    state = tmp_path / "state"
    add_user(state, "mia", "marketer", PASSWORD)
    app_env(state)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["user"] = User("mia", "marketer", "password")
    at.session_state["last_seen"] = time.monotonic() - 31 * 60
    at.run()
    assert any("timed out" in i.value for i in at.info)
    assert [t.value for t in at.title] == ["mlwatch"]


def _log_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_password").set_value(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_repeated_wrong_passwords_lock_the_login_without_saying_whether_the_account_exists(app_env, tmp_path) -> None:
    state = tmp_path / "state"
    add_user(state, "mia", "marketer", PASSWORD)
    app_env(state)
    at = _app()
    for _ in range(throttle.ACCOUNT_LIMIT):
        assert _log_in(at, "mia", "wrong password!").error[0].value == "Wrong name or password."
    # The right password now waits too: a guesser learns nothing from it.
    assert _log_in(at, "mia", PASSWORD).error[0].value.startswith("Too many failed log-ins; try again in 1 minute")
    assert [t.value for t in at.title] == ["mlwatch"]
    for _ in range(throttle.ACCOUNT_LIMIT):
        _log_in(at, "nobody", "wrong password!")
    assert _log_in(at, "nobody", PASSWORD).error[0].value.startswith("Too many failed log-ins; try again in 1 minute")
    locked = store.read_audit(state, action="login_locked")
    assert [row["actor"] for row in locked] == ["mia", "nobody"]
    assert all(row["detail"]["client"].startswith("browser:") for row in locked)


def test_a_disabled_account_loses_its_open_session_and_a_new_role_applies_at_once(app_env, tmp_path) -> None:
    state = tmp_path / "state"
    add_user(state, "ann", "approver", PASSWORD)
    app_env(state)
    at = _log_in(_app(), "ann", PASSWORD)
    assert any("**ann** · approver" in m.value for m in at.sidebar.markdown)
    with sqlite3.connect(state / "mlwatch.db") as con:  # as an administrator's change would
        con.execute("UPDATE users SET role = 'marketer' WHERE name = 'ann'")
    at.run()
    assert any("**ann** · marketer" in m.value for m in at.sidebar.markdown)
    disable_user(state, "ann")
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["mlwatch"]  # back at the login page
    assert "the account is disabled" in at.warning[0].value


def _demo_session(role: str, run_id: str) -> AppTest:
    """A demo-mode session as ``role`` with ``run_id`` selected, after its first run (so its navigation is known)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["demo_role"] = role
    at.session_state["run_id"] = run_id
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_marketer_has_no_audit_page_and_no_mapping_form(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    # Asking for the Audit page by URL (/audit) before anything ran renders the default page instead.
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["demo_role"] = "marketer"
    at.session_state["run_id"] = stored_runs["closed"]
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["May 2026"] and at.caption[0].value.startswith("Overview: ")
    assert "audit_run" not in {w.key for w in at.text_input} and not at.get("download_button")
    # The navigation the app registered for a marketer has no Audit page at all.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/audit.py")
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert not at.get("selectbox") or all(not s.key or not s.key.startswith("map_") for s in at.selectbox)
    assert any("An approver can map" in c.value for c in at.caption)


def test_an_approver_has_the_audit_page_and_the_mapping_form(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = _demo_session("approver", stored_runs["closed"])
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit trail"
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert {s.key for s in at.selectbox} >= {"map_user_login_from_mobile", "map_user_login_from_pc"}
