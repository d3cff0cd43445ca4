"""Check a sample of a producer's new events against an exported contract, in seconds, before they ship.

The sample is read by the same DuckDB readers as a run (``ingest.staging`` and ``ingest.logs``),
keeping every JSON line's text so the fields of the rows without a required field can be compared
with those of the others. Each break is one plain line naming the field or event name, the feature,
the model and whom to tell; nothing is trained or stored.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from mlwatch.config import Columns
from mlwatch.contract.document import EventContract, Expectation, parse_contract
from mlwatch.contract.profile import MIN_EXPECTED, SHARE_MARGIN
from mlwatch.contract.terms import REQUIRED
from mlwatch.errors import InputError
from mlwatch.ingest import db
from mlwatch.ingest.fields import SHARE_MISSING, SHARE_VALID
from mlwatch.ingest.files import find_log_files, format_of
from mlwatch.ingest.logs import EVENTS_SCHEMA, validated_sql
from mlwatch.ingest.staging import csv_header, drop_rejects, staging_parts
from mlwatch.monthly.vocabulary import looks_like

_UNPARSED = "('invalid_json', 'invalid_csv', 'invalid_encoding', 'line_too_long')"
_PARSED = f"coalesce(reason, '') NOT IN {_UNPARSED}"
_WHY = {
    "user_id": "to count each user's events",
    "event": "to tell the events apart",
    "timestamp": "to place each event in its month",
}


@dataclass(frozen=True)
class Finding:
    """One break or note: what it is about and the line a person reads."""

    kind: str  # field, lines, timestamp, event, share, new_event, too_small
    subject: str  # the field or event name
    message: str
    instead: tuple[str, ...] = ()  # the names found in its place (a renamed field's or event's new names)


@dataclass(frozen=True)
class SampleCheck:
    """The result of checking a sample: its size, the breaks (exit 1 when any) and the notes."""

    version: str
    model: str
    rows: int
    events: dict[str, int]  # per event name, most frequent first
    breaks: tuple[Finding, ...]
    notes: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        """True when the sample breaks nothing the model depends on."""
        return not self.breaks


@dataclass(frozen=True)
class _Headless:
    """A CSV or Parquet file whose header lacks a required field: none of its rows can be read."""

    path: Path
    rows: int
    missing: tuple[str, ...]  # roles
    columns: tuple[str, ...]


def read_contract(path: str | Path) -> EventContract:
    """Read an exported contract file.

    Raises:
        InputError: the file is missing or unreadable, or not a contract written by ``contract export``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(
            f"{path}: contract file not found; export it with `python -m mlwatch contract export --out {path}`",
            path=str(path),
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot read the contract ({exc}); pass the exported YAML file", path=str(path)
        ) from exc
    return parse_contract(text, str(path))


def check_sample(contract: EventContract, sample: str | Path) -> SampleCheck:
    """Check the events at ``sample`` (a file, folder or glob in any format mlwatch reads) against ``contract``.

    Raises:
        InputError: nothing readable at ``sample``, or no row in it.
    """
    columns = Columns(
        user_id=contract.fields["user_id"],
        event=contract.fields["event"],
        timestamp=contract.fields["timestamp"],
        event_id=contract.fields.get("event_id"),
        timestamp_format=contract.timestamp_format,
    )
    files = find_log_files(sample)
    readable, headless = _split_by_header(files, columns)
    con = db.connect()
    try:
        with db.engine_errors(str(sample)):
            _stage(con, readable, columns)
            rows = int(db.fetch_value(con, "SELECT count(*) FROM events")) + sum(h.rows for h in headless)
            if rows == 0:
                raise InputError(f"{sample}: the sample has no rows; pass a file or folder of new events")
            breaks = _line_breaks(con, contract, rows)
            breaks += _field_breaks(con, contract, columns, headless, readable)
            breaks += _timestamp_breaks(con, contract, columns)
            counts = dict(
                con.execute(
                    f"SELECT event, count(*) AS n FROM events WHERE event IS NOT NULL AND {_PARSED}"
                    " GROUP BY event ORDER BY n DESC, event"
                ).fetchall()
            )
    finally:
        con.close()
    event_breaks, notes = _event_findings(contract, counts)
    return SampleCheck(contract.version, contract.model, rows, counts, tuple(breaks + event_breaks), tuple(notes))


def _split_by_header(files: list[Path], columns: Columns) -> tuple[list[Path], list[_Headless]]:
    required = {role: getattr(columns, role) for role in REQUIRED}
    readable, headless = [], []
    for path in files:
        kind = format_of(path)
        header = _header(path, kind)
        missing = tuple(role for role, name in required.items() if header is not None and name not in header)
        if missing:
            headless.append(_Headless(path, _row_count(path, kind), missing, tuple(header or ())))
        else:
            readable.append(path)
    return readable, headless


def _header(path: Path, kind: str | None) -> list[str] | None:
    if kind == "csv":
        return csv_header(path)
    if kind == "parquet":
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputError(f"{path}: not a readable Parquet file ({exc}); re-export it") from exc
    return None  # JSON: fields are per line


def _row_count(path: Path, kind: str | None) -> int:
    if kind == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        return max(0, sum(1 for line in handle if line.strip()) - 1)  # without the header


def _stage(con: duckdb.DuckDBPyConnection, files: list[Path], columns: Columns) -> None:
    con.execute(f"CREATE OR REPLACE TABLE events ({EVENTS_SCHEMA})")
    drop_rejects(con)
    for part in staging_parts(files, columns, field_sample=1) if files else []:
        con.execute(f"INSERT INTO events {validated_sql(part, columns)}")


def _line_breaks(con: duckdb.DuckDBPyConnection, contract: EventContract, rows: int) -> list[Finding]:
    bad, example = con.execute(f"SELECT count(*), min(file) FROM events WHERE NOT ({_PARSED})").fetchone()  # type: ignore[misc]
    if not bad or bad / rows <= contract.max_missing:
        return []
    message = (
        f"{bad:,} of {rows:,} lines ({_pct(bad / rows)}) are not valid JSON or CSV (e.g. in {example}): mlwatch rejects"
        f" them, and {contract.model} loses their events; tell {contract.tell} before shipping"
    )
    return [Finding("lines", "lines", message)]


def _missing_sql(role: str, columns: Columns) -> str:
    if role == "user_id":
        return "user_id IS NULL"
    if role == "event":
        return "event IS NULL"
    path = db.quote_literal(f"$.{_json_key(columns.timestamp)}")
    return (
        f"(reason = 'missing_timestamp' OR (reason IN ('missing_user_id', 'missing_event') AND ts IS NULL"
        f" AND (raw IS NULL OR nullif(trim(json_extract_string(raw, {path})), '') IS NULL)))"
    )


def _field_breaks(
    con: duckdb.DuckDBPyConnection, contract: EventContract, columns: Columns, headless: list[_Headless],
    readable: list[Path],
) -> list[Finding]:  # fmt: skip
    parsed = int(db.fetch_value(con, f"SELECT count(*) FROM events WHERE {_PARSED}")) + sum(h.rows for h in headless)
    known = set(contract.fields.values())
    good_headers = {name for path in readable for name in (_header(path, format_of(path)) or [])}
    breaks = []
    for role in REQUIRED:
        name = getattr(columns, role)
        missing = int(
            db.fetch_value(con, f"SELECT count(*) FROM events WHERE {_PARSED} AND {_missing_sql(role, columns)}")
        )
        missing += sum(h.rows for h in headless if role in h.missing)
        if not parsed or missing / parsed <= contract.max_missing:
            continue
        carried = _carried(con, _missing_sql(role, columns), known)
        for h in headless:
            if role in h.missing:
                carried += [c for c in h.columns if c not in known and c not in good_headers and c not in carried]
        instead = f"; they carry {_names(carried)} instead" if carried else "; those rows are rejected"
        message = (
            f"`{name}` is missing from {_pct(missing / parsed)} of rows ({missing:,} of {parsed:,}){instead}:"
            f" {contract.model} reads `{name}` {_WHY[role]}; tell {contract.tell} before shipping"
        )
        breaks.append(Finding("field", name, message, tuple(carried)))
    return breaks


def _carried(con: duckdb.DuckDBPyConnection, missing_sql: str, known: set[str]) -> list[str]:
    """Fields carried by most JSON rows missing a field and by almost no row that has it: its new name."""
    found = con.execute(
        f"""
        WITH keyed AS (
            SELECT json_keys(raw) AS keys, coalesce({missing_sql}, false) AS missing FROM events
            WHERE {_PARSED} AND raw IS NOT NULL AND json_valid(raw) AND starts_with(ltrim(raw), '{{')
        ), totals AS (
            SELECT count(*) FILTER (WHERE missing) AS m, count(*) FILTER (WHERE NOT missing) AS v FROM keyed
        ), names AS (SELECT unnest(keys) AS k, missing FROM keyed)
        SELECT k FROM names, totals GROUP BY k, m, v
        HAVING count(*) FILTER (WHERE missing) >= {SHARE_MISSING} * m AND m > 0
           AND count(*) FILTER (WHERE NOT missing) <= {SHARE_VALID} * v
        ORDER BY count(*) DESC, k
        """
    ).fetchall()
    return [k for (k,) in found if k not in known]


def _timestamp_breaks(con: duckdb.DuckDBPyConnection, contract: EventContract, columns: Columns) -> list[Finding]:
    path = db.quote_literal(f"$.{_json_key(columns.timestamp)}")
    readable = f"nullif(trim(json_extract_string(raw, {path})), '')"
    bad, parsed, example = con.execute(
        f"""SELECT count(*) FILTER (WHERE reason = 'bad_timestamp' OR (reason IN ('missing_user_id', 'missing_event')
                                    AND ts IS NULL AND raw IS NOT NULL AND {readable} IS NOT NULL)),
                   count(*),
                   min(CASE WHEN reason = 'bad_timestamp' THEN {readable} END)
            FROM events WHERE {_PARSED}"""
    ).fetchone()  # type: ignore[misc]
    if not parsed or bad / parsed <= contract.max_missing:
        return []
    name = columns.timestamp
    formats = "ISO 8601 (e.g. 2026-05-14T12:00:00Z) or epoch seconds or milliseconds"
    if contract.timestamp_format:
        formats = f"`{contract.timestamp_format}`, " + formats
    shown = f", e.g. `{example}`" if example else ""
    message = (
        f"`{name}` cannot be read as a time in {_pct(bad / parsed)} of rows ({bad:,} of {parsed:,}){shown}: use"
        f" {formats}; {contract.model} reads `{name}` {_WHY['timestamp']}; tell {contract.tell} before shipping"
    )
    return [Finding("timestamp", name, message)]


def _event_findings(contract: EventContract, counts: dict[str, int]) -> tuple[list[Finding], list[Finding]]:
    total = sum(counts.values())
    if not total:
        return [], []  # no event name at all: the field's break says why
    depended = {e.dependency.event for e in contract.expectations}
    breaks: list[Finding] = []
    notes: list[Finding] = []
    named: set[str] = set()
    for expectation in contract.expectations:
        found, note = _expectation_finding(contract, expectation, counts, total, depended)
        if found:
            breaks.append(found)
            named.update(found.instead)
        if note:
            notes.append(note)
    if contract.known:
        for name, count in counts.items():
            if name in contract.known or name in depended or name in named:
                continue
            notes.append(_new_name_note(contract, name, count / total))
    return breaks, notes


def _expectation_finding(
    contract: EventContract, expectation: Expectation, counts: dict[str, int], total: int, depended: set[str]
) -> tuple[Finding | None, Finding | None]:
    feature, event = expectation.dependency.feature, expectation.dependency.event
    seen = counts.get(event, 0)
    share = seen / total
    expected = expectation.share * total if expectation.share is not None else None
    judged = expected is not None and expected >= MIN_EXPECTED
    low, high = expectation.low, expectation.high
    fallen = not seen or (judged and low is not None and share < low)
    tell = f"tell {contract.tell} before shipping"
    alike = [name for name in counts if _replacement(contract, name, counts[name] / total, event, depended)]
    alike = alike if fallen else []
    if alike:
        left = f" (and only {seen:,} `{event}`)" if seen else ""
        message = (
            f"feature {feature} depends on `{event}`; this sample has {_names(alike)} instead{left}: {tell}"
            f" ({contract.model} counts `{event}` per user; without it that count is 0 for every user)"
        )
        return Finding("event", event, message, tuple(alike)), None
    if not seen and judged:
        message = (
            f"feature {feature} depends on `{event}`; this sample has none (usually {_pct(expectation.share or 0)}"
            f" of events, about {expected:,.0f} expected here): {tell}"
        )
        return Finding("event", event, message), None
    if not seen:
        reason = (
            f"is too small to judge it (about {expected:.0f} expected)"
            if expected is not None
            else "the contract has no usual share to judge whether it should (export it with --logs and --month)"
        )
        return None, Finding("too_small", event, f"this sample has no `{event}` event (feature {feature}); {reason}")
    if not judged or low is None or high is None or low <= share <= high:
        return None, None
    message = (
        f"`{event}` is {_pct(share)} of this sample's events, far outside its usual range ({_pct(low)} to"
        f" {_pct(high)}; {_pct(expectation.share or 0)} when the contract was measured): feature {feature} of"
        f" {contract.model} counts it; {tell}"
    )
    return Finding("share", event, message), None


def _replacement(contract: EventContract, name: str, share: float, event: str, depended: set[str]) -> bool:
    """A name that may stand in for ``event``: it looks like it, no feature depends on it, and it is new or
    far above its usual share (a known name at its usual level, such as `page_view` beside `item_view`, is not)."""
    if name in depended or not looks_like(name, event):
        return False
    usual = contract.known.get(name)
    return usual is None or share > usual * SHARE_MARGIN


def _new_name_note(contract: EventContract, name: str, share: float) -> Finding:
    like = [e.dependency for e in contract.expectations if looks_like(name, e.dependency.event)]
    text = f"new event name `{name}` ({_pct(share)} of this sample's events) is not in the contract"
    if like:
        d = like[0]
        text += (
            f"; it looks like `{d.event}` (feature {d.feature}): if it replaces some of those events, tell"
            f" {contract.tell} before shipping"
        )
    else:
        text += f"; no feature of {contract.model} depends on it, so nothing breaks"
    return Finding("new_event", name, text)


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _pct(share: float) -> str:
    if share == 0 or share >= 0.1:
        return f"{share:.0%}"
    return f"{share:.1%}" if share >= 0.001 else f"{share:.2%}"


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'
