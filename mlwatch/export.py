"""The prospect list of a run, released only when the gate is open."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlwatch import store
from mlwatch.errors import ExportBlocked
from mlwatch.model import rank_prospects


def export_allowed(state: str | Path, run_id: str) -> bool:
    """True when the run's list may leave the building (its gate is open)."""
    return store.get_run(state, run_id).gate == "open"


def prospect_list(state: str | Path, run_id: str) -> pd.DataFrame:
    """Return the run's ranked prospects (``user_id``, ``predicted_purchases``, ``rank``), for preview."""
    features = store.read_features(state, run_id, "current")
    return rank_prospects(features["user_id"], features["prediction"].to_numpy())


def prospects_csv(state: str | Path, run_id: str) -> bytes:
    """Return the prospect CSV of a run whose gate is open.

    Raises:
        ExportBlocked: the gate is closed.
    """
    if not export_allowed(state, run_id):
        raise ExportBlocked(f"run {run_id}: the gate is closed; the list can be exported once an approver signs it off")
    return prospect_list(state, run_id).to_csv(index=False).encode("utf-8")
