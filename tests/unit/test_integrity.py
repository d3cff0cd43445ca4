"""The key, the chain and the head: where they live, what a missing key does, an upgraded state sealed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from mlwatch.cli import main
from mlwatch.errors import StateError
from mlwatch.governance.signoff import gate_status
from mlwatch.state import integrity, store
from mlwatch.summary import CheckResult
from tests.conftest import ROOT, run_record

STATE_V3 = ROOT / "tests" / "fixtures" / "state_v3"
CHECKS = [CheckResult("zero_rate", "login", "fail", 1.0, 0.1, 0.2, "Login count is 0 for 100% of users.")]


@pytest.fixture(autouse=True)
def _no_key_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(integrity.KEY_ENV, raising=False)


def _store_run(state: Path, run_id: str = "2026-05-x") -> None:
    store.save_run(state, run_record(run_id), CHECKS, lambda folder: (folder / "summary.json").write_text("{}"))


def test_the_key_is_made_on_first_use_private_and_the_head_follows_the_chain(tmp_path: Path) -> None:
    _store_run(tmp_path)
    key = tmp_path / "mlwatch.key"
    assert len(key.read_bytes()) == 32 and stat.S_IMODE(key.stat().st_mode) == 0o600
    _store_run(tmp_path, "2026-05-y")
    head = json.loads((tmp_path / "mlwatch.head").read_text())
    assert head["id"] == 2 and head["mac"] == store_macs(tmp_path)[-1]
    assert main(["verify", "--state", str(tmp_path)]) == 0


def store_macs(state: Path) -> list[str]:
    with sqlite3.connect(state / store.DB_FILE) as con:
        macs = [row[0] for row in con.execute("SELECT mac FROM audit ORDER BY id")]
    con.close()
    return macs


def test_mlwatch_key_file_puts_the_key_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "secrets" / "state.key"
    monkeypatch.setenv(integrity.KEY_ENV, str(elsewhere))
    _store_run(tmp_path / "state")
    assert elsewhere.is_file() and not (tmp_path / "state" / "mlwatch.key").exists()
    assert main(["verify", "--state", str(tmp_path / "state")]) == 0
    monkeypatch.delenv(integrity.KEY_ENV)  # without it, the state's key is missing: never a new one
    assert main(["verify", "--state", str(tmp_path / "state")]) == 2
    assert not (tmp_path / "state" / "mlwatch.key").exists()


def test_a_missing_key_is_an_error_naming_the_file_not_a_new_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_run(tmp_path)
    (tmp_path / "mlwatch.key").unlink()
    with pytest.raises(StateError, match=r"mlwatch\.key: the integrity key of this state is missing; restore it"):
        _store_run(tmp_path, "2026-05-y")
    assert main(["verify", "--state", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'mlwatch.key'}: the integrity key of this state is missing; restore it" in err
    assert not (tmp_path / "mlwatch.key").exists()
    assert [r.run_id for r in store.list_runs(tmp_path)] == ["2026-05-x"]


def test_a_row_written_with_another_key_breaks_the_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store_run(tmp_path)
    (tmp_path / "mlwatch.key").write_bytes(b"k" * 32)  # a key of the attacker's own
    with store.transaction(tmp_path) as con:
        store.append_audit(con, "eve", "signoff", "2026-05-x", {})
    assert main(["verify", "--state", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "audit row 1: mac mismatch" in out and "mlwatch.head: mac mismatch" in out


def test_the_previous_release_state_is_sealed_on_upgrade_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    shutil.copytree(STATE_V3, state)
    assert main(["verify", "--state", str(state)]) == 0
    assert "3 runs (15 files), 1 sign-offs" in capsys.readouterr().out
    sealed = [a["detail"].get("sealed") for a in store.read_audit(state, action="integrity")]
    assert sealed == ["run", "run", "run", "signoff", "state"]
    may = next(r.run_id for r in store.list_runs(state) if r.current_month == "2026-05")
    assert gate_status(state, may) == "signed_off"
    with sqlite3.connect(state / store.DB_FILE) as con:  # what was already there is bound too
        con.execute("DROP TRIGGER signoffs_append_only_u")
        con.execute("UPDATE signoffs SET approver = 'eve'")
    con.close()
    assert main(["verify", "--state", str(state)]) == 1
    assert (
        f"sign-off 1 of run {may}: approver 'eve' in the signoffs table, 'ana' when signed" in capsys.readouterr().out
    )


def test_a_state_set_back_to_an_older_schema_is_not_sealed_again(tmp_path: Path) -> None:
    _store_run(tmp_path)
    with sqlite3.connect(tmp_path / store.DB_FILE) as con:
        con.execute("PRAGMA user_version = 4")
    con.close()
    with pytest.raises(StateError, match="says schema 4 but its audit trail is chained already; it was tampered with"):
        store.list_runs(tmp_path)


def test_accounts_and_revocations_of_an_upgraded_state_are_sealed_as_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    shutil.copytree(STATE_V3, state)
    with sqlite3.connect(state / store.DB_FILE) as con:  # written by the previous release, before the upgrade
        con.execute("INSERT INTO users VALUES ('old', 'marketer', x'00', x'01', '2026-11-01T00:00:00+00:00', NULL)")
        con.execute("INSERT INTO revocations VALUES (1, 'ana', 'The rename was not fixed after all.', 't')")
    con.close()
    assert main(["verify", "--state", str(state)]) == 0
    assert "1 accounts" in capsys.readouterr().out
    may = next(r.run_id for r in store.list_runs(state) if r.current_month == "2026-05")
    assert gate_status(state, may) == "closed"
    with sqlite3.connect(state / store.DB_FILE) as con:
        con.execute("UPDATE users SET role = 'approver'")
        con.execute("DROP TRIGGER revocations_append_only_d")
        con.execute("DELETE FROM revocations")
    con.close()
    assert gate_status(state, may) == "closed"  # the revocation is recorded in the chain
    assert main(["verify", "--state", str(state)]) == 1
    out = capsys.readouterr().out
    assert "account old: role 'approver' in the users table, 'marketer' when added" in out
    assert "revocation of sign-off 1: recorded in audit row" in out
