"""The Spark engine (``[engine] kind = "spark"``): the per-event work on a cluster, per-user tables back.

Spark reads the files (``binaryFile``, through the cluster's connectors: ``s3a://``, ``gs://``,
``abfss://``), each task validates its files with DuckDB's own staging SQL (``spark_tasks.py``), and
Spark de-duplicates by ``event_id``, counts rejects, and aggregates with the DuckDB engine's queries
transpiled by sqlglot (``aggregated.month_counts_sql`` and ``user_months_sql``, ``aggregated.HOURLY_SQL``,
``logs.FIELDS_PRESENT_SQL``).
Only the ingest counts, one row per user and month and one row per event name and hour come back
(``aggregated.store_tables``); every later stage runs on this machine as with DuckDB.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from mlwatch.config import Config
from mlwatch.engine import aggregated
from mlwatch.engine.aggregated import HOURLY_SQL
from mlwatch.engine.spark_tasks import ROWS_SCHEMA, stage_batches
from mlwatch.errors import ConfigError, InputError, MlwatchError
from mlwatch.ingest.fields import FIELD_CHANGES_SQL, changes_from_rows
from mlwatch.ingest.files import LogFile, find_log_files, format_of
from mlwatch.ingest.logs import FIELDS_PRESENT_SQL, REASONS, UNPARSED, reasons_text, require_fields
from mlwatch.ingest.remote import ObjectPath
from mlwatch.summary import FieldChange, IngestReport, RejectedRow

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def read_logs(
    con: duckdb.DuckDBPyConnection, logs: str, config: Config, within: tuple[Path | str, ...] | None = None
) -> IngestReport:
    """Run the per-event work in Spark and keep its per-user and per-hour tables in ``con``.

    Raises:
        InputError: unusable logs, as the DuckDB engine says it (same messages).
        ConfigError: Spark cannot start (no Java, an unreachable master).
    """
    files = find_log_files(logs, within)
    spark = session(config.engine.master, config.engine.memory_limit)
    names = {_key(f): str(f) for f in files}
    try:
        raw = spark.read.format("binaryFile").load([_spark_uri(f) for f in files]).select("path", "content")
        staged = raw.mapInArrow(partial(stage_batches, columns=config.columns, names=names), ROWS_SCHEMA)
        staged = staged.persist()
        try:
            return _aggregate(spark, con, staged, logs, files, config)
        finally:
            staged.unpersist()
    except MlwatchError:
        raise
    except Exception as exc:
        raise _translate(logs, exc) from exc


def session(master: str, memory: str = "2GB") -> Any:
    """The Spark session for ``master`` (one per process, reused; replaced when the master differs).

    Args:
        memory: ``[engine] memory_limit``: with a ``local`` master, the heap of the one JVM that runs the
            tasks and holds the per-user table; on a cluster the cluster's own settings apply.

    Raises:
        ConfigError: Spark cannot start or reach the master.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        if active.conf.get("spark.master", None) == master:
            return active
        active.stop()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _PACKAGE_ROOT not in paths:  # the tasks import mlwatch (on a cluster: installed on the executors)
        os.environ["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT, *paths])
    try:
        if master.startswith("sc://"):
            return SparkSession.builder.remote(master).getOrCreate()
        builder = (
            SparkSession.builder.master(master)
            .appName("mlwatch")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            # The driver lists the files it was given (find_log_files did already), not a Spark job.
            .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
            .config("spark.executorEnv.PYTHONPATH", os.environ["PYTHONPATH"])
            .config("spark.pyspark.python", sys.executable)
        )
        if master.startswith("local"):
            builder = (
                builder.config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "8")
                .config("spark.driver.memory", _jvm_size(memory))
            )
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark
    except Exception as exc:
        raise ConfigError(
            f"Spark could not start with master {master} ({_first_line(exc)}); install Java 17 "
            "(openjdk-17-jre-headless) or check [engine] master",
            key="engine.master",
        ) from exc


def spark_sql(sql: str, params: list[object] | None = None, tables: dict[str, str] | None = None) -> str:
    """A DuckDB query of the DuckDB engine, its ``?`` parameters bound, in Spark's SQL dialect.

    Args:
        tables: tables to read under another name (``{"events": "staged"}``).
    """
    tree = sqlglot.parse_one(sql, read="duckdb")
    values = iter(params or [])
    for node in list(tree.find_all(exp.Placeholder, bfs=False)):  # depth first: in the order written
        node.replace(_literal(next(values)))
    for table in tree.find_all(exp.Table):
        if table.name in (tables or {}):
            table.set("this", exp.to_identifier((tables or {})[table.name]))
    return tree.sql(dialect="spark")


def _aggregate(
    spark: Any, con: duckdb.DuckDBPyConnection, staged: Any, logs: str, files: list[LogFile], config: Config
) -> IngestReport:
    staged.createOrReplaceTempView("staged")
    counts = spark.sql("SELECT reason, file, count(*) AS n FROM staged GROUP BY reason, file").collect()
    rows_read = sum(int(r["n"]) for r in counts)
    if rows_read == 0:
        raise InputError(f"{logs}: every log file is empty; check the path and the export job")
    _require_json_fields(spark, files, config)
    # As in the DuckDB engine (logs.find_duplicates): find the few repeated ids by a cheap aggregation
    # first, then order only their rows to keep the first (ts, file, line, read order).
    spark.sql("""
        SELECT file, pos, ts FROM (
            SELECT file, pos, ts,
                   row_number() OVER (PARTITION BY event_id ORDER BY ts, file, line NULLS LAST, pos) AS position
            FROM staged
            WHERE reason IS NULL AND event_id IN (
                SELECT event_id FROM staged WHERE reason IS NULL AND event_id IS NOT NULL
                GROUP BY event_id HAVING count(*) > 1
            )
        ) WHERE position > 1
    """).createOrReplaceTempView("duplicate_rows")
    valid = spark.sql("""
        SELECT s.user_id, s.event, s.ts, s.event_id, s.file FROM staged s
        LEFT ANTI JOIN duplicate_rows d ON s.file = d.file AND s.pos = d.pos
        WHERE s.reason IS NULL
    """).persist()  # every aggregate reads it: de-duplicated once
    valid.createOrReplaceTempView("events")
    try:
        return _summarise(spark, con, logs, counts, rows_read, config)
    finally:
        valid.unpersist()


def _summarise(
    spark: Any, con: duckdb.DuckDBPyConnection, logs: str, counts: list[Any], rows_read: int, config: Config
) -> IngestReport:
    report = replace(_report(spark, counts, rows_read), field_changes=_field_changes(spark, config))
    user_months = _user_months(spark, config)
    if user_months.num_rows == 0:
        raise InputError(
            f"{logs}: no valid event in {report.rows_read} rows read "
            f"({reasons_text(report.rejected_by_reason)}); check the [columns] names in the config"
        )
    aggregated.store_tables(con, user_months, _event_hours(spark), config.features)
    return report


def _user_months(spark: Any, config: Config) -> Any:
    """One row per user and month, every month of the logs: the DuckDB engine's query (transpiled), with the
    event names each user used (for ``user_names``), in one Spark job."""
    counts = aggregated.month_counts_sql(config.features, names=True)
    sql = f"WITH month_counts AS ({counts}) {aggregated.user_months_sql(config.features, config.target, names=True)}"
    return spark.sql(spark_sql(sql)).toArrow()


def _event_hours(spark: Any) -> Any:
    return spark.sql(spark_sql(HOURLY_SQL + " GROUP BY ALL")).toArrow()


def _field_changes(spark: Any, config: Config) -> tuple[FieldChange, ...]:
    """``fields.FIELD_CHANGES_SQL`` on every row read (DuckDB's ``json_valid``: Spark finds no keys in invalid JSON)."""
    sql = spark_sql(FIELD_CHANGES_SQL, tables={"events": "staged"})
    sql = sql.replace("JSON_VALID(raw)", "(NOT JSON_OBJECT_KEYS(raw) IS NULL)")
    return changes_from_rows([tuple(row) for row in spark.sql(sql).collect()], config.columns)


def _require_json_fields(spark: Any, files: list[LogFile], config: Config) -> None:
    json_files = [str(f) for f in files if format_of(f) == "json"]
    if json_files:
        row = spark.sql(spark_sql(FIELDS_PRESENT_SQL, [list(UNPARSED), json_files], {"events": "staged"})).collect()[0]
        require_fields(json_files, tuple(int(v) for v in row), config.columns)  # type: ignore[arg-type]


def _report(spark: Any, counts: list[Any], rows_read: int, sample_size: int = 100) -> IngestReport:
    by_reason: dict[str, int] = {}
    rows_by_file: dict[str, int] = {}
    rejected_by_file: dict[str, int] = {}
    for row in counts:
        reason, file, n = row["reason"], row["file"], int(row["n"])
        rows_by_file[file] = rows_by_file.get(file, 0) + n
        if reason is not None:
            by_reason[reason] = by_reason.get(reason, 0) + n
            rejected_by_file[file] = rejected_by_file.get(file, 0) + n
    dup_rows = spark.sql(
        "SELECT date_format(ts, 'yyyy-MM') AS month, count(*) AS n FROM duplicate_rows GROUP BY 1 ORDER BY 1"
    ).collect()
    per_reason = max(1, sample_size // max(1, len(by_reason)))
    sample = spark.sql(f"""
        SELECT file, line, reason, substring(coalesce(raw, ''), 1, 500) AS text FROM (
            SELECT *, row_number() OVER (PARTITION BY reason ORDER BY file, line NULLS LAST, pos) AS k
            FROM staged WHERE reason IS NOT NULL
        ) WHERE k <= {per_reason} ORDER BY reason, file, line NULLS LAST, pos LIMIT {sample_size}
    """).collect()
    return IngestReport(
        rows_read=rows_read,
        rows_rejected=sum(by_reason.values()),
        duplicates=sum(int(r["n"]) for r in dup_rows),
        rejected_by_reason={reason: by_reason[reason] for reason in REASONS if by_reason.get(reason)},
        rows_by_file=dict(sorted(rows_by_file.items())),
        rejected_by_file=dict(sorted(rejected_by_file.items())),
        duplicates_by_month={r["month"]: int(r["n"]) for r in dup_rows},
        sample=tuple(RejectedRow(r["file"], r["line"], r["reason"], r["text"]) for r in sample),
    )


def _jvm_size(size: str) -> str:
    """``2GB`` / ``512MiB`` (the [engine] memory_limit forms) as a JVM size: ``2g`` / ``512m``."""
    found = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT])i?B\s*$", size, re.IGNORECASE)
    if not found:
        return "2g"
    number, unit = float(found.group(1)), found.group(2).lower()
    return f"{int(number * 1024)}{'kmgt'['kmgt'.index(unit) - 1]}" if number % 1 else f"{int(number)}{unit}"


def _literal(value: object) -> exp.Expression:
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("TIMESTAMPNTZ"))
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[_literal(v) for v in value])
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _spark_uri(path: LogFile) -> str:
    """Where Spark reads a file: a local file by URI, a store object through the cluster's connector."""
    if not isinstance(path, ObjectPath):
        return Path(path).resolve().as_uri()
    scheme, rest = path.url.split("://", 1)
    if path.scheme == "s3":
        return f"s3a://{rest}"
    if path.scheme == "az":
        container, _, key = rest.partition("/")
        account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME", "")
        return f"abfss://{container}@{account}.dfs.core.windows.net/{key}"
    return f"gs://{rest}" if scheme in ("gs", "gcs") else path.url


def _key(path: LogFile) -> str:
    """The name ``spark_tasks.spark_path_key`` gives the file Spark lists for ``path``."""
    if isinstance(path, ObjectPath):
        return path.url if path.scheme != "az" else _spark_uri(path)
    return str(Path(path).resolve())


def _translate(logs: str, exc: Exception) -> MlwatchError:
    """A task's InputError comes back inside Spark's error text: raise it again as it was."""
    text = str(exc)
    found = re.search(r"mlwatch\.errors\.(InputError|ConfigError): (.+)", text)
    if found:
        kind = InputError if found.group(1) == "InputError" else ConfigError
        return kind(found.group(2).strip())
    cause = re.findall(r"^(\w+(?:Error|Exception): .+)$", text, re.MULTILINE)
    words = cause[-1] if cause else _first_line(exc)
    return InputError(f"{logs}: Spark failed ({words[:300]}); nothing was stored", path=logs)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
