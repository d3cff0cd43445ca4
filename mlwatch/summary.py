"""The run summary, typed: what each stage of a run returns, and the one place that turns it into JSON and back.

Declarations only (standard library, no engine): every stage module returns one of these parts,
the pipeline assembles a ``RunSummary``, the store writes ``RunSummary.to_json()`` as
``summary.json`` and ``run --json`` prints the same object. Pages, the CLI, history and
notifications read fields, never string keys. ``RunSummary.from_json`` also reads the summaries
of earlier releases (parts added later are ``None`` or empty there). The contract is in
docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """A check's outcome."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


class GateStatus(StrEnum):
    """Whether a month's list may be used: open (no check failed), closed, or closed and signed off."""

    OPEN = "open"
    CLOSED = "closed"
    SIGNED_OFF = "signed_off"


def check_label(name: str, feature: str | None) -> str:
    """The exact name of a check result as the CLI, JSON readers and sign-offs write it: ``zero_rate[login]``."""
    return f"{name}[{feature}]" if feature else name


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome; ``value`` and ``reference`` are shares in 0..1 for rate checks."""

    name: str
    feature: str | None
    status: Status
    value: float | None
    reference: float | None
    threshold: float | None
    message: str

    @property
    def label(self) -> str:
        """``name[feature]`` or ``name``."""
        return check_label(self.name, self.feature)

    def to_json(self) -> dict[str, Any]:
        """Return the contract's check object."""
        return {**asdict(self), "status": str(self.status)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        """Read a check object."""
        return cls(
            data["name"], data.get("feature"), Status(data["status"]), data.get("value"), data.get("reference"),
            data.get("threshold"), data.get("message", ""),
        )  # fmt: skip


@dataclass(frozen=True)
class RejectedRow:
    """One quarantined row: where it came from, why, and its text."""

    file: str
    line: int | None
    reason: str
    text: str


@dataclass(frozen=True)
class FieldChange:
    """A required field missing from rows that carry a field the other rows do not: a renamed field.

    ``key`` is the ``[columns]`` key (``user_id``, ``event``, ``timestamp``), ``field`` the name the
    config expects, ``since`` the hour (ISO, UTC) of the first such row when it has a time.
    """

    key: str
    field: str
    rows: int
    since: str | None
    new_fields: tuple[str, ...]

    @property
    def message(self) -> str:
        """The finding and the one config line that fixes it."""
        when = f" since {self.since[:10]} {self.since[11:16]} UTC" if self.since else ""
        names = ", ".join(f"`{name}`" for name in self.new_fields)
        return (
            f"`{self.field}` is missing from {self.rows:,} rows{when}; the same rows carry a new field {names}:"
            f' set [columns] {self.key} = "{self.new_fields[0]}" in the config if it is the same field.'
        )

    def to_json(self) -> dict[str, Any]:
        """Return the field change object."""
        return {**asdict(self), "new_fields": list(self.new_fields)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldChange:
        """Read a field change object."""
        return cls(data["key"], data["field"], data["rows"], data.get("since"), tuple(data.get("new_fields", ())))


@dataclass(frozen=True)
class IngestReport:
    """What reading the logs found: exact row, reject and duplicate counts."""

    rows_read: int
    rows_rejected: int
    duplicates: int
    rejected_by_reason: dict[str, int]
    rows_by_file: dict[str, int]
    rejected_by_file: dict[str, int]
    duplicates_by_month: dict[str, int]
    sample: tuple[RejectedRow, ...] = field(default=())
    field_changes: tuple[FieldChange, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Return the contract's ``ingest`` object plus the per-file detail."""
        return {
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "duplicates": self.duplicates,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "rejected_by_file": dict(self.rejected_by_file),
            "rows_by_file": dict(self.rows_by_file),
            "duplicates_by_month": dict(self.duplicates_by_month),
            "rejected_sample": [vars(row) for row in self.sample],
            "field_changes": [change.to_json() for change in self.field_changes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IngestReport:
        """Read an ``ingest`` object."""
        return cls(
            data["rows_read"], data["rows_rejected"], data["duplicates"], dict(data.get("rejected_by_reason", {})),
            dict(data.get("rows_by_file", {})), dict(data.get("rejected_by_file", {})),
            dict(data.get("duplicates_by_month", {})),
            tuple(RejectedRow(**row) for row in data.get("rejected_sample", [])),
            tuple(FieldChange.from_json(change) for change in data.get("field_changes", [])),
        )  # fmt: skip


@dataclass(frozen=True)
class FeatureStats:
    """Exact per-feature figures over every user of a month (computed in DuckDB).

    ``missing`` counts users whose value is unknown, not 0: every user when none of the
    feature's events arrived in the month (the zeros the model sees are not measurements).
    """

    users: int
    missing: int
    zeros: int
    mean: float | None
    std: float | None
    minimum: float | None
    maximum: float | None
    quantiles: dict[str, float | None]

    @property
    def missing_rate(self) -> float:
        """Share of users whose value is unknown."""
        return self.missing / self.users if self.users else 0.0

    @property
    def zero_rate(self) -> float:
        """Share of users whose value is 0 as the model sees it (unknown counts enter it as 0)."""
        return self.zeros / self.users if self.users else 0.0

    def to_json(self) -> dict[str, Any]:
        """The figures with both rates."""
        return {**asdict(self), "zero_rate": self.zero_rate, "missing_rate": self.missing_rate}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureStats:
        """Read the figures (the rates are derived)."""
        return cls(
            data["users"], data["missing"], data["zeros"], data.get("mean"), data.get("std"), data.get("minimum"),
            data.get("maximum"), dict(data.get("quantiles", {})),
        )  # fmt: skip


@dataclass(frozen=True)
class FeaturesPart:
    """The per-user features: how many users, which features, and each month's exact figures."""

    users: int
    reference_users: int
    names: tuple[str, ...]
    reference: dict[str, FeatureStats]  # per feature, and "prediction"
    current: dict[str, FeatureStats]

    def to_json(self) -> dict[str, Any]:
        """The ``features`` object (``users`` is the contract's)."""
        return {
            "users": self.users,
            "reference_users": self.reference_users,
            "names": list(self.names),
            "stats": {
                month: {name: stats.to_json() for name, stats in per.items()}
                for month, per in (("reference", self.reference), ("current", self.current))
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeaturesPart:
        """Read a ``features`` object."""
        stats = data.get("stats", {})
        per = {m: {n: FeatureStats.from_json(s) for n, s in stats.get(m, {}).items()} for m in ("reference", "current")}
        return cls(data["users"], data.get("reference_users", 0), tuple(data.get("names", ())), **per)


@dataclass(frozen=True)
class MonthVolume:
    """A month's valid events (after de-duplication), active users and events per calendar day."""

    events: int
    users: int
    daily: dict[str, int]


@dataclass(frozen=True)
class VolumePart:
    """Both months' volumes."""

    reference: MonthVolume
    current: MonthVolume

    def to_json(self) -> dict[str, Any]:
        """The ``volume`` object."""
        return {"reference": asdict(self.reference), "current": asdict(self.current)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VolumePart:
        """Read a ``volume`` object."""
        return cls(MonthVolume(**data["reference"]), MonthVolume(**data["current"]))


@dataclass(frozen=True)
class VocabularyDiff:
    """Event names with counts in both months and the differences between them."""

    reference_counts: dict[str, int]
    current_counts: dict[str, int]
    new: tuple[str, ...]
    missing: tuple[str, ...]
    suggestions: dict[str, str | None]

    def to_json(self) -> dict[str, Any]:
        """Return the contract's ``vocabulary`` object (``new``, ``missing``) with counts and suggestions."""
        return {
            "new": list(self.new),
            "missing": list(self.missing),
            "suggested_feature": dict(self.suggestions),
            "reference_counts": dict(self.reference_counts),
            "current_counts": dict(self.current_counts),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VocabularyDiff:
        """Read a ``vocabulary`` object."""
        return cls(
            dict(data.get("reference_counts", {})), dict(data.get("current_counts", {})), tuple(data.get("new", ())),
            tuple(data.get("missing", ())), dict(data.get("suggested_feature", {})),
        )  # fmt: skip


@dataclass(frozen=True)
class SampleSize:
    """How many of a month's users Evidently scored."""

    scored: int
    users: int


@dataclass(frozen=True)
class DriftPart:
    """Evidently's drift score per feature (and ``prediction``), and the users it was computed on."""

    method: str
    scores: dict[str, float]
    reference_sample: SampleSize | None = None  # None: runs of releases that did not record it
    current_sample: SampleSize | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``drift`` object."""
        sample = None
        if self.reference_sample and self.current_sample:
            sample = {"reference": asdict(self.reference_sample), "current": asdict(self.current_sample)}
        return {"method": self.method, "scores": dict(self.scores), "sample": sample}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DriftPart:
        """Read a ``drift`` object."""
        sample = data.get("sample") or {}
        ref, cur = sample.get("reference"), sample.get("current")
        return cls(
            data.get("method", ""), dict(data.get("scores", {})), SampleSize(**ref) if ref else None,
            SampleSize(**cur) if cur else None,
        )  # fmt: skip


@dataclass(frozen=True)
class ModelPart:
    """The model trained on the reference month, its held-out figures, and its actual figures when known."""

    kind: str
    target: str
    train_rows: int
    validation: dict[str, float | None]
    actuals_month: str | None = None
    actual: dict[str, float | None] | None = None
    source: dict[str, str] | None = None  # what scored the run (kind, location, version, digest); None: older runs

    def to_json(self) -> dict[str, Any]:
        """The ``model`` object (without ``source`` for a run of a release that did not record it)."""
        data = asdict(self)
        if self.source is None:
            del data["source"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelPart:
        """Read a ``model`` object."""
        return cls(
            data.get("kind", ""), data.get("target", ""), data.get("train_rows", 0), dict(data.get("validation", {})),
            data.get("actuals_month"), data.get("actual"), data.get("source"),
        )  # fmt: skip


@dataclass(frozen=True)
class MaeEstimate:
    """The estimated MAE of a month's predictions and its interval.

    ``reference_mae`` is the out-of-fold MAE on the reference month (what the
    model achieves on unseen users of a healthy month).
    """

    estimated_mae: float
    lower: float
    upper: float
    confidence: float
    reference_mae: float
    rows: int
    fitted_on: int = 0
    method: str = "direct loss estimation (held-out errors, zeroed-feature copies)"

    def to_json(self) -> dict[str, Any]:
        """Return the estimate as plain data for the run summary."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MaeEstimate:
        """Read an ``estimate`` object."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RankingEstimate:
    """The ranking and the calibration of a month's list, estimated before its actuals (``estimated_ranking``).

    ``lift``: the estimated purchases per user of the top ``share`` of the list over everyone's;
    ``expected``: the estimated purchases per user of the whole month; ``predicted``: the list's mean
    prediction. The ``reference_*`` figures are measured on the reference month's held-out
    (out-of-fold) predictions against its users' real purchases. ``lift`` is None when no purchase
    is expected (a lift is then undefined).
    """

    share: float
    lift: float | None
    reference_lift: float | None
    predicted: float
    expected: float
    reference_predicted: float
    reference_actual: float
    rows: int
    fitted_on: int
    method: str = "expected purchases learnt from held-out predictions and zeroed-feature copies"

    @property
    def calibration(self) -> float | None:
        """The list's predicted purchases per user over the estimated ones (1: calibrated)."""
        return self.predicted / self.expected if self.expected > 0 else None

    @property
    def reference_calibration(self) -> float | None:
        """The same on the reference month's held-out predictions, against real purchases."""
        return self.reference_predicted / self.reference_actual if self.reference_actual > 0 else None

    @property
    def relative_calibration(self) -> float | None:
        """``calibration`` as a share of ``reference_calibration`` (1: as calibrated as usual)."""
        now, usual = self.calibration, self.reference_calibration
        return now / usual if now is not None and usual else None

    def to_json(self) -> dict[str, Any]:
        """Return the estimate as plain data for the run summary, with its derived calibrations."""
        return {**asdict(self), "calibration": self.calibration, "reference_calibration": self.reference_calibration}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RankingEstimate:
        """Read a ``ranking_estimate`` object (the calibrations are derived)."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Link:
    """The evidence that a new event name replaces an old one (``Change.replaces``).

    ``hours_apart``: between the new name's start and the old name's stop or fall; ``user_share``:
    share of the new name's users who used the old name in the reference month; ``level``: the
    counts of every new name linked to the old one, since it stopped or fell, over the old name's
    expected count in that time (near 1: together they make up its old level).
    """

    old: str
    hours_apart: float
    user_share: float | None
    level: float | None

    def to_json(self) -> dict[str, Any]:
        """Return the evidence object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Link:
        """Read an evidence object."""
        return cls(data["old"], data["hours_apart"], data.get("user_share"), data.get("level"))


@dataclass(frozen=True)
class Change:
    """One change point of an event name (DESIGN.md, "Changes in the event stream").

    ``kind``: ``stopped``, ``started``, ``gap`` or ``level_shift``; ``at`` and ``until`` (gaps)
    are ISO 8601 UTC to the hour, e.g. ``2026-05-15T12:00:00Z``.
    """

    event: str
    kind: str
    at: str
    message: str
    until: str | None = None
    replaces: tuple[Link, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the contract's change object (``until`` for gaps, ``replaces`` for started names)."""
        data: dict[str, Any] = {"event": self.event, "kind": self.kind, "at": self.at}
        if self.kind == "gap":
            data["until"] = self.until
        data["message"] = self.message
        if self.kind == "started":
            data["replaces"] = [link.to_json() for link in self.replaces]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        """Read a change object."""
        links = tuple(Link.from_json(link) for link in data.get("replaces", ()))
        return cls(data["event"], data["kind"], data["at"], data.get("message", ""), data.get("until"), links)


@dataclass(frozen=True)
class RunSummary:
    """A stored run: the JSON of ``run --json`` and ``summary.json``, typed.

    The first keys are the contract's (``run_id``, ``reference_month``, ``current_month``,
    ``gate``, ``checks``, ``vocabulary``, ``ingest``, ``features``); the rest is the detail the
    dashboard and history use.
    """

    run_id: str
    reference_month: str
    current_month: str
    gate: GateStatus
    checks: tuple[CheckResult, ...]
    vocabulary: VocabularyDiff
    ingest: IngestReport
    features: FeaturesPart
    volume: VolumePart
    drift: DriftPart
    model: ModelPart
    months_in_logs: tuple[str, ...]
    config: dict[str, Any]
    logs: str
    created_at: str
    histograms: dict[str, dict[str, Any]] = field(default_factory=dict)
    estimate: MaeEstimate | None = None
    inputs_fingerprint: str = ""
    fingerprint: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()
    as_of: str | None = None
    ranking: RankingEstimate | None = None  # None: runs of releases before the estimated_ranking check

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The failed checks, in their order."""
        return tuple(c for c in self.checks if c.status == Status.FAIL)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        """The checks that warn, in their order."""
        return tuple(c for c in self.checks if c.status == Status.WARN)

    def checks_named(self, name: str) -> tuple[CheckResult, ...]:
        """Every result of one check (one per feature for per-feature checks)."""
        return tuple(c for c in self.checks if c.name == name)

    def feature_events(self) -> dict[str, list[str]]:
        """The event-to-feature mapping the run used."""
        return dict(self.config.get("features", {}))

    def to_json(self) -> dict[str, Any]:
        """The run's JSON object, as stored and printed."""
        return {
            "run_id": self.run_id,
            "reference_month": self.reference_month,
            "current_month": self.current_month,
            "gate": str(self.gate),
            "checks": [c.to_json() for c in self.checks],
            "vocabulary": self.vocabulary.to_json(),
            "ingest": self.ingest.to_json(),
            "features": self.features.to_json(),
            "changes": [change.to_json() for change in self.changes],
            "as_of": self.as_of,
            "volume": self.volume.to_json(),
            "drift": self.drift.to_json(),
            "model": self.model.to_json(),
            "months_in_logs": list(self.months_in_logs),
            "config": self.config,
            "logs": self.logs,
            "created_at": self.created_at,
            "histograms": self.histograms,
            "estimate": self.estimate.to_json() if self.estimate else None,
            "ranking_estimate": self.ranking.to_json() if self.ranking else None,
            "inputs_fingerprint": self.inputs_fingerprint,
            "fingerprint": self.fingerprint,
            "seconds": dict(self.seconds),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        """Read a run's JSON object, also as written by earlier releases."""
        return cls(
            run_id=data["run_id"],
            reference_month=data["reference_month"],
            current_month=data["current_month"],
            gate=GateStatus(data["gate"]),
            checks=tuple(CheckResult.from_json(c) for c in data["checks"]),
            vocabulary=VocabularyDiff.from_json(data.get("vocabulary", {})),
            ingest=IngestReport.from_json(data["ingest"]),
            features=FeaturesPart.from_json(data["features"]),
            volume=VolumePart.from_json(data["volume"]),
            drift=DriftPart.from_json(data.get("drift", {})),
            model=ModelPart.from_json(data.get("model", {})),
            months_in_logs=tuple(data.get("months_in_logs", ())),
            config=data.get("config", {}),
            logs=data.get("logs", ""),
            created_at=data.get("created_at", ""),
            histograms=data.get("histograms") or {},
            estimate=MaeEstimate.from_json(data["estimate"]) if data.get("estimate") else None,
            inputs_fingerprint=data.get("inputs_fingerprint", ""),
            fingerprint=data.get("fingerprint", ""),
            seconds=dict(data.get("seconds") or {}),
            changes=tuple(Change.from_json(c) for c in data.get("changes") or ()),
            as_of=data.get("as_of"),
            ranking=RankingEstimate.from_json(data["ranking_estimate"]) if data.get("ranking_estimate") else None,
        )
