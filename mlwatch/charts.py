"""Plotly figures for the dashboard: reference and current always in the same two colours."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

REFERENCE_COLOR = "#4C78A8"
CURRENT_COLOR = "#F58518"
_LAYOUT = {"template": "plotly_white", "height": 340, "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
           "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0}}


def histogram_figure(histogram: dict[str, Any], feature: str, labels: tuple[str, str], unit: str = "events") -> go.Figure:
    """Side-by-side histogram of a per-user count, as shares of users (from ``histograms.count_histogram``)."""
    figure = go.Figure()
    for key, label, color in (("reference", labels[0], REFERENCE_COLOR), ("current", labels[1], CURRENT_COLOR)):
        figure.add_bar(x=histogram["bins"], y=histogram[key], name=label, marker_color=color,
                       hovertemplate="%{x} " + unit + ": %{y:.1f}% of users<extra>" + label + "</extra>")
    figure.update_layout(title=f"{feature}: {unit} per user", barmode="group", **_LAYOUT)
    figure.update_xaxes(title_text=f"{feature} {unit} per user in the month", type="category")
    figure.update_yaxes(title_text="share of users (%)", ticksuffix="%")
    return figure


def prediction_figure(histogram: dict[str, Any], labels: tuple[str, str]) -> go.Figure:
    """Overlaid histogram of predicted purchases for both months (from ``histograms.value_histogram``)."""
    figure = go.Figure()
    for key, label, color in (("reference", labels[0], REFERENCE_COLOR), ("current", labels[1], CURRENT_COLOR)):
        figure.add_bar(x=histogram["centers"], y=histogram[key], name=label, marker_color=color, opacity=0.6,
                       hovertemplate="%{x:.2f} purchases: %{y:.1f}% of users<extra>" + label + "</extra>")
    figure.update_layout(title="Predicted purchases next month", barmode="overlay", **_LAYOUT)
    figure.update_xaxes(title_text="predicted purchases per user (last bin includes the top 1%)")
    figure.update_yaxes(title_text="share of users (%)", ticksuffix="%")
    return figure


def daily_events_figure(reference: dict[str, int], current: dict[str, int], labels: tuple[str, str]) -> go.Figure:
    """Events per calendar day of both months, aligned on the day of the month."""
    figure = go.Figure()
    for daily, label, color in ((reference, labels[0], REFERENCE_COLOR), (current, labels[1], CURRENT_COLOR)):
        days = [int(day[-2:]) for day in daily]
        figure.add_scatter(x=days, y=list(daily.values()), name=label, mode="lines+markers",
                           line={"color": color}, hovertemplate="day %{x}: %{y:,} events<extra>" + label + "</extra>")
    figure.update_layout(title="Events per day", **_LAYOUT)
    figure.update_xaxes(title_text="day of the month", dtick=1 if max(len(reference), len(current)) <= 31 else None)
    figure.update_yaxes(title_text="events (count)", rangemode="tozero", separatethousands=True)
    return figure
