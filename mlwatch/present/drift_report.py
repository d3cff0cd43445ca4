"""The Evidently report of a stored run, made when someone first asks for it and kept for the next time.

A run stores its drift scores, not Evidently's page (``monthly/drift.py``). The page is made from the
run's own sealed feature tables, with the run's stored thresholds, sample size and seed, so it shows
exactly the scores the checks and any sign-off used. It is kept in ``runs/<id>/cache/`` (DESIGN.md
"State": rendered for display, not one of the run's hashed artifacts). Runs stored by an earlier
release kept their ``report.html`` beside the summary: that one is shown as it is.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from mlwatch.config import parse_config
from mlwatch.monthly.drift import render_report
from mlwatch.state import store
from mlwatch.state.integrity import CACHE

REPORT = "report.html"
RESULTS = "report.json"


def report_html(state: str | Path, run_id: str) -> str:
    """The run's Evidently report as an HTML page: stored, cached, or made now (seconds at a million users).

    Raises:
        StateError: the run's summary or feature tables cannot be read (the message says to start the run again).
    """
    folder = store.run_path(state, run_id)
    kept = _kept_report(folder)
    if kept is not None:
        return kept.read_text(encoding="utf-8")
    summary = store.read_summary(state, run_id)
    stored = {key: value for key, value in summary.config.items() if key != "as_of"}
    config = parse_config(stored, source=f"run {run_id}")
    columns = list(summary.drift.scores)
    thresholds = {name: config.threshold("drift", name) for name in columns if name != "prediction"}
    thresholds["prediction"] = config.threshold("prediction_drift")
    rendered = render_report(
        store.read_features(state, run_id, "reference"),
        store.read_features(state, run_id, "current"),
        columns,
        {name: thresholds[name] for name in columns},
        config.drift.sample_size,
        config.drift.seed,
    )
    _keep(folder / CACHE, {REPORT: rendered.html, RESULTS: json.dumps(rendered.json)})
    return rendered.html


def report_ready(state: str | Path, run_id: str) -> bool:
    """Whether the run's Evidently report exists already (stored by an earlier release, or made and kept)."""
    return _kept_report(store.run_path(state, run_id)) is not None


def _kept_report(folder: Path) -> Path | None:
    """The report a run folder holds: stored by an earlier release beside the summary, or made and cached."""
    return next((path for path in (folder / REPORT, folder / CACHE / REPORT) if path.is_file()), None)


def _keep(folder: Path, files: dict[str, str]) -> None:
    """Write the cache files whole (a temporary name, then renamed); a failure leaves no file and is only logged:
    the page still shows the report it just made."""
    try:
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            temporary = folder / f".{name}.{secrets.token_hex(4)}.tmp"
            try:
                temporary.write_text(text, encoding="utf-8")
                os.replace(temporary, folder / name)
            finally:
                temporary.unlink(missing_ok=True)
    except OSError as exc:
        logging.getLogger(__name__).warning("%s: the Evidently report was not cached (%s)", folder, exc)
