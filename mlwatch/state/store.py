"""Run state: a SQLite database in WAL mode plus ``runs/<run_id>/`` artifact folders.

A run becomes visible only when its row is committed, and its row is written
only after its artifact folder is complete (written under a temporary name,
then renamed), so an interrupted run leaves nothing half-written in view.
Runs are immutable: a rerun is a new run.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlwatch.errors import StateError
from mlwatch.state import integrity
from mlwatch.summary import CheckResult, RunSummary, Status

SCHEMA_VERSION = 5
DEFAULT_STATE = ".mlwatch"
DB_FILE = "mlwatch.db"  # the name every release has used; existing states are found by it
_SCHEMA = (Path(__file__).with_name("schema.sql")).read_text(encoding="utf-8")
_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # disk full, file too large (ulimit -f), quota
_FULL_SQLITE_CODES = {10, 13}  # SQLITE_IOERR (a write past the file size limit), SQLITE_FULL
# Every action the audit trail records; append_audit refuses any other, and the Audit page filters by these.
AUDIT_ACTIONS = (
    "run",
    "signoff",
    "revoke",
    "mapping",
    "export",
    "actuals",
    "notify",
    "login",
    "login_failed",
    "login_locked",
    "user_add",
    "user_disable",
    "integrity",
    "contract",
)


@dataclass(frozen=True)
class RunRecord:
    """The row of one stored run."""

    run_id: str
    created_at: str
    reference_month: str
    current_month: str
    logs: str
    gate: str
    fingerprint: str
    inputs_fingerprint: str
    config: dict[str, Any]
    users: int
    events: int
    rows_read: int
    rows_rejected: int
    duplicates: int
    started_by: str


def state_dir(path: str | Path | None = None) -> Path:
    """Resolve the state directory: the argument, else ``MLWATCH_STATE``, else ``.mlwatch``."""
    return Path(path or os.environ.get("MLWATCH_STATE") or DEFAULT_STATE)


@contextmanager
def connect(state: str | Path) -> Iterator[sqlite3.Connection]:
    """Open the state database (created on first use) in WAL mode; commit on success.

    Raises:
        StateError: the directory or database cannot be created or opened.
    """
    root = Path(state)
    try:
        (root / "runs").mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(root / DB_FILE, timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StateError(f"{root}: cannot open the state directory ({exc}); check --state or MLWATCH_STATE") from exc
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA foreign_keys = ON")
        _migrate(con)
        integrity.restore_triggers(con, TRIGGERS)  # dropped outside mlwatch: re-created and recorded
        yield con
    except sqlite3.DatabaseError as exc:
        raise StateError(f"{root / DB_FILE}: state database error ({exc})") from exc
    finally:
        con.close()


def new_run_id(current_month: str) -> str:
    """Return a fresh, sortable run id such as ``2026-05-20261130T201500-3fa2c1``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{current_month}-{stamp}-{uuid.uuid4().hex[:6]}"


def save_run(
    state: str | Path,
    record: RunRecord,
    checks: list[CheckResult],
    write_artifacts: Callable[[Path], None],
) -> Path:
    """Store a finished run: artifacts first (atomically renamed), then the rows in one transaction.

    The run's audit row records the SHA-256 of every file ``write_artifacts`` wrote (see ``integrity``).

    Args:
        write_artifacts: called with an empty folder to fill.

    Returns:
        The run's artifact folder.

    Raises:
        StateError: the id is taken, or the artifacts or rows cannot be written (disk full, file too
            large): then nothing is stored.
    """
    root = Path(state)
    with connect(root) as con:
        final = root / "runs" / record.run_id
        staging = root / "runs" / f".tmp-{record.run_id}"
        if final.exists() or con.execute("SELECT 1 FROM runs WHERE run_id = ?", [record.run_id]).fetchone():
            raise StateError(f"{final}: a run with this id already exists; runs are immutable, start a new run")
        try:
            staging.mkdir(parents=True)
            write_artifacts(staging)
            artifacts = integrity.file_digests(staging)
            staging.rename(final)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise _not_stored(final, exc.strerror or str(exc), exc.errno in _FULL_ERRNOS) from exc
            raise
        try:
            _insert_run(con, record, checks, artifacts)
        except BaseException as exc:
            shutil.rmtree(final, ignore_errors=True)
            if isinstance(exc, sqlite3.OperationalError):
                full = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _FULL_SQLITE_CODES
                raise _not_stored(root / DB_FILE, str(exc), full) from exc
            raise
    return final


def _not_stored(path: Path, reason: str, full: bool) -> StateError:
    advice = "free space or point --state elsewhere" if full else "check that the state folder is writable"
    return StateError(f"{path}: cannot store the run ({reason}); {advice}; nothing was stored", path=str(path))


def _insert_run(
    con: sqlite3.Connection, record: RunRecord, checks: list[CheckResult], artifacts: dict[str, str]
) -> None:
    con.execute("BEGIN IMMEDIATE")
    try:
        row = {**vars(record), "config_json": json.dumps(record.config, sort_keys=True)}
        del row["config"]
        con.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
        con.executemany(
            "INSERT INTO checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (record.run_id, i, c.name, c.feature, c.status, c.value, c.reference, c.threshold, c.message)
                for i, c in enumerate(checks)
            ],
        )
        # What the gate depends on, digests of the rows just written and each artifact's SHA-256.
        seal = integrity.run_seal(con, record.run_id, artifacts)
        append_audit(con, record.started_by, "run", record.run_id, {"logs": record.logs, **seal})
        _commit(con)
    except BaseException:
        _rollback(con)
        raise


def append_audit(con: sqlite3.Connection, actor: str, action: str, run_id: str | None, detail: dict[str, Any]) -> None:
    """Append one row to the audit trail (inside the caller's transaction).

    Raises:
        StateError: ``action`` is not one of ``AUDIT_ACTIONS``.
    """
    if action not in AUDIT_ACTIONS:
        raise StateError(f"audit action {action!r} is not declared; add it to store.AUDIT_ACTIONS")
    integrity.append_chained(con, actor, action, run_id, detail)  # chained on the previous row's mac


def latest_audit(con: sqlite3.Connection, action: str) -> dict[str, Any] | None:
    """The newest audit row of ``action`` (``at``, ``actor``, ``detail``), read inside the caller's transaction."""
    row = con.execute(
        "SELECT at, actor, detail_json FROM audit WHERE action = ? ORDER BY id DESC LIMIT 1", [action]
    ).fetchone()
    return {"at": row["at"], "actor": row["actor"], "detail": json.loads(row["detail_json"])} if row else None


def list_runs(state: str | Path) -> list[RunRecord]:
    """Return every stored run, newest first."""
    with connect(state) as con:
        rows = con.execute("SELECT * FROM runs ORDER BY created_at DESC, run_id DESC").fetchall()
    return [_record(row) for row in rows]


def get_run(state: str | Path, run_id: str) -> RunRecord:
    """Return one stored run.

    Raises:
        StateError: no run has that id.
    """
    with connect(state) as con:
        row = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if row is None:
        raise StateError(f"{state}: no run {run_id!r}; list the runs with `python -m mlwatch runs`")
    return _record(row)


def get_checks(state: str | Path, run_id: str) -> list[CheckResult]:
    """Return the check results of a run in their order."""
    with connect(state) as con:
        rows = con.execute(
            "SELECT name, feature, status, value, reference, threshold, message FROM checks"
            " WHERE run_id = ? ORDER BY position",
            [run_id],
        ).fetchall()
    return [CheckResult(name, feature, Status(status), *rest) for name, feature, status, *rest in rows]


def read_audit(
    state: str | Path, action: str | None = None, run_id: str | None = None, actor: str | None = None
) -> list[dict[str, Any]]:
    """Return the audit trail, oldest first, optionally filtered by action, run and actor."""
    sql = "SELECT id, at, actor, action, run_id, detail_json FROM audit WHERE 1 = 1"
    params: list[str] = []
    for column, value in (("action", action), ("run_id", run_id), ("actor", actor)):
        if value:
            sql += f" AND {column} = ?"
            params.append(value)
    with connect(state) as con:
        rows = con.execute(sql + " ORDER BY id", params).fetchall()
    return [
        {**{k: row[k] for k in ("id", "at", "actor", "action", "run_id")}, "detail": json.loads(row["detail_json"])}
        for row in rows
    ]


@contextmanager
def transaction(state: str | Path) -> Iterator[sqlite3.Connection]:
    """A write transaction (BEGIN IMMEDIATE: writers queue instead of failing), committed on success."""
    with connect(state) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            _rollback(con)
            raise
        _commit(con)


def _commit(con: sqlite3.Connection) -> None:
    """Commit, then move the integrity head to the newest audit row."""
    con.execute("COMMIT")
    integrity.advance_head(con)


def _rollback(con: sqlite3.Connection) -> None:
    """Roll back unless SQLite already did (it does after some failed commits: disk full, I/O error)."""
    if con.in_transaction:
        con.execute("ROLLBACK")


def run_path(state: str | Path, run_id: str) -> Path:
    """Return the artifact folder of a run."""
    return Path(state) / "runs" / run_id


def _record(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    data["config"] = json.loads(data.pop("config_json"))
    return RunRecord(**data)


def _migrate(con: sqlite3.Connection) -> None:
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state database schema {version} is newer than this mlwatch ({SCHEMA_VERSION}); upgrade mlwatch"
        )
    if version == SCHEMA_VERSION:
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]  # another process may have upgraded it meanwhile
        if version == SCHEMA_VERSION:
            _rollback(con)
            return
        if version == 1:  # 1 -> 2: inputs fingerprint of runs (sign-offs, accounts and exports are new tables)
            con.execute("ALTER TABLE runs ADD COLUMN inputs_fingerprint TEXT NOT NULL DEFAULT ''")
        # 2 -> 3: the performance table (actuals of stored runs), created by the schema below.
        # 3 -> 4: triggers that refuse deleting runs and updating or deleting checks, created below.
        # 4 -> 5: the audit rows' hash chain; existing rows and records are sealed as found.
        sealed = integrity.add_audit_macs(con, version)
        for statement in _statements(_SCHEMA):
            con.execute(statement)
        integrity.seal_records(con, sealed)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        _commit(con)
    except BaseException:
        _rollback(con)
        raise


def _statements(script: str) -> list[str]:
    """Split the schema into statements (triggers contain semicolons inside BEGIN ... END)."""
    statements, current = [], []
    for line in script.splitlines():
        if line.startswith("--") or not line.strip():
            continue
        current.append(line)
        text = "\n".join(current)
        if sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements


# The triggers of the schema by name: opening a state re-creates any that was dropped (and records it).
TRIGGERS = {
    match.group(1): statement
    for statement in _statements(_SCHEMA)
    if (match := re.match(r"CREATE TRIGGER IF NOT EXISTS (\w+)", statement))
}


def read_summary(state: str | Path, run_id: str) -> RunSummary:
    """Return the stored summary of a run (what ``run --json`` printed), typed.

    Raises:
        StateError: the run's folder or summary is missing or unreadable.
    """
    path = run_path(state, run_id) / "summary.json"
    try:
        return RunSummary.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StateError(
            f"{path}: the run's summary cannot be read ({exc}); start the run again", path=str(path), run_id=run_id
        ) from exc


def read_features(state: str | Path, run_id: str, month: str, columns: list[str] | None = None) -> Any:
    """Return a run's per-user feature table (``reference`` or ``current``) as a pandas DataFrame (only
    ``columns``, when given)."""
    import pandas as pd

    path = run_path(state, run_id) / f"features_{month}.parquet"
    try:
        return pd.read_parquet(path, columns=columns)
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: the run's features cannot be read ({exc}); start the run again") from exc
