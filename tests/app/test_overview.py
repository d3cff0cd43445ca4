"""Overview page: empty state, the gate for a closed and an open run, starting a run from the browser."""

from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from mlwatch.governance.auth import add_user, disable_user
from mlwatch.state import store
from tests.app.conftest import APP, SAMPLE_LOGS, open_page

PASSWORD = "correct horse battery"


def test_empty_state_invites_to_start_a_run(app_env) -> None:
    app_env()
    at = open_page("overview.py")
    assert "No run yet" in at.info[0].value
    assert at.text_input(key="start_logs").value.endswith("sample_logs")


def test_closed_run_shows_the_gate_closed_and_the_failures_in_plain_words(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("overview.py", stored_runs["closed"])
    banner = at.markdown[0].value
    assert "GATE CLOSED" in banner and "May 2026 checked against March 2026" in banner
    failures = " ".join(m.value for m in at.markdown)
    assert "Login count is 0 for 100% of users this month (March 2026: 9.1%)" in failures
    # vocabulary, coverage[login] (no login event on any day), missing_rate[login] (unknown: no login event
    # arrived), zero_rate[login], drift[login], prediction_drift, and estimated_ranking (the predictions are a
    # quarter of the purchases expected: the list is worse than usual, seen before the actuals)
    assert "7 check(s) failed in May 2026" in [h.value for h in at.subheader]
    assert "`user_login` stopped on 2026-04-30 at 23:00 UTC" in failures
    assert "Login is unknown for 100% of users in May 2026" in failures
    metrics = {m.label: m.value for m in at.metric}  # each figure says which month it counts
    assert metrics["Users, May 2026"] == "1,593" and metrics["Unreadable rows, all files read"] == "29"
    assert metrics["Events sent twice, May 2026"] == "46"  # as the duplicates check says; 177 over all months read


def test_open_run_shows_the_gate_open(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("overview.py", stored_runs["open"])
    assert "GATE OPEN" in at.markdown[0].value
    assert not at.error


def test_a_run_started_from_the_browser_is_stored_and_selected(app_env, private_state) -> None:
    app_env(private_state)
    before = {r.run_id for r in store.list_runs(private_state)}
    at = open_page("overview.py")
    at.text_input(key="start_reference").set_value("2026-03")
    at.text_input(key="start_current").set_value("2026-04")
    at.button(key="start_run").click().run()
    assert not at.exception and not at.error
    new = {r.run_id for r in store.list_runs(private_state)} - before
    assert len(new) == 1
    assert at.session_state["run_id"] == new.pop()
    assert "GATE OPEN" in at.markdown[0].value


def test_a_path_outside_the_allowed_folders_is_refused(app_env, private_state, tmp_path) -> None:
    app_env(private_state)
    before = len(store.list_runs(private_state))
    (tmp_path / "other").mkdir()
    at = open_page("overview.py")
    at.text_input(key="start_logs").set_value(str(tmp_path / "other"))
    at.text_input(key="start_reference").set_value("2026-03")
    at.text_input(key="start_current").set_value("2026-04")
    at.button(key="start_run").click().run()
    assert not at.exception
    assert "outside the log folders" in at.error[-1].value
    assert len(store.list_runs(private_state)) == before


def test_the_sidebar_picker_switches_the_run_every_page_shows(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("overview.py", stored_runs["closed"])
    assert "GATE CLOSED" in at.markdown[0].value
    at.selectbox(key="run_picker").set_value(stored_runs["open"]).run()
    assert "GATE OPEN" in at.markdown[0].value
    at.switch_page("pages/export.py").run()
    assert len(at.get("download_button")) == 1  # the export page follows the picked run


def test_a_link_inside_an_allowed_folder_to_a_file_outside_refuses_the_run(app_env, private_state, tmp_path) -> None:
    # ln -s /etc/passwd <allowed>/2026-05/zz.jsonl, then a run from the form: nothing of it may be read.
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    secret = tmp_path / "private" / "secret.jsonl"
    secret.parent.mkdir()
    secret.write_text('{"user_id": "root:x:0:0", "event": "item_view", "timestamp": "2026-04-02T10:00:00Z"}\n' * 3)
    (logs / "2026-04" / "zz.jsonl").symlink_to(secret)
    config = app_env(private_state)
    config.write_text(config.read_text().replace(str(SAMPLE_LOGS), str(logs)))
    before = len(store.list_runs(private_state))
    at = open_page("overview.py")
    at.text_input(key="start_logs").set_value(str(logs))
    at.text_input(key="start_reference").set_value("2026-03")
    at.text_input(key="start_current").set_value("2026-04")
    at.button(key="start_run").click().run()
    assert not at.exception
    assert at.error[-1].value.startswith(f"{logs / '2026-04' / 'zz.jsonl'}: links to a file outside the log folders")
    assert "root:x" not in " ".join(str(e.value) for e in at.error)
    assert len(store.list_runs(private_state)) == before


def test_the_overview_says_what_changed_and_when_before_the_checks(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("overview.py", stored_runs["closed"])
    assert [h.value for h in at.subheader][:2] == ["What changed", "7 check(s) failed in May 2026"]
    assert at.markdown[1].value == (
        "- `user_login` stopped on 2026-04-30 at 23:00 UTC; `user_login_from_mobile` and `user_login_from_pc` "
        "started then and probably replace it (80% or more of their users used `user_login` before)."
    )
    healthy = open_page("overview.py", stored_runs["open"])
    assert "What changed" not in [h.value for h in healthy.subheader]


def test_a_month_to_date_run_from_the_form_is_provisional_and_never_offers_the_list(app_env, private_state) -> None:
    app_env(private_state)
    at = open_page("overview.py")
    at.text_input(key="start_reference").set_value("2026-03")
    at.text_input(key="start_current").set_value("2026-05")
    at.text_input(key="start_as_of").set_value("2026-05-10")
    at.button(key="start_run").click().run()
    assert not at.exception and not at.error
    newest = store.list_runs(private_state)[0]
    assert at.session_state["run_id"] == newest.run_id
    assert store.read_summary(private_state, newest.run_id).as_of == "2026-05-10"
    assert at.info[0].value.startswith("Month to date: May 2026 up to 2026-05-10, against the same days of March 2026")
    export = open_page("export.py", newest.run_id, role="approver")
    assert "checked the month only up to 2026-05-10" in export.info[0].value
    assert not export.get("download_button") and not export.get("text_area") and not export.dataframe


def test_failures_read_in_plain_words_with_the_exact_name_in_a_tooltip_and_no_paths_for_marketers(
    app_env, stored_runs
) -> None:
    app_env(stored_runs["state"])
    at = open_page("overview.py", stored_runs["closed"], role="marketer")
    drift = next(m for m in at.markdown if m.value.startswith("- **Logins changed a lot**"))
    assert drift.help.startswith("drift[login]: ") and "limit 0.1" in drift.help
    assert any(m.value.startswith("- **Scores changed a lot**") for m in at.markdown)
    shown = " ".join(str(e.value) for kind in ("markdown", "caption") for e in at.get(kind))
    assert stored_runs["closed"] not in shown and "State:" not in shown  # no run id, no state path
    approver = open_page("overview.py", stored_runs["closed"], role="approver")
    assert any(stored_runs["closed"] in c.value for c in approver.caption)
    assert any(c.value.startswith("State:") for c in approver.sidebar.caption)


def test_the_overview_opens_on_the_latest_complete_month_with_the_month_as_its_heading(app_env, stored_runs) -> None:
    # April's run was stored after May's: the page still opens on May, the latest month checked.
    app_env(stored_runs["state"])
    at = open_page("overview.py")
    assert at.session_state["run_id"] == stored_runs["closed"]
    assert at.title[0].value == "May 2026"
    assert at.caption[0].value == "Overview: May 2026 checked against March 2026"


def _log_in(at: AppTest, name: str) -> None:
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception


def test_a_marketer_on_a_closed_month_is_told_not_to_use_the_list_and_whom_to_ask(app_env, private_state) -> None:
    add_user(private_state, "mia", "marketer", PASSWORD)
    add_user(private_state, "ana", "approver", PASSWORD)
    add_user(private_state, "bo", "approver", PASSWORD)
    disable_user(private_state, "bo")
    app_env(private_state)
    at = AppTest.from_file(APP, default_timeout=120).run()
    _log_in(at, "mia")
    assert at.error[0].value.startswith("Do not use May 2026's list. Ask ana to review the failures")
    assert [b.label for b in at.button if b.key and b.key.startswith("next_")] == ["See what went wrong"]
    at.button(key="next_evidence").click().run()
    assert at.title[0].value == "Data · May 2026"  # the evidence: the event timeline and the names


def test_an_approver_on_a_closed_month_is_led_to_the_fix_or_the_sign_off(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("overview.py", stored_runs["closed"], role="approver")
    assert at.error[0].value.startswith("Do not use May 2026's list yet. Map the renamed events")
    assert at.button(key="next_fix").label == "Fix the event mapping"
    at.button(key="next_signoff").click().run()
    assert at.title[0].value == "Export · May 2026" and at.get("text_area")  # the sign-off form


def test_an_open_month_offers_its_list_with_one_primary_button(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("overview.py", stored_runs["open"], role="marketer")
    button = at.button(key="next_download")
    assert (button.label, button.proto.type) == ("Download April 2026's list", "primary")
    button.click().run()
    assert at.title[0].value == "Export · April 2026" and len(at.get("download_button")) == 1
