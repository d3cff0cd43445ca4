"""Whoever can write the state folder can edit it, but not without it showing.

Each case works as an attacker with a shell would: plain sqlite3 on mlwatch.db (dropping a trigger
where one is in the way) or files swapped in runs/<id>/, on a state the real command line stored.
Export and sign-off then refuse with one line naming the record, and `mlwatch verify` exits 1 naming it.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mlwatch.cli import main
from mlwatch.config import AuthConfig
from mlwatch.errors import SignoffError
from mlwatch.governance.auth import add_user, authenticate
from mlwatch.governance.signoff import failed_labels, gate_status, sign_off
from mlwatch.state import store

ANN_PASSWORD = "ann-password-123"
MIA_PASSWORD = "mia-password-123"
REASON = "Known upstream rename of the login event; the campaign does not target by logins."
Runs = dict[str, str]


@pytest.fixture(autouse=True)
def _key_in_the_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLWATCH_KEY_FILE", raising=False)


@pytest.fixture
def state(backfilled_sample: dict, tmp_path: Path) -> Path:
    """A copy of the backfilled sample (April open, May and June closed) with an approver ann and a marketer mia."""
    copy = tmp_path / "state"
    shutil.copytree(backfilled_sample["state"], copy)
    add_user(copy, "ann", "approver", ANN_PASSWORD)
    add_user(copy, "mia", "marketer", MIA_PASSWORD)
    return copy


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch, password: str | None = None) -> int:
    """``python -m mlwatch ...`` in this process; ``password`` is the one line an account's ``--by`` may read."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{password}\n" if password else ""))
    return main(args)


def _sql(state: Path, *statements: str | tuple[str, list]) -> None:
    con = sqlite3.connect(state / store.DB_FILE, isolation_level=None)
    try:
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, [])
            con.execute(sql, params)
    finally:
        con.close()


def _last_audit_id(state: Path) -> int:
    con = sqlite3.connect(state / store.DB_FILE)
    try:
        return con.execute("SELECT max(id) FROM audit").fetchone()[0]
    finally:
        con.close()


# Each tamper edits the state as an attacker would and returns what the refusal must name.
def insert_signoff(state: Path, runs: Runs, month: str) -> str:
    run_id = runs[month]
    insert = (
        "INSERT INTO signoffs (run_id, fingerprint, approver, reason, accepted_json, via, at)"
        " SELECT run_id, fingerprint, 'ann', ?, '[]', 'dashboard', '2026-06-02T09:00:00+00:00' FROM runs"
        " WHERE run_id = ?"
    )
    _sql(state, (insert, [REASON, run_id]))
    return f"sign-off 1 of run {run_id}: not in the audit trail"


def reinsert_run_with_open_gate(state: Path, runs: Runs, month: str) -> str:
    run_id = runs[month]
    _sql(
        state,
        "DROP TRIGGER runs_no_delete",
        ("CREATE TEMP TABLE saved AS SELECT * FROM runs WHERE run_id = ?", [run_id]),
        ("DELETE FROM runs WHERE run_id = ?", [run_id]),
        "UPDATE saved SET gate = 'open'",
        "INSERT INTO runs SELECT * FROM saved",
    )
    return f"run {run_id}: gate 'open' in the runs table, 'closed' when stored"


def delete_failed_check(state: Path, runs: Runs, month: str) -> str:
    run_id = runs[month]
    left = [label for label in failed_labels(state, run_id) if label != "prediction_drift"]
    _sql(
        state,
        "DROP TRIGGER checks_no_delete",
        ("DELETE FROM checks WHERE run_id = ? AND name = 'prediction_drift'", [run_id]),
    )
    return f"run {run_id}: failed checks {', '.join(left)} in the checks"


def delete_middle_audit_rows(state: Path, runs: Runs, month: str) -> str:
    _sql(state, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE id IN (2, 3)")
    return "audit rows 2-3: missing"


def truncate_audit_tail(state: Path, runs: Runs, month: str) -> str:
    last = _last_audit_id(state)
    _sql(  # the careful attacker puts the trigger and the id sequence back: only the head shows it
        state,
        "DROP TRIGGER audit_no_delete",
        (f"DELETE FROM audit WHERE id >= {last - 1}"),
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'append-only'); END",
        f"UPDATE sqlite_sequence SET seq = {last - 2} WHERE name = 'audit'",
    )
    return f"audit rows {last - 1}-{last}: missing"  # (chain head at {last}), or a gap once a row follows


def swap_features(state: Path, runs: Runs, month: str) -> str:
    other = runs["2026-06" if month != "2026-06" else "2026-04"]
    target = state / "runs" / runs[month] / "features_current.parquet"
    shutil.copyfile(state / "runs" / other / "features_current.parquet", target)
    return f"runs/{runs[month]}/features_current.parquet: sha256 changed since the run was stored"


def edit_one_prediction(state: Path, runs: Runs, month: str) -> str:
    path = state / "runs" / runs[month] / "features_current.parquet"
    frame = pd.read_parquet(path)
    frame.loc[frame["prediction"].idxmin(), "prediction"] = 1000.0  # the least likely buyer at rank 1
    frame.to_parquet(path, index=False)
    return f"runs/{runs[month]}/features_current.parquet: sha256 changed since the run was stored"


def raise_own_role(state: Path, runs: Runs, month: str) -> str:
    _sql(state, "UPDATE users SET role = 'approver' WHERE name = 'mia'")
    return "account mia: role 'approver' in the users table, 'marketer' when added"


def copy_password_hash(state: Path, runs: Runs, month: str) -> str:
    _sql(
        state,
        "UPDATE users SET salt = (SELECT salt FROM users WHERE name = 'mia'),"
        " password_hash = (SELECT password_hash FROM users WHERE name = 'mia') WHERE name = 'ann'",
    )
    return "account ann: password hash changed outside mlwatch"


Tamper = Callable[[Path, Runs, str], str]
# (tamper, month whose list is exported: open or made to look open)
EXPORT_CASES: list[tuple[Tamper, str]] = [
    (insert_signoff, "2026-05"),
    (reinsert_run_with_open_gate, "2026-05"),
    (delete_middle_audit_rows, "2026-04"),
    (truncate_audit_tail, "2026-04"),
    (swap_features, "2026-04"),
    (edit_one_prediction, "2026-04"),
    (raise_own_role, "2026-04"),
    (copy_password_hash, "2026-04"),
]
SIGNOFF_CASES: list[Tamper] = [
    delete_failed_check,
    delete_middle_audit_rows,
    truncate_audit_tail,
    swap_features,
    edit_one_prediction,
    raise_own_role,
]


@pytest.mark.parametrize(("tamper", "month"), EXPORT_CASES, ids=[t.__name__ for t, _ in EXPORT_CASES])
def test_export_is_refused_naming_the_tampered_record(
    state: Path,
    backfilled_sample: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tamper: Tamper,
    month: str,
) -> None:
    runs = backfilled_sample["runs"]
    named = tamper(state, runs, month)
    out = tmp_path / "out"
    out.mkdir()
    args = ["export", "--run", runs[month], "--out", str(out), "--by", "mia", "--state", str(state)]
    code = _cli(args, monkeypatch, MIA_PASSWORD)
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("mlwatch: export refused: ") and named in err and err.count("\n") == 1
    assert "the state was tampered with: run `python -m mlwatch verify`" in err
    assert list(out.iterdir()) == []
    assert store.read_audit(state, action="export") == []


@pytest.mark.parametrize("tamper", SIGNOFF_CASES, ids=[t.__name__ for t in SIGNOFF_CASES])
def test_signoff_is_refused_naming_the_tampered_record(
    state: Path,
    backfilled_sample: dict,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tamper: Tamper,
) -> None:
    may = backfilled_sample["runs"]["2026-05"]
    named = tamper(state, backfilled_sample["runs"], "2026-05")
    by, password = ("mia", MIA_PASSWORD) if tamper is raise_own_role else ("ann", ANN_PASSWORD)
    args = ["signoff", "--run", may, "--by", by, "--accept-all-failed", "--reason", REASON, "--state", str(state)]
    code = _cli(args, monkeypatch, password)
    err = capsys.readouterr().err
    assert code == 2, err
    assert named in err and err.count("\n") == 1 and "python -m mlwatch verify" in err
    assert store.read_audit(state, action="signoff") == []


def test_a_password_hash_set_on_an_approver_account_cannot_sign_off(state: Path, backfilled_sample: dict) -> None:
    may = backfilled_sample["runs"]["2026-05"]
    named = copy_password_hash(state, backfilled_sample["runs"], "2026-05")
    ann = authenticate(state, "ann", MIA_PASSWORD)  # the copied hash lets mia log in as ann
    with pytest.raises(SignoffError, match=named):
        sign_off(state, may, ann, REASON, AuthConfig(), accepted=failed_labels(state, may))
    assert store.read_audit(state, action="signoff") == []


@pytest.mark.parametrize(
    "tamper",
    [t for t, _ in EXPORT_CASES] + [delete_failed_check],
    ids=[t.__name__ for t, _ in EXPORT_CASES] + ["delete_failed_check"],
)
def test_verify_exits_1_naming_each_tampered_record(
    state: Path, backfilled_sample: dict, capsys: pytest.CaptureFixture[str], tamper: Tamper
) -> None:
    named = tamper(state, backfilled_sample["runs"], "2026-05")
    code = main(["verify", "--state", str(state)])
    out = capsys.readouterr().out
    assert code == 1
    assert named in out


def test_a_dropped_trigger_is_re_created_and_recorded(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _sql(state, "DROP TRIGGER audit_no_delete", "DROP TRIGGER signoffs_append_only_u")
    assert main(["verify", "--state", str(state)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "trigger audit_no_delete: missing (dropped outside mlwatch); re-created",
        "trigger signoffs_append_only_u: missing (dropped outside mlwatch); re-created",
    ]
    recorded = store.read_audit(state, action="integrity")[-1]["detail"]
    assert recorded["recreated_triggers"] == ["audit_no_delete", "signoffs_append_only_u"]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        _sql(state, "DELETE FROM audit")
    assert main(["verify", "--state", str(state)]) == 0


def test_a_state_used_as_intended_verifies(
    state: Path,
    backfilled_sample: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    may = backfilled_sample["runs"]["2026-05"]
    base = ["--run", may, "--state", str(state)]
    signoff = ["signoff", *base, "--by", "ann", "--accept-all-failed", "--reason", REASON]
    assert _cli(signoff, monkeypatch, ANN_PASSWORD) == 0
    assert _cli(["export", *base, "--out", str(tmp_path), "--by", "mia"], monkeypatch, MIA_PASSWORD) == 0
    revoke = ["revoke", *base, "--by", "ann", "--reason", "The rename is not fixed after all."]
    assert _cli(revoke, monkeypatch, ANN_PASSWORD) == 0
    assert main(["user", "disable", "mia", "--state", str(state)]) == 0
    capsys.readouterr()
    assert main(["verify", "--state", str(state)]) == 0
    assert capsys.readouterr().out.startswith(f"State {state} intact: ")
    # Deleting the revocation would put the sign-off back in force: it shows.
    _sql(state, "DROP TRIGGER revocations_append_only_d", "DELETE FROM revocations")
    assert main(["verify", "--state", str(state)]) == 1
    assert "revocation of sign-off 1: recorded in audit row" in capsys.readouterr().out


def test_the_gate_does_not_show_a_sign_off_added_by_hand_or_a_deleted_revocation(
    state: Path, backfilled_sample: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    may, june = backfilled_sample["runs"]["2026-05"], backfilled_sample["runs"]["2026-06"]
    insert_signoff(state, backfilled_sample["runs"], "2026-05")
    assert gate_status(state, may) == "closed"  # what the Overview and Export pages show
    ann = authenticate(state, "ann", ANN_PASSWORD)
    sign_off(state, june, ann, REASON, AuthConfig(), accepted=failed_labels(state, june))
    assert gate_status(state, june) == "signed_off"
    revoke = ["revoke", "--run", june, "--by", "ann", "--reason", "The rename is not fixed after all."]
    assert _cli([*revoke, "--state", str(state)], monkeypatch, ANN_PASSWORD) == 0
    _sql(state, "DROP TRIGGER revocations_append_only_d", "DELETE FROM revocations")
    assert gate_status(state, june) == "closed"
