"""Backfill: run every month found in the logs in one go, reading the logs once.

Each month after the reference month is run against the fixed reference
month (``[history] compare = "reference"``) or against the month before it
(``"previous"``). A month that already has a stored run with the same
reference month, logs and config is skipped unless ``force``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlwatch.config import Config, results_config
from mlwatch.errors import InputError
from mlwatch.months import next_month, parse_month
from mlwatch.pipeline import RunResult, load_logs, measure_stored_actuals, run_monthly
from mlwatch.state import store


@dataclass(frozen=True)
class BackfillPlan:
    """The (reference, current) pairs to run and the months skipped as already stored."""

    runs: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str, str], ...]  # (reference, current, stored run id)


@dataclass(frozen=True)
class BackfillResult:
    """What a backfill ran and skipped."""

    results: tuple[RunResult, ...]
    skipped: tuple[tuple[str, str, str], ...]

    @property
    def all_open(self) -> bool:
        """True when every run made by this backfill has an open gate."""
        return all(r.gate.is_open for r in self.results)


def plan_backfill(
    months: list[str],
    reference: str,
    config: Config,
    state: str | Path,
    logs: str,
    force: bool = False,
) -> BackfillPlan:
    """Choose the months to run: every month after ``reference`` that has events.

    Raises:
        InputError: the reference month or the month after it has no events, or nothing is left to run.
    """
    parse_month(reference)
    found = f"months with events: {', '.join(months) or 'none'}"
    for month, role in ((reference, "reference"), (next_month(reference), "target")):
        if month not in months:
            raise InputError(f"{logs}: no events in {month} ({role} month of --reference {reference}); {found}")
    later = [m for m in months if m > reference]
    pairs = []
    for current in later:
        ref = reference if config.history.compare == "reference" else _previous_present(months, current)
        if ref is None or next_month(ref) not in months:
            continue
        pairs.append((ref, current))
    stored = _stored_runs(state, logs, config)
    runs, skipped = [], []
    for pair in pairs:
        if pair in stored and not force:
            skipped.append((*pair, stored[pair]))
        else:
            runs.append(pair)
    return BackfillPlan(tuple(runs), tuple(skipped))


def backfill(
    logs: str | Path,
    reference: str,
    config: Config,
    state: str | Path,
    force: bool = False,
    started_by: str = "cli",
    progress: Callable[[str], None] | None = None,
) -> BackfillResult:
    """Read the logs once, run every planned month, then measure the actuals of the stored runs.

    Raises:
        InputError: unusable logs or reference month; nothing is stored then.
    """
    parse_month(reference)
    loaded = load_logs(logs, config, state)
    try:
        plan = plan_backfill(loaded.months(), reference, config, state, loaded.logs, force)
        results = []
        for ref, current in plan.runs:
            if progress:
                progress(f"{current} against {ref}")
            results.append(
                run_monthly(
                    loaded.logs,
                    ref,
                    current,
                    config,
                    state,
                    started_by=started_by,
                    loaded=loaded,
                    measure_actuals=False,
                )
            )
        measure_stored_actuals(loaded.con, state, loaded.logs)
    finally:
        loaded.con.close()
    return BackfillResult(tuple(results), plan.skipped)


def _previous_present(months: list[str], current: str) -> str | None:
    earlier = [m for m in months if m < current]
    return earlier[-1] if earlier else None


def _stored_runs(state: str | Path, logs: str, config: Config) -> dict[tuple[str, str], str]:
    """The newest stored run of each (reference, current) pair read from ``logs`` with the same results config.

    Only the keys that change what a run computes are compared (``results_config``): editing
    accounts, allowed folders or notifications does not make stored months stale.
    """
    wanted = json.dumps(results_config(config.to_dict()), sort_keys=True)
    found: dict[tuple[str, str], str] = {}
    for run in store.list_runs(state):  # newest first
        same_config = json.dumps(results_config(run.config), sort_keys=True) == wanted
        if same_config and _same_path(run.logs, logs):
            found.setdefault((run.reference_month, run.current_month), run.run_id)
    return found


def _same_path(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b
