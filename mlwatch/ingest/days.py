"""Reading the logs day by day for month-to-date runs: only the files not read before, kept per day.

A daily ``--as-of`` run keeps, with the state (``state/partials.py``), what reading the logs gave:

- per log file (known by path, size and modification time, or a store object's URL, size and ETag,
  without reading it): its rows, its rejects by reason, its first rejected rows of each reason (the
  quarantine sample), its JSON field counts and the rows that tell a renamed field (``fields.py``),
  and the days of its valid rows;
- per day: one row per user (events, each feature's count, the event names used), one row per event
  name and hour (events, distinct users), the 64-bit hashes of every event id of the day, and how
  many of its rows were dropped as repeated event ids.

A run reads only the files that are new or changed. The days such a file had or has are read again
whole (every file with events on them), and so is every kept day sharing an event id hash with
them (before or after): those days and the new ones are de-duplicated together, exactly as a
whole read would (first by time, file, line and order in the file), and a hash shared by chance
only costs a day read again. A day no changed file touches and sharing no id with one keeps its
aggregates: its duplicates were found among days equally untouched. The ingest report adds the
files' figures (and takes the sample and the renamed fields with the queries of a whole read), so
the run's summary is the one a whole read gives. ``monthly/to_date.py`` builds the run's tables
from the days.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from mlwatch.config import Config
from mlwatch.engine.aggregated import HOURLY_SQL
from mlwatch.errors import InputError
from mlwatch.ingest.db import quote_ident, quote_literal, sql_list
from mlwatch.ingest.fields import field_changes
from mlwatch.ingest.files import LogFile, format_of
from mlwatch.ingest.logs import (
    FIELDS_PRESENT_BY_FILE_SQL,
    REASONS,
    UNPARSED,
    append_rows,
    create_events,
    find_duplicates,
    reasons_text,
    reject_sample,
    require_fields,
)
from mlwatch.ingest.remote import ObjectPath, is_remote, register_filesystems
from mlwatch.state import partials
from mlwatch.state.partials import DayRecord, FileRecord, Partials
from mlwatch.summary import IngestReport

SAMPLE_ROWS = 100  # rejected rows kept per file and reason: the run's sample takes at most this many of a reason
_FIELD_REASONS = ("missing_user_id", "missing_event", "missing_timestamp")  # rows ``fields.field_changes`` reads


def reading_key(logs: str, config: Config, within: tuple[Path | str, ...] | None) -> dict[str, Any]:
    """What the kept partials depend on: the logs location (a local path made absolute), the columns read,
    the features counted, and whether file names are resolved (a browser run's, ``within``)."""
    columns = config.to_dict()["columns"]
    features = {name: list(events) for name, events in config.features.items()}
    where = str(logs) if is_remote(logs) else os.path.abspath(logs)
    return {"logs": where, "browser": within is not None, "columns": columns, "features": features}


def file_identity(path: LogFile) -> str:
    """A file's identity without reading it: path, size, modification time; a store object's URL, size, ETag."""
    if isinstance(path, ObjectPath):
        return path.fingerprint()
    info = Path(path).stat()
    return f"{path}\0{info.st_size}\0{info.st_mtime_ns}"


def update(con: duckdb.DuckDBPyConnection, files: list[LogFile], config: Config, kept: Partials) -> Partials:
    """Read the new and changed files (and the days they share), store their partials and return the current ones.

    Raises:
        InputError: a file cannot be read (as a whole read says it).
        StateError: the partials cannot be written (the previous ones stay current).
    """
    found = {str(f): f for f in files}
    changed = [n for n, f in found.items() if n not in kept.files or kept.files[n].identity != file_identity(f)]
    gone = [n for n in kept.files if n not in found]
    if not changed and not gone:
        return kept
    register_filesystems(con, files)
    create_events(con, files)
    dirty = {day for name in [*changed, *gone] if name in kept.files for day in kept.files[name].days}
    read: set[str] = set()
    while True:
        wanted = [
            f for n, f in found.items() if n not in read and (n in changed or dirty.intersection(kept.files[n].days))
        ]
        if wanted:
            append_rows(con, wanted, config.columns)
            read.update(str(f) for f in wanted)
            dirty |= _days_of(con, changed)
        sharing = _sharing_ids(con, kept, dirty)
        if not wanted and not sharing:
            break
        dirty |= sharing
    batch, folder = partials.new_batch(kept.root)
    try:
        records = _file_records(con, [found[n] for n in changed], batch, folder)
        days = _day_records(con, sorted(dirty), config.features, batch, folder)
    except BaseException:
        partials.discard(kept.root, batch)
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS events")
    files_now = {n: r for n, r in kept.files.items() if n in found and n not in changed} | records
    days_now = {d: r for d, r in kept.days.items() if d not in dirty} | days
    current = Partials(kept.root, files_now, days_now)
    partials.commit(current)
    return current


def ingest_report(
    con: duckdb.DuckDBPyConnection, source: str, files: list[LogFile], config: Config, kept: Partials
) -> IngestReport:
    """The ingest report of a whole read of ``files``, from their kept figures.

    Raises:
        InputError: as a whole read: JSON logs without a required field, only empty files, no valid event.
    """
    records = {str(f): kept.files[str(f)] for f in files}
    json_files = [str(f) for f in files if format_of(f) == "json"]
    present = [records[n].present or [0, 0, 0, 0] for n in json_files]
    require_fields(json_files, tuple(sum(counts) for counts in zip(*present)) or (0, 0, 0, 0), config.columns)  # type: ignore[arg-type]
    by_reason: dict[str, int] = {}
    for record in records.values():
        for reason, count in record.rejected.items():
            by_reason[reason] = by_reason.get(reason, 0) + count
    duplicates: dict[str, int] = {}
    for day, day_record in sorted(kept.days.items()):
        if day_record.duplicates:
            duplicates[day[:7]] = duplicates.get(day[:7], 0) + day_record.duplicates
    report = IngestReport(
        rows_read=sum(r.rows for r in records.values()),
        rows_rejected=sum(by_reason.values()),
        duplicates=sum(duplicates.values()),
        rejected_by_reason={reason: by_reason[reason] for reason in REASONS if by_reason.get(reason)},
        rows_by_file={n: r.rows for n, r in sorted(records.items()) if r.rows},
        rejected_by_file={n: sum(r.rejected.values()) for n, r in sorted(records.items()) if r.rejected},
        duplicates_by_month=duplicates,
        sample=_sample(con, kept, records),
        field_changes=_field_changes(con, kept, records, config),
    )
    if report.rows_read == 0:
        raise InputError(f"{source}: every log file is empty; check the path and the export job")
    if not any(r.events for r in kept.days.values()):
        raise InputError(
            f"{source}: no valid event in {report.rows_read} rows read "
            f"({reasons_text(report.rejected_by_reason)}); check the [columns] names in the config"
        )
    return report


def _days_of(con: duckdb.DuckDBPyConnection, names: list[str]) -> set[str]:
    """The days of the valid rows read from ``names``."""
    rows = con.execute(
        "SELECT DISTINCT strftime(ts, '%Y-%m-%d') FROM events WHERE reason IS NULL AND list_contains(?, file)", [names]
    ).fetchall()
    return {day for (day,) in rows}


def _sharing_ids(con: duckdb.DuckDBPyConnection, kept: Partials, dirty: set[str]) -> set[str]:
    """The kept days, not read again, holding an event id hash of a day read again (as read now or as kept)."""
    others = [kept.day_path(d, "ids") for d, r in kept.days.items() if d not in dirty and r.ids]
    if not others:
        return set()
    before = [kept.day_path(d, "ids") for d in dirty if d in kept.days and kept.days[d].ids]
    probe = (
        "SELECT hash(event_id) AS h FROM events WHERE reason IS NULL AND event_id IS NOT NULL "
        "AND list_contains(?, strftime(ts, '%Y-%m-%d'))"
    )
    if before:
        probe += f" UNION ALL SELECT h FROM read_parquet({sql_list(before)})"
    rows = con.execute(
        f"SELECT DISTINCT strftime(day, '%Y-%m-%d') FROM read_parquet({sql_list(others)}) WHERE h IN ({probe})",
        [sorted(dirty)],
    ).fetchall()
    return {day for (day,) in rows}


def _file_records(
    con: duckdb.DuckDBPyConnection, files: list[LogFile], batch: str, folder: Path
) -> dict[str, FileRecord]:
    """Each file's figures; its reject sample and renamed-field rows go to ``rejected`` and ``fields`` Parquet."""
    if not files:
        return {}
    names = [str(f) for f in files]
    con.execute("CREATE OR REPLACE TEMP TABLE read_files AS SELECT unnest(?::VARCHAR[]) AS file", [names])
    counts: dict[str, dict[str | None, int]] = {n: {} for n in names}
    for name, reason, count in con.execute(
        "SELECT file, reason, count(*) FROM events WHERE file IN (SELECT file FROM read_files) GROUP BY ALL"
    ).fetchall():
        counts[name][reason] = int(count)
    json_files = [str(f) for f in files if format_of(f) == "json"]
    rows = con.execute(FIELDS_PRESENT_BY_FILE_SQL.replace("?", "?::VARCHAR[]"), [list(UNPARSED), json_files])
    present = {row[0]: [int(v) for v in row[1:]] for row in rows.fetchall()}
    days = dict(
        con.execute(
            """SELECT file, list(DISTINCT strftime(ts, '%Y-%m-%d') ORDER BY strftime(ts, '%Y-%m-%d')) FROM events
               WHERE reason IS NULL AND file IN (SELECT file FROM read_files) GROUP BY file"""
        ).fetchall()
    )
    _copy(con, folder, f"""
        SELECT file, line, reason, coalesce(raw, '') AS text, rowid AS pos FROM events
        WHERE reason IS NOT NULL AND file IN (SELECT file FROM read_files)
        QUALIFY row_number() OVER (PARTITION BY file, reason ORDER BY line, rowid) <= {SAMPLE_ROWS}
    """, "rejected.parquet")  # fmt: skip
    _copy(con, folder, f"""
        SELECT file, reason, ts, raw FROM events
        WHERE raw IS NOT NULL AND (reason IS NULL OR reason IN {tuple_sql(_FIELD_REASONS)})
          AND file IN (SELECT file FROM read_files)
    """, "fields.parquet")  # fmt: skip
    return {
        name: FileRecord(
            identity=file_identity(path),
            batch=batch,
            rows=sum(counts[name].values()),
            rejected=dict(sorted((r, n) for r, n in counts[name].items() if r is not None)),
            present=present.get(name, [0, 0, 0, 0]) if name in json_files else None,
            days=list(days.get(name, [])),
        )
        for name, path in zip(names, files)
    }


def _day_records(
    con: duckdb.DuckDBPyConnection, dirty: list[str], features: dict[str, tuple[str, ...]], batch: str, folder: Path
) -> dict[str, DayRecord]:
    """De-duplicate the rows of the days read again and write each day's users, hours and id hashes."""
    con.execute(
        "DELETE FROM events WHERE reason IS NOT NULL OR NOT list_contains(?, strftime(ts, '%Y-%m-%d'))", [dirty]
    )
    find_duplicates(con)
    _copy(con, folder, """
        SELECT strftime(ts, '%Y-%m-%d') AS part, CAST(ts AS DATE) AS day, hash(event_id) AS h
        FROM events WHERE event_id IS NOT NULL
    """, "ids")  # fmt: skip
    dropped = dict(con.execute("SELECT strftime(ts, '%Y-%m-%d'), count(*) FROM duplicate_rows GROUP BY ALL").fetchall())
    with_ids = {
        d
        for (d,) in con.execute(
            "SELECT DISTINCT strftime(ts, '%Y-%m-%d') FROM events WHERE event_id IS NOT NULL"
        ).fetchall()
    }
    con.execute("DELETE FROM events WHERE rowid IN (SELECT row FROM duplicate_rows)")
    kept = dict(con.execute("SELECT strftime(ts, '%Y-%m-%d'), count(*) FROM events GROUP BY ALL").fetchall())
    counts = ", ".join(
        f"count(*) FILTER (WHERE event IN {tuple_sql(events)}) AS {quote_ident(name)}"
        for name, events in features.items()
    )
    _copy(con, folder, f"""
        SELECT strftime(day, '%Y-%m-%d') AS part, day, user_id, count(*) AS events, {counts},
               list_sort(list_distinct(list(event))) AS names
        FROM (SELECT *, CAST(ts AS DATE) AS day FROM events) GROUP BY day, user_id
    """, "users")  # fmt: skip
    _copy(con, folder, f"SELECT strftime(hour, '%Y-%m-%d') AS part, * FROM ({HOURLY_SQL} GROUP BY ALL)", "hours")
    return {
        day: DayRecord(batch, int(kept.get(day, 0)), int(dropped.get(day, 0)), day in with_ids)
        for day in dirty
        if kept.get(day) or dropped.get(day)
    }


def _copy(con: duckdb.DuckDBPyConnection, folder: Path, query: str, name: str) -> None:
    """Write a query's rows as Parquet: one file, or (``part`` column) one folder per day.

    Raises:
        StateError: the disk is full or the folder not writable.
    """
    options = "FORMAT parquet" + ("" if name.endswith(".parquet") else ", PARTITION_BY (part)")
    try:
        con.execute(f"COPY ({query}) TO {quote_literal(str(folder / name))} ({options})")
    except duckdb.IOException as exc:
        raise partials.write_error(folder, exc) from exc


def _sample(con: duckdb.DuckDBPyConnection, kept: Partials, records: dict[str, FileRecord]) -> Any:
    """The quarantine sample of a whole read, from each file's first rejected rows of each reason."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rejected AS SELECT file, line, reason, text
                    FROM ({_kept_rows(kept, records, "rejected.parquet")}) ORDER BY file, pos""")
    try:
        reasons = len({r for record in records.values() for r in record.rejected})
        return reject_sample(con, SAMPLE_ROWS, reasons)
    finally:
        con.execute("DROP TABLE rejected")


def _field_changes(
    con: duckdb.DuckDBPyConnection, kept: Partials, records: dict[str, FileRecord], config: Config
) -> Any:
    """``fields.field_changes`` on the rows it reads of a whole read (the sampled and field-less JSON rows)."""
    con.execute(
        f"CREATE OR REPLACE TABLE events AS SELECT reason, ts, raw FROM ({_kept_rows(kept, records, 'fields.parquet')})"
    )
    try:
        return field_changes(con, config.columns)
    finally:
        con.execute("DROP TABLE events")


def _kept_rows(kept: Partials, records: dict[str, FileRecord], name: str) -> str:
    """A query of the rows of the current files kept in their batches' ``name`` Parquet files."""
    by_batch: dict[str, list[str]] = {}
    for file, record in records.items():
        by_batch.setdefault(record.batch, []).append(file)
    return " UNION ALL ".join(
        f"SELECT * FROM read_parquet({quote_literal(str(kept.batch(batch) / name))}) "
        f"WHERE list_contains({sql_list(files)}, file)"
        for batch, files in sorted(by_batch.items())
    )


def tuple_sql(values: tuple[str, ...]) -> str:
    """An SQL list of string literals for ``IN``: ``('a', 'b')``."""
    return "(" + ", ".join(quote_literal(v) for v in values) + ")"
