"""Staging queries: each log format read into the same columns, with the lines a reader refused.

JSON Lines are read as text and CSV through DuckDB's CSV reader, both with ``store_rejects``:
a line that is not UTF-8, or longer than ``MAX_LINE_BYTES``, becomes a rejected row with its file
and line instead of failing the whole run, and the good lines around it are all read.
Every query gives ``file, line, reason, raw, user_id, event, ts_text, ts_value, event_id``
(see ``logs.validated_sql``); ``reason`` is set only for a line that could not be parsed at all.
"""

from __future__ import annotations

import csv
import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from mlwatch.config import Columns
from mlwatch.errors import InputError
from mlwatch.ingest.db import quote_ident, quote_literal, sql_list
from mlwatch.ingest.files import LogFile, format_of, open_log_file
from mlwatch.ingest.remote import ObjectPath

# The longest line read (bytes, newline excluded); a longer line is rejected as `line_too_long`.
# An event is a few hundred bytes: 10 MB leaves room for huge payloads and bounds DuckDB's buffers.
MAX_LINE_BYTES = 10_000_000
# DuckDB's error types for a line it refused, and the reason each becomes (else the format's own).
# RE2 patterns (SQL literals) of a comma before a closing bracket, and of a JSON string.
_TRAILING_COMMA = quote_literal(r",[ \t\r\n]*[\]}]")
_JSON_STRING = quote_literal(r'"([^"\\]|\\.)*"')
# One valid JSON line in this many (by hash) keeps its text, to know which fields the valid rows carry.
FIELD_SAMPLE = 1000
# A rejected line keeps at most this many characters of its text, as DuckDB's rejects do.
_RAW_CHARS = 10_000
# Prefix of the rejects tables (``<prefix><name>_rejects`` and ``<prefix><name>_scans``).
_PREFIX = "staging_"
_REJECT_REASONS = {"INVALID ENCODING": "invalid_encoding", "LINE SIZE OVER MAXIMUM": "line_too_long"}


def drop_rejects(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the rejects tables an earlier read left on this connection: DuckDB would append to them."""
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)", [_PREFIX]
    ).fetchall()
    for (name,) in names:
        con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(name)}")


def staging_parts(files: list[LogFile], columns: Columns, field_sample: int = FIELD_SAMPLE) -> list[str]:
    """Return the staging queries to insert, in order: a query reading a rejects table follows the read filling it.

    Args:
        field_sample: one valid JSON line in this many keeps its text (1: every line, for a small sample
            whose fields are all compared, as ``contract check`` does).
    """
    json_files = [str(p) for p in files if format_of(p) == "json"]
    csv_files = [p for p in files if format_of(p) == "csv"]
    parquet_files = [p for p in files if format_of(p) == "parquet"]
    parts = json_lines_sql(json_files, columns, field_sample) if json_files else []
    parts += _csv_parts(csv_files, columns)
    parts += _parquet_parts(parquet_files, columns)
    return parts


def json_lines_sql(files: list[str], columns: Columns, field_sample: int = FIELD_SAMPLE) -> list[str]:
    """Staging queries of JSON Lines files: each line read as text, so an invalid line is kept and counted.

    The first query gives the lines read; the second, run after it, the lines DuckDB refused.
    """
    paths = [f"$.{_json_key(name)}" for name in (columns.user_id, columns.event, columns.timestamp)]
    paths.append(f"$.{_json_key(columns.event_id)}" if columns.event_id else "$.__no_event_id__")
    # One JSON parse per line: extract all fields at once as a list.
    rows = f"""
        SELECT filename AS file, NULL::BIGINT AS line,
               CASE WHEN too_long THEN 'line_too_long' WHEN NOT ok THEN 'invalid_json' END AS reason,
               CASE WHEN NOT ok THEN left(concat_ws('\x01', text, rest), {_RAW_CHARS})
                    -- kept for a row without a required field, and for a sample of the others:
                    -- the fields they carry tell a renamed field (``fields.field_changes``)
                    WHEN f[1] IS NULL OR f[2] IS NULL OR f[3] IS NULL OR hash(text) % {int(field_sample)} = 0
                    THEN left(text, {_RAW_CHARS}) END AS raw,
               f[1] AS user_id, f[2] AS event, f[3] AS ts_text, NULL::TIMESTAMP AS ts_value, f[4] AS event_id
        FROM (
            SELECT filename, text, rest, too_long, ok,
                   json_extract_string(CASE WHEN ok THEN text END, {sql_list(paths)}) AS f
            FROM (
                SELECT filename, text, rest, too_long,
                       CASE WHEN NOT too_long AND rest IS NULL AND coalesce(json_valid(text), false)
                                 AND (starts_with(text, '{{') OR starts_with(ltrim(text), '{{'))
                            THEN {_strict_json("text")} ELSE false END AS ok
                FROM (
                    SELECT filename, text, rest,
                           strlen(text) + coalesce(strlen(rest) + 1, 0) > {MAX_LINE_BYTES} AS too_long
                    {_text_lines_sql(files)}
                )
            )
        )
    """
    return [rows, _rejects_sql("json", "invalid_json")]


def _text_lines_sql(files: list[str]) -> str:
    """``FROM`` clause giving each non-empty line of the files as ``text`` (and ``filename``).

    No byte is a safe delimiter, so a line holding the one used (0x01) gets the rest after it in
    ``rest``: such a line is never valid JSON (a control character), and is counted, not cut.
    The null string is a newline, which no field holds: ``text`` is never NULL and only empty
    lines (which are not rows) are skipped.
    """
    return f"""
        FROM read_csv({sql_list(files)}, columns = {{'text': 'VARCHAR', 'rest': 'VARCHAR'}}, delim = '\x01',
                      quote = '', escape = '', header = false, auto_detect = false, null_padding = true,
                      nullstr = '\n', filename = true, strict_mode = false, {_rejects_options("json")})
    """


def _strict_json(column: str) -> str:
    """True unless the text uses what DuckDB's JSON parser accepts beyond RFC 8259.

    That parser takes a comma before a closing bracket and the words NaN and Infinity; outside
    strings they make a line invalid JSON. Only lines holding one of them anywhere are scanned again,
    without their strings (one pattern with the words in it would cost a third of the read).
    """

    def lenient(text: str) -> str:
        return f"regexp_matches({text}, {_TRAILING_COMMA}) OR contains({text}, 'NaN') OR contains({text}, 'Infinity')"

    bare = f"regexp_replace({column}, {_JSON_STRING}, '', 'g')"
    return f"CASE WHEN {lenient(column)} THEN NOT ({lenient(bare)}) ELSE true END"


def _rejects_options(name: str) -> str:
    """``read_csv`` options that record the refused lines in the tables ``staging_<name>_rejects`` and ``..._scans``.

    DuckDB counts the line break in a line's size except on a file's first line: its limit is set
    2 bytes over ``MAX_LINE_BYTES``, so that every line up to it is read, and the queries compare
    the size of what they read with ``MAX_LINE_BYTES`` themselves.
    """
    return (
        f"store_rejects = true, rejects_table = '{_PREFIX}{name}_rejects', rejects_scan = '{_PREFIX}{name}_scans', "
        f"max_line_size = {MAX_LINE_BYTES + 2}"
    )


def _rejects_sql(name: str, other_reason: str) -> str:
    """One rejected row per line DuckDB refused in a read with ``_rejects_options(name)``.

    A line too long or not UTF-8 gets its own reason (the first wins when both apply: the long
    line was never decoded); any other error is the format's ``other_reason``. DuckDB keeps the
    line's text with invalid bytes replaced and a long line cut at 10,000 characters.
    """
    reason = "CASE " + " ".join(
        f"WHEN bool_or(e.error_type = {quote_literal(kind)}) THEN {quote_literal(why)}"
        for kind, why in reversed(_REJECT_REASONS.items())
    )
    return f"""
        SELECT s.file_path AS file, e.line::BIGINT AS line, {reason} ELSE {quote_literal(other_reason)} END AS reason,
               min(e.csv_line) AS raw,
               NULL AS user_id, NULL AS event, NULL AS ts_text, NULL::TIMESTAMP AS ts_value, NULL AS event_id
        FROM {_PREFIX}{name}_rejects e JOIN {_PREFIX}{name}_scans s ON e.scan_id = s.scan_id AND e.file_id = s.file_id
        GROUP BY s.file_path, e.scan_id, e.file_id, e.line
    """


def _csv_parts(files: list[LogFile], columns: Columns) -> list[str]:
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in files:
        header = csv_header(path)
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
    A CSV line's size is that of its fields and commas (the quotes around a field are not counted).
    """
    spec = "{" + ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in header) + "}"
    event_id = f"{quote_ident(columns.event_id)}" if columns.event_id in header else "NULL::VARCHAR"
    # Every column is named (DuckDB decodes only the columns a query uses), so a bad byte anywhere
    # on the line makes it a reject, as in JSON Lines.
    fields = [f"coalesce({quote_ident(h)}, '')" for h in header]
    size = " + ".join(f"strlen({f})" for f in fields) + f" + {len(fields) - 1}"
    rows = f"""
        SELECT filename AS file, NULL::BIGINT AS line,
               CASE WHEN {size} > {MAX_LINE_BYTES} THEN 'line_too_long' END AS reason,
               CASE WHEN {size} > {MAX_LINE_BYTES} THEN left(concat_ws(',', {", ".join(fields)}), {_RAW_CHARS}) END AS raw,
               {quote_ident(columns.user_id)} AS user_id, {quote_ident(columns.event)} AS event,
               {quote_ident(columns.timestamp)} AS ts_text, NULL::TIMESTAMP AS ts_value, {event_id} AS event_id
        FROM read_csv(
            {sql_list(files)}, columns = {spec}, header = true, delim = ',', quote = '"', escape = '"',
            auto_detect = false, filename = true, {_rejects_options(f"csv_{index}")})
    """
    return [rows, _rejects_sql(f"csv_{index}", "invalid_csv")]


def csv_header(path: LogFile) -> list[str] | None:
    """The column names on a CSV file's first line; None for an empty file.

    Only that line is read and decoded: a bad byte further down is a rejected row, not an error.

    Raises:
        InputError: the file cannot be read, or its header is not a UTF-8 line of at most ``MAX_LINE_BYTES``.
    """
    try:
        with open_log_file(path) as handle:
            first = handle.readline(MAX_LINE_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read the file ({exc}); check that it is complete") from exc
    if len(first.rstrip(b"\r\n")) > MAX_LINE_BYTES:
        raise InputError(f"{path}: the CSV header line is over {MAX_LINE_BYTES:,} bytes; check that the file is CSV")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: the CSV header is not UTF-8 ({exc}); re-export the file as UTF-8") from exc
    if not text.strip():
        return None
    return [name.strip() for name in next(csv.reader(io.StringIO(text)))]


def _parquet_parts(files: list[LogFile], columns: Columns) -> list[str]:
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


def _parquet_schema(path: LogFile, columns: Columns) -> tuple[bool, str, tuple[str, ...]] | None:
    """Return whether a Parquet file has the event id, the kind of its timestamp column and the types
    of the columns read; None when it has no row.

    Raises:
        InputError: the file is not Parquet, or a required column is missing.
    """
    try:
        parquet = pq.ParquetFile(path.open() if isinstance(path, ObjectPath) else path)
    except InputError:
        raise
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


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'
