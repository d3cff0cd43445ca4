"""The measured performance of stored runs: appended rows of the ``performance`` table (runs stay immutable)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlwatch.state import store


@dataclass(frozen=True)
class Performance:
    """The actual performance of one run's list, measured on the purchases of ``actuals_month``."""

    run_id: str
    actuals_month: str
    computed_at: str
    metrics: dict[str, Any]


def record_performance(state: str | Path, run_id: str, month: str, metrics: dict[str, Any]) -> Performance:
    """Append a measurement to the performance table and the audit trail."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    with store.transaction(state) as con:
        con.execute(
            "INSERT INTO performance (run_id, actuals_month, computed_at, metrics_json) VALUES (?, ?, ?, ?)",
            [run_id, month, at, json.dumps(metrics, sort_keys=True)],
        )
        store.append_audit(
            con,
            "mlwatch",
            "actuals",
            run_id,
            {"actuals_month": month, "r2": metrics.get("r2"), "mae": metrics.get("mae")},
        )
    return Performance(run_id, month, at, metrics)


def latest_performance(state: str | Path) -> dict[str, Performance]:
    """Return the latest measurement of every measured run, keyed by run id."""
    with store.connect(state) as con:
        rows = con.execute(
            "SELECT run_id, actuals_month, computed_at, metrics_json FROM performance ORDER BY id"
        ).fetchall()
    return {row[0]: Performance(row[0], row[1], row[2], json.loads(row[3])) for row in rows}


def exported_since(state: str | Path, run_id: str, since: str) -> bool:
    """True when the run has an export with a control group made after ``since``."""
    with store.connect(state) as con:
        row = con.execute(
            "SELECT 1 FROM exports WHERE run_id = ? AND control_rows > 0 AND at > ?", [run_id, since]
        ).fetchone()
    return row is not None
