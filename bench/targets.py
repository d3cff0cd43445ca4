"""Issue 16's targets, each beside the figure one ``make bench`` measured: figure | measured | target | met.

Every figure is taken from the results of the same run (``bench/__main__.py``), so the ratios
compare timings of the same files on the same machine at the same time. A figure that was not
measured (no Chromium for the page figures) is reported as such, never as met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.page_floor import PAGE_KINDS
from bench.startup import LIGHT_COMMANDS

# column title -> stage name reported by the pipeline (an estimate stage's name starts with "Estimating")
STAGES = {
    "ingest": "Reading the logs",
    "aggregate": "Aggregating the events per user and per hour",
    "timeline": "Reading the event timeline",
    "features": "Building the monthly features",
    "model": "Training the model on the reference month",
    "checks": "Checking the current month against the reference month",
    "estimate": "Estimating",
    "summary": "Summarising",
    "store": "Storing the run",
}
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Target:
    """One row of the table: what was measured, the target, and whether it was met (None: not measured)."""

    figure: str
    measured: str
    target: str
    met: bool | None
    value: float | None  # the measured number the row is judged on


def target_rows(results: dict[str, Any], target_users: tuple[int, int]) -> list[Target]:
    """Every target of issue 16 with its measured figure; ``target_users``: the sizes of the 300k and 1M targets."""
    medium, large = target_users
    scale = {r["users_generated"]: r for r in results["scale"]}
    rows: list[Target] = []
    for users, limit in ((medium, 6.0), (large, 4.0)):
        run = scale.get(users)
        ratio = run and run["run_seconds"] / run["bare"]["seconds"]
        measured = run and f"{run['run_seconds']:.1f} s / {run['bare']['seconds']:.2f} s = {ratio:.1f}x"
        rows.append(_at_most(f"Whole run / bare aggregation, {users:,} users", ratio, limit, "x", measured))
    for users in (medium, large):
        run = scale.get(users)
        reading = run and stage_seconds(run, "ingest")
        ratio = run and reading / run["bare"]["seconds"]
        measured = run and f"{reading:.1f} s / {run['bare']['seconds']:.2f} s = {ratio:.1f}x"
        rows.append(_at_most(f"Reading the logs / bare aggregation, {users:,} users", ratio, 2.5, "x", measured))

    peer = {p["users_generated"]: p for p in results.get("peer", [])}.get(large)
    run = scale.get(large)
    ratio = peer and run and peer["seconds"] / mlwatch_seconds(run)
    measured = ratio and f"{peer['seconds']:.1f} s against {mlwatch_seconds(run):.1f} s: {ratio:.1f}x"
    rows.append(_at_least(f"Peer pipeline / mlwatch whole run, {large:,} users", ratio, 4.0, "x", measured))

    startup = results.get("startup", {})
    rows.append(_seconds("`mlwatch run` to its first stage (median)", startup.get("run", {}).get("median"), 1.5))
    for command in LIGHT_COMMANDS:
        rows.append(_seconds(f"`mlwatch {command}` answers (median)", startup.get(command, {}).get("median"), 0.7))

    for key, limit in (("model", 1.5), ("estimate", 1.5), ("checks", 2.0)):
        seconds = run and stage_seconds(run, key)
        rows.append(_seconds(f"Stage {STAGES[key]!r}, {large:,} users", seconds, limit))
    peak = run and run["peak_rss_bytes"] / 2**30
    rows.append(_at_most(f"Peak RSS of the whole run, {large:,} users", peak, 3.0, " GB"))
    largest = max(scale)
    done = scale[largest]
    rows.append(
        Target(
            f"Whole run completes, {largest:,} users",
            f"{done['rows_read']:,} events in {done['run_seconds']:.1f} s, {done['peak_rss_bytes'] / 2**30:.2f} GB",
            "completes",
            done["rows_read"] > 0,
            done["run_seconds"],
        )
    )

    to_date = results.get("to_date")
    share = to_date and to_date["day_share_of_month"]
    measured = to_date and (
        f"{to_date['day']['run_seconds']:.1f} s against {to_date['month']['run_seconds']:.1f} s: {share:.2f}x "
        f"({to_date['users_generated']:,} users)"
    )
    rows.append(_at_most("Month to date: the day-20 run / the whole-month run", share, 0.2, "x", measured))

    browser, floor = results.get("pages", {}).get("browser", {}), results.get("pages", {}).get("floor", {})
    for page in results.get("pages", {}).get("server", {}):
        median, least = browser.get(page, {}).get("median"), floor.get(PAGE_KINDS[page], {}).get("median")
        said = (
            median is not None
            and least is not None
            and f"{median:.2f} s (floor, a bare {PAGE_KINDS[page]} page: {least:.2f} s)"
        )
        rows.append(_seconds(f"{page.title()} page, fresh session (median)", median, 1.5, said or None))
    readers = results.get("pages", {}).get("readers")
    if readers is None:
        rows += [Target(f"{name} ({NOT_MEASURED})", NOT_MEASURED, "", None, None) for name in _READER_ROWS]
        return rows
    errors = len(readers["errors"])
    rows.append(
        Target(
            f"{_READER_ROWS[0]}, {readers['sessions']} sessions x {len(readers['pages'])} pages",
            f"{errors} errors in {readers['page_runs']} page runs",
            "no error",
            errors == 0 and readers["page_runs"] > 0,
            float(errors),
        )
    )
    seconds = readers["seconds"]
    rows.append(
        _seconds(
            _READER_ROWS[1],
            seconds["median"],
            1.0,
            seconds["median"] is not None and f"{seconds['median']:.2f} s (p90 {seconds['p90']:.2f} s)",
        )
    )
    growth = readers["rss_per_session_bytes"] / 2**20
    rows.append(
        Target(
            _READER_ROWS[2],
            f"{growth:.1f} MB ({_mb(readers['rss_before_bytes'])} -> {_mb(readers['rss_after_bytes'])})",
            "reported",
            None,
            growth,
        )
    )
    return rows


_READER_ROWS = (
    "Many readers at once: errors",
    "Many readers: server's page run (median)",
    "Many readers: server RSS growth per session",
)


def markdown_table(rows: list[Target]) -> str:
    """The rows as a Markdown table."""
    lines = ["| figure | measured | target | met |", "|---|---|---|---|"]
    for row in rows:
        met = "yes" if row.met else ("–" if row.met is None else "**no**")
        lines.append(f"| {row.figure} | {row.measured} | {row.target} | {met} |")
    return "\n".join(lines) + "\n"


def stage_seconds(run: dict[str, Any], key: str) -> float | None:
    """Seconds of one stage of a whole run (``key`` of ``STAGES``), None when the run had no such stage."""
    return next((s["seconds"] for s in run["stages"] if s["stage"].startswith(STAGES[key])), None)


def mlwatch_seconds(run: dict[str, Any]) -> float:
    """mlwatch's time from its imports to the run stored, the span the peer pipeline is timed over."""
    return run["import_seconds"] + run["run_seconds"]


def _at_most(figure: str, value: float | None, limit: float, unit: str, measured: str | None = None) -> Target:
    if value is None:
        return Target(figure, NOT_MEASURED, f"≤ {limit:g}{unit}", None, None)
    return Target(figure, measured or f"{value:.2f}{unit}", f"≤ {limit:g}{unit}", value <= limit, value)


def _at_least(figure: str, value: float | None, limit: float, unit: str, measured: str | None = None) -> Target:
    if value is None:
        return Target(figure, NOT_MEASURED, f"≥ {limit:g}{unit}", None, None)
    return Target(figure, measured or f"{value:.2f}{unit}", f"≥ {limit:g}{unit}", value >= limit, value)


def _seconds(figure: str, value: float | None, limit: float, measured: str | None = None) -> Target:
    if value is None:
        return Target(figure, NOT_MEASURED, f"< {limit:g} s", None, None)
    return Target(figure, measured or f"{value:.2f} s", f"< {limit:g} s", value < limit, value)


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"
