"""Sign-off by explicit acknowledgement: an approver ticks each failed check, by its exact label."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlwatch.cli import main
from mlwatch.config import AuthConfig
from mlwatch.errors import SignoffError
from mlwatch.governance.auth import User
from mlwatch.governance.signoff import gate_status, sign_off, signoffs
from mlwatch.state import store
from mlwatch.summary import CheckResult, check_label
from tests.conftest import ROOT, run_record

ANN = User("ann", "approver")
RULES = AuthConfig()
REASON = "The login event was renamed upstream and the campaign does not target by logins."
RUN_ID = "2026-05-x"
CHECKS = [
    CheckResult("vocabulary", None, "pass", 0.0, 3.0, 0.0, "Every mapped event name still occurs; no new names."),
    CheckResult("zero_rate", "login", "fail", 1.0, 0.1, 0.2, "Login count is 0 for 100% of users this month."),
    CheckResult("drift", "login", "fail", 0.9, None, 0.5, "The distribution of login changed a lot."),
    CheckResult("prediction_drift", None, "fail", 0.7, None, 0.5, "The distribution of the predictions changed."),
]
FAILED = ["zero_rate[login]", "drift[login]", "prediction_drift"]
# A complete month's stored summary: sign-off reads the run's summary to refuse month-to-date runs.
SUMMARY = next((ROOT / "tests" / "fixtures" / "state_v3" / "runs").glob("2026-05-*/summary.json"))


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state with one closed run whose failed checks are zero_rate[login], drift[login] and prediction_drift."""
    record = run_record(RUN_ID)
    store.save_run(tmp_path, record, CHECKS, lambda folder: shutil.copy(SUMMARY, folder / "summary.json"))
    return tmp_path


def test_labels_are_what_run_prints() -> None:
    assert check_label("zero_rate", "login") == "zero_rate[login]"
    assert check_label("prediction_drift", None) == "prediction_drift"


def test_accepting_prediction_drift_does_not_accept_drift_of_a_feature(state: Path) -> None:
    with pytest.raises(SignoffError, match=r"not accepted: drift\[login\]"):
        sign_off(state, RUN_ID, ANN, REASON, RULES, accepted=["prediction_drift", "zero_rate[login]"])
    assert gate_status(state, RUN_ID) == "closed"


@pytest.mark.parametrize("label", ["drift", "vocabulary", "zero_rate[country]"])
def test_an_unknown_label_or_a_check_that_did_not_fail_is_refused_naming_it(state: Path, label: str) -> None:
    with pytest.raises(SignoffError) as caught:
        sign_off(state, RUN_ID, ANN, REASON, RULES, accepted=[*FAILED, label])
    message = str(caught.value)
    assert label in message and "zero_rate[login], drift[login], prediction_drift" in message
    assert "\n" not in message
    assert gate_status(state, RUN_ID) == "closed"


def test_the_reason_is_a_sentence_but_need_not_name_the_checks(state: Path) -> None:
    with pytest.raises(SignoffError, match="at least a sentence"):
        sign_off(state, RUN_ID, ANN, "fine", RULES, accepted=FAILED)
    signed = sign_off(state, RUN_ID, ANN, REASON, RULES, accepted=FAILED)
    assert gate_status(state, RUN_ID) == "signed_off"
    assert set(signed.accepted) == set(FAILED)
    assert set(signoffs(state, RUN_ID)[0].accepted) == set(FAILED)
    audit = store.read_audit(state, action="signoff")[0]["detail"]
    assert set(audit["accepted"]) == set(FAILED) and audit["reason"] == REASON


def test_the_run_audit_lists_failed_checks_by_their_labels(state: Path) -> None:
    assert store.read_audit(state, action="run")[0]["detail"]["failed"] == FAILED


def test_a_sign_off_of_the_previous_release_still_reads(tmp_path: Path) -> None:
    copy = tmp_path / "state"
    shutil.copytree(ROOT / "tests" / "fixtures" / "state_v3", copy)
    may = next(r for r in store.list_runs(copy) if r.current_month == "2026-05")
    assert signoffs(copy, may.run_id)[0].accepted == ("drift", "vocabulary", "zero_rate")
    assert gate_status(copy, may.run_id) == "signed_off"


def test_cli_without_accept_names_the_checks_to_accept(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reason = "We accept prediction_drift and zero_rate of login after review this month."
    code = main(["signoff", "--run", RUN_ID, "--by", "ann", "--reason", reason, "--state", str(state)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and gate_status(state, RUN_ID) == "closed"
    assert err.count("\n") == 0 and "--accept" in err and "zero_rate[login], drift[login], prediction_drift" in err


def test_cli_accept_each_failed_check(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["signoff", "--run", RUN_ID, "--by", "ann", "--reason", REASON, "--state", str(state)]
    assert main([*base, "--accept", "zero_rate[login]", "--accept", "drift[login]"]) == 2
    assert "not accepted: prediction_drift" in capsys.readouterr().err
    assert main([*base, *(arg for label in FAILED for arg in ("--accept", label))]) == 0
    assert "accepted: drift[login], prediction_drift, zero_rate[login]" in capsys.readouterr().out
    assert gate_status(state, RUN_ID) == "signed_off"


def test_cli_accept_all_failed_signs_off_and_excludes_accept(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["signoff", "--run", RUN_ID, "--by", "ann", "--reason", REASON, "--state", str(state)]
    with pytest.raises(SystemExit) as caught:
        main([*base, "--accept", "drift[login]", "--accept-all-failed"])
    assert caught.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    assert main([*base, "--accept-all-failed"]) == 0
    assert gate_status(state, RUN_ID) == "signed_off"
    assert set(store.read_audit(state, action="signoff")[0]["detail"]["accepted"]) == set(FAILED)
