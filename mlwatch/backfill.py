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
from datetime import date
from pathlib import Path

from mlwatch.config import Config, results_config
from mlwatch.errors import InputError
from mlwatch.monthly.to_date import parse_as_of
from mlwatch.months import month_start, next_month, parse_month
from mlwatch.pipeline import LoadedLogs, RunResult, load_logs, measure_stored_actuals, run_monthly
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
        if run.config.get("as_of"):
            continue  # a month-to-date run does not stand for its month
        same_config = json.dumps(results_config(run.config), sort_keys=True) == wanted
        if same_config and _same_path(run.logs, logs):
            found.setdefault((run.reference_month, run.current_month), run.run_id)
    return found


def _same_path(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b


def backfill_daily(
    logs: str | Path,
    reference: str,
    month: str,
    config: Config,
    state: str | Path,
    since: str | None = None,
    until: str | None = None,
    force: bool = False,
    started_by: str = "cli",
    progress: Callable[[str], None] | None = None,
) -> BackfillResult:
    """Run ``month`` to date for each of its days with events (``--as-of`` each day), reading the logs once.

    The History page then shows the day each check first failed. A day already stored as a
    month-to-date run of the same logs and config is skipped unless ``force``.

    Args:
        since, until: the first and last day to run (default: the month's first and last day with events).

    Raises:
        InputError: unusable logs, months or days; nothing is stored then.
    """
    parse_month(reference)
    parse_month(month)
    first = parse_as_of(since, month) if since else None
    last = parse_as_of(until, month) if until else None
    loaded = load_logs(logs, config, state)
    try:
        days = [
            day for day in _days_with_events(loaded, month) if (not first or day >= first) and (not last or day <= last)
        ]
        if not days:
            raise InputError(
                f"{logs}: no day of {month} with events to run{' in the days asked for' if since or until else ''}"
            )
        stored = _stored_days(state, loaded.logs, config, reference, month)
        results, skipped = [], []
        for day in days:
            if day.isoformat() in stored and not force:
                skipped.append((reference, f"{month} to {day.isoformat()}", stored[day.isoformat()]))
                continue
            if progress:
                progress(f"{month} up to {day.isoformat()} against {reference}")
            results.append(
                run_monthly(
                    loaded.logs, reference, month, config, state, started_by=started_by, loaded=loaded,
                    measure_actuals=False, as_of=day.isoformat(),
                )
            )  # fmt: skip
    finally:
        loaded.con.close()
    return BackfillResult(tuple(results), tuple(skipped))


def _days_with_events(loaded: LoadedLogs, month: str) -> list[date]:
    rows = loaded.con.execute(
        "SELECT DISTINCT CAST(ts AS DATE) AS day FROM events WHERE ts >= ? AND ts < ? ORDER BY day",
        [month_start(month), month_start(next_month(month))],
    ).fetchall()
    return [row[0] for row in rows]


def _stored_days(state: str | Path, logs: str, config: Config, reference: str, month: str) -> dict[str, str]:
    """The newest stored month-to-date run of each day of ``month``, same logs, reference and results config."""
    wanted = json.dumps(results_config(config.to_dict()), sort_keys=True)
    found: dict[str, str] = {}
    for run in store.list_runs(state):  # newest first
        day = run.config.get("as_of")
        if not day or (run.reference_month, run.current_month) != (reference, month) or not _same_path(run.logs, logs):
            continue
        if json.dumps(results_config(run.config), sort_keys=True) == wanted:
            found.setdefault(day, run.run_id)
    return found
