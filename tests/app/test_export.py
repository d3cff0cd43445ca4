"""Export page: the download exists only for an open or signed-off run, with the ranked list and its groups."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mlwatch.errors import PermissionDenied
from mlwatch.governance.auth import add_user, disable_user
from mlwatch.governance.export import prospect_list
from mlwatch.governance.signoff import gate_status
from mlwatch.state import store
from tests.app.conftest import APP, open_page

PASSWORD = "correct horse battery"
REASON = "Login was renamed upstream; we accept vocabulary, zero_rate, drift and prediction_drift this month."


def test_empty_state(app_env) -> None:
    app_env()
    assert "No run yet" in open_page("export.py").info[0].value


def test_closed_gate_has_no_download_for_a_marketer_and_says_who_can_sign_off(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("export.py", stored_runs["closed"], role="marketer")
    assert not at.get("download_button")
    assert "The download is blocked" in at.error[0].value
    assert any("Login count is 0 for 100%" in m.value for m in at.markdown)
    assert any("An approver can review the failures" in i.value for i in at.info)
    assert not at.get("text_area")  # no sign-off form for a marketer
    assert not any(name and name.startswith("prospects") for name in downloads)


def test_closed_gate_sends_no_ranked_id_to_the_browser(app_env, stored_runs) -> None:
    # The preview table's toolbar offers "Download as CSV": a closed, unsigned run shows counts only.
    app_env(stored_runs["state"])
    at = open_page("export.py", stored_runs["closed"], role="marketer")
    assert not at.dataframe
    top = prospect_list(stored_runs["state"], stored_runs["closed"])["user_id"].head(50)
    shown = " ".join(
        str(e.value) for kind in ("markdown", "error", "info", "caption", "subheader") for e in at.get(kind)
    )
    assert not [user for user in top if user in shown]
    users = store.get_run(stored_runs["state"], stored_runs["closed"]).users
    assert f"The list of {users:,} users stays hidden" in at.error[0].value


def test_an_approver_signs_off_and_the_download_appears(app_env, private_state, stored_runs) -> None:
    app_env(private_state)
    at = open_page("export.py", stored_runs["closed"], role="approver")
    for box in at.checkbox:  # every failed check accepted (tests/app/test_export_signoff.py covers fewer)
        box.check()
    at.text_area(key="signoff_reason").set_value("Looks fine to me.")
    at.button(key="signoff_submit").click().run()
    # What is missing, in words, above the form (the first thing on the page after the failures).
    assert at.error[1].value == (
        "**Not signed off yet.** Still needed:\n\n"
        "- Write why these failures are acceptable this month, in a sentence of five words or more."
    )
    assert gate_status(private_state, stored_runs["closed"]) == "closed"
    at.text_area(key="signoff_reason").set_value(REASON)
    at.button(key="signoff_submit").click().run()
    assert not at.exception
    assert gate_status(private_state, stored_runs["closed"]) == "signed_off"
    assert "Signed off by **demo-approver**" in at.success[0].value
    at.button(key="prepare_export").click().run()  # a signed-off run's logs are checked when the file is asked for
    assert len(at.get("download_button")) == 1


def test_open_gate_downloads_every_user_ranked_with_a_control_group(
    app_env, stored_runs, private_state, downloads, deferred
) -> None:
    app_env(private_state)  # a copy: the test records exports
    at = open_page("export.py", stored_runs["open"], role="marketer")
    assert len(at.get("download_button")) == 1
    run = store.get_run(private_state, stored_runs["open"])
    name = f"prospects-2026-04-{run.run_id}.csv"
    # Drawing the page writes no file and records nothing: the file is made when the button is clicked.
    assert name not in downloads and not store.read_audit(private_state, action="export")
    assert at.get("download_button")[0].proto.label == "Download 1,597 users (1,437 campaign, 160 control)"
    frame = pd.read_csv(io.BytesIO(deferred[name]()), dtype={"user_id": str})  # the click
    assert len(frame) == run.users == 1597
    assert list(frame.columns) == ["user_id", "predicted_purchases", "rank", "group"]
    assert frame["rank"].tolist() == list(range(1, 1598))
    assert frame["predicted_purchases"].is_monotonic_decreasing
    assert (frame["group"] == "control").sum() == round(0.1 * 1597)  # the default 10% holdout
    assert len(at.dataframe[0].value) == 50
    (recorded,) = store.read_audit(private_state, action="export")
    assert recorded["detail"]["via"] == "dashboard" and recorded["actor"] == "demo-marketer"
    at.slider(key="export_share").set_value(0.2).run()
    assert name not in downloads
    frame = pd.read_csv(io.BytesIO(deferred[name]()), dtype={"user_id": str})
    assert len(frame) == round(0.2 * 1597)
    assert len(store.read_audit(private_state, action="export")) == 2  # each file made is recorded


def test_a_file_asked_for_after_the_account_was_disabled_is_refused_and_not_recorded(
    app_env, private_state, stored_runs, deferred
) -> None:
    add_user(private_state, "mia", "marketer", PASSWORD)
    app_env(private_state)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["run_id"] = stored_runs["open"]
    at.run()
    at.text_input(key="login_name").set_value("mia")
    at.text_input(key="login_password").set_value(PASSWORD)
    at.button[0].click().run()
    at.switch_page("pages/export.py").run()
    assert not at.exception and len(at.get("download_button")) == 1
    disable_user(private_state, "mia")  # between the page's drawing and the click
    with pytest.raises(PermissionDenied, match="disabled"):
        deferred[f"prospects-2026-04-{stored_runs['open']}.csv"]()
    assert not store.read_audit(private_state, action="export")
