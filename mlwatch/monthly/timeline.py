"""The event timeline: hourly counts and distinct users per event name, from the events already read.

One aggregation over the DuckDB ``events`` table the run built while reading the logs (no second
pass over the raw files), from the start of the reference month to the end of the current period
(the month, or the days up to ``--as-of``), months in between included so that a stop between
the two months is placed to the hour. Stored with the run as ``timeline.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from mlwatch.engine import aggregated
from mlwatch.engine.aggregated import HOURLY_SQL
from mlwatch.months import month_start, next_month

TIMELINE_FILE = "timeline.parquet"
FEATURE_DAILY_FILE = "feature_daily.parquet"  # events per day per feature and in total (``feature_daily``)
COLUMNS = ("event", "hour", "events", "users")


def hourly_counts(con: duckdb.DuckDBPyConnection, reference: str, end: datetime) -> pd.DataFrame:
    """Return ``event``, ``hour`` (naive UTC), ``events`` and ``users`` for every hour with events.

    Args:
        reference: the first month covered.
        end: the end of the current period (exclusive).
    """
    sql = aggregated.hourly_sql() if aggregated.active(con) else HOURLY_SQL + " WHERE ts >= ? AND ts < ? GROUP BY ALL"
    frame = con.execute(f"SELECT * FROM ({sql}) ORDER BY event, hour", [month_start(reference), end]).df()
    frame["events"] = frame["events"].astype("int64")
    frame["users"] = frame["users"].astype("int64")
    return frame


def read_timeline(folder: Path) -> pd.DataFrame | None:
    """The stored timeline of a run folder, or None for a run stored before the timeline existed."""
    path = folder / TIMELINE_FILE
    return pd.read_parquet(path) if path.exists() else None


def period_end(current: str, as_of: str | None = None) -> datetime:
    """The exclusive end of the current period: the next month's start, or the day after ``as_of``."""
    if as_of is None:
        return month_start(next_month(current))
    return datetime.fromisoformat(as_of) + timedelta(days=1)


def feature_daily(hourly: pd.DataFrame, features: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Daily event counts per feature (columns) and of every event (``all``), indexed by day."""
    days = hourly["hour"].dt.floor("D")
    columns = {"all": hourly.groupby(days)["events"].sum()}
    for name, events in features.items():
        mapped = hourly["event"].isin(events)
        columns[name] = hourly[mapped].groupby(days[mapped])["events"].sum()
    return pd.DataFrame(columns).fillna(0).astype("int64")


MIN_EXPECTED = 20  # a day on which fewer of the feature's events were due is not judged


@dataclass(frozen=True)
class Coverage:
    """One feature's days in the current period: judged, and those far below the usual share (gap days)."""

    judged: tuple[str, ...]
    gaps: tuple[str, ...]
    lowest: float | None  # the lowest share of the usual share on a judged day


def measure_coverage(daily: pd.DataFrame, feature: str, reference: str, current: str, threshold: float) -> Coverage:
    """Compare each current day's share of the feature's events with its usual share for that weekday.

    Args:
        daily: events per day (index: days) per feature and in total (``all``), ``timeline.feature_daily``.
    """
    month = daily.index.strftime("%Y-%m")
    ref, cur = daily[month == reference], daily[month == current]
    share = (ref[feature] / ref["all"].where(ref["all"] > 0)).dropna()  # a day without any event says nothing
    # A weekday the reference days do not cover (a month-to-date run's first days) takes the median of every day.
    usual = share.groupby(share.index.weekday).median().reindex(range(7)).fillna(share.median())
    expected = usual.reindex(cur.index.weekday).to_numpy() * cur["all"].to_numpy()
    judged = expected >= MIN_EXPECTED
    ratio = cur[feature].to_numpy()[judged] / expected[judged]
    days = cur.index[judged].strftime("%Y-%m-%d")
    gaps = tuple(days[ratio < threshold])
    return Coverage(tuple(days), gaps, float(ratio.min()) if len(ratio) else None)
