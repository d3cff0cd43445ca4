"""Plotly figures for the dashboard: reference and current always in the same two colours."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

REFERENCE_COLOR = "#4C78A8"
CURRENT_COLOR = "#F58518"
_LAYOUT = {"template": "plotly_white", "height": 340, "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
           "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0}}


def count_bins(reference: np.ndarray, current: np.ndarray, max_bins: int = 30) -> tuple[np.ndarray, str]:
    """Return shared bin edges for two count distributions, and the label of the last (open) bin.

    Counts get one bin per value up to the 99th percentile of both months
    together (grouped when that is more than ``max_bins`` values, 0 always
    alone); the rest
    falls in a last ``>= x`` bin so one heavy user does not squash the chart.
    """
    both = np.concatenate([reference[~np.isnan(reference)], current[~np.isnan(current)]])
    if both.size == 0:
        return np.array([0.0, 1.0]), "0"
    top = max(1.0, float(np.quantile(both, 0.99)))
    width = max(1.0, math.ceil((top + 1) / max_bins))
    # 0 always has its own bin: a jump in the zero rate is what a broken feature looks like.
    edges = np.concatenate([[0.0], np.arange(1.0, top + width, width)])
    if both.max() >= edges[-1]:
        edges = np.append(edges, both.max() + 1)
    return edges, f">= {edges[-2]:g}"


def histogram_figure(
    reference: Sequence[float], current: Sequence[float], feature: str, labels: tuple[str, str], unit: str = "events"
) -> go.Figure:
    """Side-by-side histogram of a per-user count, as shares of users, on the same bins."""
    ref, cur = np.asarray(reference, dtype="float64"), np.asarray(current, dtype="float64")
    edges, overflow = count_bins(ref, cur)
    names = [_bin_name(edges, i, overflow) for i in range(len(edges) - 1)]
    figure = go.Figure()
    for values, label, color in ((ref, labels[0], REFERENCE_COLOR), (cur, labels[1], CURRENT_COLOR)):
        values = values[~np.isnan(values)]
        counts, _ = np.histogram(values, bins=edges)
        share = counts / max(1, len(values)) * 100
        figure.add_bar(x=names, y=share, name=label, marker_color=color,
                       hovertemplate="%{x} " + unit + ": %{y:.1f}% of users<extra>" + label + "</extra>")
    figure.update_layout(title=f"{feature}: {unit} per user", barmode="group", **_LAYOUT)
    figure.update_xaxes(title_text=f"{feature} {unit} per user in the month", type="category")
    figure.update_yaxes(title_text="share of users (%)", ticksuffix="%")
    return figure


def prediction_figure(reference: Sequence[float], current: Sequence[float], labels: tuple[str, str]) -> go.Figure:
    """Overlaid histogram of predicted purchases for both months, on the same bins."""
    ref, cur = np.asarray(reference, dtype="float64"), np.asarray(current, dtype="float64")
    both = np.concatenate([ref, cur])
    top = float(np.quantile(both, 0.99)) if both.size else 1.0
    edges = np.linspace(0.0, max(top, 1e-9), 31)
    centers = (edges[:-1] + edges[1:]) / 2
    figure = go.Figure()
    for values, label, color in ((ref, labels[0], REFERENCE_COLOR), (cur, labels[1], CURRENT_COLOR)):
        counts, _ = np.histogram(np.clip(values, 0, edges[-1]), bins=edges)
        figure.add_bar(x=centers, y=counts / max(1, len(values)) * 100, name=label, marker_color=color, opacity=0.6,
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


def _bin_name(edges: np.ndarray, index: int, overflow: str) -> str:
    if index == len(edges) - 2 and overflow.startswith(">=") and edges[-1] - edges[-2] > 1 and index > 0:
        return overflow
    low, high = edges[index], edges[index + 1]
    return f"{low:g}" if high - low <= 1 else f"{low:g}-{high - 1:g}"
