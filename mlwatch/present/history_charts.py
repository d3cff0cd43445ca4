"""Plotly figures of the History page: one metric over months, limits dashed, failed months in red.

Every point carries its run id as ``customdata`` so a click can open that month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import plotly.graph_objects as go

from mlwatch.present.charts import CURRENT_COLOR, REFERENCE_COLOR

FAIL_COLOR = "#B3261E"
WARN_COLOR = "#C77700"
LIMIT_COLOR = "#6B6B6B"
ESTIMATE_COLOR = "#8E44AD"
SERIES_COLORS = ("#F58518", "#4C78A8", "#54A24B", "#B279A2", "#9D755D")
_LAYOUT = {
    "template": "plotly_white",
    "height": 320,
    "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    "hovermode": "closest",
}


@dataclass(frozen=True)
class _Spec:
    title: str
    axis: str
    percent: bool
    limits: str  # "band" (reference +/- threshold), "above" (reference + threshold), "line", "ratio", "none"


SPECS = {
    "zero_rate": _Spec("Share of users with 0 {feature}", "users with 0 (%)", True, "band"),
    "missing_rate": _Spec("Share of users with no {feature} value", "users with no value (%)", True, "above"),
    "drift": _Spec("Drift score of {feature}", "drift score (0 = same distribution)", False, "line"),
    "prediction_drift": _Spec("Drift score of the predictions", "drift score (0 = same distribution)", False, "line"),
    "rejected_rows": _Spec("Rejected rows", "share of rows read (%)", True, "line"),
    "duplicates": _Spec("Duplicate events", "share of the month's events (%)", True, "line"),
    "events": _Spec("Events per month", "events (count)", False, "ratio"),
    "users": _Spec("Active users per month", "users (count)", False, "ratio"),
}


def check_figure(frame: pd.DataFrame, metric: str, feature: str | None = None) -> go.Figure:
    """One check's value month by month, with the reference month's value and the allowed limits dashed."""
    spec = SPECS[metric]
    rows = _rows(frame, metric, feature)
    scale = 100.0 if spec.percent else 1.0
    figure = go.Figure()
    if spec.limits in ("band", "above", "ratio") and rows["reference"].notna().any():
        figure.add_scatter(
            x=rows["month"],
            y=rows["reference"] * scale,
            name="reference month",
            mode="lines",
            line={"color": REFERENCE_COLOR, "width": 1.5},
            customdata=rows["run_id"],
            hovertemplate=_hover(spec, "reference month"),
        )
    for name, bound in _limits(rows, spec):
        figure.add_scatter(
            x=rows["month"],
            y=bound * scale,
            name=name or "allowed range",
            mode="lines",
            customdata=rows["run_id"],
            showlegend=bool(name),
            line={"color": LIMIT_COLOR, "dash": "dash", "width": 1},
            hovertemplate=_hover(spec, name or "allowed range"),
        )
    _add_values(figure, rows, "this month", CURRENT_COLOR, scale, spec)
    return _finish(figure, spec.title.format(feature=feature or ""), spec.axis, spec.percent)


def actual_figure(
    frame: pd.DataFrame, metrics: tuple[str, ...], title: str, axis: str, percent: bool = False
) -> go.Figure:
    """Actual performance metrics (``actual_<name>``) month by month, one line each."""
    figure = go.Figure()
    for metric, color in zip(metrics, SERIES_COLORS):
        rows = _rows(frame, f"actual_{metric}", None)
        scale = 100.0 if percent else 1.0
        figure.add_scatter(
            x=rows["month"],
            y=rows["value"] * scale,
            name=_label(metric),
            mode="lines+markers",
            line={"color": color},
            customdata=rows["run_id"],
            hovertemplate=f"%{{x}}: %{{y:.{1 if percent else 3}f}}{'%' if percent else ''}"
            f"<extra>{_label(metric)}</extra>",
        )
    return _finish(figure, title, axis, percent)


def mae_figure(frame: pd.DataFrame) -> go.Figure:
    """Estimated MAE (with its interval as a band) against the actual MAE, and the limit of the check."""
    rows = _rows(frame, "estimated_mae", None)
    actual = _rows(frame, "actual_mae", None)
    figure = go.Figure()
    if rows.empty:
        return _finish(figure, "Estimated and actual error (MAE)", "purchases per user", False)
    figure.add_scatter(
        x=rows["month"], y=rows["upper"], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
    )
    figure.add_scatter(
        x=rows["month"],
        y=rows["lower"],
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(142,68,173,0.18)",
        name="estimate interval",
        hoverinfo="skip",
    )
    _add_reference_lines(figure, rows, "limit (x reference MAE)", "%{y:.3f}")
    _add_values(figure, rows, "estimated before actuals", ESTIMATE_COLOR, 1.0, None)
    if not actual.empty:
        figure.add_scatter(
            x=actual["month"],
            y=actual["value"],
            name="actual",
            mode="lines+markers",
            line={"color": CURRENT_COLOR},
            customdata=actual["run_id"],
            hovertemplate="%{x}: %{y:.3f} purchases<extra>actual MAE</extra>",
        )
    return _finish(figure, "Estimated and actual error (MAE)", "mean absolute error (purchases per user)", False)


def ranking_figure(frame: pd.DataFrame) -> go.Figure:
    """Lift of the top 10% estimated before the actuals (the ``estimated_ranking`` check) beside the actual lift.

    With the reference month's held-out lift and the check's limit (share x that lift) dashed.
    """
    title, axis = "Lift of the top of the list: estimated and actual", "purchases vs the average user (x)"
    rows = _rows(frame, "estimated_ranking", None)
    figure = go.Figure()
    if not rows.empty:
        _add_reference_lines(figure, rows, "limit (share of reference lift)", "%{y:.2f}x")
        _add_values(figure, rows, "top 10%, estimated before actuals", ESTIMATE_COLOR, 1.0, None)
    _add_actuals(figure, frame, (("lift_top10", "top 10%, actual"), ("lift_top20", "top 20%, actual")), "x")
    return _finish(figure, title, axis, False)


def calibration_figure(frame: pd.DataFrame) -> go.Figure:
    """Purchases per user: what the list predicts, what was estimated before the actuals, and what users bought."""
    figure = go.Figure()
    for metric, name, color in (
        ("predicted_purchases", "predicted by the list", CURRENT_COLOR),
        ("expected_purchases", "estimated before actuals", ESTIMATE_COLOR),
    ):
        rows = _rows(frame, metric, None)
        figure.add_scatter(
            x=rows["month"],
            y=rows["value"],
            name=name,
            mode="lines+markers",
            line={"color": color, "width": 2.5},
            customdata=rows["run_id"],
            hovertemplate="%{x}: %{y:.2f} purchases per user<extra>" + name + "</extra>",
        )
    _add_actuals(figure, frame, (("mean_actual", "bought (actual)"),), " purchases per user")
    return _finish(figure, "Purchases per user: predicted, estimated and actual", "purchases per user", False)


def _add_actuals(figure: go.Figure, frame: pd.DataFrame, metrics: tuple[tuple[str, str], ...], unit: str) -> None:
    for (metric, name), color in zip(metrics, SERIES_COLORS[2:]):
        rows = _rows(frame, f"actual_{metric}", None)
        if rows.empty:
            continue
        figure.add_scatter(
            x=rows["month"],
            y=rows["value"],
            name=name,
            mode="lines+markers",
            line={"color": color, "dash": "dot"},
            customdata=rows["run_id"],
            hovertemplate="%{x}: %{y:.2f}" + unit + "<extra>" + name + "</extra>",
        )


def _add_reference_lines(figure: go.Figure, rows: pd.DataFrame, limit_name: str, value: str) -> None:
    """The check's limit (reference x threshold, dashed) and the reference month's held-out value."""
    figure.add_scatter(
        x=rows["month"],
        y=rows["reference"] * rows["threshold"],
        name=limit_name,
        mode="lines",
        line={"color": LIMIT_COLOR, "dash": "dash", "width": 1},
        customdata=rows["run_id"],
        hovertemplate=f"%{{x}}: limit {value}<extra></extra>",
    )
    figure.add_scatter(
        x=rows["month"],
        y=rows["reference"],
        name="reference month (held out)",
        mode="lines",
        line={"color": REFERENCE_COLOR, "width": 1.5},
        customdata=rows["run_id"],
        hovertemplate=f"%{{x}}: {value}<extra>reference month</extra>",
    )


def _rows(frame: pd.DataFrame, metric: str, feature: str | None) -> pd.DataFrame:
    rows = frame[frame["metric"] == metric]
    if feature is not None:
        rows = rows[rows["feature"] == feature]
    return rows.sort_values("month").reset_index(drop=True)


def _limits(rows: pd.DataFrame, spec: _Spec) -> list[tuple[str, pd.Series]]:
    ref, limit = rows["reference"].astype(float), rows["threshold"].astype(float)
    if spec.limits == "band":
        return [("allowed range", (ref + limit).clip(upper=1.0)), ("", (ref - limit).clip(lower=0.0))]
    if spec.limits == "above":
        return [("limit", (ref + limit).clip(upper=1.0))]
    if spec.limits == "line":
        return [("limit", limit)]
    if spec.limits == "ratio":
        return [("allowed range", ref * limit), ("", ref / limit)]
    return []


def _add_values(figure: go.Figure, rows: pd.DataFrame, name: str, color: str, scale: float, spec: _Spec | None) -> None:
    statuses = rows["status"].fillna("pass")
    colors = [FAIL_COLOR if s == "fail" else WARN_COLOR if s == "warn" else color for s in statuses]
    sizes = [13 if s in ("fail", "warn") else 8 for s in statuses]
    template = _hover(spec, name) if spec else "%{x}: %{y:.3f}<extra>" + name + "</extra>"
    figure.add_scatter(
        x=rows["month"],
        y=rows["value"] * scale,
        name=name,
        mode="lines+markers",
        line={"color": color, "width": 2.5},
        customdata=rows["run_id"],
        marker={"color": colors, "size": sizes, "line": {"color": "white", "width": 1}},
        text=[f"check {s}" for s in statuses],
        hovertemplate=template,
    )
    failed = rows[statuses == "fail"]
    if not failed.empty:  # a legend entry saying what red means
        figure.add_scatter(
            x=failed["month"],
            y=failed["value"] * scale,
            name="check failed",
            mode="markers",
            marker={"color": FAIL_COLOR, "size": 13, "symbol": "x"},
            customdata=failed["run_id"],
            hovertemplate="%{x}: check failed<extra></extra>",
        )


def _hover(spec: _Spec | None, name: str) -> str:
    if spec and spec.percent:
        return "%{x}: %{y:.1f}%<extra>" + name + "</extra>"
    if spec and spec.limits == "ratio":
        return "%{x}: %{y:,.0f}<extra>" + name + "</extra>"
    return "%{x}: %{y:.3f}<extra>" + name + "</extra>"


def _finish(figure: go.Figure, title: str, axis: str, percent: bool) -> go.Figure:
    figure.update_layout(title=title, **_LAYOUT)
    figure.update_xaxes(title_text="month", type="category")
    figure.update_yaxes(title_text=axis, rangemode="tozero", ticksuffix="%" if percent else "", separatethousands=True)
    return figure


def _label(metric: str) -> str:
    names = {"r2": "R²", "mae": "MAE", "poisson_deviance": "Poisson deviance"}
    if metric in names:
        return names[metric]
    kind, share = metric.split("_top")
    return f"{kind} of the top {share}%"


def month_to_date_chart(days: list[dict[str, Any]]) -> alt.Chart:
    """Each day's month-to-date run (x) and every check that warned or failed on some day (y), by status."""
    labels = sorted({label for day in days for label, status in day["statuses"].items() if status != "pass"})
    rows = [
        {"day": day["as_of"], "check": label, "status": day["statuses"].get(label, "pass"), "run": day["run_id"]}
        for day in days
        for label in labels
    ]
    colours = alt.Scale(domain=["pass", "warn", "fail"], range=["#1b7f3b", "#e0a100", "#b3261e"])
    return (
        alt.Chart(pd.DataFrame(rows), height=max(120, 28 * len(labels)))
        .mark_rect()
        .encode(
            x=alt.X("day:O", title="checked up to (month to date)"),
            y=alt.Y("check:N", title=None),
            color=alt.Color("status:N", scale=colours, title=None),
            tooltip=["day:N", "check:N", "status:N", "run:N"],
        )
    )
