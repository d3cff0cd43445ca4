"""Charts for the dashboard: reference and current always in the same two colours.

The Drift page's histograms are Vega-Lite (Altair), which a browser draws without loading
another library (plotly.js added 0.7 s to a fresh page load on 2 cores); the other charts are
plotly figures.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import plotly.graph_objects as go

REFERENCE_COLOR = "#4C78A8"
CURRENT_COLOR = "#F58518"
_LAYOUT = {
    "template": "plotly_white",
    "height": 340,
    "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
}


def histogram_chart(
    histogram: dict[str, Any], feature: str, labels: tuple[str, str], unit: str = "events"
) -> alt.Chart:
    """Side-by-side histogram of a per-user count, as shares of users (from ``histograms.count_histogram``)."""
    bins = histogram["bins"]
    frame = pd.DataFrame(
        {
            "bin": bins * 2,
            "month": [labels[0]] * len(bins) + [labels[1]] * len(bins),
            "share": [*histogram["reference"], *histogram["current"]],
        }
    )
    colours = alt.Scale(domain=list(labels), range=[REFERENCE_COLOR, CURRENT_COLOR])
    return (
        alt.Chart(frame, title=f"{feature}: {unit} per user", height=400)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", sort=bins, title=f"{feature} {unit} per user in the month", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("month:N", sort=list(labels)),
            y=alt.Y("share:Q", title="share of users (%)", axis=alt.Axis(labelExpr="datum.label + '%'")),
            color=alt.Color("month:N", scale=colours, sort=list(labels), legend=alt.Legend(title=None, orient="top")),
            tooltip=[
                alt.Tooltip("month:N", title="month"),
                alt.Tooltip("bin:N", title=f"{feature} {unit}"),
                alt.Tooltip("share:Q", title="share of users (%)", format=".1f"),
            ],
        )
    )


def prediction_figure(histogram: dict[str, Any], labels: tuple[str, str]) -> go.Figure:
    """Overlaid histogram of predicted purchases for both months (from ``histograms.value_histogram``)."""
    figure = go.Figure()
    for key, label, color in (("reference", labels[0], REFERENCE_COLOR), ("current", labels[1], CURRENT_COLOR)):
        figure.add_bar(
            x=histogram["centers"],
            y=histogram[key],
            name=label,
            marker_color=color,
            opacity=0.6,
            hovertemplate="%{x:.2f} purchases: %{y:.1f}% of users<extra>" + label + "</extra>",
        )
    figure.update_layout(title="Predicted purchases next month", barmode="overlay", **_LAYOUT)
    figure.update_xaxes(title_text="predicted purchases per user (last bin includes the top 1%)")
    figure.update_yaxes(title_text="share of users (%)", ticksuffix="%")
    return figure


def daily_events_figure(reference: dict[str, int], current: dict[str, int], labels: tuple[str, str]) -> go.Figure:
    """Events per calendar day of both months, aligned on the day of the month."""
    figure = go.Figure()
    for daily, label, color in ((reference, labels[0], REFERENCE_COLOR), (current, labels[1], CURRENT_COLOR)):
        days = [int(day[-2:]) for day in daily]
        figure.add_scatter(
            x=days,
            y=list(daily.values()),
            name=label,
            mode="lines+markers",
            line={"color": color},
            hovertemplate="day %{x}: %{y:,} events<extra>" + label + "</extra>",
        )
    figure.update_layout(title="Events per day", **_LAYOUT)
    figure.update_xaxes(title_text="day of the month", dtick=1 if max(len(reference), len(current)) <= 31 else None)
    figure.update_yaxes(title_text="events (count)", rangemode="tozero", separatethousands=True)
    return figure
