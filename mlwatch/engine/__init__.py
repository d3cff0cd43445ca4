"""Where the per-event work runs: DuckDB on this machine (``ingest/``), or Spark (``engine/spark.py``).

Either way the later stages read the same DuckDB session: the ``events`` table (DuckDB) or the
per-user and per-hour tables Spark returned (``engine/aggregated.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from mlwatch.config import Config
    from mlwatch.summary import IngestReport


def read_logs(
    con: duckdb.DuckDBPyConnection, logs: str, config: Config, within: tuple[Path | str, ...] | None = None
) -> IngestReport:
    """Read, validate and de-duplicate the logs with the configured engine, into ``con``.

    Raises:
        InputError: unusable logs (the same message from either engine).
        ConfigError: the Spark engine cannot start.
    """
    if config.engine.kind == "spark":
        from mlwatch.engine import spark

        return spark.read_logs(con, logs, config, within)
    from mlwatch.ingest.logs import read_events

    return read_events(con, logs, config.columns, within=within)
