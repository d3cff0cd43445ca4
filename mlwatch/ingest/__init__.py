"""Reading raw event logs: finding files, validating rows, DuckDB sessions, the generated sample."""
