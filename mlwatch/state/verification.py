"""Check a state against its hash chain: the audit rows, the head, and every record the chain binds.

``verify_state`` checks everything (``python -m mlwatch verify``); ``verify_run`` the whole chain plus
one run's rows, artifacts and sign-offs, and the accounts (before every export and sign-off).
Each problem is a ``Break`` naming the record; nothing here writes the state except what opening it
does (the upgrade, and re-creating dropped triggers, which is recorded in the audit trail).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwatch.errors import MlwatchError, StateError
from mlwatch.state import integrity, store

_BOUND = ("run", "signoff", "revoke", "user_add", "user_disable", integrity.ACTION)
_TAMPERED = "the state was tampered with: run `python -m mlwatch verify`"


@dataclass(frozen=True)
class Break:
    """One place where the state differs from what the chain recorded."""

    record: str  # "audit row 17", "run 2026-05-...", "runs/<id>/features_current.parquet", "account ann"
    problem: str

    @property
    def message(self) -> str:
        """One line: the record, then what is wrong with it."""
        return f"{self.record}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    """The breaks found and how much was checked."""

    breaks: tuple[Break, ...]
    audit_rows: int
    runs: int
    signoffs: int
    accounts: int
    files: int
    seconds: float

    @property
    def intact(self) -> bool:
        """True when nothing differs from the chain."""
        return not self.breaks


@dataclass
class _Bindings:
    """What the (authenticated) audit rows recorded, by record: (audit row id, run_id or actor, detail)."""

    runs: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    signoffs: dict[int, tuple[int, str | None, dict[str, Any]]] = field(default_factory=dict)
    revocations: dict[int, tuple[int, str | None, dict[str, Any]]] = field(default_factory=dict)
    accounts: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    disabled: dict[str, int] = field(default_factory=dict)


def verify_state(state: str | Path) -> Verification:
    """Verify everything: chain, head, every run's rows and artifacts, sign-offs, revocations, accounts.

    Triggers found missing are reported (opening the state re-creates them and records it).

    Raises:
        StateError: there is no state there, or its key is missing or unreadable.
    """
    root = Path(state)
    if not (root / store.DB_FILE).is_file():
        raise StateError(f"{root}: no mlwatch state here; check --state or MLWATCH_STATE", path=str(root))
    dropped = _missing_triggers(root / store.DB_FILE)
    return _verify(
        root, None, [Break(f"trigger {name}", "missing (dropped outside mlwatch); re-created") for name in dropped]
    )


def verify_run(state: str | Path, run_id: str) -> Verification:
    """Verify the whole chain and head, one run's rows, artifacts, sign-offs and revocations, and the accounts."""
    return _verify(Path(state), run_id, [])


def require_intact(state: str | Path, run_id: str, error: type[MlwatchError]) -> None:
    """Raise ``error`` naming the first break when ``verify_run`` finds any (before an export or a sign-off)."""
    found = verify_run(state, run_id)
    if found.intact:
        return
    first = found.breaks[0]
    text = first.message if first.record == f"run {run_id}" else f"run {run_id}: {first.message}"
    more = f" (and {len(found.breaks) - 1} more)" if len(found.breaks) > 1 else ""
    raise error(f"{text}{more}; {_TAMPERED}", run_id=run_id)


def signoff_in_force(state: str | Path, signoff_id: int) -> bool:
    """True when a sign-off row matches its chained audit row and no revocation of it was recorded.

    Cheap enough for every page: one row's mac is checked against its predecessor, not the whole
    chain (``verify_run`` does that before an export or a sign-off).
    """
    root = Path(state)
    with store.connect(root) as con:
        row = con.execute("SELECT * FROM signoffs WHERE id = ?", [signoff_id]).fetchone()
        if row is None:
            return False
        audit = con.execute(
            "SELECT id, at, actor, action, run_id, detail_json, mac FROM audit"
            " WHERE run_id = ? AND action IN ('signoff', 'revoke', ?) ORDER BY id",
            [row["run_id"], integrity.ACTION],
        ).fetchall()
        bound = _bindings(audit)
        if signoff_id in bound.revocations or signoff_id not in bound.signoffs:
            return False
        audit_id, run_id, detail = bound.signoffs[signoff_id]
        expected = {**integrity.signoff_seal(row), "run_id": row["run_id"]}
        if {**{key: detail.get(key) for key in expected}, "run_id": run_id} != expected:
            return False
        record = next(a for a in audit if a["id"] == audit_id)
        previous = con.execute("SELECT mac FROM audit WHERE id < ? ORDER BY id DESC LIMIT 1", [audit_id]).fetchone()
        mac = integrity.row_mac(
            integrity.load_key(con, root), (previous[0] or "") if previous else "", tuple(record)[:6]
        )
        return record["mac"] == mac


def _verify(root: Path, run_id: str | None, breaks: list[Break]) -> Verification:
    started = time.perf_counter()
    with store.connect(root) as con:
        key = integrity.load_key(con, root) if con.execute("SELECT 1 FROM audit LIMIT 1").fetchone() else b""
        head = integrity.read_head(root, key) if key else None  # before the snapshot: the chain is at least as long
        con.execute("BEGIN")  # one consistent snapshot while writers go on
        try:
            rows = con.execute(
                "SELECT id, at, actor, action, run_id, detail_json, mac FROM audit ORDER BY id"
            ).fetchall()
            chain = _chain_breaks(rows, key) + _head_breaks(root, head, rows)
            bound = _bindings(rows)
            runs = con.execute(
                "SELECT * FROM runs" + (" WHERE run_id = ?" if run_id else ""), [run_id] if run_id else []
            ).fetchall()
            files = 0
            for row in runs:
                found, checked = _run_breaks(con, root, row, bound.runs.get(row["run_id"]))
                breaks += found
                files += checked
            breaks += _vanished_runs(con, bound, run_id)
            signoffs = _signoff_breaks(con, bound, run_id)
            accounts = _account_breaks(con, bound)
            users = con.execute("SELECT count(*) FROM users").fetchone()[0]
            count = con.execute(
                "SELECT count(*) FROM signoffs" + (" WHERE run_id = ?" if run_id else ""), [run_id] if run_id else []
            ).fetchone()[0]
        finally:
            con.execute("ROLLBACK")
    # The chain first: when it is broken, what it binds cannot be trusted either.
    return Verification(
        tuple(chain + breaks + signoffs + accounts),
        len(rows),
        len(runs),
        count,
        users,
        files,
        time.perf_counter() - started,
    )


def _chain_breaks(rows: list[sqlite3.Row], key: bytes) -> list[Break]:
    breaks: list[Break] = []
    previous_id, previous_mac = 0, ""
    for row in rows:
        gap = row["id"] != previous_id + 1
        if gap:
            breaks.append(Break(_span(previous_id + 1, row["id"] - 1), "missing (deleted from the audit trail)"))
        if row["mac"] is None:
            breaks.append(Break(f"audit row {row['id']}", "not sealed (no mac: written outside mlwatch)"))
        elif not gap and row["mac"] != integrity.row_mac(key, previous_mac, tuple(row)[:6]):
            breaks.append(Break(f"audit row {row['id']}", "mac mismatch (edited, or written without the key)"))
        previous_id, previous_mac = row["id"], row["mac"] or ""
    return breaks


def _head_breaks(root: Path, head: integrity.Head | None, rows: list[sqlite3.Row]) -> list[Break]:
    name = integrity.HEAD_FILE
    last = rows[-1]["id"] if rows else 0
    if head is None:
        return (
            [Break(name, f"missing while the audit trail has {last} rows; restore it from the backup")] if rows else []
        )
    if not head.valid:
        return [Break(name, "mac mismatch (edited, or written without the key)")]
    if head.id > last:
        return [Break(_span(last + 1, head.id), f"missing (chain head at {head.id})")]
    macs = {row["id"]: row["mac"] for row in rows}
    if head.id and head.id in macs and macs[head.id] != head.mac:
        return [Break(f"audit row {head.id}", f"differs from the chain head record in {root / name}")]
    return []


def _bindings(rows: list[sqlite3.Row]) -> _Bindings:
    bound = _Bindings()
    for row in rows:
        if row["action"] not in _BOUND:
            continue
        try:
            detail = json.loads(row["detail_json"])
        except ValueError:
            continue
        kind = detail.get("sealed") if row["action"] == integrity.ACTION else row["action"]
        if kind == "run" and "record_sha256" in detail:
            bound.runs[row["run_id"]] = (row["id"], detail)
        elif kind == "signoff" and "signoff_id" in detail:
            bound.signoffs[detail["signoff_id"]] = (row["id"], row["run_id"], detail)
        elif kind in ("revoke", "revocation") and "at" in detail:
            bound.revocations[detail["signoff_id"]] = (row["id"], row["run_id"], detail)
        elif kind in ("user_add", "account") and "credential_sha256" in detail:
            bound.accounts[detail["name"]] = (row["id"], detail)
        elif kind == "user_disable":
            bound.disabled[detail.get("name")] = row["id"]
    return bound


def _run_breaks(
    con: sqlite3.Connection, root: Path, row: sqlite3.Row, bound: tuple[int, dict[str, Any]] | None
) -> tuple[list[Break], int]:
    who = f"run {row['run_id']}"
    if bound is None:
        return [Break(who, "not in the audit trail (its row was written outside mlwatch)")], 0
    sealed = bound[1]
    breaks = [
        Break(who, f"{name} {row[name]!r} in the runs table, {sealed.get(name)!r} when stored")
        for name in ("gate", "fingerprint", "inputs_fingerprint", "reference_month", "current_month")
        if row[name] != sealed.get(name)
    ]
    if not breaks and integrity.record_digest(row) != sealed["record_sha256"]:
        breaks.append(Break(who, "its row in the runs table changed since the run was stored"))
    checks = integrity.run_checks(con, row["run_id"])
    failed = integrity.failed_labels(checks)
    if failed != sealed["failed"]:
        now, then = ", ".join(failed) or "none", ", ".join(sealed["failed"]) or "none"
        breaks.append(Break(who, f"failed checks {now} in the checks table, {then} when stored"))
    elif integrity.checks_digest(checks) != sealed["checks_sha256"]:
        breaks.append(Break(who, "its check results changed since the run was stored"))
    return breaks + _artifact_breaks(root, row["run_id"], sealed["artifacts"]), len(sealed["artifacts"])


def _artifact_breaks(root: Path, run_id: str, recorded: dict[str, str]) -> list[Break]:
    found = integrity.file_digests(root / "runs" / run_id)
    breaks = []
    for name, digest in recorded.items():
        where = f"runs/{run_id}/{name}"
        if name not in found:
            breaks.append(Break(where, f"missing (written by the run, sha256 {digest[:12]}…)"))
        elif found[name] != digest:
            breaks.append(
                Break(where, f"sha256 changed since the run was stored (now {found[name][:12]}…, was {digest[:12]}…)")
            )
    breaks += [
        Break(f"runs/{run_id}/{name}", "not written by the run (added later)")
        for name in found.keys() - recorded.keys()
    ]
    return breaks


def _vanished_runs(con: sqlite3.Connection, bound: _Bindings, run_id: str | None) -> list[Break]:
    present = {row[0] for row in con.execute("SELECT run_id FROM runs")}
    return [
        Break(f"run {rid}", f"stored in audit row {audit_id} but missing from the runs table")
        for rid, (audit_id, _) in bound.runs.items()
        if rid not in present and run_id in (None, rid)
    ]


def _signoff_breaks(con: sqlite3.Connection, bound: _Bindings, run_id: str | None) -> list[Break]:
    where, params = (" WHERE s.run_id = ?", [run_id]) if run_id else ("", [])
    rows = con.execute(f"SELECT s.* FROM signoffs s{where} ORDER BY s.id", params).fetchall()
    breaks: list[Break] = []
    for row in rows:
        who = f"sign-off {row['id']} of run {row['run_id']}"
        found = bound.signoffs.get(row["id"])
        if found is None:
            breaks.append(Break(who, "not in the audit trail (written outside mlwatch)"))
            continue
        sealed = {**found[2], "run_id": found[1]}
        actual = {**integrity.signoff_seal(row), "run_id": row["run_id"]}
        breaks += _field_breaks(who, "signoffs", actual, sealed, "signed")
    ids = {row["id"] for row in con.execute("SELECT id FROM signoffs")}
    for signoff_id, (audit_id, rid, _) in bound.signoffs.items():
        if signoff_id not in ids and run_id in (None, rid):
            breaks.append(
                Break(
                    f"sign-off {signoff_id} of run {rid}",
                    f"recorded in audit row {audit_id} but missing from the signoffs table",
                )
            )
    return breaks + _revocation_breaks(con, bound, run_id)


def _revocation_breaks(con: sqlite3.Connection, bound: _Bindings, run_id: str | None) -> list[Break]:
    where, params = (" WHERE s.run_id = ?", [run_id]) if run_id else ("", [])
    rows = con.execute(
        f"SELECT r.*, s.run_id FROM revocations r JOIN signoffs s ON s.id = r.signoff_id{where}", params
    ).fetchall()
    breaks: list[Break] = []
    for row in rows:
        who = f"revocation of sign-off {row['signoff_id']}"
        found = bound.revocations.get(row["signoff_id"])
        if found is None:
            breaks.append(Break(who, "not in the audit trail (written outside mlwatch)"))
            continue
        sealed = {key: found[2].get(key) for key in ("signoff_id", "revoked_by", "reason", "at")}
        breaks += _field_breaks(who, "revocations", integrity.revocation_seal(row), sealed, "revoked")
    present = {row[0] for row in con.execute("SELECT signoff_id FROM revocations")}
    for signoff_id, (audit_id, rid, _) in bound.revocations.items():
        if signoff_id not in present and run_id in (None, rid):
            breaks.append(
                Break(
                    f"revocation of sign-off {signoff_id}",
                    f"recorded in audit row {audit_id} but missing from the revocations table (the sign-off looks in force)",
                )
            )
    return breaks


def _account_breaks(con: sqlite3.Connection, bound: _Bindings) -> list[Break]:
    breaks: list[Break] = []
    rows = con.execute("SELECT * FROM users ORDER BY name").fetchall()
    for row in rows:
        who = f"account {row['name']}"
        found = bound.accounts.get(row["name"])
        if found is None:
            breaks.append(Break(who, "not in the audit trail (added outside mlwatch)"))
            continue
        audit_id, sealed = found
        actual = integrity.account_seal(row)
        if actual["role"] != sealed["role"]:
            breaks.append(Break(who, f"role {actual['role']!r} in the users table, {sealed['role']!r} when added"))
        if actual["credential_sha256"] != sealed["credential_sha256"]:
            breaks.append(
                Break(who, "password hash changed outside mlwatch (accounts are only added by `mlwatch user`)")
            )
        disabled_at = bound.disabled.get(row["name"], 0)
        if (sealed.get("disabled") or disabled_at > audit_id) and not actual["disabled"]:
            breaks.append(
                Break(who, f"disabled in audit row {max(disabled_at, audit_id)} but active in the users table")
            )
    names = {row["name"] for row in rows}
    breaks += [
        Break(f"account {name}", f"added in audit row {audit_id} but missing from the users table")
        for name, (audit_id, _) in bound.accounts.items()
        if name not in names
    ]
    return breaks


def _field_breaks(who: str, table: str, actual: dict[str, Any], sealed: dict[str, Any], when: str) -> list[Break]:
    return [
        Break(who, f"{name} {actual[name]!r} in the {table} table, {sealed.get(name)!r} when {when}")
        for name in actual
        if actual[name] != sealed.get(name)
    ]


def _missing_triggers(db: Path) -> list[str]:
    """The schema's triggers missing from a state of this schema version (an older one is upgraded on opening)."""
    con = sqlite3.connect(db)
    try:
        if con.execute("PRAGMA user_version").fetchone()[0] != store.SCHEMA_VERSION:
            return []
        present = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    finally:
        con.close()
    return sorted(store.TRIGGERS.keys() - present)


def _span(first: int, last: int) -> str:
    return f"audit row {first}" if first == last else f"audit rows {first}-{last}"
