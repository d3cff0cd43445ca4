"""Tamper evidence: a secret key outside the database, a keyed hash chain over the audit trail, a keyed head.

Triggers keep honest code from editing the state, but whoever can write the database file can drop
them. What that person cannot do without the key is write a record that verifies, as in
CloudTrail's log-file integrity validation:

- each audit row stores ``mac = HMAC-SHA256(key, previous row's mac | canonical row)``, the row being
  ``[id, at, actor, action, run_id, detail_json]``; an edited, inserted or deleted row breaks the chain;
- ``mlwatch.head`` holds the newest row's id and mac, keyed, and moves after each commit: a chain
  shorter than the head was truncated (a longer one only means a crash before the head moved);
- rows outside the audit table are bound by what their audit row recorded: a run's row, checks and
  artifact files by digests (``run_seal``), a sign-off, a revocation and an account by their fields.

``verification`` compares the state with all of this; this module only writes it (no Streamlit).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlwatch.errors import StateError

KEY_ENV = "MLWATCH_KEY_FILE"
KEY_FILE = "mlwatch.key"
HEAD_FILE = "mlwatch.head"
KEY_BYTES = 32
ACTION = "integrity"
ACTOR = "mlwatch"
CACHE = "cache"  # rendered later for display, not written by the run (DESIGN.md "State")
# The columns a run's digests cover (fixed, so a column added by a later schema does not break old seals).
RUN_COLUMNS = (
    "run_id",
    "created_at",
    "reference_month",
    "current_month",
    "logs",
    "gate",
    "fingerprint",
    "inputs_fingerprint",
    "config_json",
    "users",
    "events",
    "rows_read",
    "rows_rejected",
    "duplicates",
    "started_by",
)
CHECK_COLUMNS = ("position", "name", "feature", "status", "value", "reference", "threshold", "message")


@dataclass(frozen=True)
class Head:
    """The head record: the newest audit row's id and mac when it was written, and whether its own mac holds."""

    id: int
    mac: str
    valid: bool


def key_path(root: Path) -> Path:
    """Where the key lives: ``MLWATCH_KEY_FILE``, else ``<state>/mlwatch.key``."""
    return Path(os.environ.get(KEY_ENV) or root / KEY_FILE)


def head_path(root: Path) -> Path:
    """Where the head record lives: ``<state>/mlwatch.head``."""
    return root / HEAD_FILE


def state_root(con: sqlite3.Connection) -> Path:
    """The state directory of an open state database."""
    for row in con.execute("PRAGMA database_list"):
        if row[1] == "main":
            return Path(row[2]).parent
    raise StateError("the state database has no main file")  # pragma: no cover (sqlite always has one)


def load_key(con: sqlite3.Connection, root: Path, create: bool = False) -> bytes:
    """Return the state's key; with ``create``, make it on first use (random, mode 0600, written atomically).

    Raises:
        StateError: the key is missing although the state was sealed with one (never replaced silently),
            unreadable, or not 32 bytes.
    """
    path = key_path(root)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        sealed = con.execute("SELECT 1 FROM audit WHERE mac IS NOT NULL LIMIT 1").fetchone()
        if not create or sealed or head_path(root).exists():
            raise StateError(
                f"{path}: the integrity key of this state is missing; restore it from the backup of the state"
                f" (or set {KEY_ENV} to where it is): a new key would hide any tampering",
                path=str(path),
            ) from None
        return _create_key(path, root)
    except OSError as exc:
        raise StateError(
            f"{path}: cannot read the integrity key ({exc.strerror or exc}); check its owner and mode (0600)",
            path=str(path),
        ) from exc
    if len(key) != KEY_BYTES:
        raise StateError(
            f"{path}: the integrity key is damaged ({len(key)} bytes, expected {KEY_BYTES});"
            " restore it from the backup of the state",
            path=str(path),
        )
    return key


def row_mac(key: bytes, previous: str, row: tuple[Any, ...]) -> str:
    """The mac of an audit row ``(id, at, actor, action, run_id, detail_json)`` chained on ``previous``."""
    body = json.dumps(list(row), ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, f"{previous}|{body}".encode(), hashlib.sha256).hexdigest()


def append_chained(con: sqlite3.Connection, actor: str, action: str, run_id: str | None, detail: dict[str, Any]) -> int:
    """Append one audit row chained on the newest one; call inside a write transaction (BEGIN IMMEDIATE).

    Returns:
        The new row's id.
    """
    root = state_root(con)
    key = load_key(con, root, create=True)
    last = con.execute("SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
    head = read_head(root, key)
    # Never reuse an id, even with the id sequence reset: after deleted tail rows the gap stays visible.
    new_id = max(last[0] if last else 0, seq[0] if seq else 0, head.id if head and head.valid else 0) + 1
    row = (new_id, _now(), actor, action, run_id, json.dumps(detail, sort_keys=True))
    mac = row_mac(key, (last[1] or "") if last else "", row)
    con.execute(
        "INSERT INTO audit (id, at, actor, action, run_id, detail_json, mac) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [*row, mac],
    )
    return new_id


def read_head(root: Path, key: bytes) -> Head | None:
    """The head record, or None when there is none; an unreadable or edited one is returned not ``valid``."""
    try:
        data = json.loads(head_path(root).read_text(encoding="utf-8"))
        head_id, mac, check = int(data["id"]), str(data["mac"]), str(data["check"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Head(0, "", False)
    return Head(head_id, mac, hmac.compare_digest(check, _head_check(key, head_id, mac)))


def advance_head(con: sqlite3.Connection) -> None:
    """Move the head to the newest audit row, after a commit; never over evidence of tampering.

    A missing or edited head, or a head whose row no longer has its mac, stays as it is for
    ``verify`` to report. Nothing here raises: the commit is done, and a head behind the chain is
    allowed (the next commit moves it).
    """
    try:
        root = state_root(con)
        last = con.execute("SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        if last is None or last[1] is None:
            return
        key = load_key(con, root)
        head = read_head(root, key)
        if head is None or not head.valid or head.id >= last[0]:
            return
        if head.id:
            row = con.execute("SELECT mac FROM audit WHERE id = ?", [head.id]).fetchone()
            if row is None or row[0] != head.mac:
                return
        _write_head(root, key, last[0], last[1])
    except (sqlite3.Error, OSError, StateError):
        return


def add_audit_macs(con: sqlite3.Connection, version: int) -> int:
    """Upgrade to the chain: add the audit rows' mac column and chain the rows as found (trust on first use).

    Runs in the upgrade's transaction; drops the audit table's update trigger, which the schema re-creates.

    Returns:
        The number of audit rows sealed.

    Raises:
        StateError: the state says an older schema but is chained already (set back to be sealed again).
    """
    columns = {row[1] for row in con.execute("PRAGMA table_info(audit)")}
    if not columns:
        return 0  # no audit table yet: the schema creates it with its mac column
    if "mac" in columns:
        raise StateError(
            f"{state_root(con)}: the state database says schema {version} but its audit trail is chained already;"
            " it was tampered with: run `python -m mlwatch verify`"
        )
    con.execute("ALTER TABLE audit ADD COLUMN mac TEXT")
    con.execute("DROP TRIGGER IF EXISTS audit_no_update")
    return _seal_audit_rows(con)


def _seal_audit_rows(con: sqlite3.Connection) -> int:
    rows = con.execute("SELECT id, at, actor, action, run_id, detail_json FROM audit ORDER BY id").fetchall()
    if not rows:
        return 0
    key = load_key(con, state_root(con), create=True)
    previous = ""
    for row in rows:
        previous = row_mac(key, previous, tuple(row))
        con.execute("UPDATE audit SET mac = ? WHERE id = ?", [previous, row[0]])
    return len(rows)


def seal_records(con: sqlite3.Connection, audit_rows: int) -> None:
    """Bind the runs, sign-offs, revocations and accounts of an upgraded state, one ``integrity`` row each."""
    root = state_root(con)
    counts = {"audit_rows": audit_rows, "runs": 0, "signoffs": 0, "revocations": 0, "accounts": 0}
    for row in con.execute("SELECT run_id FROM runs ORDER BY created_at, run_id").fetchall():
        seal = run_seal(con, row[0], file_digests(root / "runs" / row[0]))
        append_chained(con, ACTOR, ACTION, row[0], {"sealed": "run", **seal})
        counts["runs"] += 1
    for row in con.execute("SELECT * FROM signoffs ORDER BY id").fetchall():
        append_chained(con, ACTOR, ACTION, row["run_id"], {"sealed": "signoff", **signoff_seal(row)})
        counts["signoffs"] += 1
    revoked = "SELECT r.*, s.run_id FROM revocations r JOIN signoffs s ON s.id = r.signoff_id ORDER BY r.signoff_id"
    for row in con.execute(revoked).fetchall():
        append_chained(con, ACTOR, ACTION, row["run_id"], {"sealed": "revocation", **revocation_seal(row)})
        counts["revocations"] += 1
    for row in con.execute("SELECT * FROM users ORDER BY name").fetchall():
        append_chained(con, ACTOR, ACTION, None, {"sealed": "account", **account_seal(row)})
        counts["accounts"] += 1
    if any(counts.values()):
        note = "records of the state sealed at the upgrade to the hash chain (trusted as found)"
        append_chained(con, ACTOR, ACTION, None, {"sealed": "state", **counts, "note": note})


def restore_triggers(con: sqlite3.Connection, triggers: dict[str, str]) -> None:
    """Re-create the schema's triggers (name -> statement) that are missing, and record them in the audit trail."""
    if triggers.keys() <= _trigger_names(con):
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        missing = sorted(triggers.keys() - _trigger_names(con))  # another process may have done it meanwhile
        for name in missing:
            con.execute(triggers[name])
        if missing:
            note = "dropped outside mlwatch; re-created when the state was opened"
            append_chained(con, ACTOR, ACTION, None, {"recreated_triggers": missing, "note": note})
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    advance_head(con)


def _trigger_names(con: sqlite3.Connection) -> set[str]:
    return {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}


def run_seal(con: sqlite3.Connection, run_id: str, artifacts: dict[str, str]) -> dict[str, Any]:
    """What a run's audit row binds: what the gate depends on, digests of its rows, and its files' SHA-256."""
    row = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchone()
    checks = run_checks(con, run_id)
    return {
        "reference_month": row["reference_month"],
        "current_month": row["current_month"],
        "gate": row["gate"],
        "fingerprint": row["fingerprint"],
        "inputs_fingerprint": row["inputs_fingerprint"],
        "failed": failed_labels(checks),
        "record_sha256": record_digest(row),
        "checks_sha256": checks_digest(checks),
        "artifacts": artifacts,
    }


def signoff_seal(row: sqlite3.Row) -> dict[str, Any]:
    """The fields of a sign-off row its audit row must repeat."""
    return {
        "signoff_id": row["id"],
        "fingerprint": row["fingerprint"],
        "approver": row["approver"],
        "reason": row["reason"],
        "accepted": json.loads(row["accepted_json"]),
        "via": row["via"],
        "at": row["at"],
    }


def revocation_seal(row: sqlite3.Row) -> dict[str, Any]:
    """The fields of a revocation row its audit row must repeat."""
    return {"signoff_id": row["signoff_id"], "revoked_by": row["revoked_by"], "reason": row["reason"], "at": row["at"]}


def account_seal(row: sqlite3.Row) -> dict[str, Any]:
    """The fields of an account its audit row must repeat (a digest of the salt and hash, never the password)."""
    return {
        "name": row["name"],
        "role": row["role"],
        "credential_sha256": credential_digest(row["salt"], row["password_hash"]),
        "disabled": row["disabled_at"] is not None,
    }


def credential_digest(salt: bytes, password_hash: bytes) -> str:
    """SHA-256 of an account's salt and password hash (what ``user_add`` records)."""
    return hashlib.sha256(bytes(salt) + bytes(password_hash)).hexdigest()


def run_checks(con: sqlite3.Connection, run_id: str) -> list[sqlite3.Row]:
    """A run's check rows in their order."""
    return con.execute(
        f"SELECT {', '.join(CHECK_COLUMNS)} FROM checks WHERE run_id = ? ORDER BY position", [run_id]
    ).fetchall()


def failed_labels(checks: list[sqlite3.Row]) -> list[str]:
    """The labels (``zero_rate[login]``) of the failed checks among check rows."""
    return [f"{c['name']}[{c['feature']}]" if c["feature"] else c["name"] for c in checks if c["status"] == "fail"]


def record_digest(row: sqlite3.Row) -> str:
    """SHA-256 of a runs row (the columns of ``RUN_COLUMNS``)."""
    return _digest([row[column] for column in RUN_COLUMNS])


def checks_digest(checks: list[sqlite3.Row]) -> str:
    """SHA-256 of a run's check rows, in order."""
    return _digest([list(check) for check in checks])


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in a run's folder except ``cache/``, by path relative to the folder."""
    if not folder.is_dir():
        return {}
    digests = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] != CACHE and path.is_file():
            digests[relative.as_posix()] = file_digest(path)
    return digests


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def _create_key(path: Path, root: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # never over a key another process made meanwhile
    except FileExistsError:
        return path.read_bytes()
    except OSError as exc:
        raise StateError(
            f"{path}: cannot create the integrity key ({exc.strerror or exc}); check that the folder is writable",
            path=str(path),
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    _write_head(root, key, 0, "")
    return key


def _write_head(root: Path, key: bytes, head_id: int, mac: str) -> None:
    path = head_path(root)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    data = json.dumps({"id": head_id, "mac": mac, "check": _head_check(key, head_id, mac)})
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _head_check(key: bytes, head_id: int, mac: str) -> str:
    return hmac.new(key, f"head|{head_id}|{mac}".encode(), hashlib.sha256).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
