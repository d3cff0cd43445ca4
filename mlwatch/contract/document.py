"""The ODCS v3 document: written from the terms and a measured month, validated, and read back for ``check``.

One object (``events``) with one property per field. The event names each feature depends on are
quality rules of the ``event`` property (their share of events, with the feature and the model as
custom properties); the measured month's names are its ``knownValues``; the daily volume is a
``rowCount`` rule of the object. This module is the only one that knows the layout.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pydantic
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from mlwatch.contract.profile import MonthProfile
from mlwatch.contract.terms import REQUIRED, ContractTerms, Dependency
from mlwatch.contract.version import ContractVersion
from mlwatch.errors import InputError
from mlwatch.months import month_name

API_VERSION = "v3.2.0"  # the ODCS version of the pinned open-data-contract-standard package
OBJECT = "events"
_ROLE = "mlwatchRole"
_DESCRIPTIONS = {
    "user_id": "The user who did the event (a string; a JSON number is read as its decimal string).",
    "event": "The event's name. The names below are counted by the model's features: renaming one turns its"
    " feature to 0 for every user.",
    "timestamp": "When the event happened: ISO 8601 with or without offset (none means UTC), or epoch seconds or"
    " milliseconds, or a native Parquet timestamp.",
    "event_id": "Optional unique id of the event; repeated ids are counted as duplicates and only the first is used.",
}


@dataclass(frozen=True)
class Expectation:
    """A depended-on event name as a contract states it: the feature, its usual share and the range allowed."""

    dependency: Dependency
    share: float | None  # of all events, 0..1; None when the contract was exported without a measured month
    low: float | None
    high: float | None


@dataclass(frozen=True)
class EventContract:
    """What ``contract check`` needs from an exported contract."""

    version: str
    model: str
    tell: str  # whom a producer must tell before shipping a break
    fields: dict[str, str]  # role -> field name
    max_missing: float  # share of rows allowed to miss a required field or carry a bad timestamp
    timestamp_format: str | None
    expectations: tuple[Expectation, ...]
    known: dict[str, float]  # every event name of the measured month -> its share


def contract_document(
    terms: ContractTerms,
    version: ContractVersion,
    profile: MonthProfile | None,
    max_missing: float,
    timestamp_format: str | None = None,
) -> dict[str, Any]:
    """The contract as ODCS v3 data (validate it with ``validate_document`` before writing)."""
    tell = terms.contact or terms.owner or f"the team of {terms.model}"
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": f"mlwatch-{_slug(terms.model)}-event-log",
        "name": f"Event log read by {terms.model}",
        "version": version.version,
        "status": "active",
        "description": {
            "purpose": f"{_capital(terms.model)} counts these events per user and month ({_features_text(terms)}). A renamed"
            " field or event name does not fail anything downstream: it silently turns counts to 0.",
            "usage": "Before shipping a change to these events, check a sample of them: `python -m mlwatch contract"
            f" check --contract <this file> --logs <sample>` exits 1 with one line per break; tell {tell} first.",
            "limitations": _measured_text(profile),
        },
        "tags": ["mlwatch", "event-log"],
        "customProperties": [
            {"property": "consumer", "value": terms.model},
            {"property": "contact", "value": tell},
            {"property": "versionChanges", "value": version.what_changed()},
        ],
        # when this version was recorded: exporting the same version again gives the same file
        "contractCreatedTs": version.recorded_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "schema": [_object(terms, profile, max_missing, timestamp_format)],
    }
    if terms.owner:
        document["team"] = {"name": terms.owner, "members": [{"username": terms.owner, "role": "owner"}]}
    if terms.contact:
        document["support"] = [_support(terms.contact)]
    return document


def validate_document(document: dict[str, Any]) -> None:
    """Validate against the ODCS package's model and its JSON schema.

    Raises:
        ValueError: the document does not validate (a bug in whoever built it).
    """
    try:
        OpenDataContractStandard.model_validate(document)
    except pydantic.ValidationError as exc:
        raise ValueError(f"not a valid ODCS contract: {exc.errors()[0]}") from exc
    error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(json.loads(json.dumps(document))))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise ValueError(f"not a valid ODCS contract at {where}: {error.message}")


def document_yaml(document: dict[str, Any]) -> str:
    """The YAML text of a contract, with a first comment saying what it is and how producers use it."""
    header = (
        "# ODCS v3 data contract written by mlwatch (python -m mlwatch contract export).\n"
        "# Check a sample of new events against it: python -m mlwatch contract check --contract FILE --logs SAMPLE\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)


def parse_contract(text: str, source: str) -> EventContract:
    """Read an exported contract back.

    Raises:
        InputError: not YAML, not an ODCS v3 contract, or not one written by ``contract export``.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({' '.join(str(exc).split())}); export the contract again") from exc
    if (
        not isinstance(data, dict)
        or data.get("kind") != "DataContract"
        or not str(data.get("apiVersion", "")).startswith("v3")
    ):
        raise InputError(
            f"{source}: not an ODCS v3 data contract (kind DataContract, apiVersion v3.x); pass the file written by"
            " `python -m mlwatch contract export`"
        )
    try:
        OpenDataContractStandard.model_validate(data)
    except pydantic.ValidationError as exc:
        raise InputError(f"{source}: not a valid ODCS contract ({exc.errors()[0]['msg']}); export it again") from exc
    try:
        return _read(data)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(
            f"{source}: this contract was not written by `python -m mlwatch contract export` (no {exc} where mlwatch"
            " puts it); export it again"
        ) from exc


def _object(
    terms: ContractTerms, profile: MonthProfile | None, max_missing: float, timestamp_format: str | None
) -> dict[str, Any]:
    properties = [_property(role, name, max_missing) for role, name in terms.fields.items()]
    event = next(p for p in properties if _role_of(p) == "event")
    event["quality"] = [_dependency_rule(d, terms.model, profile) for d in terms.dependencies]
    event["examples"] = sorted({d.event for d in terms.dependencies})
    if profile is not None:
        known = {name: round(n / profile.events, 6) for name, n in profile.names().items()}
        event["customProperties"].append({"property": "knownValues", "value": known})
    if timestamp_format:
        stamp = next(p for p in properties if _role_of(p) == "timestamp")
        stamp["customProperties"].append({"property": "timestampFormat", "value": timestamp_format})
    found: dict[str, Any] = {
        "name": OBJECT,
        "physicalType": "file",
        "logicalType": "object",
        "description": "One row per event: JSON Lines, CSV or Parquet files (gzip accepted for the text formats),"
        " in any folder layout; months are taken from the timestamps.",
        "properties": properties,
    }
    if profile is not None and profile.events:
        found["quality"] = [_volume_rule(profile)]
    return found


def _property(role: str, name: str, max_missing: float) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "logicalType": "timestamp" if role == "timestamp" else "string",
        "physicalType": "string or integer epoch" if role == "timestamp" else "string",
        "required": role in REQUIRED,
        "description": _DESCRIPTIONS[role],
        "customProperties": [{"property": _ROLE, "value": role}],
    }
    if role in REQUIRED:
        found["quality"] = [
            {
                "id": f"{role}_present",
                "name": f"`{name}` present",
                "description": f"Rows without `{name}` are rejected: at most {max_missing:.1%} of rows.",
                "dimension": "completeness",
                "metric": "missingValues",
                "arguments": {"missingValues": [None, ""]},
                "mustBeLessOrEqualTo": round(max_missing * 100, 4),
                "unit": "percent",
                "severity": "error",
            }
        ]
    return found


def _dependency_rule(dependency: Dependency, model: str, profile: MonthProfile | None) -> dict[str, Any]:
    feature, event = dependency.feature, dependency.event
    rule: dict[str, Any] = {
        "id": _slug(f"{feature}-{event}"),
        "name": f"feature {feature} depends on `{event}`",
        "type": "sql",
        "query": f"SELECT 100.0 * count(*) FILTER (WHERE event = '{event}') / count(*) FROM ${{object}}",
        "unit": "percent",
        "severity": "error",
        "businessImpact": "operational",
        "dimension": "consistency",
    }
    custom = [
        {"property": "consumer", "value": model},
        {"property": "feature", "value": feature},
        {"property": "event", "value": event},
    ]
    usual = profile.usual_share(event) if profile is not None else None
    if usual is None or usual.low is None or usual.high is None:
        rule["mustBeGreaterThan"] = 0
        when = f"not seen in {month_name(profile.month)}" if profile is not None else "no month measured"
        rule["description"] = f"{model} counts `{event}` as feature {feature} ({when})."
    else:
        rule["mustBeBetween"] = [round(usual.low * 100, 4), round(usual.high * 100, 4)]
        rule["description"] = (
            f"{model} counts `{event}` as feature {feature}: {usual.share:.2%} of events in"
            f" {month_name(profile.month)}; a share far outside this range means the name or its events changed."  # type: ignore[union-attr]
        )
        custom.append({"property": "usualShare", "value": usual.share})
    rule["customProperties"] = custom
    return rule


def _volume_rule(profile: MonthProfile) -> dict[str, Any]:
    median, low, high = profile.daily_range()
    return {
        "id": "daily_events",
        "name": "events per day",
        "description": f"Events per UTC day in {month_name(profile.month)}: median {median:,}, from {low:,} to"
        f" {high:,}. mlwatch's volume check fails a day under 25% of its weekday's usual events.",
        "dimension": "completeness",
        "metric": "rowCount",
        "mustBeBetween": [low // 4, max(high * 2, low // 4 + 1)],
        "unit": "rows",
        "customProperties": [
            {"property": "per", "value": "day"},
            {"property": "medianDailyEvents", "value": median},
            {"property": "measuredMonth", "value": profile.month},
        ],
    }


def _read(data: dict[str, Any]) -> EventContract:
    top = {c["property"]: c["value"] for c in data.get("customProperties") or []}
    events = next(o for o in data["schema"] if o.get("name") == OBJECT)
    fields = {_role_of(p): p["name"] for p in events["properties"] if _role_of(p)}
    missing = [role for role in REQUIRED if role not in fields]
    if missing:
        raise KeyError(f"{missing[0]} field")
    event = next(p for p in events["properties"] if _role_of(p) == "event")
    custom = {c["property"]: c["value"] for c in event.get("customProperties") or []}
    stamp = next(p for p in events["properties"] if _role_of(p) == "timestamp")
    stamp_custom = {c["property"]: c["value"] for c in stamp.get("customProperties") or []}
    present = next(q for q in next(p for p in events["properties"] if _role_of(p) == "user_id")["quality"])
    return EventContract(
        version=str(data["version"]),
        model=str(top["consumer"]),
        tell=str(top["contact"]),
        fields=fields,
        max_missing=float(present["mustBeLessOrEqualTo"]) / 100,
        timestamp_format=stamp_custom.get("timestampFormat"),
        expectations=tuple(_expectation(rule) for rule in event.get("quality") or []),
        known={str(k): float(v) for k, v in (custom.get("knownValues") or {}).items()},
    )


def _expectation(rule: dict[str, Any]) -> Expectation:
    custom = {c["property"]: c["value"] for c in rule["customProperties"]}
    between = rule.get("mustBeBetween")
    low, high = (between[0] / 100, between[1] / 100) if between else (None, None)
    share = custom.get("usualShare")
    return Expectation(Dependency(custom["feature"], custom["event"]), share, low, high)


def _role_of(prop: dict[str, Any]) -> str | None:
    return next((c["value"] for c in prop.get("customProperties") or [] if c.get("property") == _ROLE), None)


def _support(contact: str) -> dict[str, Any]:
    if contact.startswith(("http://", "https://", "mailto:")):
        return {"channel": contact, "url": contact}
    if "@" in contact and " " not in contact:
        return {"channel": "email", "url": f"mailto:{contact}", "tool": "email", "scope": "issues"}
    return {"channel": contact}


def _features_text(terms: ContractTerms) -> str:
    by_feature: dict[str, list[str]] = {}
    for d in terms.dependencies:
        by_feature.setdefault(d.feature, []).append(f"`{d.event}`")
    return "; ".join(f"{feature} = {', '.join(events)}" for feature, events in by_feature.items())


def _measured_text(profile: MonthProfile | None) -> str:
    if profile is None:
        return "Exported without a measured month: no usual shares or daily volume; export with --logs and --month."
    return f"Usual shares and daily volume measured on {month_name(profile.month)} ({profile.events:,} events)."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


@functools.cache
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(OpenDataContractStandard.json_schema())
    return jsonschema.validators.validator_for(schema)(schema)
