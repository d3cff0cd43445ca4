"""The rows of a sample: read with a run's readers, then the breaks in them (unreadable lines, a required field
missing or renamed, timestamps that cannot be read) and the count of each event name.

Every JSON line keeps its text (``staging_parts(field_sample=1)``), so the fields of the rows without a
required field can be compared with those of the others: the new name is the one most of them carry and
almost no other row does (as ``ingest.fields`` finds a renamed field in a run). A CSV or Parquet file
whose header lacks a required field cannot be read at all: its header's other columns are the candidates.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from mlwatch.config import Columns
from mlwatch.contract.document import EventContract
from mlwatch.contract.terms import REQUIRED
from mlwatch.errors import InputError
from mlwatch.ingest import db
from mlwatch.ingest.fields import SHARE_MISSING, SHARE_VALID
from mlwatch.ingest.files import find_log_files, format_of
from mlwatch.ingest.logs import EVENTS_SCHEMA, validated_sql
from mlwatch.ingest.remote import is_remote
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
class _Headless:
    """A CSV or Parquet file whose header lacks a required field: none of its rows can be read."""

    path: Path
    rows: int
    missing: tuple[str, ...]  # roles
    columns: tuple[str, ...]


@dataclass(frozen=True)
class SampleRows:
    """What the rows of a sample say: how many, the breaks among them, and the events per name."""

    rows: int
    breaks: tuple[Finding, ...]
    counts: dict[str, int]  # rows per event name, most frequent first


def read_sample(contract: EventContract, sample: str | Path) -> SampleRows:
    """Read the events at ``sample`` with the fields ``contract`` names and find the row-level breaks.

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
    if is_remote(sample):
        raise InputError(
            f"{sample}: contract check reads a sample on this machine; copy a few files of the prefix here "
            "and pass their folder to --sample",
            path=str(sample),
        )
    files = [Path(f) for f in find_log_files(sample)]
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
    return SampleRows(rows, tuple(breaks), counts)


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
        f"{bad:,} of {rows:,} lines ({percent(bad / rows)}) are not valid JSON or CSV (e.g. in {example}): mlwatch rejects"
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
        carried += _header_candidates(name, [h for h in headless if role in h.missing], known | good_headers, carried)
        instead = f"; they carry {quoted(carried)} instead" if carried else "; those rows are rejected"
        message = (
            f"`{name}` is missing from {percent(missing / parsed)} of rows ({missing:,} of {parsed:,}){instead}:"
            f" {contract.model} reads `{name}` {_WHY[role]}; tell {contract.tell} before shipping"
        )
        breaks.append(Finding("field", name, message, tuple(carried)))
    return breaks


def _header_candidates(name: str, headless: list[_Headless], excluded: set[str], found: list[str]) -> list[str]:
    """Columns of headers without ``name`` that no complete file has: those that look like it, if any, else all."""
    other = [c for h in headless for c in h.columns if c not in excluded and c not in found and not c.startswith("__")]
    other = list(dict.fromkeys(other))
    alike = [c for c in other if looks_like(c, name)]
    return alike or other


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
        f"`{name}` cannot be read as a time in {percent(bad / parsed)} of rows ({bad:,} of {parsed:,}){shown}: use"
        f" {formats}; {contract.model} reads `{name}` {_WHY['timestamp']}; tell {contract.tell} before shipping"
    )
    return [Finding("timestamp", name, message)]


def quoted(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def percent(share: float) -> str:
    if share == 0 or share >= 0.1:
        return f"{share:.0%}"
    return f"{share:.1%}" if share >= 0.001 else f"{share:.2%}"


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'
