"""DuckDB sessions and the one helper that quotes identifiers coming from config."""

from __future__ import annotations

import duckdb


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
