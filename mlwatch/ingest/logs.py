"""Read raw event logs through DuckDB into one validated ``events`` table.

Every line is read as text (JSON) or through DuckDB's CSV reader (CSV), both with
``store_rejects`` (``ingest/staging.py``), then validated in SQL, so that each rejected row is
counted by reason and by file and a sample is kept: DuckDB's ``ignore_errors``
alone would drop bad rows without a trace.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb

from mlwatch.config import Columns
from mlwatch.errors import InputError
from mlwatch.ingest.db import engine_errors, fetch_row, fetch_value, quote_literal
from mlwatch.ingest.fields import field_changes
from mlwatch.ingest.files import LogFile, find_log_files, format_of, open_log_file
from mlwatch.ingest.remote import ObjectPath, register_filesystems
from mlwatch.ingest.staging import drop_rejects, staging_parts
from mlwatch.summary import IngestReport, RejectedRow

REASONS = (
    "invalid_json",
    "invalid_csv",
    "invalid_encoding",
    "line_too_long",
    "missing_user_id",
    "missing_event",
    "missing_timestamp",
    "bad_timestamp",
)
# Epoch numbers at or above this are milliseconds (1e11 s would be the year 5138).
_MS_THRESHOLD = 100_000_000_000
_MAX_EPOCH_S = 7_258_118_400  # 2200-01-01
# Reasons of a line that was never parsed into fields.
UNPARSED = ("invalid_json", "invalid_csv", "invalid_encoding", "line_too_long")
EVENTS_SCHEMA = (
    "user_id VARCHAR, event VARCHAR, ts TIMESTAMP, event_id VARCHAR, file VARCHAR, line BIGINT, "
    "reason VARCHAR, raw VARCHAR"
)


def read_events(
    con: duckdb.DuckDBPyConnection,
    source: str | Path,
    columns: Columns,
    sample_size: int = 100,
    within: tuple[Path | str, ...] | None = None,
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
    register_filesystems(con, files)
    # One table holds every row read; rejected and duplicate rows are deleted from it once counted,
    # so the events are never copied (at tens of millions of rows a copy doubles the memory).
    create_events(con, files)
    append_rows(con, files, columns)
    _check_fields_present(con, files, columns)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE rejected AS
        SELECT file, line, reason, coalesce(raw, '') AS text FROM events WHERE reason IS NOT NULL
    """)
    find_duplicates(con)
    report = replace(_summarise(con, sample_size), field_changes=field_changes(con, columns))
    con.execute("DELETE FROM events WHERE reason IS NOT NULL OR rowid IN (SELECT row FROM duplicate_rows)")
    for column in ("line", "reason", "raw"):
        con.execute(f"ALTER TABLE events DROP COLUMN {column}")
    if report.rows_read == 0:
        raise InputError(f"{source}: every log file is empty; check the path and the export job")
    if fetch_value(con, "SELECT count(*) FROM events") == 0:
        raise InputError(
            f"{source}: no valid event in {report.rows_read} rows read "
            f"({reasons_text(report.rejected_by_reason)}); check the [columns] names in the config"
        )
    return report


def create_events(con: duckdb.DuckDBPyConnection, files: list[LogFile]) -> None:
    """Create the empty ``events`` table; its ``file`` is an ENUM of the files' names, in their sorted order.

    A row holds a small number instead of the file's path (tens of bytes, tens of millions of times):
    inserting 30 million rows takes a second less, and there is less to spill. Queries see the names,
    ordered as the names are (the earliest row of a repeated event id is first by time, file and line).
    """
    for table in ("events", "rejected", "duplicate_rows"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(f"DROP TYPE IF EXISTS {_FILE_TYPE}")
    names = ", ".join(quote_literal(name) for name in sorted({str(f) for f in files}))
    con.execute(f"CREATE TYPE {_FILE_TYPE} AS ENUM ({names})")
    con.execute(f"CREATE TABLE events ({EVENTS_SCHEMA.replace('file VARCHAR', f'file {_FILE_TYPE}')})")


_FILE_TYPE = "log_file"


def append_rows(con: duckdb.DuckDBPyConnection, files: list[LogFile], columns: Columns) -> None:
    """Add every row of ``files`` to ``events``, valid or rejected (with its reason), before de-duplication.

    A file's rows keep their order in the file (``rowid``), whichever other files are read with it.

    Raises:
        InputError: a file cannot be read, or lacks a required column.
    """
    drop_rejects(con)
    for part in staging_parts(files, columns):
        _execute(con, files, f"INSERT INTO events {validated_sql(part, columns)}")
    drop_rejects(con)


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
    """Trim surrounding spaces and turn an empty value into NULL; ``trim`` runs only where there may be a space.

    A value below ``'!'`` (bytes compared) is empty or starts with a space or a control character: one
    comparison of the string's inlined prefix instead of ``starts_with`` and ``= ''`` (0.5 s of 30 million
    rows' reading). ``trim`` removes spaces only, so a value starting with a tab comes out unchanged.
    """
    return f"CASE WHEN {column} < '!' OR ends_with({column}, ' ') THEN nullif(trim({column}), '') ELSE {column} END"


def find_duplicates(con: duckdb.DuckDBPyConnection) -> None:
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


def _check_fields_present(con: duckdb.DuckDBPyConnection, files: list[LogFile], columns: Columns) -> None:
    """JSON objects that never carry a required field mean the config names the wrong field."""
    json_files = [str(p) for p in files if format_of(p) == "json"]
    if not json_files:
        return
    counts = fetch_row(con, FIELDS_PRESENT_SQL.replace("?", "?::VARCHAR[]"), [list(UNPARSED), json_files])
    require_fields(json_files, counts, columns)  # type: ignore[arg-type]


# Of the parsed JSON rows: how many, and how many carry the user id, the event and a timestamp (bound:
# the reasons of unparsed lines, the JSON files). The one definition both engines run (engine/spark.py);
# month-to-date partials keep it per file (``FIELDS_PRESENT_BY_FILE_SQL``) and add the files' counts.
_PRESENT_COUNTS = (
    "count(*), count(user_id), count(event), count(CASE WHEN ts IS NOT NULL OR reason = 'bad_timestamp' THEN 1 END)"
)
_PRESENT_ROWS = "(reason IS NULL OR NOT array_contains(?, reason)) AND array_contains(?, file)"
FIELDS_PRESENT_SQL = f"SELECT {_PRESENT_COUNTS} FROM events WHERE {_PRESENT_ROWS}"
FIELDS_PRESENT_BY_FILE_SQL = f"SELECT file, {_PRESENT_COUNTS} FROM events WHERE {_PRESENT_ROWS} GROUP BY file"


def require_fields(json_files: list[str], counts: tuple[int, int, int, int], columns: Columns) -> None:
    """Refuse JSON logs whose parsed rows never carry a required field.

    Raises:
        InputError: naming the first JSON file and the field, and the [columns] key to set.
    """
    objects, users, events, stamps = counts
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
    return IngestReport(
        rows_read=rows_read,
        rows_rejected=sum(by_reason.values()),
        duplicates=sum(count for _, count in dup_rows),
        rejected_by_reason={reason: by_reason.get(reason, 0) for reason in REASONS if by_reason.get(reason)},
        rows_by_file=rows_by_file,
        rejected_by_file=rejected_by_file,
        duplicates_by_month=dict(dup_rows),
        sample=reject_sample(con, sample_size, len(by_reason)),
    )


def reject_sample(con: duckdb.DuckDBPyConnection, sample_size: int, reasons: int) -> tuple[RejectedRow, ...]:
    """The quarantine sample of the ``rejected`` table: the first rows of each of its ``reasons`` reasons,
    by file, line and read order (``rowid``), ``sample_size`` in all."""
    sample = con.execute(
        """SELECT file, line, reason, text FROM rejected
           QUALIFY row_number() OVER (PARTITION BY reason ORDER BY file, line, rowid) <= ?
           ORDER BY reason, file, line, rowid LIMIT ?""",
        [max(1, sample_size // max(1, reasons)), sample_size],
    ).fetchall()
    return tuple(RejectedRow(f, line, reason, text[:500]) for f, line, reason, text in sample)


def _execute(con: duckdb.DuckDBPyConnection, files: list[LogFile], sql: str) -> None:
    """Run the staging query; a read failure names the file that cannot be read (``db.engine_errors``)."""

    def culprit() -> str:
        found = first_unreadable(files)
        return str(found) if found else str(files[0].parent)

    with engine_errors(str(files[0].parent), culprit):
        con.execute(sql)


def first_unreadable(files: list[LogFile]) -> LogFile | None:
    """The first compressed file that is cut short or damaged; a store object it may not read raises the
    store's own one-line error (``remote.store_errors``: denied, gone, no credentials)."""
    for path in files:
        if isinstance(path, ObjectPath) and not path.name.lower().endswith(".gz"):
            with open_log_file(path) as handle:
                handle.read(1)
            continue
        if not path.name.lower().endswith(".gz"):
            continue
        try:
            with open_log_file(path) as handle:
                while handle.read(1 << 20):
                    pass
        except (OSError, EOFError):
            return path
    return None


def reasons_text(by_reason: dict[str, int]) -> str:
    if not by_reason:
        return "no row at all"
    return ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in by_reason.items())
