"""Export page sign-off: an approver ticks every failed check, shown by its plain title and exact label."""

from __future__ import annotations

from mlwatch.governance.signoff import failed_labels, gate_status, signoffs
from mlwatch.state import store
from tests.app.conftest import open_page

REASON = "Login was renamed upstream and this month's campaign does not use logins."


def test_each_failed_check_has_a_checkbox_with_its_exact_label(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("export.py", stored_runs["closed"], role="approver")
    failed = failed_labels(stored_runs["state"], stored_runs["closed"])
    assert "zero_rate[login]" in failed
    boxes = {box.key: box for box in at.checkbox}
    assert set(boxes) == {f"accept_{label}" for label in failed}
    zero_rate = boxes["accept_zero_rate[login]"]
    assert "zero rate · login" in zero_rate.label and "`zero_rate[login]`" in zero_rate.label
    assert "Login count is 0" in zero_rate.help


def test_sign_off_needs_every_failed_check_ticked(app_env, private_state, stored_runs) -> None:
    app_env(private_state)
    run_id = stored_runs["closed"]
    failed = failed_labels(private_state, run_id)
    at = open_page("export.py", run_id, role="approver")
    for label in failed[:-1]:
        at.checkbox(key=f"accept_{label}").check()
    at.text_area(key="signoff_reason").set_value(REASON)
    at.button[0].click().run()
    assert not at.exception
    assert any(f"not accepted: {failed[-1]}" in e.value for e in at.error)
    assert gate_status(private_state, run_id) == "closed" and not at.get("download_button")
    at.checkbox(key=f"accept_{failed[-1]}").check()
    at.button[0].click().run()
    assert not at.exception
    assert gate_status(private_state, run_id) == "signed_off"
    assert set(signoffs(private_state, run_id)[0].accepted) == set(failed)
    assert set(store.read_audit(private_state, action="signoff")[0]["detail"]["accepted"]) == set(failed)
    assert "Signed off by **demo-approver**" in at.success[0].value
