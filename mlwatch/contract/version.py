"""The contract's version: one ``contract`` row in the audit trail per version, never edited.

The audit trail is the record of versions: it is append-only, chained and checked by
``mlwatch verify`` like every other row, so a version and what changed in it cannot be rewritten
without it showing; a separate table would only repeat it. The first version (1.0.0) is recorded
by the first ``contract export``; from then on a run, an export or a saved mapping that finds the
terms changed (``[columns]``, ``[features]``, ``[contract]``) records the next version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mlwatch.config import Config
from mlwatch.contract.terms import ContractTerms, bump, compare_terms
from mlwatch.state import store

ACTION = "contract"
FIRST = "1.0.0"


@dataclass(frozen=True)
class ContractVersion:
    """A version of the contract, recorded in the audit trail or only planned (``recorded_at`` None)."""

    version: str
    terms: ContractTerms
    changes: tuple[str, ...]  # plain words, e.g. "added: feature login depends on `user_login_from_pc`"
    previous: str | None = None
    recorded_at: str | None = None
    recorded_by: str | None = None
    cause: str | None = None  # "contract export", "run 2026-05-...", "mapping saved"

    @property
    def recorded(self) -> bool:
        """True once the version is in the audit trail."""
        return self.recorded_at is not None

    def what_changed(self) -> str:
        """One line: what this version changed from the previous one."""
        if self.previous is None:
            return "first version"
        return f"since {self.previous}: " + "; ".join(self.changes)


def current_contract(state: str | Path) -> ContractVersion | None:
    """The newest recorded version, or None before the first ``contract export``."""
    with store.connect(state) as con:
        return _version_of(store.latest_audit(con, ACTION))


def plan_version(last: ContractVersion | None, config: Config) -> ContractVersion:
    """The version the contract of ``config`` has: ``last`` when its terms are the same, else the next one."""
    terms = ContractTerms.of(config)
    if last is None:
        return ContractVersion(FIRST, terms, ("first version",))
    part, changes = compare_terms(last.terms, terms)
    if part is None:
        return last
    return ContractVersion(bump(last.version, part), terms, changes, previous=last.version)


def record_contract(state: str | Path, config: Config, actor: str, cause: str) -> ContractVersion:
    """Record the contract of ``config`` (the first version, or the next when its terms changed) and return it."""
    recorded = _record(state, config, actor, cause, first=True)
    assert recorded is not None  # first=True always records or finds one
    return recorded


def record_if_tracked(state: str | Path, config: Config, actor: str, cause: str) -> ContractVersion | None:
    """Record the next version when a contract exists and ``config`` changes its terms (a run, a saved mapping).

    Returns:
        The version now current, or None when no contract was ever exported.
    """
    return _record(state, config, actor, cause, first=False)


def _record(state: str | Path, config: Config, actor: str, cause: str, first: bool) -> ContractVersion | None:
    with store.transaction(state) as con:  # BEGIN IMMEDIATE: two writers cannot both bump to the same version
        last = _version_of(store.latest_audit(con, ACTION))
        if last is None and not first:
            return None
        planned = plan_version(last, config)
        if planned is last:
            return last
        detail = {
            "version": planned.version,
            "previous": planned.previous,
            "changes": list(planned.changes),
            "cause": cause,
            "terms": planned.terms.to_json(),
        }
        store.append_audit(con, actor, ACTION, None, detail)
    recorded = current_contract(state)
    return recorded or replace(planned, recorded_by=actor, cause=cause)


def _version_of(row: dict | None) -> ContractVersion | None:
    if row is None:
        return None
    detail = row["detail"]
    return ContractVersion(
        version=detail["version"],
        terms=ContractTerms.from_json(detail["terms"]),
        changes=tuple(detail.get("changes", ())),
        previous=detail.get("previous"),
        recorded_at=row["at"],
        recorded_by=row["actor"],
        cause=detail.get("cause"),
    )
