"""The CLI acts as a named account only with its password, and records the identity the dashboard uses."""

from __future__ import annotations

import io
import os
import pwd
import shutil
from pathlib import Path

import pytest

from mlwatch.cli import main
from mlwatch.cli.common import shell_user
from mlwatch.config import Config
from mlwatch.governance import throttle
from mlwatch.governance.auth import add_user
from mlwatch.governance.signoff import active_signoff, failed_labels, gate_status
from mlwatch.pipeline import run_monthly
from mlwatch.state import store

PASSWORDS = {"alice": "alice's long password", "bob": "bob's long password!", "mia": "mia's long password"}
REASON = "The login event was renamed upstream; the campaign does not use logins."


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from tests.conftest import generate_events, write_jsonl

    folder = tmp_path_factory.mktemp("logs")
    rows = generate_events(("2026-03", "2026-04", "2026-05"), users=800, seed=5, renamed_login=["2026-05"])
    write_jsonl(folder / "events.jsonl", rows)
    state = tmp_path_factory.mktemp("state")
    for name, role in (("alice", "approver"), ("bob", "approver"), ("mia", "marketer")):
        add_user(state, name, role, PASSWORDS[name])
    # Started from a shell by the login alice, as cron or a terminal would.
    closed = run_monthly(folder, "2026-03", "2026-05", Config(), state, started_by="cli:alice")
    opened = run_monthly(folder, "2026-03", "2026-04", Config(), state, started_by="cli:alice")
    assert closed.gate.status == "closed" and opened.gate.status == "open"
    return {"state": state, "closed": closed.run_id, "open": opened.run_id}


@pytest.fixture
def state(stored: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(stored["state"], copy)  # type: ignore[arg-type]
    monkeypatch.setenv("USER", "alice")
    return copy


def _as(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    """What the command reads from stdin: one line, the password (not a terminal)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))


def _signoff(state: Path, run_id: str, by: str) -> list[str]:
    return ["signoff", "--run", run_id, "--by", by, "--reason", REASON, "--accept-all-failed", "--state", str(state)]


def test_signoff_needs_the_approvers_password(state: Path, stored, monkeypatch, capsys) -> None:
    run_id = stored["closed"]
    _as(monkeypatch, "not bob's password")
    assert main(_signoff(state, run_id, "bob")) == 2
    assert capsys.readouterr().err.strip() == "mlwatch: error: wrong name or password"
    assert gate_status(state, run_id) == "closed"
    failed = store.read_audit(state, action="login_failed")
    assert [(r["actor"], r["detail"]["client"]) for r in failed] == [("bob", "cli:alice")]
    _as(monkeypatch, PASSWORDS["bob"])
    assert main(_signoff(state, run_id, "bob")) == 0
    signed = active_signoff(state, run_id)
    # The account's own name, as the dashboard records it: no "cli:" identity to dodge four eyes with.
    assert (signed.approver, signed.via, signed.accepted) == ("bob", "cli", tuple(sorted(failed_labels(state, run_id))))


def test_the_shell_user_who_started_a_run_cannot_sign_it_off_as_their_account(
    state: Path, stored, monkeypatch, capsys
) -> None:
    _as(monkeypatch, PASSWORDS["alice"])
    assert main(_signoff(state, stored["closed"], "alice")) == 2
    assert "four eyes: alice started this run" in capsys.readouterr().err
    assert gate_status(state, stored["closed"]) == "closed"


def test_revoke_and_export_as_an_account_need_its_password(state: Path, stored, monkeypatch, tmp_path, capsys) -> None:
    run_id = stored["closed"]
    _as(monkeypatch, PASSWORDS["bob"])
    assert main(_signoff(state, run_id, "bob")) == 0
    _as(monkeypatch, PASSWORDS["alice"] + "x")
    revoke = ["revoke", "--run", run_id, "--by", "bob", "--reason", "Wrong month after all.", "--state", str(state)]
    assert main(revoke) == 2
    assert gate_status(state, run_id) == "signed_off"
    out = tmp_path / "out"
    out.mkdir()
    export = ["export", "--run", stored["open"], "--out", str(out), "--by", "mia", "--state", str(state)]
    _as(monkeypatch, "a guess at mia's password")
    assert main(export) == 2
    assert list(out.iterdir()) == []
    _as(monkeypatch, PASSWORDS["mia"])
    assert main(export) == 0
    assert [r["actor"] for r in store.read_audit(state, action="export")] == ["mia"]
    _as(monkeypatch, PASSWORDS["bob"])
    assert main(revoke) == 0
    assert gate_status(state, run_id) == "closed"
    capsys.readouterr()


def test_guessing_from_the_shell_is_throttled_like_the_browser(state: Path, stored, monkeypatch, capsys) -> None:
    for _ in range(throttle.ACCOUNT_LIMIT):
        _as(monkeypatch, "a wrong guess")
        assert main(_signoff(state, stored["closed"], "bob")) == 2
    _as(monkeypatch, PASSWORDS["bob"])
    assert main(_signoff(state, stored["closed"], "bob")) == 2
    assert "too many failed log-ins" in capsys.readouterr().err
    assert gate_status(state, stored["closed"]) == "closed"


def test_a_shell_without_user_variables_is_named_by_its_account_not_unknown(monkeypatch) -> None:
    # cron and systemd often set no USER: the audit trail must still say who ran the command.
    for variable in ("USER", "LOGNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    assert shell_user() == pwd.getpwuid(os.getuid()).pw_name != "unknown"
