"""The audit trail accepts only the actions mlwatch declares, so none can be left out of the Audit filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlwatch.cli import main
from mlwatch.errors import StateError
from mlwatch.state import store

WRITTEN = (
    "run",
    "signoff",
    "revoke",
    "mapping",
    "export",
    "login_failed",
    "user_add",
    "user_disable",
    "actuals",
    "notify",
    "integrity",
    "contract",
)


def test_every_action_mlwatch_writes_is_declared() -> None:
    assert set(WRITTEN) <= set(store.AUDIT_ACTIONS)


def test_an_undeclared_action_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="'notified'.*AUDIT_ACTIONS"), store.transaction(tmp_path) as con:
        store.append_audit(con, "mlwatch", "notified", None, {})
    assert store.read_audit(tmp_path) == []


def test_cli_audit_filters_by_a_declared_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store.transaction(tmp_path) as con:
        store.append_audit(con, "mlwatch", "notify", "2026-05-x", {"target": "ops", "delivered": True})
        store.append_audit(con, "ann", "login_failed", None, {})
    assert main(["audit", "--action", "notify", "--state", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "notify" in out and "login_failed" not in out
