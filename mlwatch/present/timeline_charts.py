"""The event timeline for the Data page: daily counts per event name, both months on one day axis,
change points marked, and the names a new one replaces drawn beside it (Altair, no Streamlit)."""

from __future__ import annotations

from datetime import datetime

import altair as alt
import pandas as pd

from mlwatch.monthly.changes import when
from mlwatch.months import month_start, next_month
from mlwatch.present.charts import CURRENT_COLOR, REFERENCE_COLOR
from mlwatch.summary import Change

KIND_WORDS = {"stopped": "stopped", "started": "started", "gap": "gap", "level_shift": "level shift"}


def daily_by_name(hourly: pd.DataFrame, reference: str, current: str, labels: tuple[str, str]) -> pd.DataFrame:
    """Events per day of month per name, for the reference and current months: ``event, day, month, events``."""
    parts = []
    for month, label in zip((reference, current), labels):
        start, end = month_start(month), month_start(next_month(month))
        inside = hourly[(hourly["hour"] >= start) & (hourly["hour"] < end)]
        daily = inside.groupby(["event", inside["hour"].dt.day.rename("day")])["events"].sum().reset_index()
        parts.append(daily.assign(month=label))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["event", "day", "month", "events"])


def name_totals(daily: pd.DataFrame, labels: tuple[str, str]) -> pd.DataFrame:
    """One row per event name: its events in each month and the change, most frequent first."""
    totals = daily.pivot_table(index="event", columns="month", values="events", aggfunc="sum", fill_value=0)
    totals = totals.reindex(columns=list(labels), fill_value=0)
    before, now = totals[labels[0]], totals[labels[1]]
    frame = pd.DataFrame(
        {
            "event name": totals.index,
            f"events {labels[0]}": before.to_numpy(),
            f"events {labels[1]}": now.to_numpy(),
            "change (%)": ((now - before) / before.where(before > 0) * 100).round(1).to_numpy(),
        }
    )
    return frame.sort_values(f"events {labels[1]}", ascending=False, kind="stable").reset_index(drop=True)


def timeline_chart(
    daily: pd.DataFrame, names: list[str], changes: list[Change], labels: tuple[str, str], current: str
) -> alt.LayerChart:
    """Daily counts of ``names`` (a changed name and the names linked to it) in both months, one line per
    name and month, with a rule and a tooltip at each change of these names (a change before the
    current month is marked on its first day, with its date)."""
    frame = daily[daily["event"].isin(names)].assign(series=lambda f: f["event"] + " · " + f["month"])
    colours = alt.Scale(domain=list(labels), range=[REFERENCE_COLOR, CURRENT_COLOR])
    lines = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:Q", title="day of the month", scale=alt.Scale(domain=[1, 31])),
            y=alt.Y("events:Q", title="events per day"),
            color=alt.Color("month:N", scale=colours, title=None),
            strokeDash=alt.StrokeDash("event:N", title="event name"),
            detail="series:N",
            tooltip=["event:N", "month:N", "day:Q", alt.Tooltip("events:Q", format=",")],
        )
    )
    marks = pd.DataFrame(
        [
            {
                "day": _day_in(change.at, current),
                "what": _mark(change, current),
                "message": change.message,
            }
            for change in changes
            if change.event in names
        ]
    )
    if marks.empty:
        return alt.layer(lines).properties(height=260)
    rules = (
        alt.Chart(marks).mark_rule(color="#b3261e", strokeWidth=2).encode(x="day:Q", tooltip=["what:N", "message:N"])
    )
    text = (
        alt.Chart(marks)
        .mark_text(align="left", dx=4, dy=-6, color="#b3261e")
        .encode(x="day:Q", y=alt.value(8), text="what:N")
    )
    return alt.layer(lines, rules, text).properties(height=260)


def changed_groups(changes: list[Change] | tuple[Change, ...]) -> list[list[str]]:
    """Names to draw together: each changed name, with the names a started one replaces (old name first)."""
    groups: list[list[str]] = []
    placed: set[str] = set()
    for change in changes:
        if change.event in placed:
            continue
        if change.kind == "started" and change.replaces:
            old = [link.old for link in change.replaces]
            partners = [
                c.event for c in changes if c.kind == "started" and {link.old for link in c.replaces} & set(old)
            ]
            group = list(dict.fromkeys([*old, *partners]))
        else:
            partners = [
                c.event for c in changes if c.kind == "started" and any(link.old == change.event for link in c.replaces)
            ]
            group = list(dict.fromkeys([change.event, *partners]))
        groups.append(group)
        placed.update(group)
    return groups


def change_sentences(changes: list[Change] | tuple[Change, ...]) -> list[str]:
    """One sentence per change for the Overview: a stop and the names that replace it read as one."""
    sentences = []
    for group in changed_groups(changes):
        inside = [c for c in changes if c.event in group]
        stops = [c for c in inside if c.kind in ("stopped", "level_shift") and c.event == group[0]]
        new = [c for c in inside if c.kind == "started" and c.replaces]
        if stops and new:
            stop = stops[0]
            names = " and ".join(f"`{c.event}`" for c in new)
            users = [link.user_share for c in new for link in c.replaces if link.user_share is not None]
            verb = "replaces" if len(new) == 1 else "replace"
            what = "stopped" if stop.kind == "stopped" else "fell to a lower share of events"
            sentence = f"`{stop.event}` {what} on {when(stop.at)}; {names} started then and probably {verb} it"
            if users:
                sentence += f" ({min(users):.0%} or more of their users used `{stop.event}` before)"
            sentences.append(sentence + ".")
        else:
            sentences += [c.message.split(" It probably")[0] for c in inside]
    return sentences


def _day_in(at: str, current: str) -> float:
    moment = datetime.fromisoformat(at.removesuffix("Z"))
    if moment < month_start(current):
        return 1.0
    return moment.day + moment.hour / 24


def _mark(change: Change, current: str) -> str:
    text = f"{change.event} {KIND_WORDS[change.kind]}"
    if datetime.fromisoformat(change.at.removesuffix("Z")) < month_start(current):
        text += f" ({change.at[:10]} {change.at[11:16]})"
    return text
