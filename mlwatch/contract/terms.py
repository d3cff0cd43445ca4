"""What a contract promises, as typed data: the fields of the log, the event names each feature depends on,
the consuming model and whom to tell; and how two sets of promises differ (which semver part a change bumps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlwatch.config import Config

# The fields of the raw log by role ([columns] keys); the first three are required (DESIGN.md, raw log contract).
ROLES = ("user_id", "event", "timestamp", "event_id")
REQUIRED = ("user_id", "event", "timestamp")
MAJOR, MINOR, PATCH = "major", "minor", "patch"


@dataclass(frozen=True, order=True)
class Dependency:
    """A feature of the model counts this event name."""

    feature: str
    event: str


@dataclass(frozen=True)
class ContractTerms:
    """What a contract version covers: change any of it and the version changes.

    Measured figures (shares, daily volume) are not terms: they are re-measured at each export.
    """

    fields: dict[str, str]  # role -> field name in the log, e.g. {"user_id": "user_id", ...}
    dependencies: tuple[Dependency, ...]
    model: str
    owner: str | None = None
    contact: str | None = None

    @classmethod
    def of(cls, config: Config) -> ContractTerms:
        """The terms a config promises: its ``[columns]``, ``[features]`` and ``[contract]``."""
        columns = config.columns
        fields = {role: getattr(columns, role) for role in ROLES if getattr(columns, role)}
        dependencies = sorted(Dependency(f, e) for f, events in config.features.items() for e in events)
        contract = config.contract
        return cls(fields, tuple(dependencies), contract.consumer(), contract.owner, contact=contract.contact)

    def to_json(self) -> dict[str, Any]:
        """Plain data, as the audit trail records it."""
        return {
            "fields": dict(self.fields),
            "dependencies": [[d.feature, d.event] for d in self.dependencies],
            "model": self.model,
            "owner": self.owner,
            "contact": self.contact,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContractTerms:
        """Read ``to_json``'s data back."""
        dependencies = tuple(sorted(Dependency(str(f), str(e)) for f, e in data.get("dependencies", [])))
        fields = {role: data["fields"][role] for role in ROLES if data["fields"].get(role)}  # in the log's order
        return cls(fields, dependencies, data["model"], data.get("owner"), data.get("contact"))


def compare_terms(old: ContractTerms, new: ContractTerms) -> tuple[str | None, tuple[str, ...]]:
    """Which semver part the change from ``old`` to ``new`` bumps, and what changed in plain words.

    A removed dependency or field (a renamed field is both) is major: whoever relied on the contract
    loses a promise; an added one is minor; a new model name, owner or contact is a patch.

    Returns:
        ``(None, ())`` when nothing changed.
    """
    removed = sorted(set(old.dependencies) - set(new.dependencies))
    added = sorted(set(new.dependencies) - set(old.dependencies))
    changes = [f"removed: feature {d.feature} no longer depends on `{d.event}`" for d in removed]
    changes += [f"added: feature {d.feature} depends on `{d.event}`" for d in added]
    fields_removed = fields_added = False
    for role in ROLES:
        before, after = old.fields.get(role), new.fields.get(role)
        if before == after:
            continue
        if before and after:
            changes.append(f"renamed field: `{before}` is now `{after}` ({role})")
        elif before:
            changes.append(f"removed field: `{before}` ({role})")
        else:
            changes.append(f"added field: `{after}` ({role})")
        fields_removed = fields_removed or bool(before)
        fields_added = fields_added or bool(after)
    for name in ("model", "owner", "contact"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            changes.append(f"{name}: {before or '(none)'} -> {after or '(none)'}")
    if not changes:
        return None, ()
    if removed or fields_removed:
        return MAJOR, tuple(changes)
    if added or fields_added:
        return MINOR, tuple(changes)
    return PATCH, tuple(changes)


def bump(version: str, part: str) -> str:
    """The next semantic version: ``bump("1.2.3", "minor") == "1.3.0"``."""
    major, minor, patch = (int(n) for n in version.split("."))
    if part == MAJOR:
        return f"{major + 1}.0.0"
    if part == MINOR:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
