"""Event vocabulary per month: which names vanished, which appeared, and where new ones belong."""

from __future__ import annotations

import re
from dataclasses import replace
from difflib import SequenceMatcher

import duckdb

from mlwatch.engine import aggregated
from mlwatch.months import month_start, next_month
from mlwatch.summary import Change, VocabularyDiff

# Below this similarity a new event name gets no suggested feature.
_MIN_SIMILARITY = 0.5


def event_counts(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, int]:
    """Count each event name in ``month``, most frequent first."""
    sql = (
        aggregated.event_counts_sql()
        if aggregated.active(con)
        else "SELECT event, count(*) AS n FROM events WHERE ts >= ? AND ts < ? GROUP BY event ORDER BY n DESC, event"
    )
    rows = con.execute(
        sql,
        [month_start(month), month_start(next_month(month))],
    ).fetchall()
    return {name: int(count) for name, count in rows}


def diff_vocabulary(
    reference_counts: dict[str, int], current_counts: dict[str, int], features: dict[str, tuple[str, ...]]
) -> VocabularyDiff:
    """Compare two months' event names and suggest a feature for each new one."""
    new = tuple(sorted(set(current_counts) - set(reference_counts)))
    missing = tuple(sorted(set(reference_counts) - set(current_counts)))
    return VocabularyDiff(
        reference_counts=reference_counts,
        current_counts=current_counts,
        new=new,
        missing=missing,
        suggestions={name: suggest_feature(name, features, missing) for name in new},
    )


def suggest_from_links(
    vocabulary: VocabularyDiff, changes: tuple[Change, ...], features: dict[str, tuple[str, ...]]
) -> VocabularyDiff:
    """Suggest for each new name the feature of the name it replaces by evidence (``changes.link_names``),
    before name similarity: a rename to an unrelated word is still found."""
    owner = {event: feature for feature, events in features.items() for event in events}
    suggestions = dict(vocabulary.suggestions)
    for change in changes:
        linked = [owner[link.old] for link in change.replaces if link.old in owner]
        if change.event in suggestions and linked:
            suggestions[change.event] = linked[0]
    return replace(vocabulary, suggestions=suggestions)


def suggest_feature(name: str, features: dict[str, tuple[str, ...]], missing: tuple[str, ...] = ()) -> str | None:
    """Return the feature a new event name most likely belongs to, or None.

    A mapped name that is a prefix of the new name (``user_login`` ->
    ``user_login_from_mobile``) wins; otherwise the most similar mapped name
    by shared words and characters, preferring names that vanished this month.
    """
    best: tuple[float, str] | None = None
    for feature, events in features.items():
        for event in events:
            score = _similarity(name, event) + (0.1 if event in missing else 0.0)
            if best is None or score > best[0]:
                best = (score, feature)
    if best is None or best[0] < _MIN_SIMILARITY:
        return None
    return best[1]


def looks_like(new: str, known: str) -> bool:
    """True when ``new`` reads like a variant of ``known``: one is a prefix of the other
    (``user_login`` -> ``user_login_from_pc``), or they share most words or characters."""
    return _similarity(new, known) >= _MIN_SIMILARITY


def _similarity(new: str, known: str) -> float:
    a, b = new.lower(), known.lower()
    if a.startswith(b) or b.startswith(a):
        return 1.0
    words_a, words_b = set(_words(a)), set(_words(b))
    overlap = len(words_a & words_b) / len(words_b) if words_b else 0.0
    return max(overlap, SequenceMatcher(None, a, b).ratio())


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[^a-z0-9]+", text) if word]
