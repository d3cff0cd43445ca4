"""Read raw event logs through DuckDB into one validated ``events`` table.

Every line is read as text (JSON) or through DuckDB's CSV reader with
``store_rejects`` (CSV), then validated in SQL, so that each rejected row is
counted by reason and by file and a sample is kept: DuckDB's ``ignore_errors``
alone would drop bad rows without a trace.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from mlwatch.config import Columns
from mlwatch.errors import InputError
from mlwatch.ingest.db import engine_errors, fetch_row, fetch_value, quote_ident, quote_literal, sql_list
from mlwatch.ingest.files import find_log_files, format_of
from mlwatch.summary import IngestReport, RejectedRow

REASONS = (
    "invalid_json",
    "invalid_csv",
    "missing_user_id",
    "missing_event",
    "missing_timestamp",
    "bad_timestamp",
)
# Epoch numbers at or above this are milliseconds (1e11 s would be the year 5138).
_MS_THRESHOLD = 100_000_000_000
_MAX_EPOCH_S = 7_258_118_400  # 2200-01-01
EVENTS_SCHEMA = (
    "user_id VARCHAR, event VARCHAR, ts TIMESTAMP, event_id VARCHAR, file VARCHAR, line BIGINT, "
    "reason VARCHAR, raw VARCHAR"
)


def read_events(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    columns: Columns,
    sample_size: int = 100,
    within: tuple[Path, ...] | None = None,
) -> IngestReport:
    """Read the logs at ``source`` into the DuckDB table ``events``.

    ``events`` has one row per valid, de-duplicated event: ``user_id``,
    ``event``, ``ts`` (TIMESTAMP, UTC), ``event_id`` and ``file``. Rejected
    rows go to the table ``rejected`` (file, line, reason, text).

    Args:
        within: for a run started from the browser, the real folders every file must lie in (see
            ``find_log_files``).

    Raises:
        InputError: no readable file, a file without a required column, a file outside ``within``,
            or no valid event.
    """
    files = find_log_files(source, within)
    # One table holds every row read; rejected and duplicate rows are deleted from it once counted,
    # so the events are never copied (at tens of millions of rows a copy doubles the memory).
    con.execute(f"CREATE OR REPLACE TABLE events ({EVENTS_SCHEMA})")
    for part in _staging_parts(files, columns):
        _execute(con, files, f"INSERT INTO events {validated_sql(part, columns)}")
    _check_fields_present(con, files, columns)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE rejected AS
        SELECT file, line, reason, coalesce(raw, '') AS text FROM events WHERE reason IS NOT NULL
    """)
    _find_duplicates(con)
    report = _summarise(con, sample_size)
    con.execute("DELETE FROM events WHERE reason IS NOT NULL OR rowid IN (SELECT row FROM duplicate_rows)")
    for column in ("line", "reason", "raw"):
        con.execute(f"ALTER TABLE events DROP COLUMN {column}")
    if report.rows_read == 0:
        raise InputError(f"{source}: every log file is empty; check the path and the export job")
    if fetch_value(con, "SELECT count(*) FROM events") == 0:
        raise InputError(
            f"{source}: no valid event in {report.rows_read} rows read "
            f"({_reasons_text(report.rejected_by_reason)}); check the [columns] names in the config"
        )
    return report


def validated_sql(source_sql: str, columns: Columns) -> str:
    """Wrap a staging query: trim the fields, parse the timestamp, and give each bad row its reason.

    A staging query gives ``file, line, reason, raw, user_id, event, ts_text, ts_value, event_id``
    (``reason`` set only for a line that could not be parsed at all); the result fits ``events``.
    """
    return f"""
        WITH parsed AS (
            SELECT file, line, reason, raw, ts_value,
                   {_blank_to_null("user_id")} AS user_id,
                   {_blank_to_null("event")} AS event,
                   {_blank_to_null("ts_text")} AS ts_text,
                   {_blank_to_null("event_id")} AS event_id
            FROM ({source_sql})
        ), timed AS (
            SELECT *, CASE WHEN ts_value IS NOT NULL THEN ts_value
                           ELSE {_timestamp_sql("ts_text", columns.timestamp_format)} END AS ts
            FROM parsed
        )
        SELECT user_id, event, ts, event_id, file, line,
               coalesce(reason,
                        CASE WHEN user_id IS NULL THEN 'missing_user_id'
                             WHEN event IS NULL THEN 'missing_event'
                             WHEN ts_value IS NULL AND ts_text IS NULL THEN 'missing_timestamp'
                             WHEN ts IS NULL THEN 'bad_timestamp' END) AS reason,
               raw
        FROM timed
    """


def _blank_to_null(column: str) -> str:
    """Trim surrounding spaces and turn an empty value into NULL; ``trim`` runs only where there is a space."""
    return (
        f"CASE WHEN starts_with({column}, ' ') OR ends_with({column}, ' ') OR {column} = '' "
        f"THEN nullif(trim({column}), '') ELSE {column} END"
    )


def _find_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    """Put in ``duplicate_rows`` every valid row whose ``event_id`` an earlier row already has.

    Sorting 64-bit hashes of the ids and comparing neighbours finds the few candidate ids
    cheaply (2.5x faster than grouping tens of millions of distinct ids); the exact comparison
    of the ids (and the choice of the first row) runs on those candidates only.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE duplicate_candidates AS
        SELECT DISTINCT h FROM (
            SELECT h, lag(h) OVER (ORDER BY h) AS previous
            FROM (SELECT hash(event_id) AS h FROM events WHERE reason IS NULL AND event_id IS NOT NULL)
        ) WHERE h = previous
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE duplicate_rows AS
        SELECT row, ts FROM (
            SELECT rowid AS row, ts,
                   row_number() OVER (PARTITION BY event_id ORDER BY ts, file, line, rowid) AS position
            FROM events
            WHERE reason IS NULL AND event_id IS NOT NULL
              AND hash(event_id) IN (SELECT h FROM duplicate_candidates)
        ) WHERE position > 1
    """)


def _staging_parts(files: list[Path], columns: Columns) -> list[str]:
    """Return the staging queries to insert in order (their columns: see ``validated_sql``)."""
    json_files = [str(p) for p in files if format_of(p) == "json"]
    csv_files = [p for p in files if format_of(p) == "csv"]
    parquet_files = [p for p in files if format_of(p) == "parquet"]
    parts = [json_lines_sql(json_files, columns)] if json_files else []
    parts += _csv_parts(csv_files, columns)
    parts += _parquet_parts(parquet_files, columns)
    return parts


def json_lines_sql(files: list[str], columns: Columns) -> str:
    """Staging query of JSON Lines files: each line read as text, so an invalid line is kept and counted."""
    paths = [f"$.{_json_key(name)}" for name in (columns.user_id, columns.event, columns.timestamp)]
    paths.append(f"$.{_json_key(columns.event_id)}" if columns.event_id else "$.__no_event_id__")
    # One JSON parse per line: extract all fields at once as a list.
    return f"""
        SELECT filename AS file, NULL::BIGINT AS line,
               CASE WHEN NOT ok THEN 'invalid_json' END AS reason,
               CASE WHEN NOT ok THEN text END AS raw,
               f[1] AS user_id, f[2] AS event, f[3] AS ts_text, NULL::TIMESTAMP AS ts_value, f[4] AS event_id
        FROM (
            SELECT filename, text, ok,
                   json_extract_string(CASE WHEN ok THEN text END, {sql_list(paths)}) AS f
            FROM (
                SELECT filename, text,
                       coalesce(json_valid(text), false)
                       AND (starts_with(text, '{{') OR starts_with(ltrim(text), '{{')) AS ok
                FROM read_csv({sql_list(files)}, columns = {{'text': 'VARCHAR'}}, delim = '\x01',
                              quote = '', escape = '', header = false, auto_detect = false,
                              filename = true, strict_mode = false, max_line_size = 10000000)
                WHERE text <> ''  -- an empty line is not a row; a line of spaces is invalid JSON
            )
        )
    """


def _csv_parts(files: list[Path], columns: Columns) -> list[str]:
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in files:
        header = _csv_header(path)
        if header is None:
            continue  # an empty file holds no row
        missing = [c for c in (columns.user_id, columns.event, columns.timestamp) if c not in header]
        if missing:
            raise InputError(
                f"{path}: CSV header has no column {missing[0]!r} (found: {', '.join(header)}); "
                "set [columns] in the config to the names used in the file"
            )
        groups.setdefault(tuple(header), []).append(str(path))
    parts = []
    for index, (header, paths) in enumerate(groups.items()):
        parts += _csv_group_sql(index, header, paths, columns)
    return parts


def _csv_group_sql(index: int, header: tuple[str, ...], files: list[str], columns: Columns) -> list[str]:
    """The rows of one group of CSV files with the same header, then the lines DuckDB's reader rejected.

    The second query reads the rejects table that the first one fills, so they run in this order.
    """
    spec = "{" + ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in header) + "}"
    rejects, scans = f"csv_rejects_{index}", f"csv_scans_{index}"
    event_id = f"{quote_ident(columns.event_id)}" if columns.event_id in header else "NULL::VARCHAR"
    rows = f"""
        SELECT filename AS file, NULL::BIGINT AS line, NULL AS reason, NULL AS raw,
               {quote_ident(columns.user_id)} AS user_id, {quote_ident(columns.event)} AS event,
               {quote_ident(columns.timestamp)} AS ts_text, NULL::TIMESTAMP AS ts_value, {event_id} AS event_id
        FROM read_csv(
            {sql_list(files)}, columns = {spec}, header = true, delim = ',', quote = '"', escape = '"',
            auto_detect = false, filename = true, store_rejects = true,
            rejects_table = '{rejects}', rejects_scan = '{scans}', max_line_size = 10000000)
    """
    rejected = f"""
        SELECT s.file_path AS file, min(e.line)::BIGINT AS line, 'invalid_csv' AS reason, min(e.csv_line) AS raw,
               NULL AS user_id, NULL AS event, NULL AS ts_text, NULL::TIMESTAMP AS ts_value, NULL AS event_id
        FROM {rejects} e JOIN {scans} s ON e.scan_id = s.scan_id AND e.file_id = s.file_id
        GROUP BY s.file_path, e.scan_id, e.file_id, e.line
    """
    return [rows, rejected]


def _parquet_parts(files: list[Path], columns: Columns) -> list[str]:
    """One query per group of Parquet files whose columns read have the same types.

    DuckDB takes a group's column types from its first file, so files typed differently
    (an integer ``user_id`` here, a string there) are read in separate groups.
    """
    groups: dict[tuple[str, ...], tuple[bool, str, list[str]]] = {}
    for path in files:
        schema = _parquet_schema(path, columns)
        if schema is None:
            continue  # no row
        has_id, ts_type, types = schema
        groups.setdefault(types, (has_id, ts_type, []))[2].append(str(path))
    return [_parquet_sql(paths, columns, has_id, ts_type) for has_id, ts_type, paths in groups.values()]


def _parquet_sql(files: list[str], columns: Columns, has_event_id: bool, ts_type: str) -> str:
    event_id = f"CAST({quote_ident(columns.event_id)} AS VARCHAR)" if has_event_id else "NULL::VARCHAR"
    column = quote_ident(columns.timestamp)
    # A native timestamp is used as it is (no offset means UTC); numbers are epochs; text is parsed.
    if ts_type == "timestamptz":
        ts_text, ts_value = "NULL::VARCHAR", f"{column} AT TIME ZONE 'UTC'"
    elif ts_type in ("timestamp", "date"):
        ts_text, ts_value = "NULL::VARCHAR", f"CAST({column} AS TIMESTAMP)"
    else:
        ts_text, ts_value = f"CAST({column} AS VARCHAR)", "NULL::TIMESTAMP"
    return f"""
        SELECT filename AS file, NULL::BIGINT AS line, NULL AS reason, NULL AS raw,
               CAST({quote_ident(columns.user_id)} AS VARCHAR) AS user_id,
               CAST({quote_ident(columns.event)} AS VARCHAR) AS event,
               {ts_text} AS ts_text, {ts_value} AS ts_value, {event_id} AS event_id
        FROM read_parquet({sql_list(files)}, filename = true)
    """


def _parquet_schema(path: Path, columns: Columns) -> tuple[bool, str, tuple[str, ...]] | None:
    """Return whether a Parquet file has the event id, the kind of its timestamp column and the types
    of the columns read; None when it has no row.

    Raises:
        InputError: the file is not Parquet, or a required column is missing.
    """
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"{path}: not a readable Parquet file ({exc}); re-export it") from exc
    schema = parquet.schema_arrow
    names = set(schema.names)
    missing = [c for c in (columns.user_id, columns.event, columns.timestamp) if c not in names]
    if missing:
        raise InputError(
            f"{path}: Parquet file has no column {missing[0]!r} (found: {', '.join(sorted(names))}); "
            "set [columns] in the config to the names used in the file"
        )
    if parquet.metadata.num_rows == 0:
        return None
    kind = schema.field(columns.timestamp).type
    has_id = bool(columns.event_id) and columns.event_id in names
    read = [columns.user_id, columns.event, columns.timestamp, *([columns.event_id] if has_id else [])]
    types = (str(has_id), *(str(schema.field(name).type) for name in read))
    if pa.types.is_timestamp(kind):
        return has_id, "timestamptz" if kind.tz else "timestamp", types
    if pa.types.is_date(kind):
        return has_id, "date", types
    return has_id, "text", types


def _csv_header(path: Path) -> list[str] | None:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InputError(f"{path}: cannot read the file ({exc}); check that it is complete") from exc
    if not first.strip():
        return None
    return [name.strip() for name in next(csv.reader(io.StringIO(first)))]


def _timestamp_sql(column: str, fmt: str | None) -> str:
    number = f"TRY_CAST({column} AS DOUBLE)"
    epoch = f"""CASE WHEN abs({number}) >= {_MS_THRESHOLD}
                     THEN CASE WHEN abs({number}) < {_MAX_EPOCH_S * 1000} THEN make_timestamp(CAST({number} * 1000 AS BIGINT)) END
                     WHEN abs({number}) < {_MAX_EPOCH_S} THEN make_timestamp(CAST({number} * 1000000 AS BIGINT)) END"""
    # A date starts with a digit: DuckDB would also take the words 'epoch' and 'infinity'.
    text = (
        f"CASE WHEN left({column}, 1) BETWEEN '0' AND '9' THEN TRY_CAST({column} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END"
    )
    is_number = f"regexp_full_match({column}, '-?[0-9]+(\\.[0-9]+)?')"
    if fmt:  # the configured format first: "%Y%m%d" must win over reading 20260305 as epoch seconds
        return (
            f"coalesce(try_strptime({column}, {quote_literal(fmt)})::TIMESTAMP, "
            f"CASE WHEN {is_number} THEN {epoch} ELSE {text} END)"
        )
    # No number is ever a valid ISO timestamp, so ISO (the common case) is tried first and the
    # pattern match runs only on what it rejects.
    return f"coalesce({text}, CASE WHEN {is_number} THEN {epoch} END)"


def _check_fields_present(con: duckdb.DuckDBPyConnection, files: list[Path], columns: Columns) -> None:
    """JSON objects that never carry a required field mean the config names the wrong field."""
    json_files = [str(p) for p in files if format_of(p) == "json"]
    if not json_files:
        return
    objects, users, events, stamps = fetch_row(
        con,
        """SELECT count(*), count(user_id), count(event),
                  count(*) FILTER (WHERE ts IS NOT NULL OR reason = 'bad_timestamp')
           FROM events WHERE reason IS DISTINCT FROM 'invalid_json' AND file IN (SELECT unnest(?::VARCHAR[]))""",
        [json_files],
    )
    if objects == 0:
        return
    for seen, name in zip((users, events, stamps), (columns.user_id, columns.event, columns.timestamp)):
        if seen == 0:
            raise InputError(
                f"{json_files[0]}: no JSON row has the field {name!r}; "
                "set [columns] in the config to the names used in the logs"
            )


def _summarise(con: duckdb.DuckDBPyConnection, sample_size: int) -> IngestReport:
    rows_read = int(fetch_value(con, "SELECT count(*) FROM events"))
    by_reason = dict(con.execute("SELECT reason, count(*) FROM rejected GROUP BY reason ORDER BY reason").fetchall())
    rows_by_file = dict(con.execute("SELECT file, count(*) FROM events GROUP BY file ORDER BY file").fetchall())
    rejected_by_file = dict(con.execute("SELECT file, count(*) FROM rejected GROUP BY file ORDER BY file").fetchall())
    dup_rows = con.execute(
        "SELECT strftime(ts, '%Y-%m') AS month, count(*) FROM duplicate_rows GROUP BY month ORDER BY month"
    ).fetchall()
    sample = con.execute(
        """SELECT file, line, reason, text FROM rejected
           QUALIFY row_number() OVER (PARTITION BY reason ORDER BY file, line) <= ?
           ORDER BY reason, file, line LIMIT ?""",
        [max(1, sample_size // max(1, len(by_reason))), sample_size],
    ).fetchall()
    return IngestReport(
        rows_read=rows_read,
        rows_rejected=sum(by_reason.values()),
        duplicates=sum(count for _, count in dup_rows),
        rejected_by_reason={reason: by_reason.get(reason, 0) for reason in REASONS if by_reason.get(reason)},
        rows_by_file=rows_by_file,
        rejected_by_file=rejected_by_file,
        duplicates_by_month=dict(dup_rows),
        sample=tuple(RejectedRow(f, line, reason, text[:500]) for f, line, reason, text in sample),
    )


def _execute(con: duckdb.DuckDBPyConnection, files: list[Path], sql: str) -> None:
    """Run the staging query; a read failure names the file that cannot be read (``db.engine_errors``)."""

    def culprit() -> str:
        found = _first_unreadable(files)
        return str(found) if found else str(files[0].parent)

    with engine_errors(str(files[0].parent), culprit):
        con.execute(sql)


def _first_unreadable(files: list[Path]) -> Path | None:
    for path in files:
        if not path.name.lower().endswith(".gz"):
            continue
        try:
            with gzip.open(path, "rb") as handle:
                while handle.read(1 << 20):
                    pass
        except (OSError, EOFError):
            return path
    return None


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _reasons_text(by_reason: dict[str, int]) -> str:
    if not by_reason:
        return "no row at all"
    return ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in by_reason.items())
