"""Seeded generator of the sample e-commerce event logs (the "login rename" story).

Four months of raw logs, one gzipped JSON Lines file per calendar day under
``<out>/<YYYY-MM>/events-<YYYY-MM-DD>.jsonl.gz``. 2026-03 and 2026-04 are
healthy and statistically alike. From 2026-05 every ``user_login`` is emitted
as ``user_login_from_mobile`` (about 60%) or ``user_login_from_pc`` (about
40%) and nothing else changes, so a config counting only ``user_login`` sees
0 logins for every user. 2026-06 provides the actuals for 2026-05.

Each user has a persistent, heavy-tailed activity propensity that drives
whether they are active in a month and how much they log in, view, add to
cart and buy, so this month's counts really predict next month's purchases.
A persistent buying intent shows in logins and purchases only, so the
renamed-login months' lists are measurably worse (actual R2 near 0 for
2026-05, against about 0.26 for 2026-04).
Every month also carries a few malformed lines (a truncated JSON line, a line
without ``user_id``, a timestamp ``"not-a-date"``) and a few exact re-sent
duplicates (same ``event_id``, same line), all well below the default
thresholds of the ``rejected_rows`` and ``duplicates`` checks.

Figures produced by ``seed=7, users=2000`` (lines = every line written;
events = distinct valid events; users = users with at least one valid event):

========  ======  ======  =====  ============  ===============  =============  ==========
month     lines   events  users  invalid_json  missing_user_id  bad_timestamp  duplicates
========  ======  ======  =====  ============  ===============  =============  ==========
2026-03   40924   40876   1594   1             3                3              41
2026-04   41349   41297   1597   1             3                3              45
2026-05   41561   41507   1593   3             3                2              46
2026-06   40376   40324   1595   3             3                1              45
========  ======  ======  =====  ============  ===============  =============  ==========

(lines = events + rejected + duplicates; invalid_json are the truncated
lines.) 122 files, 1,548,614 bytes in all. Logins: 9330 ``user_login`` in
2026-03 and 9148 in 2026-04; 5691 mobile + 3761 PC logins in 2026-05.
"""

from __future__ import annotations

import calendar
import gzip
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

MONTHS = ("2026-03", "2026-04", "2026-05", "2026-06")
RENAMED_MONTHS = frozenset({"2026-05", "2026-06"})
MOBILE_SHARE = 0.6
EVENT_NAMES = (
    "user_login",
    "item_view",
    "add_to_cart",
    "purchase",
    "search",
    "page_view",
    "user_login_from_mobile",
    "user_login_from_pc",
)
_LOGIN, _VIEW, _CART, _PURCHASE, _SEARCH, _PAGE_VIEW, _MOBILE, _PC = range(len(EVENT_NAMES))
DEFECTS = ("truncated", "missing_user_id", "bad_timestamp")
_OK = -1  # defect code of a well-formed line; other codes index DEFECTS

# Count model: a user's monthly level is propensity times a month-specific
# gamma factor; each event's count is Poisson around a base rate times that
# level (logins grow more slowly, as level**0.7), so counts are negative binomial.
_PROPENSITY_SIGMA = 1.0
_MONTH_SHAPE = 8.0
_LOGIN_RATE = 6.0
_INTENT_SIGMA = 0.6  # spread of the persistent buying intent (lognormal, mean 1)
_VIEW_RATE = 11.0
_SEARCH_RATE = 2.5
_PAGE_VIEW_RATE = 2.5
_CART_PER_VIEW = 0.15
_PURCHASE_PER_CART = 0.35
_PURCHASE_RATE = 0.2
_ACTIVE_BASE, _ACTIVE_SLOPE = 2.2, 1.0  # logit of the monthly active probability
_ACTIVE_JITTER = 0.3
_DUPLICATE_RATE = 0.001
_MAX_DEFECTS_PER_KIND = 3
# Seconds after the session start at which each kind of event may occur.
_OFFSETS = {
    _LOGIN: (0, 1),
    _VIEW: (5, 1800),
    _SEARCH: (5, 1800),
    _PAGE_VIEW: (5, 1800),
    _CART: (600, 2400),
    _PURCHASE: (1800, 3000),
}
# Sessions start between 00:00 and 22:59 so they never spill into the next day.
_HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 10, 10, 9, 8, 8, 9, 10, 12, 13, 12, 9], dtype=float)
_WEEKDAY_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 1.15, 1.15])


@dataclass(frozen=True)
class _Events:
    """One month's log lines as parallel arrays, sorted by timestamp."""

    user: np.ndarray  # user index
    kind: np.ndarray  # index into EVENT_NAMES
    ts: np.ndarray  # epoch seconds (also where a bad-timestamp line is placed)
    defect: np.ndarray  # _OK or an index into DEFECTS
    copies: np.ndarray  # 1, or 2 for an event sent twice


def generate_sample(out_dir: Path, seed: int = 7, users: int = 2000) -> list[Path]:
    """Write the sample logs under out_dir and return the files written (sorted).

    Args:
        out_dir: folder to write to; one sub-folder per month is created.
        seed: random seed; the same seed gives byte-identical files.
        users: number of distinct users in the simulated site.

    Returns:
        The paths of the daily ``.jsonl.gz`` files, sorted.
    """
    rng = np.random.default_rng(seed)
    propensity = draw_propensity(rng, users)
    intent = rng.lognormal(mean=-(_INTENT_SIGMA**2) / 2, sigma=_INTENT_SIGMA, size=users)
    written: list[Path] = []
    next_id = 1
    for month in MONTHS:
        events = simulate_month(rng, month, propensity, intent)
        written += _write_month(Path(out_dir), month, events, next_id)
        next_id += len(events.ts)
    return sorted(written)


def draw_propensity(rng: np.random.Generator, users: int) -> np.ndarray:
    """Return each user's persistent activity propensity (lognormal, mean 1)."""
    sigma = _PROPENSITY_SIGMA
    return rng.lognormal(mean=-(sigma**2) / 2, sigma=sigma, size=users)


def simulate_month(rng: np.random.Generator, month: str, propensity: np.ndarray, intent: np.ndarray) -> _Events:
    """Simulate one month of log lines, defects and duplicates included."""
    counts = draw_counts(rng, propensity, intent)
    events = _place_events(rng, month, counts)
    if month in RENAMED_MONTHS:
        events = _split_logins(rng, events)
    events = _add_duplicates(rng, events)
    return _sort_events(_add_defects(rng, month, events, len(propensity)))


def draw_counts(rng: np.random.Generator, propensity: np.ndarray, intent: np.ndarray) -> np.ndarray:
    """Return a (users, 6) matrix of monthly counts, zero rows for inactive users.

    Columns follow EVENT_NAMES[:6]. Carts depend on views and purchases on
    carts, on top of the shared propensity. A persistent buying ``intent``
    scales both logins and purchases (buyers sign in to their account;
    browsing needs no login), so the login count is the one feature that
    reveals who buys, and a month whose logins all read 0 ruins the list.
    """
    users = len(propensity)
    active = _draw_active(rng, propensity)
    level = propensity * rng.gamma(_MONTH_SHAPE, 1.0 / _MONTH_SHAPE, size=users)
    counts = np.zeros((users, 6), dtype=np.int64)
    counts[:, _LOGIN] = rng.poisson(_LOGIN_RATE * level**0.7 * intent)
    counts[:, _VIEW] = rng.poisson(_VIEW_RATE * level)
    counts[:, _SEARCH] = rng.poisson(_SEARCH_RATE * level)
    counts[:, _PAGE_VIEW] = rng.poisson(_PAGE_VIEW_RATE * level)
    counts[:, _CART] = rng.poisson(_CART_PER_VIEW * counts[:, _VIEW])
    counts[:, _PURCHASE] = rng.poisson((_PURCHASE_PER_CART * counts[:, _CART] + _PURCHASE_RATE * level) * intent)
    counts[~active] = 0
    return counts


def _draw_active(rng: np.random.Generator, propensity: np.ndarray) -> np.ndarray:
    """Pick the month's active users, each with a chance rising with propensity.

    Systematic sampling along a jittered propensity order keeps the active
    population's make-up steady from month to month (independent coin flips
    over 2000 users move the heavy tail enough to look like drift), while
    which users are active still changes.
    """
    log_propensity = np.log(propensity)
    chance = 1.0 / (1.0 + np.exp(-(_ACTIVE_BASE + _ACTIVE_SLOPE * log_propensity)))
    order = np.argsort(log_propensity + rng.normal(0.0, _ACTIVE_JITTER, size=len(propensity)))
    cumulative = rng.random() + np.cumsum(chance[order])
    active = np.zeros(len(propensity), dtype=bool)
    active[order] = np.floor(cumulative) > np.floor(cumulative - chance[order])
    return active


def _place_events(rng: np.random.Generator, month: str, counts: np.ndarray) -> _Events:
    """Spread each user's events over sessions: a login opens each session."""
    sessions = np.where(counts.sum(axis=1) > 0, np.maximum(counts[:, _LOGIN], 1), 0)
    session_start = _draw_session_starts(rng, month, int(sessions.sum()))
    first_session = np.concatenate([[0], np.cumsum(sessions)[:-1]])
    users, kinds, session_ids = [], [], []
    for kind in _OFFSETS:
        user = np.repeat(np.arange(len(counts)), counts[:, kind])
        if kind == _LOGIN:  # the j-th login opens the user's j-th session
            first_login = np.concatenate([[0], np.cumsum(counts[:, kind])[:-1]])
            local = np.arange(len(user)) - first_login[user]
        else:
            local = np.floor(rng.random(len(user)) * sessions[user]).astype(np.int64)
        users.append(user)
        kinds.append(np.full(len(user), kind))
        session_ids.append(first_session[user] + local)
    user, kind, session = (np.concatenate(part) for part in (users, kinds, session_ids))
    low, high = np.array([_OFFSETS[k] for k in sorted(_OFFSETS)]).T
    ts = session_start[session] + rng.integers(low[kind], high[kind])
    return _sort_events(_Events(user, kind, ts, np.full(len(ts), _OK), np.ones(len(ts), dtype=np.int64)))


def _draw_session_starts(rng: np.random.Generator, month: str, sessions: int) -> np.ndarray:
    """Return session start times (epoch seconds) with weekly and daily rhythm."""
    year, mon = (int(part) for part in month.split("-"))
    days = calendar.monthrange(year, mon)[1]
    weekday = (calendar.weekday(year, mon, 1) + np.arange(days)) % 7
    day_weights = _WEEKDAY_WEIGHTS[weekday]
    day = rng.choice(days, size=sessions, p=day_weights / day_weights.sum())
    hour = rng.choice(len(_HOUR_WEIGHTS), size=sessions, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    start = calendar.timegm((year, mon, 1, 0, 0, 0))
    return start + day * 86400 + hour * 3600 + rng.integers(0, 3600, size=sessions)


def _split_logins(rng: np.random.Generator, events: _Events) -> _Events:
    """Emit every login as a mobile or a PC login, as the renamed tracking does."""
    login = events.kind == _LOGIN
    platform = np.where(rng.random(int(login.sum())) < MOBILE_SHARE, _MOBILE, _PC)
    kind = events.kind.copy()
    kind[login] = platform
    return replace(events, kind=kind)


def _add_duplicates(rng: np.random.Generator, events: _Events) -> _Events:
    """Mark about 0.1% of the events as re-sent (written twice, same event_id)."""
    count = int(rng.binomial(len(events.ts), _DUPLICATE_RATE))
    copies = events.copies.copy()
    copies[rng.choice(len(copies), size=count, replace=False)] = 2
    return replace(events, copies=copies)


def _add_defects(rng: np.random.Generator, month: str, events: _Events, users: int) -> _Events:
    """Append one to three malformed lines of each kind at random times of the month."""
    per_kind = rng.integers(1, _MAX_DEFECTS_PER_KIND + 1, size=len(DEFECTS))
    defect = np.repeat(np.arange(len(DEFECTS)), per_kind)
    count = len(defect)
    ts = _draw_session_starts(rng, month, count)
    kind = rng.integers(0, _PAGE_VIEW + 1, size=count)
    user = rng.integers(0, users, size=count)
    return _Events(
        user=np.concatenate([events.user, user]),
        kind=np.concatenate([events.kind, kind]),
        ts=np.concatenate([events.ts, ts]),
        defect=np.concatenate([events.defect, defect]),
        copies=np.concatenate([events.copies, np.ones(count, dtype=np.int64)]),
    )


def _sort_events(events: _Events) -> _Events:
    """Order lines by timestamp, keeping generation order among ties."""
    order = np.argsort(events.ts, kind="stable")
    return _Events(*(getattr(events, name)[order] for name in ("user", "kind", "ts", "defect", "copies")))


def _write_month(out_dir: Path, month: str, events: _Events, first_id: int) -> list[Path]:
    """Write one gzipped JSON Lines file per calendar day of the month."""
    folder = out_dir / month
    folder.mkdir(parents=True, exist_ok=True)
    lines = _render_lines(events, first_id)
    days = events.ts.astype("datetime64[s]").astype("datetime64[D]")
    unique_days, starts = np.unique(days, return_index=True)
    ends = np.append(starts[1:], len(days))
    written = []
    for day, start, end in zip(unique_days, starts, ends):
        path = folder / f"events-{day}.jsonl.gz"
        _write_gzip(path, [line for row in range(start, end) for line in [lines[row]] * int(events.copies[row])])
        written.append(path)
    return written


def _render_lines(events: _Events, first_id: int) -> list[str]:
    """Render each event as a compact JSON line, with its defect if it has one."""
    stamps = np.datetime_as_string(events.ts.astype("datetime64[s]"), unit="s")
    lines = []
    for offset, (user, kind, stamp, defect) in enumerate(zip(events.user, events.kind, stamps, events.defect)):
        record = {
            "event_id": f"e{first_id + offset:07d}",
            "user_id": f"u{user + 1:06d}",
            "event": EVENT_NAMES[kind],
            "timestamp": f"{stamp}Z",
        }
        lines.append(_damage(record, int(defect)))
    return lines


def _damage(record: dict[str, str], defect: int) -> str:
    """Serialise a record, applying one of the DEFECTS when asked."""
    if defect == DEFECTS.index("missing_user_id"):
        del record["user_id"]
    if defect == DEFECTS.index("bad_timestamp"):
        record["timestamp"] = "not-a-date"
    line = json.dumps(record, separators=(",", ":"))
    if defect == DEFECTS.index("truncated"):
        return line[: len(line) // 2]
    return line


def _write_gzip(path: Path, lines: list[str]) -> None:
    """Write lines gzipped with a fixed header, so output is byte-for-byte reproducible."""
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(data)
