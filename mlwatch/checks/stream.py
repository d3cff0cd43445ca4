"""Checks on the event stream rather than the monthly table: ``coverage`` and ``known_users`` (DESIGN.md)."""

from __future__ import annotations

import pandas as pd

from mlwatch.checks.rules import MonthLabels
from mlwatch.monthly.changes import when
from mlwatch.monthly.features import Returning
from mlwatch.monthly.timeline import Coverage
from mlwatch.summary import Change, CheckResult, Status


def check_coverage(
    feature: str, coverage: Coverage, changes: list[Change] | tuple[Change, ...], events: tuple[str, ...],
    threshold: float, labels: MonthLabels,
) -> CheckResult:  # fmt: skip
    """Fail when on some judged day the feature's events did not arrive (below ``threshold`` of the usual share)."""
    value, reference = float(len(coverage.gaps)), float(len(coverage.judged))
    if not coverage.judged:
        message = f"No day of {labels.current} had enough expected {feature} events (20) to judge whether they arrived."
        return CheckResult("coverage", feature, Status.PASS, value, reference, threshold, message)
    if not coverage.gaps:
        message = (
            f"{_title(feature)} events arrived on every day of {labels.current} that could be judged"
            f" ({len(coverage.judged)} days, each at {threshold:.0%} or more of its usual share)."
        )
        return CheckResult("coverage", feature, Status.PASS, value, reference, threshold, message)
    message = f"{_title(feature)} events did not arrive on {len(coverage.gaps)} day(s) of {labels.current}: "
    message += f"{_day_ranges(coverage.gaps)} (under {threshold:.0%} of their usual share of the day's events)."
    stops = [c for c in changes if c.event in events and c.kind in ("stopped", "gap")]
    if stops:
        message += " " + " ".join(_why(change, changes) for change in stops)
    return CheckResult("coverage", feature, Status.FAIL, value, reference, threshold, message)


def check_known_users(
    current: Returning, baseline: Returning | None, baseline_label: str, threshold: float, labels: MonthLabels
) -> CheckResult:
    """Fail when the share of returning users falls more than ``threshold`` below the baseline's share."""
    seen = f"{current.share:.1%} of {labels.current}'s users were seen in {labels.reference}"
    if baseline is None:
        message = f"{seen}; there is no earlier month in the logs to compare with, so no baseline."
        return CheckResult("known_users", None, Status.PASS, current.share, None, threshold, message)
    drop = baseline.share - current.share
    status = Status.FAIL if drop > threshold + 1e-12 else Status.PASS
    message = f"{seen} ({baseline_label}: {baseline.share:.1%})."
    if status == Status.FAIL:
        message = (
            f"Only {seen}, against {baseline.share:.1%} for {baseline_label}: the list may not match the customers."
        )
    if current.shape != current.earlier_shape:
        message += (
            f" The user ids changed shape: `{current.shape}` in {labels.current}, `{current.earlier_shape}`"
            f" in {labels.reference} (9 = a digit, a = a letter)."
        )
    return CheckResult("known_users", None, status, current.share, baseline.share, threshold, message)


def _why(change: Change, changes: list[Change] | tuple[Change, ...]) -> str:
    sentence = (
        f"`{change.event}` stopped on {when(change.at)}" if change.kind == "stopped" else change.message.rstrip(".")
    )
    started = [c.event for c in changes if c.kind == "started" and any(link.old == change.event for link in c.replaces)]
    if started:
        names = ", ".join(f"`{name}`" for name in started)
        verb = "replaces" if len(started) == 1 else "replace"
        sentence += (
            f"; {names} started then and probably {verb} it: map {'it' if len(started) == 1 else 'them'} to the feature"
        )
    return sentence + "."


def _day_ranges(days: tuple[str, ...]) -> str:
    """``2026-05-16 to 2026-05-31`` for consecutive days, separated by commas; at most five ranges."""
    stamps = [pd.Timestamp(day) for day in days]
    ranges: list[list[pd.Timestamp]] = []
    for day in stamps:
        if ranges and day - ranges[-1][-1] == pd.Timedelta(days=1):
            ranges[-1].append(day)
        else:
            ranges.append([day])
    texts = [
        r[0].strftime("%Y-%m-%d") if len(r) == 1 else f"{r[0].strftime('%Y-%m-%d')} to {r[-1].strftime('%Y-%m-%d')}"
        for r in ranges
    ]
    return ", ".join(texts[:5]) + (f" and {len(texts) - 5} more" if len(texts) > 5 else "")


def _title(feature: str) -> str:
    return feature.replace("_", " ").capitalize()
