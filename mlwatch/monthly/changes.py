"""Change points of the event stream, per event name, from the hourly timeline.

``stopped``: a name seen in the reference month has no event after some hour, where at its
reference share of all events at least ``MIN_EXPECTED`` were due. ``started``: a name absent
from the reference month with at least ``MIN_EXPECTED`` events since. ``gap``: days of the
current period on which the name fell below ``GAP_SHARE`` of its usual share of the day's events
(the reference month's median share for that weekday) and came back. ``level_shift``: from some
day to the end of the period, every judged day's share is ``SHIFT`` times above or below the usual.
Days on which fewer than ``MIN_EXPECTED`` events of the name were due are not judged. Shares of
all events, not counts, are compared, so weekly seasonality, a campaign day or a month with more
traffic move nothing; an outage of the whole stream is the ``volume`` check's.

What a false alarm costs: a change point alone closes nothing (the checks decide the gate), but
it puts a wrong sentence on the Overview that a data scientist then chases; the thresholds keep
that rare (measured over seeded healthy months in tests/unit/test_changes.py and the note).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from mlwatch.engine import aggregated
from mlwatch.months import month_name, month_start, next_month
from mlwatch.summary import Change, Link

MIN_EXPECTED = 20.0  # events: where fewer were due, an absence proves nothing
GAP_SHARE = 0.25  # below this share of its usual share, a day is a gap day (as the coverage check)
SHIFT = 2.0  # a level shift moves the share by this factor or more ...
SHIFT_DAYS = 3  # ... on each judged day from its start to the end of the period, at least this many days
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Stream:
    """The timeline prepared for detection: hourly counts per name over the whole span, both months marked."""

    counts: pd.DataFrame  # hour x event name, every hour from the reference month's start to ``end``
    total: pd.Series  # events per hour
    reference: str
    current: str
    end: datetime

    @classmethod
    def of(cls, hourly: pd.DataFrame, reference: str, current: str, end: datetime) -> Stream:
        """Pivot ``hourly`` (``monthly.timeline.hourly_counts``) into a full hour x name table."""
        index = pd.date_range(month_start(reference), end, freq="h", inclusive="left")
        counts = hourly.pivot_table(index="hour", columns="event", values="events", aggfunc="sum", fill_value=0)
        counts = counts.reindex(index, fill_value=0).astype("int64")
        counts.columns.name = None
        return cls(counts, counts.sum(axis=1), reference, current, end)

    @property
    def reference_hours(self) -> pd.DataFrame:
        """The counts of the reference month."""
        return self.counts.loc[month_start(self.reference) : month_start(next_month(self.reference)) - HOUR]

    @property
    def current_start(self) -> datetime:
        """The first hour of the current period."""
        return month_start(self.current)

    def shares(self) -> pd.Series:
        """Each name's share of all events in the reference month."""
        ref = self.reference_hours
        return ref.sum() / max(1, int(ref.to_numpy().sum()))

    def usual_daily_shares(self) -> pd.DataFrame:
        """Each name's median share of the day's events in the reference month, per weekday (0 = Monday)."""
        daily = self.reference_hours.resample("D").sum()
        totals = daily.sum(axis=1)
        shares = daily[totals > 0].div(totals[totals > 0], axis=0)  # a day without any event says nothing
        # A weekday the reference days do not cover (a month-to-date run's first days) takes every day's median.
        return shares.groupby(shares.index.weekday).median().reindex(range(7)).fillna(shares.median())

    def current_days(self) -> tuple[pd.DataFrame, pd.Series]:
        """Daily counts per name and in total over the current period."""
        daily = self.counts.loc[self.current_start :].resample("D").sum()
        return daily, daily.sum(axis=1)


def detect_changes(hourly: pd.DataFrame, reference: str, current: str, end: datetime) -> list[Change]:
    """Every change point of every event name, in time order (links are added by ``link_names``).

    Args:
        hourly: ``event, hour, events`` from the reference month's start to ``end``.
        end: the end of the current period (exclusive): the next month, or the day after ``--as-of``.
    """
    if hourly.empty:
        return []
    stream = Stream.of(hourly, reference, current, end)
    shares = stream.shares()
    usual = stream.usual_daily_shares()
    daily, totals = stream.current_days()
    expected = pd.DataFrame(
        usual.reindex(daily.index.weekday).to_numpy() * totals.to_numpy()[:, None],
        index=daily.index,
        columns=usual.columns,
    )
    changes: list[Change] = []
    for name in stream.counts.columns:
        if shares.get(name, 0.0) == 0.0:
            changes += _started(stream, name)
            continue
        stopped = _stopped(stream, name, float(shares[name]))
        changes += stopped
        stop = _parse(stopped[0].at) if stopped else end
        ratio = _judged_ratios(daily[name], expected[name], stop)
        shift = _level_shift(stream, name, ratio, float(shares[name]))
        if shift:  # days below the gap line after a shift are the new level's noise, not gaps
            ratio = ratio.loc[: pd.Timestamp(_parse(shift[0].at)).floor("D") - DAY]
        changes += shift + [_gap(stream, name, days) for days in _gap_runs(ratio)]
    return sorted(changes, key=lambda c: (c.at, c.kind, c.event))


def iso_hour(moment: datetime | pd.Timestamp) -> str:
    """``2026-05-15T12:00:00Z``: the contract's form of a change's time."""
    return pd.Timestamp(moment).strftime("%Y-%m-%dT%H:00:00Z")


def when(at: str) -> str:
    """``2026-05-15 at 12:00 UTC``: a change's time for people."""
    return f"{at[:10]} at {at[11:16]} UTC"


def _started(stream: Stream, name: str) -> list[Change]:
    series = stream.counts[name]
    total = int(series.sum())
    if total < MIN_EXPECTED:
        return []
    at = iso_hour(series[series > 0].index[0])
    message = f"`{name}` started on {when(at)}: new since {month_name(stream.reference)}, {total:,} events so far."
    return [Change(name, "started", at, message)]


def _stopped(stream: Stream, name: str, share: float) -> list[Change]:
    series = stream.counts[name]
    seen = series[series > 0]
    stop = seen.index[-1] + HOUR
    if stop >= stream.end:
        return []
    due = share * float(stream.total.loc[stop:].sum())
    if due < MIN_EXPECTED:
        return []
    at = iso_hour(stop)
    message = (
        f"`{name}` stopped on {when(at)}: no event since, where about {due:,.0f} were due at its"
        f" {month_name(stream.reference)} share ({share:.1%} of all events)."
    )
    return [Change(name, "stopped", at, message)]


def _judged_ratios(counts: pd.Series, expected: pd.Series, stop: datetime) -> pd.Series:
    """Each judged day's count over its expected count: whole days before the stop, with enough due."""
    judged = (expected >= MIN_EXPECTED) & (counts.index + DAY <= stop)
    return (counts[judged] / expected[judged]).astype(float)


def _gap_runs(ratio: pd.Series) -> list[list[pd.Timestamp]]:
    """Runs of consecutive calendar days far below the usual share (the name came back after each)."""
    runs: list[list[pd.Timestamp]] = []
    for day in ratio.index[ratio < GAP_SHARE]:
        if runs and day - runs[-1][-1] == DAY:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _gap(stream: Stream, name: str, days: list[pd.Timestamp]) -> Change:
    """A gap from the hour after the last event before it to the hour of the first event after it, when
    the name was absent throughout; otherwise from the first day's start to the last day's end."""
    series = stream.counts[name]
    first, last = days[0], days[-1] + DAY
    inside = series.loc[first : last - HOUR]
    if int(inside.sum()) == 0:
        before = series.loc[: first - HOUR]
        after = series.loc[last:]
        start = before[before > 0].index[-1] + HOUR if (before > 0).any() else first
        until = after[after > 0].index[0] if (after > 0).any() else last
    else:
        start, until = first, last
    at, end = iso_hour(start), iso_hour(until)
    absent = "absent" if int(inside.sum()) == 0 else f"far below its usual share ({int(inside.sum()):,} events)"
    message = f"`{name}` was {absent} from {when(at)} until {when(end)}."
    return Change(name, "gap", at, message, until=end)


def _level_shift(stream: Stream, name: str, ratio: pd.Series, share: float) -> list[Change]:
    """The share moved to a new level on some day and stayed there until the end of the period."""
    for direction in (-1, 1):
        side = (ratio < 1 / SHIFT) if direction < 0 else (ratio > SHIFT)
        if side.empty or not bool(side.iloc[-1]):
            continue
        outside = np.flatnonzero(~side.to_numpy())
        start = int(outside[-1]) + 1 if outside.size else 0
        run = ratio.iloc[start:]
        if len(run) < SHIFT_DAYS:
            continue
        level = float(run.median())
        at = iso_hour(_shift_hour(stream, name, run.index[0], share, level))
        message = (
            f"`{name}`'s share of events moved from {share:.1%} to about {share * level:.1%} ({level:.2f}x) on"
            f" {when(at)} and stayed there."
        )
        return [Change(name, "level_shift", at, message)]
    return []


def _shift_hour(stream: Stream, name: str, first_day: pd.Timestamp, share: float, level: float) -> pd.Timestamp:
    """The hour of the previous day (or the first day's start) where the share best splits in two levels."""
    day = first_day - DAY
    if day < pd.Timestamp(stream.current_start):
        return first_day
    counts = stream.counts[name].loc[day : first_day - HOUR].to_numpy(dtype=float)
    totals = stream.total.loc[day : first_day - HOUR].to_numpy(dtype=float)
    errors = [
        float(np.sum((counts - np.where(np.arange(24) < k, share, share * level) * totals) ** 2)) for k in range(25)
    ]
    best = min(range(25), key=lambda k: (errors[k], k != 24))  # no split unless one fits strictly better
    return first_day if best == 24 else day + best * HOUR


LINK_HOURS = 1.0  # a new name started within this many hours of the old one's stop or fall, or with
LINK_EVENTS = 3.0  # ... at most this many of either name's events due in between (a quiet night), ...
LINK_USERS = 0.5  # ... and at least this share of its users used the old name in the reference month


def link_names(
    con: duckdb.DuckDBPyConnection, changes: list[Change], hourly: pd.DataFrame, reference: str, current: str,
    end: datetime,
) -> list[Change]:  # fmt: skip
    """Link each started name to the names it probably replaces, with the evidence (DESIGN.md).

    A candidate stopped or fell (its share went down and stayed) within ``LINK_HOURS`` of the
    start, and at least ``LINK_USERS`` of the new name's users used it in the reference month
    (read from the ``events`` table). ``Link.level`` says whether the new names linked to it
    together make up its old level since then.
    """
    started = [c for c in changes if c.kind == "started"]
    stream = Stream.of(hourly, reference, current, end)
    shares = stream.shares()
    fallen = {
        c.event: _parse(c.at)
        for c in changes
        if c.kind == "stopped" or (c.kind == "level_shift" and _missing(stream, c.event, shares, _parse(c.at)) > 0)
    }
    links: dict[str, list[Link]] = {}
    for new in started:
        for old, at in fallen.items():
            apart = abs((_parse(new.at) - at).total_seconds()) / 3600
            if apart > LINK_HOURS and _due_between(stream, new.event, old, shares, _parse(new.at), at) > LINK_EVENTS:
                continue
            share = _user_share(con, new.event, old, reference, stream.end)
            if share is None or share >= LINK_USERS:
                links.setdefault(new.event, []).append(Link(old, apart, share, None))
    return [_with_links(change, links, stream, shares, fallen) for change in changes]


def _with_links(
    change: Change, links: dict[str, list[Link]], stream: Stream, shares: pd.Series, fallen: dict[str, datetime]
) -> Change:
    own = links.get(change.event) if change.kind == "started" else None
    if not own:
        return change
    complete = []
    for link in own:
        partners = [new for new, found in links.items() if any(other.old == link.old for other in found)]
        since = fallen[link.old]
        made_up = float(stream.counts.loc[since:, partners].to_numpy().sum())
        missing = _missing(stream, link.old, shares, since)
        complete.append(replace(link, level=round(made_up / missing, 3) if missing > 0 else None))
    return replace(
        change, replaces=tuple(complete), message=change.message + " " + _evidence(change.event, complete, links)
    )


def _due_between(stream: Stream, new: str, old: str, shares: pd.Series, started: datetime, stopped: datetime) -> float:
    """How many events were due between a stop and a start that are hours apart: of the new name (at its
    share since) when it started later, of the old one (at its reference share) when it stopped later.
    Few (a quiet night) means the two times are as good as the same."""
    start, end = min(started, stopped), max(started, stopped)
    traffic = float(stream.total.loc[start : end - HOUR].sum())
    if started < stopped:
        return traffic * float(shares.get(old, 0.0))
    since = stream.counts.loc[started:]
    return traffic * float(since[new].sum()) / max(1.0, float(since.to_numpy().sum()))


def _missing(stream: Stream, name: str, shares: pd.Series, since: datetime) -> float:
    """How many events of ``name`` are missing since ``since`` against its reference share."""
    due = float(shares.get(name, 0.0)) * float(stream.total.loc[since:].sum())
    return due - float(stream.counts.loc[since:, name].sum())


def _evidence(name: str, links: list[Link], every: dict[str, list[Link]]) -> str:
    parts = []
    for link in links:
        partners = sorted(new for new, found in every.items() if new != name and any(o.old == link.old for o in found))
        hours = f"{link.hours_apart:.0f} hour{'s' if link.hours_apart >= 2 else ''}"
        timing = "in the hour" if link.hours_apart < 1 else f"{hours} from when"
        sentence = f"It probably replaces `{link.old}`: it started {timing} `{link.old}` stopped or fell"
        if link.user_share is not None:
            sentence += f", {link.user_share:.0%} of its users used `{link.old}` in the reference month"
        if link.level is not None:
            together = f"with {', '.join(f'`{p}`' for p in partners)} " if partners else ""
            sentence += f", and {together}it makes up {link.level:.0%} of `{link.old}`'s usual count since"
        parts.append(sentence + ".")
    return " ".join(parts)


def _user_share(con: duckdb.DuckDBPyConnection, new: str, old: str, reference: str, end: datetime) -> float | None:
    """Share of ``new``'s users (after the reference month) who used ``old`` in the reference month."""
    if aggregated.active(con):
        seen, users = aggregated.user_share(con, new, old, reference, end)
        return round(seen / users, 3) if users else None
    ref_start, ref_end = month_start(reference), month_start(next_month(reference))
    seen, users = con.execute(
        """WITH new AS (SELECT DISTINCT user_id FROM events WHERE event = ? AND ts >= ? AND ts < ?),
                old AS (SELECT DISTINCT user_id FROM events WHERE event = ? AND ts >= ? AND ts < ?)
           SELECT count(old.user_id), count(*) FROM new LEFT JOIN old ON new.user_id = old.user_id""",
        [new, ref_end, end, old, ref_start, ref_end],
    ).fetchall()[0]
    return round(seen / users, 3) if users else None


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.removesuffix("Z"))
