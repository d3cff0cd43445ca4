"""Accounts, roles and what each role may do; enforced here, not only by hiding widgets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlwatch.errors import AuthError, MlwatchError, PermissionDenied
from mlwatch.governance import throttle
from mlwatch.state import integrity, store

ROLES = ("marketer", "approver", "admin")
PERMISSIONS: dict[str, frozenset[str]] = {
    "marketer": frozenset({"view", "export"}),
    "approver": frozenset({"view", "export", "signoff", "revoke", "map", "run", "audit"}),
    "admin": frozenset({"view", "export", "manage_users", "audit"}),
}
MIN_PASSWORD = 10
# scrypt parameters: about 50 ms per check on one core, 16 MB of memory.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_DUMMY_SALT = b"\x00" * 16


@dataclass(frozen=True)
class User:
    """Who is acting, with which role, and how they were identified.

    ``source``: ``password`` (a local account that logged in: read again before each governed
    action), ``sso``, ``demo``, ``cli`` (a shell user without an account) or ``local`` (code
    acting for a trusted caller, e.g. a test or a library user).
    """

    name: str
    role: str
    source: str = "local"

    def can(self, permission: str) -> bool:
        """True when the role grants ``permission``."""
        return permission in PERMISSIONS.get(self.role, frozenset())


def require(user: User | None, permission: str, state: str | Path | None = None) -> User:
    """Return ``user`` if it may do ``permission``.

    With ``state``, a password account is read again first (``refresh``): a disabled account
    may do nothing more, and a changed role applies at once, even to a session opened before.

    Raises:
        PermissionDenied: nobody is logged in, the account is disabled, or the role does not allow it.
    """
    if user is None:
        raise PermissionDenied(f"log in first: {permission.replace('_', ' ')} needs an account")
    if state is not None:
        current = refresh(state, user)
        if current is None:
            raise PermissionDenied(f"the account {user.name!r} is disabled; ask an administrator")
        user = current
    if not user.can(permission):
        allowed = [role for role, perms in PERMISSIONS.items() if permission in perms]
        raise PermissionDenied(
            f"{user.name} ({user.role}) may not {permission.replace('_', ' ')}; this needs the role {' or '.join(allowed)}"
        )
    return user


def add_user(state: str | Path, name: str, role: str, password: str, actor: str = "cli") -> User:
    """Create an account with a salted scrypt hash of its password (the password itself is never stored).

    Raises:
        MlwatchError: bad name, role or password, or the name is taken.
    """
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise MlwatchError(f"{name!r} is not a valid account name: 1 to 64 characters, no spaces")
    if role not in ROLES:
        raise MlwatchError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise MlwatchError(f"the password must have at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    password_hash = _hash(password, salt)
    with store.transaction(state) as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise MlwatchError(f"an account named {name!r} already exists")
        con.execute(
            "INSERT INTO users (name, role, salt, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            [name, role, salt, password_hash, _now()],
        )
        # A digest of the salt and hash (never the password) binds the row: verify flags a hash set by hand.
        credential = integrity.credential_digest(salt, password_hash)
        store.append_audit(con, actor, "user_add", None, {"name": name, "role": role, "credential_sha256": credential})
    return User(name, role)


def disable_user(state: str | Path, name: str, actor: str = "cli") -> None:
    """Disable an account: it can no longer log in; its history stays.

    Raises:
        MlwatchError: no such active account.
    """
    with store.transaction(state) as con:
        row = con.execute("SELECT disabled_at FROM users WHERE name = ?", [name]).fetchone()
        if row is None or row["disabled_at"]:
            raise MlwatchError(f"no active account named {name!r}; see `python -m mlwatch user list`")
        con.execute("UPDATE users SET disabled_at = ? WHERE name = ?", [_now(), name])
        store.append_audit(con, actor, "user_disable", None, {"name": name})


def list_users(state: str | Path) -> list[dict[str, str | None]]:
    """Return every account: name, role, created_at, disabled_at (never a hash)."""
    with store.connect(state) as con:
        rows = con.execute("SELECT name, role, created_at, disabled_at FROM users ORDER BY name").fetchall()
    return [dict(row) for row in rows]


def has_accounts(state: str | Path) -> bool:
    """True once an account was ever created: from then on login is required, even with every account
    disabled (disabling the last one must not turn the demo mode back on)."""
    with store.connect(state) as con:
        return con.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def find_user(state: str | Path, name: str) -> User | None:
    """Return the active account ``name``, or None."""
    with store.connect(state) as con:
        row = con.execute("SELECT name, role FROM users WHERE name = ? AND disabled_at IS NULL", [name]).fetchone()
    return User(row["name"], row["role"]) if row else None


def refresh(state: str | Path, user: User) -> User | None:
    """Return a password account as it is now in the state (None once disabled); other users as they are."""
    if user.source != "password":
        return user
    found = find_user(state, user.name)
    return None if found is None else User(found.name, found.role, user.source)


def authenticate(
    state: str | Path, name: str, password: str, client: str = "unknown", now: datetime | None = None
) -> User:
    """Check a name and password, after the throttle (``throttle.check``).

    A failure is recorded in the audit trail (the name tried and the client, never the
    password) and says nothing about which of the two was wrong; an unknown name costs the
    same hashing time as a wrong password. A success is recorded too (it ends a run of failures).

    Args:
        client: who is trying, for the per-client limit: ``browser:<address>`` or ``cli:<shell user>``.
        now: the time of the attempt (tests); default the clock.

    Raises:
        LoginLocked: too many failures for this name or from this client lately; nothing was checked.
        AuthError: wrong name or password, or a disabled account.
    """
    now = now or datetime.now(UTC)
    throttle.check(state, name[:64] or "(empty)", client, now)
    with store.connect(state) as con:
        row = con.execute(
            "SELECT name, role, salt, password_hash FROM users WHERE name = ? AND disabled_at IS NULL", [name]
        ).fetchone()
    salt = row["salt"] if row else _DUMMY_SALT
    expected = row["password_hash"] if row else b""
    if row is not None and hmac.compare_digest(_hash(password, salt), expected):
        throttle.record(state, row["name"], client, now, success=True)
        return User(row["name"], row["role"], "password")
    if row is None:
        _hash(password, salt)  # same cost as a real check
    throttle.record(state, name[:64] or "(empty)", client, now, success=False)
    raise AuthError("wrong name or password")


def role_for_email(
    email: str | None,
    approvers: tuple[str, ...],
    admins: tuple[str, ...],
    marketers: tuple[str, ...],
    default_role: str | None,
) -> str | None:
    """Map a single-sign-on e-mail address to a role (admin, then approver, then marketer lists).

    Matching ignores case; an entry starting with ``@`` matches a whole domain.
    Returns ``default_role`` for other addresses (None: no access).
    """
    if not email:
        return None
    address = email.strip().lower()
    for role, entries in (("admin", admins), ("approver", approvers), ("marketer", marketers)):
        for entry in entries:
            entry = entry.strip().lower()
            if address == entry or (entry.startswith("@") and address.endswith(entry)):
                return role
    return default_role


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
