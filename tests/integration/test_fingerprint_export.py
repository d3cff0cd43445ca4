"""A signed-off run's export is refused once a log file's content changed, even at the same size and time."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

import mlwatch.pipeline
from mlwatch.cli import main
from mlwatch.config import AuthConfig, Config
from mlwatch.governance.auth import User
from mlwatch.governance.signoff import failed_labels, sign_off
from mlwatch.ingest.files import find_log_files
from mlwatch.pipeline import run_monthly
from tests.conftest import generate_events, write_jsonl

REASON = "The login event was renamed upstream; the campaign does not use logins."


def _signed_off_run(logs: Path, state: Path) -> str:
    rows = generate_events(("2026-03", "2026-04", "2026-05"), users=2000, seed=11, renamed_login=["2026-05"])
    write_jsonl(logs / "2026-03.jsonl", [r for r in rows if r["timestamp"].startswith("2026-03")])
    write_jsonl(logs / "2026-05.jsonl", [r for r in rows if not r["timestamp"].startswith("2026-03")])
    run = run_monthly(logs, "2026-03", "2026-05", Config(), state, started_by="carl")
    assert run.gate.status == "closed"
    sign_off(
        state, run.run_id, User("ann", "approver"), REASON, AuthConfig(), accepted=failed_labels(state, run.run_id)
    )
    return run.run_id


def _export(state: Path, run_id: str, out: Path) -> int:
    return main(["export", "--run", run_id, "--out", str(out), "--state", str(state)])


def _edit_keeping_size_and_time(path: Path) -> bytes:
    """Give user u00000's first event to user u00001 (same size), then restore the modification time."""
    before = path.stat()
    original = path.read_bytes()
    edited = original.replace(b'"user_id": "u00000"', b'"user_id": "u00001"', 1)
    assert edited != original and len(edited) == len(original)
    path.write_bytes(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    return original


@pytest.fixture(scope="module")
def new_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    logs, state = tmp_path_factory.mktemp("logs"), tmp_path_factory.mktemp("state")
    return {"logs": logs, "state": state, "run_id": _signed_off_run(logs, state)}


def test_a_same_size_edit_with_the_time_restored_refuses_the_export(new_run, tmp_path: Path, capsys) -> None:
    path = new_run["logs"] / "2026-05.jsonl"
    original = _edit_keeping_size_and_time(path)
    try:
        assert _export(new_run["state"], new_run["run_id"], tmp_path / "refused") == 1
        err = capsys.readouterr().err
        assert err.startswith("mlwatch: export refused:") and "logs changed" in err
        assert not (tmp_path / "refused").exists() or not list((tmp_path / "refused").glob("*.csv"))
    finally:
        mtime = path.stat().st_mtime_ns
        path.write_bytes(original)
        os.utime(path, ns=(mtime, mtime))
    assert _export(new_run["state"], new_run["run_id"], tmp_path / "ok") == 0  # the same bytes export again


def _fingerprint_of_release_4(logs: str, config: dict[str, Any]) -> str:
    """The stat-only fingerprint that releases before sha256-v2 stored (copied from them)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    for path in find_log_files(logs):
        info = path.stat()
        digest.update(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def test_a_run_signed_off_by_an_earlier_release_still_exports_until_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(mlwatch.pipeline, "input_fingerprint", _fingerprint_of_release_4)
    logs, state = tmp_path / "logs", tmp_path / "state"
    run_id = _signed_off_run(logs, state)
    monkeypatch.undo()

    assert _export(state, run_id, tmp_path / "ok") == 0
    with (logs / "2026-03.jsonl").open("ab") as handle:
        handle.write(b'{"user_id": "u1", "event": "purchase", "timestamp": "2026-03-03T10:00:00Z"}\n')
    assert _export(state, run_id, tmp_path / "refused") == 1
    assert "logs changed" in capsys.readouterr().err
