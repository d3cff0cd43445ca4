"""Tables the dashboard shows, shaped from a stored run's typed summary (no Streamlit here)."""

from __future__ import annotations

import pandas as pd

from mlwatch.months import month_name
from mlwatch.summary import CheckResult, RunSummary


def labels_of(summary: RunSummary) -> tuple[str, str]:
    """Return the reference and current months' names, e.g. ("March 2026", "May 2026")."""
    return month_name(summary.reference_month), month_name(summary.current_month)


def failed_checks(summary: RunSummary) -> list[CheckResult]:
    """Return the failed checks of a run, in their order."""
    return list(summary.failed)


# Plain titles for people; the exact label (``zero_rate[login]``) and the figures go in a tooltip.
PLAIN_TITLES = {
    "rejected_rows": "Unreadable rows in the logs",
    "duplicates": "Events sent twice",
    "volume": "Unusual amount of activity",
    "vocabulary": "Tracked events missing",
    "coverage": "{F} events missing on some days",
    "missing_rate": "{F} unknown for many users",
    "zero_rate": "{F} count 0 for many users",
    "known_users": "Customers not recognised",
    "drift": "{F}s changed a lot",
    "prediction_drift": "Scores changed a lot",
    "estimated_mae": "List expected to be less accurate",
    "estimated_ranking": "List expected to perform worse",
}


# Where a failed check's evidence is shown: the data pages for what arrived, Drift for distributions,
# Model for the list's expected quality.
_EVIDENCE = {"drift": "drift.py", "prediction_drift": "drift.py", "estimated_mae": "model.py",
             "estimated_ranking": "model.py"}  # fmt: skip
# Failures a mapping of renamed events can fix (the names the features count stopped arriving).
_MAPPING_FIXES = {"vocabulary", "coverage"}


def evidence_page(failures: list[CheckResult]) -> str:
    """The page (file under pages/) that shows the evidence of the first failure: data first, then drift, model."""
    pages = [_EVIDENCE.get(c.name, "data.py") for c in failures]
    for page in ("data.py", "drift.py", "model.py"):
        if page in pages:
            return page
    return "data.py"


def mapping_can_fix(failures: list[CheckResult]) -> bool:
    """True when a tracked event name stopped arriving: mapping its new names may fix the run."""
    return any(c.name in _MAPPING_FIXES for c in failures)


def check_title(check: CheckResult) -> str:
    """A check's plain title for people, e.g. ``Logins changed a lot`` for ``drift[login]``."""
    return label_title(check.label)


def label_title(label: str) -> str:
    """The plain title of a check label as stored (``zero_rate[login]`` -> ``Login count 0 for many users``)."""
    name, _, rest = label.partition("[")
    feature = rest.rstrip("]").replace("_", " ")
    title = PLAIN_TITLES.get(name, name.replace("_", " ").capitalize())
    return title.replace("{F}", feature.capitalize())


_RATE_COLUMNS = {"zero_rate": "{F} count 0", "missing_rate": "{F} unknown", "drift": "{F} drift score"}


def history_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The History table for people: plain column titles and failed checks by their plain titles."""
    renamed = {}
    for column in table.columns:
        kind, _, feature = column.partition(" ")
        if kind in _RATE_COLUMNS and feature:
            renamed[column] = _RATE_COLUMNS[kind].format(F=feature.replace("_", " ").capitalize())
    table = table.rename(columns={**renamed, "reference": "checked against", "failed": "failed checks"})
    table["failed checks"] = [
        "-" if text == "-" else ", ".join(label_title(label) for label in text.split(", "))
        for text in table["failed checks"]
    ]
    return table


def check_detail(check: CheckResult) -> str:
    """The exact label and figures of a check, for a tooltip: ``drift[login]: 0.770 (limit 0.1)``."""
    figures = []
    if check.value is not None:
        figures.append(f"{check.value:.3g}")
    if check.reference is not None:
        figures.append(f"reference {check.reference:.3g}")
    if check.threshold is not None:
        figures.append(f"limit {check.threshold:.3g}")
    return f"{check.label}: {', '.join(figures)}" if figures else check.label


def rate_table(summary: RunSummary, check: str) -> pd.DataFrame:
    """Return the per-feature table of a rate check (``zero_rate`` or ``missing_rate``), in percent."""
    ref_label, cur_label = labels_of(summary)
    rows = [
        {
            "feature": result.feature,
            f"{ref_label} (%)": (result.reference or 0.0) * 100,
            f"{cur_label} (%)": (result.value or 0.0) * 100,
            "change (points)": ((result.value or 0.0) - (result.reference or 0.0)) * 100,
            "allowed change (points)": (result.threshold or 0.0) * 100,
            "status": str(result.status),
        }
        for result in summary.checks_named(check)
    ]
    return pd.DataFrame(rows)


def drift_table(summary: RunSummary) -> pd.DataFrame:
    """Return each feature's drift score against its threshold (predictions last)."""
    rows = [
        {
            "feature": c.feature or "prediction",
            "drift score": c.value,
            "threshold": c.threshold,
            "status": str(c.status),
        }
        for c in summary.checks
        if c.name in ("drift", "prediction_drift")
    ]
    return pd.DataFrame(rows)


def stats_table(summary: RunSummary, feature: str) -> pd.DataFrame:
    """Return the summary statistics of one feature for both months side by side."""
    ref_label, cur_label = labels_of(summary)
    rows = {}
    for per, label in ((summary.features.reference, ref_label), (summary.features.current, cur_label)):
        s = per[feature]
        rows[label] = {
            "users": s.users,
            "mean": s.mean,
            "std": s.std,
            "min": s.minimum,
            **s.quantiles,
            "max": s.maximum,
            "zero rate (%)": s.zero_rate * 100,
            "missing rate (%)": s.missing_rate * 100,
        }
    return pd.DataFrame(rows)


def vocabulary_table(summary: RunSummary) -> pd.DataFrame:
    """Return every event name of both months with its counts, mapped feature and status."""
    vocab = summary.vocabulary
    ref_label, cur_label = labels_of(summary)
    mapping = {event: feature for feature, events in summary.feature_events().items() for event in events}
    names = sorted(set(vocab.reference_counts) | set(vocab.current_counts))
    rows = []
    for name in names:
        before, after = vocab.reference_counts.get(name, 0), vocab.current_counts.get(name, 0)
        status = "new" if name in vocab.new else "vanished" if name in vocab.missing else "in both"
        rows.append(
            {
                "event": name,
                "feature": mapping.get(name, ""),
                f"{ref_label}": before,
                f"{cur_label}": after,
                "change (%)": (after - before) / before * 100 if before else None,
                "status": status,
                "suggested feature": vocab.suggestions.get(name) or "",
            }
        )
    order = {"vanished": 0, "new": 1, "in both": 2}
    return pd.DataFrame(rows).sort_values(
        ["status", f"{cur_label}"], key=lambda c: c.map(order) if c.name == "status" else -c
    )


def rejected_tables(summary: RunSummary) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return rejected rows by reason, by file (with rows read), and the quarantine sample."""
    ingest = summary.ingest
    by_reason = pd.DataFrame(
        [{"reason": r.replace("_", " "), "rows": n} for r, n in ingest.rejected_by_reason.items()],
        columns=["reason", "rows"],
    )
    by_file = pd.DataFrame(
        [
            {
                "file": f,
                "rows read": n,
                "rejected": ingest.rejected_by_file.get(f, 0),
                "rejected (%)": ingest.rejected_by_file.get(f, 0) / n * 100 if n else 0.0,
            }
            for f, n in ingest.rows_by_file.items()
        ],
        columns=["file", "rows read", "rejected", "rejected (%)"],
    ).sort_values(["rejected", "file"], ascending=[False, True])
    sample = pd.DataFrame([vars(row) for row in ingest.sample], columns=["file", "line", "reason", "text"])
    return by_reason, by_file, sample


def drift_sample_text(summary: RunSummary) -> str:
    """Say which users Evidently's drift scores were computed on (every user, or a seeded sample)."""
    ref, cur = summary.drift.reference_sample, summary.drift.current_sample
    if ref is None or cur is None:
        return "Drift scores: Evidently on every user of both months."
    if ref.scored == ref.users and cur.scored == cur.users:
        return "Drift scores: Evidently on every user of both months; zero and missing rates are exact."
    return (
        f"Drift scores: Evidently on a seeded uniform sample ({ref.scored:,} of {ref.users:,} users in the "
        f"reference month, {cur.scored:,} of {cur.users:,} in the current month); zero and missing rates "
        "and the statistics below are exact, over every user."
    )
