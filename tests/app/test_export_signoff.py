"""Export page sign-off: an approver ticks every failed check, shown by its plain title and exact label."""

from __future__ import annotations

from mlwatch.config import Config
from mlwatch.governance.signoff import failed_labels, gate_status, signoffs
from mlwatch.pipeline import run_monthly
from mlwatch.present.report import check_title, failed_checks
from mlwatch.state import store
from tests.app.conftest import open_page
from tests.conftest import SAMPLE_LOGS

REASON = "Login was renamed upstream and this month's campaign does not use logins."


def test_each_failed_check_has_a_checkbox_with_its_exact_label(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("export.py", stored_runs["closed"], role="approver")
    failed = failed_labels(stored_runs["state"], stored_runs["closed"])
    assert "zero_rate[login]" in failed
    boxes = {box.key: box for box in at.checkbox}
    assert set(boxes) == {f"accept_{label}" for label in failed}
    zero_rate = boxes["accept_zero_rate[login]"]
    assert "Login count 0 for many users" in zero_rate.label and "`zero_rate[login]`" in zero_rate.label
    assert "Login count is 0" in zero_rate.help


def test_sign_off_needs_every_failed_check_ticked(app_env, private_state, stored_runs) -> None:
    app_env(private_state)
    run_id = stored_runs["closed"]
    failed = failed_labels(private_state, run_id)
    at = open_page("export.py", run_id, role="approver")
    for label in failed[1:-1]:
        at.checkbox(key=f"accept_{label}").check()
    at.button[0].click().run()
    assert not at.exception
    # Everything still missing at once, by the titles the form shows: the first and last checks, and the reason.
    needed = at.error[1].value.split("\n")
    unticked = [
        c for c in failed_checks(store.read_summary(private_state, run_id)) if c.label in failed[:: len(failed) - 1]
    ]
    assert needed[2:] == [
        *(f"- Tick **{check_title(c)}** (`{c.label}`)." for c in unticked),
        "- Write why these failures are acceptable this month, in a sentence of five words or more.",
    ]
    assert len(unticked) == 2
    at.checkbox(key=f"accept_{failed[0]}").check()
    at.text_area(key="signoff_reason").set_value(REASON)
    assert gate_status(private_state, run_id) == "closed" and not at.get("download_button")
    at.checkbox(key=f"accept_{failed[-1]}").check()
    at.button[0].click().run()
    assert not at.exception
    assert gate_status(private_state, run_id) == "signed_off"
    assert set(signoffs(private_state, run_id)[0].accepted) == set(failed)
    assert set(store.read_audit(private_state, action="signoff")[0]["detail"]["accepted"]) == set(failed)
    assert "Signed off by **demo-approver**" in at.success[0].value


def test_signing_off_a_superseded_run_warns_and_needs_the_box_ticked(app_env, private_state, stored_runs) -> None:
    app_env(private_state)
    newer = run_monthly(SAMPLE_LOGS, "2026-03", "2026-05", Config(), private_state)  # a newer May run
    at = open_page("export.py", stored_runs["closed"], role="approver")
    assert any(f"A newer run of this month exists (gate **{newer.gate.status}**" in w.value for w in at.warning)
    for box in at.checkbox:
        if box.key != "confirm_superseded":
            box.check()
    at.text_area(key="signoff_reason").set_value(REASON)
    at.button[0].click().run()
    assert at.error[1].value.endswith("- Tick the box that you sign off this older run although a newer run exists.")
    assert gate_status(private_state, stored_runs["closed"]) == "closed"
    at.checkbox(key="confirm_superseded").check()
    at.button[0].click().run()
    assert not at.exception
    assert gate_status(private_state, stored_runs["closed"]) == "signed_off"
    # The picker says which runs are superseded and which are signed off.
    labels = {option for option in at.sidebar.selectbox(key="run_picker").options}
    assert any(label.startswith("May 2026 · signed off · superseded · ") for label in labels)
    assert any(label.startswith("May 2026 · closed · ") and "superseded" not in label for label in labels)
