"""The run a page opens on and the run picker's labels."""

from __future__ import annotations

from datetime import date

from mlwatch.present.runs import landing_run, newest_of_month, run_label
from mlwatch.state.store import RunRecord

TODAY = date(2026, 12, 1)


def _run(run_id: str, month: str, created: str, gate: str = "closed", as_of: str | None = None) -> RunRecord:
    config = {"as_of": as_of} if as_of else {}
    return RunRecord(run_id, created, "2026-03", month, "logs", gate, "", "", config, 0, 0, 0, 0, 0, "cli:ops")


def test_pages_open_on_the_newest_complete_run_of_the_latest_month_not_the_newest_run() -> None:
    runs = [  # newest first, as the state lists them
        _run("dec-to-date", "2026-12", "2026-12-01T09:00", as_of="2026-12-01"),  # this month: not complete
        _run("may-backfill", "2026-05", "2026-11-30T09:00"),  # an older month stored later
        _run("nov-rerun", "2026-11", "2026-11-29T09:00", gate="open"),
        _run("nov-first", "2026-11", "2026-11-28T09:00"),
        _run("nov-to-date", "2026-11", "2026-11-15T09:00", as_of="2026-11-14"),
    ]
    assert landing_run(runs, TODAY) == "nov-rerun"
    assert landing_run(runs[:1], TODAY) == "dec-to-date"  # nothing complete yet: the newest run
    assert landing_run([], TODAY) is None


def test_picker_labels_are_short_and_say_signed_off_superseded_and_to_date() -> None:
    runs = [
        _run("nov-to-date", "2026-11", "2026-11-29T10:00", as_of="2026-11-28"),
        _run("nov-rerun", "2026-11", "2026-11-28T09:05", gate="open"),
        _run("nov-first", "2026-11", "2026-11-27T08:00"),
    ]
    newest = newest_of_month(runs)
    labels = [run_label(r, {"nov-first"}, newest) for r in runs]
    assert labels == [
        "Nov 2026 · closed · to 11-28 · 11-29 10:00",
        "Nov 2026 · open · 11-28 09:05",
        "Nov 2026 · signed off · superseded · 11-27 08:00",
    ]
    assert max(len(label) for label in labels) <= 48
