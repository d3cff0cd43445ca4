"""Sign-off and revocation of a closed run, bound to the run id and the fingerprint of its inputs and results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlwatch.config import AuthConfig
from mlwatch.errors import MlwatchError, SignoffError
from mlwatch.governance.auth import User, require
from mlwatch.state import store, verification
from mlwatch.summary import GateStatus, Status


@dataclass(frozen=True)
class Signoff:
    """One sign-off and, if it was revoked, by whom and why.

    ``accepted`` holds the labels of the failed checks the approver acknowledged (``zero_rate[login]``);
    sign-offs stored before acknowledgement by label hold bare check names (``zero_rate``).
    """

    id: int
    run_id: str
    fingerprint: str
    approver: str
    reason: str
    accepted: tuple[str, ...]
    via: str
    at: str
    revoked_by: str | None = None
    revoke_reason: str | None = None
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        """True while not revoked."""
        return self.revoked_by is None


def signoffs(state: str | Path, run_id: str) -> list[Signoff]:
    """Return every sign-off of a run, oldest first."""
    with store.connect(state) as con:
        rows = con.execute(
            """SELECT s.id, s.run_id, s.fingerprint, s.approver, s.reason, s.accepted_json, s.via, s.at,
                      r.revoked_by, r.reason AS revoke_reason, r.at AS revoked_at
               FROM signoffs s LEFT JOIN revocations r ON r.signoff_id = s.id
               WHERE s.run_id = ? ORDER BY s.id""",
            [run_id],
        ).fetchall()
    return [
        Signoff(
            row["id"],
            row["run_id"],
            row["fingerprint"],
            row["approver"],
            row["reason"],
            tuple(json.loads(row["accepted_json"])),
            row["via"],
            row["at"],
            row["revoked_by"],
            row["revoke_reason"],
            row["revoked_at"],
        )
        for row in rows
    ]


def active_signoff(state: str | Path, run_id: str) -> Signoff | None:
    """Return the run's sign-off in force, bound to the run's current fingerprint and to its audit record, or None."""
    run = store.get_run(state, run_id)
    for signoff in reversed(signoffs(state, run_id)):
        if signoff.active and signoff.fingerprint == run.fingerprint:
            return signoff if verification.signoff_in_force(state, signoff.id) else None  # a row added by hand is not
    return None


def gate_status(state: str | Path, run_id: str) -> GateStatus:
    """Return ``open`` (no check failed), ``signed_off`` (closed, accepted by an approver) or ``closed``."""
    run = store.get_run(state, run_id)
    if run.gate == GateStatus.OPEN:
        return GateStatus.OPEN
    return GateStatus.SIGNED_OFF if active_signoff(state, run_id) else GateStatus.CLOSED


def failed_labels(state: str | Path, run_id: str) -> tuple[str, ...]:
    """Return the labels of a run's failed checks (``zero_rate[login]``, ``vocabulary``), in the run's order."""
    return tuple(c.label for c in store.get_checks(state, run_id) if c.status == Status.FAIL)


def sign_off(
    state: str | Path,
    run_id: str,
    user: User | None,
    reason: str,
    rules: AuthConfig,
    *,
    accepted: Sequence[str],
    via: str = "dashboard",
    confirm_superseded: bool = False,
) -> Signoff:
    """Accept the failed checks of a closed run, each acknowledged by its label, with a written reason.

    Args:
        accepted: the label of every failed check (``zero_rate[login]``, ``prediction_drift``), as ``run`` prints it.
        confirm_superseded: the approver knows a newer run of the same month exists and signs this one anyway.

    Raises:
        PermissionDenied: the user is not an approver.
        SignoffError: the gate is open, the run is already signed off, a failed check is not accepted, an
            accepted label is not a failed check of the run, the reason is too short, four eyes forbid
            this approver, or a newer run of the month exists and ``confirm_superseded`` is not set.
    """
    approver = require(user, "signoff", state)
    verification.require_intact(state, run_id, SignoffError)
    refuse_month_to_date(state, run_id, SignoffError)
    run = store.get_run(state, run_id)
    if run.gate == GateStatus.OPEN:
        raise SignoffError(f"run {run_id}: the gate is open; there is nothing to sign off")
    newer = superseded_by(state, run)
    if newer is not None and not confirm_superseded:
        raise SignoffError(
            f"run {run_id} is superseded: a newer run of {run.current_month} exists ({newer.run_id}, gate "
            f"{newer.gate}, stored {newer.created_at[:16].replace('T', ' ')}); sign off that one, or confirm that "
            "this older run is meant (--confirm-superseded)"
        )
    failed = failed_labels(state, run_id)
    _check_accepted(run_id, accepted, failed)
    _check_reason(reason, rules.min_reason_length)
    if not rules.allow_self_signoff:
        _check_four_eyes(state, run, approver)
    labels = sorted(set(accepted))
    with store.transaction(state) as con:
        current = con.execute(
            """SELECT s.approver FROM signoffs s LEFT JOIN revocations r ON r.signoff_id = s.id
               WHERE s.run_id = ? AND r.signoff_id IS NULL AND s.fingerprint = ?""",
            [run_id, run.fingerprint],
        ).fetchone()
        if current:
            raise SignoffError(f"run {run_id} is already signed off by {current['approver']}")
        at = _now()
        cursor = con.execute(
            "INSERT INTO signoffs (run_id, fingerprint, approver, reason, accepted_json, via, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, run.fingerprint, approver.name, reason.strip(), json.dumps(labels), via, at],
        )
        store.append_audit(
            con,
            approver.name,
            "signoff",
            run_id,
            {
                "signoff_id": cursor.lastrowid,  # binds the signoffs row: verify compares every field
                "approver": approver.name,
                "reason": reason.strip(),
                "accepted": labels,
                "fingerprint": run.fingerprint,
                "via": via,
                "at": at,
            },
        )
    return Signoff(
        int(cursor.lastrowid or 0), run_id, run.fingerprint, approver.name, reason.strip(), tuple(labels), via, at
    )


def revoke(state: str | Path, run_id: str, user: User | None, reason: str, via: str = "dashboard") -> None:
    """Withdraw the sign-off in force; the run is closed again.

    Raises:
        PermissionDenied: the user is not an approver.
        SignoffError: no sign-off in force, or no reason given.
    """
    approver = require(user, "revoke", state)
    if len(reason.strip()) < 10:
        raise SignoffError("give a reason for the revocation (at least a few words)")
    with store.transaction(state) as con:
        row = con.execute(
            """SELECT s.id FROM signoffs s LEFT JOIN revocations r ON r.signoff_id = s.id
               WHERE s.run_id = ? AND r.signoff_id IS NULL ORDER BY s.id DESC LIMIT 1""",
            [run_id],
        ).fetchone()
        if row is None:
            raise SignoffError(f"run {run_id} has no sign-off in force to revoke")
        at = _now()
        con.execute(
            "INSERT INTO revocations (signoff_id, revoked_by, reason, at) VALUES (?, ?, ?, ?)",
            [row["id"], approver.name, reason.strip(), at],
        )
        detail = {"signoff_id": row["id"], "revoked_by": approver.name, "reason": reason.strip(), "at": at}
        store.append_audit(con, approver.name, "revoke", run_id, {**detail, "via": via})


def signed_off_ids(state: str | Path) -> set[str]:
    """The runs with a sign-off in force on their current fingerprint (for labels; the gate checks each in full)."""
    with store.connect(state) as con:
        rows = con.execute(
            """SELECT DISTINCT s.run_id FROM signoffs s
               JOIN runs r ON r.run_id = s.run_id AND r.fingerprint = s.fingerprint
               LEFT JOIN revocations v ON v.signoff_id = s.id
               WHERE v.signoff_id IS NULL"""
        ).fetchall()
    return {row[0] for row in rows}


def superseded_by(state: str | Path, run: store.RunRecord) -> store.RunRecord | None:
    """The newest complete run of the same month stored after ``run``, or None (month-to-date runs do not count)."""
    later = [
        other
        for other in store.list_runs(state)  # newest first
        if other.current_month == run.current_month
        and not other.config.get("as_of")
        and (other.created_at, other.run_id) > (run.created_at, run.run_id)
    ]
    return later[0] if later else None


def refuse_month_to_date(state: str | Path, run_id: str, error: type[MlwatchError]) -> None:
    """Refuse, raising ``error``, a month-to-date run: its gate is provisional and its list never leaves.

    Raises:
        MlwatchError: of type ``error``, for a run made with ``--as-of``.
    """
    as_of = store.get_run(state, run_id).config.get("as_of")  # stored with the run's row
    if as_of:
        raise error(
            f"run {run_id} checked the month only up to {as_of} (--as-of): its gate is provisional and its list is "
            "never exported; run the complete month once it has ended"
        )


def forbidden_approvers(state: str | Path, run: store.RunRecord) -> set[str]:
    """Who may not sign a run off under four eyes: who started it and who wrote its event mapping.

    A run started from a shell records ``cli:<login>``: the account of the same name is that person.
    """
    names = {run.started_by}
    features = run.config.get("features")
    for row in store.read_audit(state, action="mapping"):
        if row["detail"].get("features") == features:
            names.add(row["actor"])
    return names | {name.removeprefix("cli:") for name in names}


def _check_four_eyes(state: str | Path, run: store.RunRecord, approver: User) -> None:
    if approver.name in forbidden_approvers(state, run):
        raise SignoffError(
            f"four eyes: {approver.name} started this run or changed its event mapping; another approver must sign it off"
        )


def _check_accepted(run_id: str, accepted: Sequence[str], failed: Sequence[str]) -> None:
    listed = ", ".join(failed)
    unknown = [label for label in dict.fromkeys(accepted) if label not in failed]
    if unknown:
        raise SignoffError(
            f"run {run_id}: {', '.join(unknown)} is not a failed check of this run; accept only its failed checks: {listed}"
        )
    missing = [label for label in failed if label not in accepted]
    if missing:
        raise SignoffError(f"run {run_id}: every failed check must be accepted; not accepted: {', '.join(missing)}")


def _check_reason(reason: str, min_length: int) -> None:
    text = reason.strip()
    if len(text) < min_length or len(text.split()) < 5:
        raise SignoffError(
            f"write a reason of at least a sentence ({min_length} characters, 5 words) saying why the failures are acceptable"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
