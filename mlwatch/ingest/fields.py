"""Renamed fields: rows rejected for a missing required field that carry a field the valid rows do not.

The reader keeps the text of every JSON line without a required field and of one valid line in
``staging.FIELD_SAMPLE``; comparing the fields each carries finds the new name, and the hour of
the first such row says when the producer changed, so the fix is one ``[columns]`` line.
"""

from __future__ import annotations

import duckdb

from mlwatch.config import Columns
from mlwatch.summary import FieldChange

MIN_ROWS = 20  # fewer rows without a field are stray bad rows, not a renamed field
SHARE_MISSING = 0.9  # the new field is in at least this share of the rows missing the required one ...
SHARE_VALID = 0.01  # ... and in at most this share of the sampled valid rows
_KEYS = {"missing_user_id": "user_id", "missing_event": "event", "missing_timestamp": "timestamp"}


# Per required field missing from enough rows: each field those rows carry that the sampled valid rows
# (almost) never carry, with how many rows carry it and the first hour. The one definition both engines
# run (the Spark engine through sqlglot, engine/spark.py).
FIELD_CHANGES_SQL = f"""
        WITH missing AS (
            SELECT reason, ts, json_keys(raw) AS keys FROM events
            WHERE reason IN ('missing_user_id', 'missing_event', 'missing_timestamp')
              AND raw IS NOT NULL AND json_valid(raw)
        ), totals AS (
            SELECT reason, count(*) AS n FROM missing GROUP BY reason HAVING count(*) >= {MIN_ROWS}
        ), valid AS (
            SELECT unnest(json_keys(raw)) AS k FROM events WHERE reason IS NULL AND raw IS NOT NULL AND json_valid(raw)
        ), valid_keys AS (
            SELECT k, count(*) AS n FROM valid GROUP BY k
        ), valid_rows AS (
            SELECT count(*) AS n FROM events WHERE reason IS NULL AND raw IS NOT NULL AND json_valid(raw)
        ), found AS (
            SELECT reason, unnest(keys) AS k, ts FROM missing WHERE reason IN (SELECT reason FROM totals)
        )
        SELECT f.reason, f.k, count(*) AS rows, min(f.ts) AS since, t.n
        FROM found f JOIN totals t ON f.reason = t.reason LEFT JOIN valid_keys v ON v.k = f.k
        GROUP BY f.reason, f.k, t.n, v.n
        HAVING count(*) >= {SHARE_MISSING} * t.n AND coalesce(v.n, 0) <= {SHARE_VALID} * (SELECT n FROM valid_rows)
        ORDER BY f.reason, rows DESC, f.k
        """


def field_changes(con: duckdb.DuckDBPyConnection, columns: Columns) -> tuple[FieldChange, ...]:
    """Find renamed fields among the rows of ``events`` rejected for a missing field (before they are deleted)."""
    return changes_from_rows(con.execute(FIELD_CHANGES_SQL).fetchall(), columns)


def changes_from_rows(rows: list[tuple], columns: Columns) -> tuple[FieldChange, ...]:
    """Turn the rows of ``FIELD_CHANGES_SQL`` (reason, field, rows, first time, rows missing it) into changes."""
    by_reason: dict[str, list[tuple[str, int, object]]] = {}
    totals: dict[str, int] = {}
    for reason, key, count, since, total in rows:
        by_reason.setdefault(reason, []).append((key, count, since))
        totals[reason] = int(total)
    changes = []
    for reason, found in by_reason.items():
        key = _KEYS[reason]
        first = min((since for _, _, since in found if since is not None), default=None)
        changes.append(
            FieldChange(
                key=key,
                field=getattr(columns, key),
                rows=totals[reason],
                since=first.strftime("%Y-%m-%dT%H:00:00Z") if first is not None else None,  # type: ignore[attr-defined]
                new_fields=tuple(name for name, _, _ in found),
            )
        )
    return tuple(changes)
