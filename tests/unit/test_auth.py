"""Accounts and roles: slow salted hashes, vague login failures, roles enforced in the functions."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlwatch.errors import AuthError, LoginLocked, MlwatchError, PermissionDenied
from mlwatch.governance import throttle
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
    assert authenticate(tmp_path, "ann", PASSWORD) == User("ann", "approver", "password")
    raw = (tmp_path / "mlwatch.db").read_bytes()
    assert PASSWORD.encode() not in raw
    with sqlite3.connect(tmp_path / "mlwatch.db") as con:
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
    assert find_user(tmp_path, "ann") is None
    assert has_accounts(tmp_path)  # login stays required: no demo mode once accounts existed


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


def test_five_wrong_passwords_lock_the_name_whether_or_not_it_exists(tmp_path: Path) -> None:
    add_user(tmp_path, "ann", "approver", PASSWORD)
    for name in ("ann", "ghost"):
        for _ in range(throttle.ACCOUNT_LIMIT):
            with pytest.raises(AuthError, match="wrong name or password"):
                authenticate(tmp_path, name, "not the password", client=f"browser:{name}")
        # Locked: even the right password is not checked, and the words do not tell whether the name exists.
        with pytest.raises(LoginLocked) as info:
            authenticate(tmp_path, name, PASSWORD, client=f"browser:{name}")
        assert str(info.value).startswith("too many failed log-ins; try again in 1 minute")
    locked = store.read_audit(tmp_path, action="login_locked")
    assert [(r["actor"], r["detail"]["client"]) for r in locked] == [("ann", "browser:ann"), ("ghost", "browser:ghost")]


def test_the_wait_doubles_and_ends(tmp_path: Path) -> None:
    add_user(tmp_path, "ann", "approver", PASSWORD)
    now = datetime.now(UTC)
    for _ in range(throttle.ACCOUNT_LIMIT):
        with pytest.raises(AuthError):
            authenticate(tmp_path, "ann", "not the password", now=now)
    with pytest.raises(LoginLocked):
        authenticate(tmp_path, "ann", PASSWORD, now=now + timedelta(seconds=20))
    later = now + timedelta(seconds=40)  # the first wait (30 s) is over: one more try
    with pytest.raises(AuthError) as info:
        authenticate(tmp_path, "ann", "still wrong", now=later)
    assert not isinstance(info.value, LoginLocked)
    # The failures are stamped by the clock (about ``now``): the sixth locks for 60 s, no longer 30 s.
    with pytest.raises(LoginLocked):
        authenticate(tmp_path, "ann", PASSWORD, now=now + timedelta(seconds=50))
    assert authenticate(tmp_path, "ann", PASSWORD, now=later + timedelta(minutes=2)) == User(
        "ann", "approver", "password"
    )
    # A success ends the run of failures: one wrong password later does not lock again.
    with pytest.raises(AuthError) as info:
        authenticate(tmp_path, "ann", "wrong again", now=later + timedelta(minutes=3))
    assert not isinstance(info.value, LoginLocked)


def test_one_client_guessing_many_names_is_locked_too(tmp_path: Path) -> None:
    add_user(tmp_path, "ann", "approver", PASSWORD)
    for i in range(throttle.CLIENT_LIMIT):  # a different name each time: no name reaches its limit
        with pytest.raises(AuthError):
            authenticate(tmp_path, f"guess{i}", "not the password", client="browser:10.0.0.9")
    with pytest.raises(LoginLocked):
        authenticate(tmp_path, "ann", PASSWORD, client="browser:10.0.0.9")
    assert authenticate(tmp_path, "ann", PASSWORD, client="browser:10.0.0.7") == User("ann", "approver", "password")


def test_a_disabled_account_can_do_nothing_more_and_a_new_role_applies_at_once(tmp_path: Path) -> None:
    add_user(tmp_path, "ann", "approver", PASSWORD)
    session = authenticate(tmp_path, "ann", PASSWORD)  # what a dashboard session holds
    assert require(session, "signoff", tmp_path) == User("ann", "approver", "password")
    with sqlite3.connect(tmp_path / "mlwatch.db") as con:
        con.execute("UPDATE users SET role = 'marketer' WHERE name = 'ann'")
    with pytest.raises(PermissionDenied, match="ann \\(marketer\\) may not signoff"):
        require(session, "signoff", tmp_path)
    disable_user(tmp_path, "ann")
    with pytest.raises(PermissionDenied, match="'ann' is disabled"):
        require(session, "export", tmp_path)
