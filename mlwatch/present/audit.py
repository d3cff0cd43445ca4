"""The audit trail for people: one readable row per entry, and each sign-off beside the exports it released."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

import pandas as pd

from mlwatch.months import month_name

ACTION_WORDS = {
    "run": "ran the checks",
    "signoff": "signed off",
    "revoke": "revoked a sign-off",
    "mapping": "mapped event names",
    "export": "exported the list",
    "actuals": "measured the actual performance",
    "notify": "sent an alert",
    "login": "logged in",
    "login_failed": "failed to log in",
    "login_locked": "was locked out of logging in",
    "user_add": "added an account",
    "user_disable": "disabled an account",
    "integrity": "sealed the records",
    "contract": "recorded a data contract version",
}
AUDIT_COLUMNS = ["when (UTC)", "who", "what", "month", "reason", "rows", "file", "details", "run", "action"]
RELEASE_COLUMNS = [
    "month",
    "released by",
    "signed off at (UTC)",
    "reason",
    "accepted checks",
    "revoked",
    "exported by",
    "exported at (UTC)",
    "rows",
    "file",
    "run",
]
_SHOWN = {"reason", "rows", "file", "at"}  # keys with a column of their own (or the row's time)


def audit_table(entries: Sequence[Mapping[str, Any]], months: Mapping[str, str]) -> pd.DataFrame:
    """One row per audit entry, oldest first: when, who, what in words, the run's month, the sign-off or
    revocation reason, the exported rows and file, and every other detail as ``key: value`` text.

    Args:
        entries: ``store.read_audit`` rows.
        months: each stored run's current month (``YYYY-MM``) by run id.
    """
    rows = []
    for entry in entries:
        detail = entry["detail"]
        rows.append(
            {
                "when (UTC)": _when(entry["at"]),
                "who": entry["actor"],
                "what": ACTION_WORDS.get(entry["action"], entry["action"].replace("_", " ")),
                "month": _month(entry["run_id"], months),
                "reason": detail.get("reason", ""),
                "rows": detail.get("rows"),
                "file": PurePath(detail["file"]).name if detail.get("file") else "",
                "details": "; ".join(f"{k}: {_short(v)}" for k, v in detail.items() if k not in _SHOWN),
                "run": entry["run_id"] or "",
                "action": entry["action"],
            }
        )
    table = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    table["rows"] = table["rows"].astype("Int64")
    return table


def releases(entries: Sequence[Mapping[str, Any]], months: Mapping[str, str]) -> pd.DataFrame:
    """Every sign-off and every export, newest first, each export beside the sign-off that released it.

    An export of a run whose gate was open says so; a sign-off not yet followed by an export has empty export
    columns; a revoked sign-off says by whom and why, and exports after the revocation are not linked to it.
    """
    rows: list[dict[str, Any]] = []
    in_force: dict[str, dict[str, Any]] = {}  # run id -> the release row of its sign-off in force
    for entry in entries:
        action, run_id, detail = entry["action"], entry["run_id"] or "", entry["detail"]
        if action == "signoff":
            row = {
                "month": _month(run_id, months),
                "released by": entry["actor"],
                "signed off at (UTC)": _when(detail.get("at") or entry["at"]),
                "reason": detail.get("reason", ""),
                "accepted checks": ", ".join(detail.get("accepted", [])),
                "revoked": "",
                "run": run_id,
            }
            rows.append(row)
            in_force[run_id] = row
        elif action == "revoke" and run_id in in_force:
            revoked = in_force.pop(run_id)
            revoked["revoked"] = f"by {entry['actor']} at {_when(entry['at'])}: {detail.get('reason', '')}"
        elif action == "export":
            signoff = in_force.get(run_id)
            base = (
                {**signoff}
                if signoff is not None
                else {"month": _month(run_id, months), "released by": "gate open: no sign-off needed", "run": run_id}
            )
            export = {
                "exported by": entry["actor"],
                "exported at (UTC)": _when(entry["at"]),
                "rows": detail.get("rows"),
                "file": PurePath(detail["file"]).name if detail.get("file") else "",
            }
            if signoff is not None and not signoff.get("exported by"):
                signoff.update(export)  # the first export after a sign-off shares its row
            else:
                rows.append({**base, **export})
    table = pd.DataFrame(list(reversed(rows)), columns=RELEASE_COLUMNS)
    table["rows"] = table["rows"].astype("Int64")
    return table.fillna({c: "" for c in RELEASE_COLUMNS if c != "rows"})


def _when(at: str) -> str:
    return at[:19].replace("T", " ")


def _month(run_id: str | None, months: Mapping[str, str]) -> str:
    month = months.get(run_id or "")
    return month_name(month) if month else ""


def _short(value: Any) -> str:
    """A detail value in one short piece of text: long hex digests cut to 12 characters, lists joined."""
    if isinstance(value, list | tuple):
        return ", ".join(_short(v) for v in value)
    text = str(value)
    if len(text) > 40 and all(c in "0123456789abcdef" for c in text):
        return text[:12] + "…"
    return text
