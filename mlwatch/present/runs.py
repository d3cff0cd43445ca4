"""Which stored run a person lands on, and how a run is named in the run picker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from mlwatch.months import month_of, month_start
from mlwatch.state.store import RunRecord


def newest_of_month(records: Sequence[RunRecord]) -> dict[str, str]:
    """The newest complete (not month-to-date) run id of each month; ``records`` newest first."""
    newest: dict[str, str] = {}
    for record in records:
        if not record.config.get("as_of"):
            newest.setdefault(record.current_month, record.run_id)
    return newest


def landing_run(records: Sequence[RunRecord], today: date) -> str | None:
    """The run a page opens on: the newest run of the latest complete month.

    A month is complete once it has ended and a run checked all of it (not month to date), so a
    run of an older month stored later (a backfill) or a month-to-date alarm does not take its
    place. Without a complete month, the newest run. ``records`` newest first.
    """
    if not records:
        return None
    this_month = month_of(today)
    newest = {m: r for m, r in newest_of_month(records).items() if m < this_month}
    return newest[max(newest)] if newest else records[0].run_id


def run_label(run: RunRecord, signed: set[str], newest: dict[str, str]) -> str:
    """A run in the picker, short enough for the sidebar: ``May 2026 · closed · superseded · 06-02 18:00``.

    The state is the gate (open, closed) or ``signed off``; ``superseded`` when a newer complete
    run of the month exists; ``to <day>`` for a month-to-date run.
    """
    state = "signed off" if run.run_id in signed else run.gate
    as_of = run.config.get("as_of")
    if as_of:
        state += f" · to {as_of[5:]}"
    elif newest.get(run.current_month) != run.run_id:
        state += " · superseded"
    month = month_start(run.current_month).strftime("%b %Y")
    return f"{month} · {state} · {run.created_at[5:16].replace('T', ' ')}"
