"""DuckDB sessions, the one boundary that turns DuckDB failures into mlwatch errors, and SQL quoting."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import duckdb

from mlwatch.errors import InputError


def connect(
    memory_limit: str | None = None, temp_directory: str | None = None, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB session in UTC that never downloads extensions.

    Args:
        memory_limit: DuckDB's memory limit (e.g. "4GB"); beyond it DuckDB spills to disk.
        temp_directory: where DuckDB spills.
        threads: worker threads (default: one per core).
    """
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": True}
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    if temp_directory:
        con.execute(f"SET temp_directory = {quote_literal(temp_directory)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def quote_ident(name: str) -> str:
    """Quote an identifier (a column name from config) for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal where DuckDB does not accept a bound parameter (table functions, SET)."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: list[str]) -> str:
    """Render a list of string literals, e.g. the file list of a table function."""
    return "[" + ", ".join(quote_literal(v) for v in values) + "]"


def fetch_value(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    """Run a query and return its single value (results are always fully fetched)."""
    return con.execute(sql, params or []).fetchall()[0][0]


def fetch_row(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> tuple[object, ...]:
    """Run a query and return its first row, fetching the whole result."""
    return tuple(con.execute(sql, params or []).fetchall()[0])


@contextlib.contextmanager
def engine_errors(subject: str, culprit: Callable[[], str | None] | None = None) -> Iterator[None]:
    """Turn a DuckDB failure into a one-line InputError: the one place that does it.

    Running out of memory or spill space names the [engine] keys to change. With ``culprit``
    (reading the logs), another failure names the file found unreadable, else ``subject``.

    Args:
        subject: what was being processed (the logs path).
        culprit: returns the file to blame for a read failure, or None when no file is at fault.
    """
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise InputError(
            f"{subject}: DuckDB ran out of memory or spill space ({_first_line(exc)}); raise [engine] "
            "memory_limit or point [engine] temp_directory to a disk with more room",
            path=subject,
            key="engine.memory_limit",
        ) from exc
    except duckdb.Error as exc:
        if culprit is None:
            raise InputError(
                f"{subject}: DuckDB failed ({_first_line(exc)}); nothing was stored", path=subject
            ) from exc
        where = culprit() or subject
        raise InputError(
            f"{where}: cannot read the logs ({_first_line(exc)}); check that the file is complete and not corrupted",
            path=where,
        ) from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
