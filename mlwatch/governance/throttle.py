"""Login throttling: after repeated failures for a name or from a client, further attempts must wait.

Failures are the audit trail's ``login_failed`` rows (the name tried and the client), so the
limit holds across the dashboard's sessions, its restarts and the CLI alike. A success ends a
run of failures. While locked, a password is not even checked, and the refusal is audited as
``login_locked``; its words are the same whether the account exists or not.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from mlwatch.errors import LoginLocked
from mlwatch.state import store

ACCOUNT_LIMIT = 5  # failures for one name before it waits
CLIENT_LIMIT = 20  # failures from one client (any names) before it waits
WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
FIRST_WAIT = timedelta(seconds=30)  # the wait doubles with each failure beyond the limit ...
MAX_WAIT = timedelta(minutes=15)  # ... up to this


def check(state: str | Path, name: str, client: str, now: datetime) -> None:
    """Refuse the attempt while ``name`` or ``client`` is locked, and audit the refusal.

    Raises:
        LoginLocked: too many recent failures; the message says how long to wait.
    """
    with store.connect(state) as con:
        by_name = _failures(con, "actor = ?", [name], now)
        by_client = _failures(con, "json_extract(detail_json, '$.client') = ?", [client], now)
    wait = max(_wait(by_name, ACCOUNT_LIMIT, now), _wait(by_client, CLIENT_LIMIT, now))
    if wait <= timedelta(0):
        return
    with store.transaction(state) as con:
        store.append_audit(
            con, name, "login_locked", None, {"client": client, "wait_seconds": math.ceil(wait.total_seconds())}
        )
    minutes = math.ceil(wait.total_seconds() / 60)
    raise LoginLocked(
        f"too many failed log-ins; try again in {minutes} minute{'s' if minutes > 1 else ''}, "
        "or ask an administrator to check the audit trail"
    )


def record(state: str | Path, name: str, client: str, now: datetime, success: bool) -> None:
    """Audit one checked attempt: ``login`` on success (it ends a run of failures), else ``login_failed``."""
    with store.transaction(state) as con:
        store.append_audit(con, name, "login" if success else "login_failed", None, {"client": client})


def _failures(con: sqlite3.Connection, where: str, params: list[str], now: datetime) -> list[datetime]:
    """Times of the failures matching ``where`` since the last success matching it, within the window."""
    since = (now - WINDOW).isoformat(timespec="seconds")
    rows = con.execute(
        f"""SELECT action, at FROM audit
            WHERE action IN ('login', 'login_failed') AND {where} AND at >= ?
            ORDER BY id""",
        [*params, since],
    ).fetchall()
    times: list[datetime] = []
    for action, at in rows:
        times = [] if action == "login" else [*times, datetime.fromisoformat(at)]
    return times


def _wait(failures: list[datetime], limit: int, now: datetime) -> timedelta:
    if len(failures) < limit:
        return timedelta(0)
    wait = min(MAX_WAIT, FIRST_WAIT * 2 ** (len(failures) - limit))
    return failures[-1] + wait - now
