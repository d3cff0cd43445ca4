"""Tables the dashboard shows, shaped from a stored run's summary (no Streamlit here)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlwatch.checks.rules import MonthLabels


def labels_of(summary: dict[str, Any]) -> tuple[str, str]:
    """Return the reference and current months' names, e.g. ("March 2026", "May 2026")."""
    labels = MonthLabels.of(summary["reference_month"], summary["current_month"])
    return labels.reference, labels.current


def failed_checks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the failed checks of a run, in their order."""
    return [check for check in summary["checks"] if check["status"] == "fail"]


def rate_table(summary: dict[str, Any], check: str) -> pd.DataFrame:
    """Return the per-feature table of a rate check (``zero_rate`` or ``missing_rate``), in percent."""
    ref_label, cur_label = labels_of(summary)
    rows = []
    for result in summary["checks"]:
        if result["name"] != check:
            continue
        rows.append(
            {
                "feature": result["feature"],
                f"{ref_label} (%)": result["reference"] * 100,
                f"{cur_label} (%)": result["value"] * 100,
                "change (points)": (result["value"] - result["reference"]) * 100,
                "allowed change (points)": result["threshold"] * 100,
                "status": result["status"],
            }
        )
    return pd.DataFrame(rows)


def drift_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Return each feature's drift score against its threshold (predictions last)."""
    rows = [
        {
            "feature": c["feature"] or "prediction",
            "drift score": c["value"],
            "threshold": c["threshold"],
            "status": c["status"],
        }
        for c in summary["checks"]
        if c["name"] in ("drift", "prediction_drift")
    ]
    return pd.DataFrame(rows)


def stats_table(summary: dict[str, Any], feature: str) -> pd.DataFrame:
    """Return the summary statistics of one feature for both months side by side."""
    ref_label, cur_label = labels_of(summary)
    stats = summary["features"]["stats"]
    rows = {}
    for month, label in (("reference", ref_label), ("current", cur_label)):
        s = stats[month][feature]
        rows[label] = {
            "users": s["users"],
            "mean": s["mean"],
            "std": s["std"],
            "min": s["minimum"],
            **s["quantiles"],
            "max": s["maximum"],
            "zero rate (%)": s["zero_rate"] * 100,
            "missing rate (%)": s["missing_rate"] * 100,
        }
    return pd.DataFrame(rows)


def vocabulary_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Return every event name of both months with its counts, mapped feature and status."""
    vocab = summary["vocabulary"]
    ref_label, cur_label = labels_of(summary)
    mapping = {event: feature for feature, events in summary_features(summary).items() for event in events}
    names = sorted(set(vocab["reference_counts"]) | set(vocab["current_counts"]))
    rows = []
    for name in names:
        before, after = vocab["reference_counts"].get(name, 0), vocab["current_counts"].get(name, 0)
        status = "new" if name in vocab["new"] else "vanished" if name in vocab["missing"] else "in both"
        rows.append(
            {
                "event": name,
                "feature": mapping.get(name, ""),
                f"{ref_label}": before,
                f"{cur_label}": after,
                "change (%)": (after - before) / before * 100 if before else None,
                "status": status,
                "suggested feature": vocab["suggested_feature"].get(name) or "",
            }
        )
    order = {"vanished": 0, "new": 1, "in both": 2}
    return pd.DataFrame(rows).sort_values(
        ["status", f"{cur_label}"], key=lambda c: c.map(order) if c.name == "status" else -c
    )


def summary_features(summary: dict[str, Any]) -> dict[str, list[str]]:
    """Return the event-to-feature mapping the run used."""
    return summary.get("config", {}).get("features", {})


def rejected_tables(summary: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return rejected rows by reason, by file (with rows read), and the quarantine sample."""
    ingest = summary["ingest"]
    by_reason = pd.DataFrame(
        [{"reason": r.replace("_", " "), "rows": n} for r, n in ingest["rejected_by_reason"].items()],
        columns=["reason", "rows"],
    )
    by_file = pd.DataFrame(
        [
            {
                "file": f,
                "rows read": n,
                "rejected": ingest["rejected_by_file"].get(f, 0),
                "rejected (%)": ingest["rejected_by_file"].get(f, 0) / n * 100 if n else 0.0,
            }
            for f, n in ingest["rows_by_file"].items()
        ],
        columns=["file", "rows read", "rejected", "rejected (%)"],
    ).sort_values(["rejected", "file"], ascending=[False, True])
    sample = pd.DataFrame(ingest["rejected_sample"], columns=["file", "line", "reason", "text"])
    return by_reason, by_file, sample


def drift_sample_text(summary: dict[str, Any]) -> str:
    """Say which users Evidently's drift scores were computed on (every user, or a seeded sample)."""
    sample = summary.get("drift", {}).get("sample")
    if not sample:
        return "Drift scores: Evidently on every user of both months."
    ref, cur = sample["reference"], sample["current"]
    if ref["scored"] == ref["users"] and cur["scored"] == cur["users"]:
        return "Drift scores: Evidently on every user of both months; zero and missing rates are exact."
    return (
        f"Drift scores: Evidently on a seeded uniform sample ({ref['scored']:,} of {ref['users']:,} users in the "
        f"reference month, {cur['scored']:,} of {cur['users']:,} in the current month); zero and missing rates "
        "and the statistics below are exact, over every user."
    )
