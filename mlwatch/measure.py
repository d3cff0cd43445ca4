"""What a run compares and how it checks it: the months, the per-user tables, the event stream, the
measures of both months and every check of the contract on them (the stages between reading the
logs and estimating; ``pipeline.run_monthly`` chains them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from mlwatch.checks import rules, stream
from mlwatch.config import Config
from mlwatch.monthly.changes import detect_changes, link_names
from mlwatch.monthly.drift import DriftReport, compute_drift
from mlwatch.monthly.features import (
    Returning,
    month_activity,
    returning_users,
    silent_features,
    summarise_features,
    unknown_users,
)
from mlwatch.monthly.timeline import Coverage, feature_daily, hourly_counts, measure_coverage, period_end
from mlwatch.monthly.to_date import same_days
from mlwatch.monthly.vocabulary import diff_vocabulary, event_counts, suggest_from_links
from mlwatch.months import month_name, next_month, previous_month
from mlwatch.summary import Change, CheckResult, FeaturesPart, IngestReport, Status, VocabularyDiff, VolumePart


@dataclass(frozen=True)
class Months:
    """The months a run compares, and every month with events in the logs."""

    reference: str
    current: str
    present: tuple[str, ...]
    as_of: date | None = None  # a month-to-date run: the current month's last day read

    @property
    def days(self) -> int | None:
        """The reference month's days compared: as many as the current month has so far in a month-to-date
        run (fewer when the reference month is shorter), else None (all)."""
        return same_days(self.reference, self.as_of) if self.as_of else None

    @property
    def end(self) -> datetime:
        """The end of the current period (exclusive)."""
        return period_end(self.current, self.as_of.isoformat() if self.as_of else None)

    @property
    def has_actuals(self) -> bool:
        """True when the month after the current month is in the logs (its purchases are the actuals)."""
        return next_month(self.current) in self.present


@dataclass(frozen=True)
class Frames:
    """The per-user feature tables of both months, with the model's predictions once scored."""

    reference: pd.DataFrame
    current: pd.DataFrame


@dataclass(frozen=True)
class Stream:
    """The event timeline of the run (hourly counts per name), its change points and daily counts per feature."""

    hourly: pd.DataFrame
    changes: tuple[Change, ...]
    daily: pd.DataFrame


@dataclass(frozen=True)
class KnownUsers:
    """The current month's returning users, and the baseline share they are compared with (None: no baseline)."""

    current: Returning
    baseline: Returning | None
    baseline_label: str


@dataclass(frozen=True)
class Measures:
    """What the checks compare: each month's feature figures, volume, vocabulary, drift and the event stream."""

    features: FeaturesPart
    volume: VolumePart
    vocabulary: VocabularyDiff
    drift: DriftReport
    stream: Stream
    coverage: dict[str, Coverage]
    known_users: KnownUsers


def stream_stage(
    con: duckdb.DuckDBPyConnection, months: Months, config: Config, stages: Callable[[str], None]
) -> Stream:
    """The event timeline from the events already read, its change points and the linked names."""
    stages("Reading the event timeline")
    end = months.end
    hourly = hourly_counts(con, months.reference, end)
    changes = link_names(con, detect_changes(hourly, months.reference, months.current, end), hourly, months.reference,
                         months.current, end)  # fmt: skip
    return Stream(hourly, tuple(changes), feature_daily(hourly, config.features))


def measure_stage(
    con: duckdb.DuckDBPyConnection,
    months: Months,
    frames: Frames,
    config: Config,
    stages: Callable[[str], None],
    timeline: Stream,
) -> Measures:
    """Measure what the checks compare: exact feature figures, volumes, vocabulary, drift, coverage, known users."""
    stages("Checking the current month against the reference month")
    names = list(config.features)
    counts = {"reference": event_counts(con, months.reference), "current": event_counts(con, months.current)}
    coverage = {
        name: measure_coverage(timeline.daily, name, months.reference, months.current,
                               config.threshold("coverage_share", name))
        for name in names
    }  # fmt: skip
    unknown = {
        "reference": {name: len(frames.reference) for name in silent_features(config.features, counts["reference"])},
        "current": {name: unknown_users(con, months.current, coverage[name].gaps) for name in names},
    }
    unknown["current"].update(
        {name: len(frames.current) for name in silent_features(config.features, counts["current"])}
    )
    stats = {
        month: summarise_features(con, frame, [*names, "prediction"], unknown[month])
        for month, frame in (("reference", frames.reference), ("current", frames.current))
    }
    features = FeaturesPart(
        users=len(frames.current),
        reference_users=len(frames.reference),
        names=tuple(names),
        reference=stats["reference"],
        current=stats["current"],
    )
    volume = VolumePart(
        month_activity(con, months.reference, months.days),
        month_activity(con, months.current, months.as_of.day if months.as_of else None),
    )
    vocabulary = suggest_from_links(
        diff_vocabulary(counts["reference"], counts["current"], config.features), timeline.changes, config.features
    )
    thresholds = {name: config.threshold("drift", name) for name in names}
    thresholds["prediction"] = config.threshold("prediction_drift")
    # Without the reference month's predictions (scores without reference_scores) the predictions cannot drift.
    scored = [*names, "prediction"] if frames.reference["prediction"].notna().any() else names
    drift = compute_drift(
        frames.reference, frames.current, scored, thresholds, config.drift.sample_size, config.drift.seed
    )
    known = _known_users(con, months)
    return Measures(features, volume, vocabulary, drift, timeline, coverage, known)


def _known_users(con: duckdb.DuckDBPyConnection, months: Months) -> KnownUsers:
    """The current month's users seen in the reference month T, against T+1's users seen in T (when the
    current month is T+1 itself: T's users seen in T-1, if the logs have it)."""
    shapes: dict[str, str] = {}  # each month's id shape, found once
    current = returning_users(con, months.current, months.reference, shapes)
    target = next_month(months.reference)
    if months.current != target:
        label = f"{month_name(target)}'s users seen in {month_name(months.reference)}"
        return KnownUsers(current, returning_users(con, target, months.reference, shapes), label)
    earlier = previous_month(months.reference)
    if earlier not in months.present:
        return KnownUsers(current, None, "")
    label = f"{month_name(months.reference)}'s users seen in {month_name(earlier)}"
    return KnownUsers(current, returning_users(con, months.reference, earlier, shapes), label)


def check_stage(
    config: Config, ingest: IngestReport, measures: Measures, months: Months, labels: rules.MonthLabels
) -> list[CheckResult]:
    """Run every check of the contract on the measured figures, in the contract's order."""
    volume = measures.volume
    duplicates = {
        "reference": ingest.duplicates_by_month.get(months.reference, 0),
        "current": ingest.duplicates_by_month.get(months.current, 0),
    }
    events = {"reference": volume.reference.events, "current": volume.current.events}
    results = [
        rules.check_rejected_rows(ingest, config.threshold("rejected_rows")),
        rules.check_duplicates(duplicates, events, config.threshold("duplicates"), labels),
        rules.check_volume(volume.reference, volume.current, config.threshold("volume_ratio"), labels,
                           config.threshold("volume_day_share")),
        rules.check_vocabulary(measures.vocabulary, config.features, labels),
    ]  # fmt: skip
    changes = measures.stream.changes
    for name, mapped in config.features.items():
        threshold = config.threshold("coverage_share", name)
        results.append(stream.check_coverage(name, measures.coverage[name], changes, mapped, threshold, labels))
    ref, cur = measures.features.reference, measures.features.current
    for name, mapped in config.features.items():
        threshold = config.threshold("missing_rate_change", name)
        results.append(rules.check_missing_rate(name, ref[name], cur[name], threshold, labels, mapped))
    for name in config.features:
        threshold = config.threshold("zero_rate_change", name)
        results.append(rules.check_zero_rate(name, ref[name], cur[name], threshold, labels))
    known = measures.known_users
    results.append(stream.check_known_users(known.current, known.baseline, known.baseline_label,
                                            config.threshold("known_users_drop"), labels))  # fmt: skip
    scores = measures.drift.scores
    for name in config.features:
        threshold = config.threshold("drift", name)
        results.append(rules.check_drift(name, scores[name], threshold, labels, ref[name], cur[name]))
    threshold = config.threshold("prediction_drift")
    if "prediction" not in scores:
        message = (
            "The predictions' drift cannot be measured: the scoring job's output has no reference month; set "
            "[model] reference_scores to the reference month's scores."
        )
        results.append(CheckResult("prediction_drift", None, Status.WARN, None, None, threshold, message))
        return results
    results.append(
        rules.check_drift(None, scores["prediction"], threshold, labels, ref["prediction"], cur["prediction"])
    )
    return results
