"""UTC instants as text and back, and durations as text: the one place for each of these formats.

Everything is tz-aware UTC. Naive values are taken to be UTC already (the documented rule for
user input); stored and exported times are ISO 8601 with a ``Z``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = ["ensure_utc", "format_utc", "parse_utc", "from_epoch", "to_epoch", "format_duration", "period_label"]


def ensure_utc(value: datetime) -> datetime:
    """Return *value* as an aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_utc(value: datetime, *, seconds: bool = True) -> str:
    """Format as ``2016-09-15T19:10:00Z`` (ISO 8601, UTC)."""
    value = ensure_utc(value)
    if seconds:
        return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    return value.strftime("%Y-%m-%dT%H:%MZ")


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time (``2016-09-15T19:10:00Z``, ``+00:00`` or naive = UTC) as aware UTC.

    Raises ValueError when *text* is not ISO 8601.
    """
    return ensure_utc(datetime.fromisoformat(text.strip()))


def from_epoch(value: Any) -> datetime | None:
    """Epoch seconds (int, float or their text) as aware UTC; None for an empty or zero value."""
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(float(value), UTC)


def to_epoch(when: datetime) -> int:
    """Whole epoch seconds of an aware datetime (Conduit's time constraints)."""
    if when.tzinfo is None:
        raise ValueError("to_epoch needs an aware datetime")
    return math.floor(when.timestamp())


def format_duration(delta: timedelta) -> str:
    """``0 min``, ``less than a minute``, ``42 min``, ``1 h 5 min`` or ``2 h`` (rounded to the minute)."""
    if not delta:
        return "0 min"
    minutes = round(delta.total_seconds() / 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def period_label(day: date | None, by: str) -> str:
    """The period *day* falls in: ``2024-05`` (``month``), ``2024-Q2`` (``quarter``), ``2024`` (``year``);
    ``undated`` without a day."""
    if day is None:
        return "undated"
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    if by == "year":
        return str(day.year)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
