"""Accounts and roles: slow salted hashes, vague login failures, roles enforced in the functions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlwatch.errors import AuthError, MlwatchError, PermissionDenied
from mlwatch.governance.auth import (
    User,
    add_user,
    authenticate,
    disable_user,
    find_user,
    has_accounts,
    list_users,
    require,
    role_for_email,
)
from mlwatch.state import store

PASSWORD = "a long enough secret"


def test_accounts_survive_a_restart_and_store_no_password(tmp_path: Path) -> None:
    assert not has_accounts(tmp_path)
    add_user(tmp_path, "ann", "approver", PASSWORD)
    assert has_accounts(tmp_path)  # a new connection, as after a restart
    assert authenticate(tmp_path, "ann", PASSWORD) == User("ann", "approver")
    raw = (tmp_path / "mlwatch.ingest.db").read_bytes()
    assert PASSWORD.encode() not in raw
    with sqlite3.connect(tmp_path / "mlwatch.ingest.db") as con:
        salt, digest = con.execute("SELECT salt, password_hash FROM users").fetchone()
    assert len(salt) == 16 and len(digest) == 32
    assert list_users(tmp_path)[0]["name"] == "ann" and "password_hash" not in list_users(tmp_path)[0]


def test_wrong_name_or_password_fail_alike_and_are_audited_without_the_password(tmp_path: Path) -> None:
    add_user(tmp_path, "ann", "approver", PASSWORD)
    messages = []
    for name, password in (("ann", "not the password"), ("bob", PASSWORD)):
        with pytest.raises(AuthError) as info:
            authenticate(tmp_path, name, password)
        messages.append(str(info.value))
    assert messages == ["wrong name or password"] * 2
    failures = store.read_audit(tmp_path, action="login_failed")
    assert [f["actor"] for f in failures] == ["ann", "bob"]
    assert "not the password" not in str(failures) and PASSWORD not in str(store.read_audit(tmp_path))


def test_disabled_accounts_cannot_log_in(tmp_path: Path) -> None:
    add_user(tmp_path, "ann", "approver", PASSWORD)
    disable_user(tmp_path, "ann")
    with pytest.raises(AuthError):
        authenticate(tmp_path, "ann", PASSWORD)
    assert find_user(tmp_path, "ann") is None and not has_accounts(tmp_path)


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("ann", "approver", "short", "at least 10 characters"),
        ("ann", "boss", PASSWORD, "unknown role"),
        ("a b", "marketer", PASSWORD, "not a valid account name"),
    ],
)
def test_bad_accounts_are_refused(tmp_path: Path, name: str, role: str, password: str, message: str) -> None:
    with pytest.raises(MlwatchError, match=message):
        add_user(tmp_path, name, role, password)


def test_duplicate_account_names_are_refused(tmp_path: Path) -> None:
    add_user(tmp_path, "ann", "approver", PASSWORD)
    with pytest.raises(MlwatchError, match="already exists"):
        add_user(tmp_path, "ann", "marketer", PASSWORD)


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("marketer", "export", True),
        ("marketer", "signoff", False),
        ("marketer", "map", False),
        ("approver", "signoff", True),
        ("approver", "manage_users", False),
        ("admin", "manage_users", True),
        ("admin", "signoff", False),
        ("admin", "audit", True),
        ("marketer", "audit", False),
    ],
)
def test_roles_grant_exactly_their_permissions(role: str, permission: str, allowed: bool) -> None:
    user = User("x", role)
    if allowed:
        assert require(user, permission) is user
    else:
        with pytest.raises(PermissionDenied):
            require(user, permission)


def test_nobody_logged_in_is_denied() -> None:
    with pytest.raises(PermissionDenied, match="log in first"):
        require(None, "export")


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("Ann@Shop.example", "approver"),
        ("root@shop.example", "admin"),
        ("mia@agency.example", "marketer"),
        ("eve@elsewhere.example", None),
        ("", None),
    ],
)
def test_single_sign_on_roles_come_from_the_config_lists(email: str, role: str | None) -> None:
    assert role_for_email(email, ("ann@shop.example",), ("root@shop.example",), ("@agency.example",), None) == role


def test_single_sign_on_default_role_applies_to_other_addresses() -> None:
    assert role_for_email("eve@elsewhere.example", (), (), (), "marketer") == "marketer"
