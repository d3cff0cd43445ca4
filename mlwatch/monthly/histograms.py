"""Histograms of both months on shared bins, computed once per run and stored in its summary.

Pages draw them from the summary, so a page never reads a million-row feature table to draw a chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def run_histograms(reference: Any, current: Any, names: Sequence[str]) -> dict[str, Any]:
    """Histograms of every feature (counts) and of ``prediction`` from a run's two per-user tables."""
    histograms: dict[str, Any] = {name: count_histogram(reference[name], current[name]) for name in names}
    histograms["prediction"] = value_histogram(reference["prediction"], current["prediction"])
    return histograms


def count_bins(reference: np.ndarray, current: np.ndarray, max_bins: int = 30) -> tuple[np.ndarray, str]:
    """Return shared bin edges for two count distributions, and the label of the last (open) bin.

    Counts get one bin per value up to the 99th percentile of both months
    together (grouped when that is more than ``max_bins`` values, 0 always
    alone); the rest falls in a last ``>= x`` bin so one heavy user does not
    squash the chart.
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


def count_histogram(reference: Sequence[float], current: Sequence[float]) -> dict[str, Any]:
    """Share of users (%) in each bin of a per-user count, for both months on the same bins.

    Returns:
        ``bins`` (labels such as "0", "1", "2-3", ">= 40"), ``reference`` and ``current``
        (percent of the month's users with a value), and ``users`` per month.
    """
    ref, cur = _floats(reference), _floats(current)
    edges, overflow = count_bins(ref, cur)
    return {
        "bins": [_bin_name(edges, i, overflow) for i in range(len(edges) - 1)],
        "reference": _shares(ref, edges),
        "current": _shares(cur, edges),
        "users": {"reference": int(ref.size), "current": int(cur.size)},
    }


def value_histogram(reference: Sequence[float], current: Sequence[float], bins: int = 30) -> dict[str, Any]:
    """Share of users (%) in equal-width bins of a continuous value (the top 1% falls in the last bin)."""
    ref, cur = _floats(reference), _floats(current)
    both = np.concatenate([ref[~np.isnan(ref)], cur[~np.isnan(cur)]])
    top = float(np.quantile(both, 0.99)) if both.size else 1.0
    edges = np.linspace(0.0, max(top, 1e-9), bins + 1)
    return {
        "centers": ((edges[:-1] + edges[1:]) / 2).tolist(),
        "reference": _shares(np.clip(ref, 0, edges[-1]), edges),
        "current": _shares(np.clip(cur, 0, edges[-1]), edges),
        "users": {"reference": int(ref.size), "current": int(cur.size)},
    }


def _floats(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype="float64")


def _shares(values: np.ndarray, edges: np.ndarray) -> list[float]:
    values = values[~np.isnan(values)]
    counts, _ = np.histogram(values, bins=edges)
    return (counts / max(1, len(values)) * 100).tolist()


def _bin_name(edges: np.ndarray, index: int, overflow: str) -> str:
    if index == len(edges) - 2 and overflow.startswith(">=") and edges[-1] - edges[-2] > 1 and index > 0:
        return overflow
    low, high = edges[index], edges[index + 1]
    return f"{low:g}" if high - low <= 1 else f"{low:g}-{high - 1:g}"
