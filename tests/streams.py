"""A seeded event stream with the shapes of real traffic, and the upstream accidents mlwatch must explain.

Healthy months have weekly seasonality (busier weekends, more purchases on them), a daily rhythm
and, optionally, a campaign day (twice the carts and purchases). Accidents: a rename of
``user_login`` at a given hour, an outage of one event, days of partial ingest, and user ids
whose shape changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

RATES = {"user_login": 3.0, "item_view": 12.0, "add_to_cart": 1.5, "purchase": 0.8, "search": 2.0}
WEEKDAY = np.array([0.9, 0.95, 1.0, 1.0, 1.1, 1.35, 1.3])  # Monday .. Sunday
WEEKEND_BUYING = {"add_to_cart": 1.2, "purchase": 1.25}  # on Saturdays and Sundays
HOURS = 0.6 + 0.4 * np.sin((np.arange(24) - 8) / 24 * 2 * np.pi)  # a daily rhythm, busiest in the evening


def generate_stream(
    months: Iterable[str],
    users: int = 2000,
    seed: int = 0,
    *,
    campaign_day: str | None = None,
    rename_at: str | None = None,
    outage: tuple[str, str, str] | None = None,
    partial_days: dict[str, float] | None = None,
    id_shape: dict[str, Callable[[str], str]] | None = None,
) -> pd.DataFrame:
    """Events of ``users`` users over ``months``: ``event_id``, ``user_id``, ``event``, ``ts`` (naive UTC).

    Args:
        campaign_day: ``YYYY-MM-DD`` on which carts and purchases double.
        rename_at: from this hour (``YYYY-MM-DDTHH``), ``user_login`` is written ``user_login_from_mobile``
            (60%) or ``user_login_from_pc``.
        outage: ``(event, from, until)``: no such event between the two hours.
        partial_days: ``{"YYYY-MM-DD": kept share}``: only that share of the day's events arrive.
        id_shape: per month, a function rewriting every user id (``u00012`` -> ``00012``).
    """
    rng = np.random.default_rng(seed)
    propensity = rng.lognormal(0.0, 0.7, users)
    parts = [_month(rng, month, propensity, campaign_day) for month in months]
    frame = pd.concat(parts, ignore_index=True)
    if rename_at:
        renamed = (frame["event"] == "user_login") & (frame["ts"] >= pd.Timestamp(rename_at))
        mobile = rng.random(len(frame)) < 0.6
        frame.loc[renamed & mobile, "event"] = "user_login_from_mobile"
        frame.loc[renamed & ~mobile, "event"] = "user_login_from_pc"
    if outage:
        event, start, until = outage
        lost = (frame["event"] == event) & (frame["ts"] >= pd.Timestamp(start)) & (frame["ts"] < pd.Timestamp(until))
        frame = frame[~lost]
    for day, kept in (partial_days or {}).items():
        on_day = frame["ts"].dt.strftime("%Y-%m-%d") == day
        frame = frame[~on_day | (rng.random(len(frame)) < kept)]
    for month, rewrite in (id_shape or {}).items():
        in_month = frame["ts"].dt.strftime("%Y-%m") == month
        frame.loc[in_month, "user_id"] = frame.loc[in_month, "user_id"].map(rewrite)
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    frame.insert(0, "event_id", [f"e{i}" for i in range(len(frame))])
    return frame


def write_stream(frame: pd.DataFrame, folder: Path, renamed_field: tuple[str, str, str] | None = None) -> Path:
    """Write the stream as one JSON Lines file per month (ISO timestamps with Z); return the folder.

    Args:
        renamed_field: ``(field, new name, from hour)``: rows from that hour carry the field under its new name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = frame.assign(timestamp=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).drop(columns="ts")
    renamed = frame["ts"] >= pd.Timestamp(renamed_field[2]) if renamed_field else pd.Series(False, index=frame.index)
    for month, part in out.groupby(frame["ts"].dt.strftime("%Y-%m")):
        lines = part[~renamed[part.index]].to_json(orient="records", lines=True)
        if renamed_field and renamed[part.index].any():
            moved = part[renamed[part.index]].rename(columns={renamed_field[0]: renamed_field[1]})
            lines += moved.to_json(orient="records", lines=True)
        (folder / f"{month}.jsonl").write_text(lines)
    return folder


def _month(rng: np.random.Generator, month: str, propensity: np.ndarray, campaign_day: str | None) -> pd.DataFrame:
    days = pd.date_range(month, periods=pd.Period(month).days_in_month, freq="D")
    active = rng.random(len(propensity)) >= 0.1
    frames = []
    for event, rate in RATES.items():
        weights = WEEKDAY[days.weekday] * np.where(days.weekday >= 5, WEEKEND_BUYING.get(event, 1.0), 1.0)
        if campaign_day and event in ("add_to_cart", "purchase"):
            weights = weights * np.where(days == pd.Timestamp(campaign_day), 2.0, 1.0)
        counts = rng.poisson(rate * propensity * active * weights.sum() / len(days))
        user = np.repeat(np.arange(len(propensity)), counts)
        day = rng.choice(len(days), size=len(user), p=weights / weights.sum())
        hour = rng.choice(24, size=len(user), p=HOURS / HOURS.sum())
        second = rng.integers(0, 3600, size=len(user))
        ts = days.to_numpy()[day] + (hour * 3600 + second).astype("timedelta64[s]")
        frames.append(pd.DataFrame({"user_id": [f"u{u:05d}" for u in user], "event": event, "ts": ts}))
    return pd.concat(frames, ignore_index=True)
