"""Checks on what scored the list: ``scores_coverage`` (a scoring job's output against the month's users) and
``model_changed`` (another model than the previous month's), DESIGN.md."""

from __future__ import annotations

from mlwatch.checks.rules import MonthLabels
from mlwatch.monthly.scorers import ModelSource
from mlwatch.summary import CheckResult, Status


def check_scores_coverage(
    users: int, scored_users: int, scores: int, matched: int, coverage: float, unmatched: float, labels: MonthLabels
) -> CheckResult:
    """Fail when under ``coverage`` of the month's users have a score, or over ``unmatched`` of the scores match
    no user of the month (a scoring job run on the wrong month). ``value``: the share of users with a score."""
    share = scored_users / users if users else 0.0
    stray = (scores - matched) / scores if scores else 0.0
    status = Status.FAIL if share < coverage or stray > unmatched else Status.PASS
    message = (
        f"{scored_users:,} of {users:,} users of {labels.current} ({share:.1%}) have a score; "
        f"{scores - matched:,} of {scores:,} scores ({stray:.1%}) match no user of the month."
    )
    if stray > unmatched:
        message += " The scoring job probably ran on another month's users: do not use this list."
    elif share < coverage:
        message += f" Users without a score are not in the list (at least {coverage:.0%} are expected to have one)."
    return CheckResult("scores_coverage", None, status, share, None, coverage, message)


def check_model_changed(current: ModelSource, previous: ModelSource | None, labels: MonthLabels,
                        previous_month: str) -> CheckResult:  # fmt: skip
    """Warn when another model scored this run than the newest stored run of the previous month."""
    if previous is None:
        message = f"No stored run of {previous_month} recorded its model: nothing to compare with."
        return CheckResult("model_changed", None, Status.PASS, None, None, None, message)
    same = (current.kind, current.digest or current.version) == (previous.kind, previous.digest or previous.version)
    if same:
        message = f"The same model scored {labels.current} and {previous_month}: {current.label}."
        return CheckResult("model_changed", None, Status.PASS, 0.0, None, None, message)
    message = (
        f"Another model scored {labels.current} than {previous_month}: {current.label}, before {previous.label}. "
        "Compare the two lists before the campaign (python -m mlwatch compare)."
    )
    return CheckResult("model_changed", None, Status.WARN, 1.0, None, None, message)
