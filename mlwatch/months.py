"""Month arithmetic on ``YYYY-MM`` strings: the one place that parses, steps and names months."""

from __future__ import annotations

import re
from datetime import date, datetime

from mlwatch.errors import InputError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> str:
    """Validate a ``YYYY-MM`` month.

    Raises:
        InputError: the text is not a month.
    """
    if not _MONTH.match(text or ""):
        raise InputError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-05")
    return text


def shift_month(month: str, months: int) -> str:
    """Return the month ``months`` after ``month`` (before it when negative)."""
    year, mon = parse_month(month).split("-")
    index = int(year) * 12 + int(mon) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def next_month(month: str) -> str:
    """Return the month after ``month``."""
    return shift_month(month, 1)


def previous_month(month: str, back: int = 1) -> str:
    """Return the month ``back`` months before ``month``."""
    return shift_month(month, -back)


def month_start(month: str) -> datetime:
    """Return the first instant of ``month`` (UTC, naive)."""
    year, mon = parse_month(month).split("-")
    return datetime(int(year), int(mon), 1)


def month_days(month: str) -> list[date]:
    """Return every calendar day of ``month``."""
    start = month_start(month).date()
    end = month_start(next_month(month)).date()
    return [date.fromordinal(day) for day in range(start.toordinal(), end.toordinal())]


def month_name(month: str) -> str:
    """Return a month's name for people, e.g. ``March 2026``."""
    return month_start(month).strftime("%B %Y")


def month_of(day: date | datetime) -> str:
    """Return the ``YYYY-MM`` month of a date."""
    return f"{day.year:04d}-{day.month:02d}"
