"""The checks of the contract (docs/ARCHITECTURE.md) as pure functions from measured figures to CheckResult.

Every message is written for a marketer: what is wrong, this month's figure and
the reference month's beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import median

from mlwatch.months import month_name
from mlwatch.summary import (
    CheckResult,
    FeatureStats,
    IngestReport,
    MonthVolume,
    RankingEstimate,
    Status,
    VocabularyDiff,
)

PASS, WARN, FAIL = Status.PASS, Status.WARN, Status.FAIL


@dataclass(frozen=True)
class MonthLabels:
    """Human names of the two months compared, e.g. ``March 2026``."""

    reference: str
    current: str

    @classmethod
    def of(cls, reference: str, current: str) -> MonthLabels:
        """Build the labels from two ``YYYY-MM`` months."""
        return cls(month_name(reference), month_name(current))


def check_rejected_rows(ingest: IngestReport, threshold: float) -> CheckResult:
    """Fail when rejected rows exceed ``threshold`` of the rows read."""
    share = ingest.rows_rejected / ingest.rows_read if ingest.rows_read else 0.0
    status = FAIL if _exceeds(share, threshold) else PASS
    reasons = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in ingest.rejected_by_reason.items())
    if ingest.rows_rejected == 0:
        message = f"All {ingest.rows_read:,} rows read were valid."
    else:
        message = (
            f"{ingest.rows_rejected:,} of {ingest.rows_read:,} rows ({_pct(share)}) were rejected"
            f" ({reasons}); allowed up to {_pct(threshold)}."
        )
    for change in ingest.field_changes:
        message += " " + change.message
    return CheckResult("rejected_rows", None, status, share, None, threshold, message)


def check_duplicates(
    duplicates: dict[str, int], events: dict[str, int], threshold: float, labels: MonthLabels
) -> CheckResult:
    """Fail when the current month's duplicate events exceed ``threshold`` of its events.

    Args:
        duplicates: duplicates dropped, keyed ``reference`` and ``current``.
        events: events kept (after de-duplication), keyed the same way.
    """
    rates = {k: _share(duplicates[k], duplicates[k] + events[k]) for k in ("reference", "current")}
    status = FAIL if _exceeds(rates["current"], threshold) else PASS
    message = (
        f"{duplicates['current']:,} events ({_pct(rates['current'])}) were sent twice in {labels.current}"
        f" ({labels.reference}: {_pct(rates['reference'])}); only the first copy is counted."
    )
    if status == FAIL:
        message += f" More than {_pct(threshold)} suggests a double ingestion."
    return CheckResult("duplicates", None, status, rates["current"], rates["reference"], threshold, message)


def check_volume(
    reference: MonthVolume, current: MonthVolume, ratio: float, labels: MonthLabels, day_share: float = 0.25
) -> CheckResult:
    """Fail when events or users leave 1/ratio..ratio of the reference, or a day has no event or fewer
    than ``day_share`` of the reference month's median events for its weekday."""
    problems = []
    for key, noun in (("events", "events"), ("users", "active users")):
        now, before = getattr(current, key), getattr(reference, key)
        factor = now / before if before else float("inf")
        if factor < 1 / ratio or factor > ratio:
            problems.append(
                f"{now:,} {noun} in {labels.current} vs {before:,} in {labels.reference}"
                f" ({factor:.2f}x, allowed {1 / ratio:.2f}x to {ratio:.2f}x)"
            )
    empty = [day for day, count in current.daily.items() if count == 0]
    if empty:
        problems.append(f"no events on {len(empty)} day(s) of {labels.current}: {_days_text(empty)}")
    usual = _weekday_medians(reference.daily)
    low = [
        day
        for day, count in current.daily.items()
        if count and count < day_share * usual.get(date.fromisoformat(day).weekday(), 0)
    ]
    if low:
        problems.append(
            f"{len(low)} day(s) of {labels.current} with under {_pct(day_share, 0)} of the usual events for their"
            f" weekday in {labels.reference} (partial delivery?): {_days_text(low)}"
        )
    status = FAIL if problems else PASS
    message = (
        _sentence("; ".join(problems))
        if problems
        else f"{current.events:,} events from {current.users:,} users, every day has events"
        f" ({labels.reference}: {reference.events:,} events, {reference.users:,} users)."
    )
    return CheckResult("volume", None, status, float(current.events), float(reference.events), ratio, message)


def _weekday_medians(daily: dict[str, int]) -> dict[int, float]:
    """Median events per weekday; a weekday the days do not cover (month to date) takes every day's median."""
    by_weekday: dict[int, list[int]] = {}
    for day, count in daily.items():
        by_weekday.setdefault(date.fromisoformat(day).weekday(), []).append(count)
    overall = float(median(daily.values())) if daily else 0.0
    return {weekday: float(median(by_weekday[weekday])) if weekday in by_weekday else overall for weekday in range(7)}


def check_vocabulary(vocab: VocabularyDiff, features: dict[str, tuple[str, ...]], labels: MonthLabels) -> CheckResult:
    """Fail when a feature's event names all vanish; warn when one of several vanishes."""
    failures, warnings = [], []
    seen_in_reference = [e for events in features.values() for e in events if e in vocab.reference_counts]
    vanished = [e for e in seen_in_reference if e not in vocab.current_counts]
    for feature, events in features.items():
        before = [e for e in events if e in vocab.reference_counts]
        gone = [e for e in before if e not in vocab.current_counts]
        still = [e for e in events if e in vocab.current_counts]
        if before and not still:
            failures.append(
                f"no {feature} event this month ({_names(gone)} occurred in {labels.reference}, not in {labels.current})"
            )
        elif gone:
            warnings.append(f"event {_names(gone)} ({feature}) no longer occurs, the other {feature} events still do")
    new = [f"{name} (likely {vocab.suggestions[name]})" if vocab.suggestions.get(name) else name for name in vocab.new]
    status = FAIL if failures else WARN if warnings else PASS
    parts = failures + warnings
    if new:
        parts.append(f"new event names: {', '.join(new)}")
    message = _sentence("; ".join(parts)) if parts else "Every mapped event name still occurs; no new names."
    return CheckResult("vocabulary", None, status, float(len(vanished)), float(len(seen_in_reference)), 0.0, message)


def check_missing_rate(
    feature: str,
    reference: FeatureStats,
    current: FeatureStats,
    threshold: float,
    labels: MonthLabels,
    events: tuple[str, ...] = (),
) -> CheckResult:
    """Fail when the share of users whose value is unknown rises by more than ``threshold``.

    A count is unknown, not 0, where the feature's source delivered nothing: every user when
    none of its ``events`` arrived in the month.
    """
    change = current.missing_rate - reference.missing_rate
    status = FAIL if _exceeds(change, threshold) else PASS
    if current.users and current.missing == current.users:
        names = f" ({_names(list(events))})" if events else ""
        message = (
            f"{_title(feature)} is unknown for {_pct(1.0)} of users in {labels.current}: none of its events{names}"
            f" arrived, so the zeros the model sees are not measurements ({labels.reference}:"
            f" {_pct(reference.missing_rate)} unknown)."
        )
    else:
        message = (
            f"{_title(feature)} is unknown for {_pct(current.missing_rate)} of users this month"
            f" ({labels.reference}: {_pct(reference.missing_rate)})."
        )
    return CheckResult(
        "missing_rate", feature, status, current.missing_rate, reference.missing_rate, threshold, message
    )


def check_zero_rate(
    feature: str, reference: FeatureStats, current: FeatureStats, threshold: float, labels: MonthLabels
) -> CheckResult:
    """Fail when the share of users with 0 rises or falls by more than ``threshold``."""
    change = current.zero_rate - reference.zero_rate
    status = FAIL if _exceeds(abs(change), threshold) else PASS
    message = (
        f"{_title(feature)} count is 0 for {_pct(current.zero_rate)} of users this month"
        f" ({labels.reference}: {_pct(reference.zero_rate)})."
    )
    if status == FAIL:
        message += f" A change of more than {threshold * 100:g} percentage points usually means the data is broken."
    return CheckResult("zero_rate", feature, status, current.zero_rate, reference.zero_rate, threshold, message)


def check_drift(
    feature: str | None,
    score: float,
    threshold: float,
    labels: MonthLabels,
    reference: FeatureStats | None = None,
    current: FeatureStats | None = None,
) -> CheckResult:
    """Fail when Evidently's drift score reaches ``threshold`` (``feature`` None: the predictions).

    The message is for people: it says what moved (the average per user of both months, when the
    stats are given); the score and its limit are the result's ``value`` and ``threshold``.
    """
    name = "drift" if feature is not None else "prediction_drift"
    subject = f"{_title(feature)} counts" if feature else "The model's predicted purchases"
    status = FAIL if score >= threshold else PASS
    means = None
    if reference is not None and current is not None and reference.mean is not None and current.mean is not None:
        means = (current.mean, reference.mean)
    if status == FAIL:
        message = f"{subject} changed a lot since {labels.reference}"
        message += f": {means[0]:.2f} per user on average this month against {means[1]:.2f}." if means else "."
    else:
        message = f"{subject} are close to {labels.reference}'s"
        message += f" ({means[0]:.2f} per user on average against {means[1]:.2f})." if means else "."
    return CheckResult(name, feature, status, score, None, threshold, message)


def check_estimated_mae(
    estimate: float, low: float, high: float, reference: float, ratio: float, fails: bool, labels: MonthLabels
) -> CheckResult:
    """Warn (fail when ``fails``) when the estimated MAE exceeds ``ratio`` times the reference month's MAE.

    ``value`` is the estimated MAE, ``reference`` the out-of-fold MAE on the reference month.
    """
    limit = reference * ratio
    above = _exceeds(estimate, limit)
    status = (FAIL if fails else WARN) if above else PASS
    message = (
        f"Before this month's purchases are known, the list's error is estimated at {estimate:.2f} purchases per user"
        f" (likely between {low:.2f} and {high:.2f}); {labels.reference}: {reference:.2f}."
    )
    if above:
        message += f" That is more than {ratio:g}x the usual error: the list is probably less accurate than usual."
    return CheckResult("estimated_mae", None, status, estimate, reference, ratio, message)


def check_estimated_ranking(estimate: RankingEstimate, share: float, fails: bool, labels: MonthLabels) -> CheckResult:
    """Fail (warn unless ``fails``) when the list's ranking or calibration, estimated before the actuals, falls
    below ``share`` of the reference month's held-out figure.

    Ranking: the estimated lift of the top of the list against the reference month's held-out lift.
    Calibration: the list's predicted purchases per user over the purchases expected, against the same
    ratio of the reference month's held-out predictions to its users' real purchases. ``value`` is the
    estimated lift, ``reference`` the held-out lift, ``threshold`` the share.
    """
    top = _pct(estimate.share, 0)
    if estimate.lift is None or not estimate.reference_lift:
        message = (
            f"The lift of the top {top} of the list cannot be estimated: no purchase is expected from"
            f" {labels.current}'s users or none was made by {labels.reference}'s held-out users."
        )
        return CheckResult("estimated_ranking", None, WARN, None, estimate.reference_lift, share, message)
    low_lift = estimate.lift < share * estimate.reference_lift
    calibration = estimate.relative_calibration
    low_calibration = calibration is not None and calibration < share
    status = (FAIL if fails else WARN) if low_lift or low_calibration else PASS
    message = (
        f"Before this month's purchases are known, the top {top} of the list is estimated to buy"
        f" {estimate.lift:.1f}x as much as the average user ({labels.reference}, held-out users:"
        f" {estimate.reference_lift:.1f}x), and the list predicts {estimate.predicted:.2f} purchases per user"
        f" where {estimate.expected:.2f} are expected ({labels.reference}: {estimate.reference_predicted:.2f}"
        f" predicted, {estimate.reference_actual:.2f} bought)."
    )
    if low_lift:
        message += f" The top of the list is probably worse than usual (below {share:g}x {labels.reference}'s lift)."
    if low_calibration:
        message += (
            f" The predictions are {calibration:.0%} of their usual level against the purchases expected"
            f" (limit {share:.0%}): an input of the model probably broke."
        )
    return CheckResult("estimated_ranking", None, status, estimate.lift, estimate.reference_lift, share, message)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _exceeds(value: float, threshold: float) -> bool:
    # Rounding keeps 0.30 - 0.10 from counting as more than 0.20.
    return round(value, 12) > round(threshold, 12)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _pct(share: float, digits: int = 1) -> str:
    value = share * 100
    if 0 < abs(value) < 1:
        return f"{value:.2g}%"  # 0.016%, not 0%: a few bad rows must not read as none
    text = f"{value:.{digits}f}"
    if digits and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def _title(feature: str) -> str:
    return feature.replace("_", " ").capitalize()


def _names(names: list[str]) -> str:
    return ", ".join(names)


def _days_text(days: list[str]) -> str:
    shown = ", ".join(days[:5])
    return shown + (f" and {len(days) - 5} more" if len(days) > 5 else "")
