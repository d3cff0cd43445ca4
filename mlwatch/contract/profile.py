"""A month of the event log measured for the contract: events per day and per event name.

Measured from the DuckDB ``events`` table the readers fill (``contract export --logs --month``),
or from a stored run's hourly timeline (the Data page), so both give the same figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pandas as pd

from mlwatch.months import month_start, next_month

# A share outside [lowest daily share / MARGIN, highest daily share * MARGIN] is "far outside its usual range".
SHARE_MARGIN = 2.0
# Days (and samples) where a name's expected count is under this are not judged, as the coverage check does.
MIN_EXPECTED = 20


@dataclass(frozen=True)
class UsualShare:
    """An event name's share of all events in the measured month, and the range a sample's share must stay in."""

    event: str
    share: float  # of the month's events, 0..1
    low: float | None  # None: the name did not occur in the month
    high: float | None


@dataclass(frozen=True)
class MonthProfile:
    """Events per UTC day, and per event name and day, in one month."""

    month: str
    daily: dict[str, int]  # "YYYY-MM-DD" -> events
    by_name: dict[str, dict[str, int]]  # event name -> day -> events

    @property
    def events(self) -> int:
        """The month's events."""
        return sum(self.daily.values())

    def names(self) -> dict[str, int]:
        """Events per name in the month, most frequent first."""
        totals = {name: sum(days.values()) for name, days in self.by_name.items()}
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    def usual_share(self, event: str) -> UsualShare:
        """The share of ``event`` over the month and its range over the days with enough events to judge."""
        days = self.by_name.get(event, {})
        total = self.events
        share = sum(days.values()) / total if total else 0.0
        if not share:
            return UsualShare(event, 0.0, None, None)
        judged = [days.get(day, 0) / n for day, n in self.daily.items() if n * share >= MIN_EXPECTED]
        judged = judged or [days.get(day, 0) / n for day, n in self.daily.items() if n]
        low, high = min(judged) / SHARE_MARGIN, min(1.0, max(judged) * SHARE_MARGIN)
        return UsualShare(event, round(share, 6), round(low, 6), round(high, 6))

    def daily_range(self) -> tuple[int, int, int]:
        """The median, lowest and highest events of a day of the month."""
        counts = list(self.daily.values())
        return int(statistics.median(counts)), min(counts), max(counts)


def profile_events(con: duckdb.DuckDBPyConnection, month: str) -> MonthProfile:
    """Measure ``month`` in the ``events`` table (valid, de-duplicated events)."""
    rows = con.execute(
        """SELECT strftime(ts, '%Y-%m-%d') AS day, event, count(*) FROM events
           WHERE ts >= ? AND ts < ? GROUP BY ALL ORDER BY day, event""",
        [month_start(month), month_start(next_month(month))],
    ).fetchall()
    return _profile(month, rows)


def profile_timeline(hourly: pd.DataFrame, month: str) -> MonthProfile:
    """Measure ``month`` in a run's hourly timeline (``event``, ``hour``, ``events``)."""
    start, end = pd.Timestamp(month_start(month)), pd.Timestamp(month_start(next_month(month)))
    part = hourly[(hourly["hour"] >= start) & (hourly["hour"] < end)]
    daily = part.groupby([part["hour"].dt.strftime("%Y-%m-%d"), "event"])["events"].sum()
    return _profile(month, ((day, event, int(n)) for (day, event), n in daily.items()))


def _profile(month: str, rows: Iterable[tuple[str, str, int]]) -> MonthProfile:
    daily: dict[str, int] = {}
    by_name: dict[str, dict[str, int]] = {}
    for day, event, count in rows:
        daily[day] = daily.get(day, 0) + int(count)
        by_name.setdefault(event, {})[day] = int(count)
    return MonthProfile(month, daily, by_name)
