"""What each Spark task runs on its log files: DuckDB's own staging and validation SQL (``ingest/``).

A task receives whole files (Spark's ``binaryFile`` source, read through the cluster's connectors)
and validates them exactly as the DuckDB engine does, with the same queries: each line read as
text or through DuckDB's CSV reader, rejects counted by reason, timestamps parsed by the same
rules. Only the validated rows leave the task; de-duplication and every aggregate run in Spark.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa

from mlwatch.config import Columns
from mlwatch.ingest import db
from mlwatch.ingest.logs import EVENTS_SCHEMA, first_unreadable, validated_sql
from mlwatch.ingest.staging import drop_rejects, staging_parts

# The rows a task returns: the ``events`` table of the DuckDB engine, plus each row's position in its file.
ROWS_SCHEMA = (
    "user_id STRING, event STRING, ts TIMESTAMP_NTZ, event_id STRING, file STRING, line BIGINT, "
    "reason STRING, raw STRING, pos BIGINT"
)
_BATCH_ROWS = 100_000


def stage_batches(
    batches: Iterator[pa.RecordBatch], columns: Columns, names: dict[str, str]
) -> Iterator[pa.RecordBatch]:
    """Validate the files of each incoming ``binaryFile`` batch (``path``, ``content``) into rows, together
    in one DuckDB session as the DuckDB engine reads them.

    Args:
        names: each file's path as Spark lists it -> the name the DuckDB engine gives it (``file``).

    Raises:
        InputError: a file the DuckDB engine would refuse (a CSV header without a required column...).
    """
    for batch in batches:
        paths, contents = batch.column("path").to_pylist(), batch.column("content").to_pylist()
        if paths:
            yield from _stage_files([names.get(spark_path_key(p), p) for p in paths], contents, columns)


def spark_path_key(path: str) -> str:
    """A file's path as Spark reports it, reduced to compare with a local path or a store URL."""
    text = unquote(path)
    for prefix in ("file://", "file:"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text.replace("s3a://", "s3://", 1)


def _stage_files(names: list[str], contents: list[bytes], columns: Columns) -> Iterator[pa.RecordBatch]:
    with tempfile.TemporaryDirectory(prefix="mlwatch-task-") as folder:
        local: dict[str, str] = {}
        for index, (name, content) in enumerate(zip(names, contents)):
            path = Path(folder) / str(index) / name.rstrip("/").rsplit("/", 1)[-1]  # the name keeps the format
            path.parent.mkdir()
            path.write_bytes(content)
            local[str(path)] = name
        con = db.connect(threads=1)
        try:
            con.execute(f"CREATE TABLE events ({EVENTS_SCHEMA})")
            con.execute("CREATE TABLE names (local VARCHAR, name VARCHAR)")
            con.executemany("INSERT INTO names VALUES (?, ?)", [list(pair) for pair in local.items()])
            drop_rejects(con)
            with db.engine_errors(names[0], lambda: _first_damaged(local)):  # named as the DuckDB engine names it
                for part in staging_parts([Path(p) for p in local], columns):
                    con.execute(f"INSERT INTO events {validated_sql(part, columns)}")
            table = con.sql(
                "SELECT user_id, event, ts, event_id, n.name AS file, line, reason, raw, e.rowid AS pos "
                "FROM events e JOIN names n ON e.file = n.local ORDER BY e.rowid"
            ).to_arrow_table()
        finally:
            con.close()
    yield from table.to_batches(max_chunksize=_BATCH_ROWS)


def _first_damaged(local: dict[str, str]) -> str | None:
    found = first_unreadable([Path(p) for p in local])
    return local[str(found)] if found is not None else None
