"""Time windows and the parsing of user-given times.

Everything is tz-aware UTC. Naive input ("2016-09-15 19:10") is read as UTC. Human forms
("yesterday 18:00", "2 hours ago") go through dateparser relative to an explicit ``now``, so
this module never reads the clock itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..errors import InputError
from .time import ensure_utc, format_utc

__all__ = ["Window", "parse_when", "parse_window"]

_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?$")


def _parse_iso(text: str) -> datetime | None:
    if not _ISO_RE.match(text):
        return None
    cleaned = text.replace("UTC", "").strip()  # fromisoformat takes a "Z" (Python 3.11+), not "UTC"
    cleaned = re.sub(r"^(\d{4}-\d{2}-\d{2})[T ](\d):", r"\1T0\2:", cleaned)
    try:
        return ensure_utc(datetime.fromisoformat(cleaned))
    except ValueError:
        return None


def parse_when(text: str, *, now: datetime, option: str = "time") -> datetime:
    """Parse an ISO 8601 or human time ("yesterday 18:00", "2 hours ago") as aware UTC.

    Naive input is read as UTC. Raises InputError when the text is not a time.
    """
    text = text.strip()
    if not text:
        raise InputError(f"{option} is empty", hint="give a time such as 2016-09-15T19:10Z or '2 hours ago'")
    parsed = _parse_iso(text)
    if parsed is not None:
        return parsed
    import dateparser  # slow import (~0.1 s); only paid for human forms

    result = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "TIMEZONE": "UTC",
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RELATIVE_BASE": ensure_utc(now).replace(tzinfo=None),
            "PREFER_DATES_FROM": "past",
        },
    )
    if result is None:
        raise InputError(
            f"cannot read {option} {text!r} as a time",
            hint="use ISO 8601 (2016-09-15T19:10Z) or a phrase like 'yesterday 18:00' or '2 hours ago'; naive times are UTC",
        )
    return ensure_utc(result)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval ``[start, end)`` that an incident draft covers."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() != timedelta(0):
                raise ValueError(f"Window.{name} must be aware UTC, got {value!r}")
        if self.end <= self.start:
            raise InputError(
                f"the window ends ({format_utc(self.end)}) before it starts ({format_utc(self.start)})",
                hint="the end must be later than the start",
            )

    def contains(self, when: datetime) -> bool:
        """True when *when* lies in ``[start, end)``."""
        return self.start <= when < self.end

    def touches(self, when: datetime, started: datetime | None = None) -> bool:
        """True when a fact at *when* belongs to the window: inside it, or a span that started
        before the window ends and finished at or after it starts (a long deploy, an alert)."""
        if self.start <= when < self.end:
            return True
        return started is not None and started < self.end and when >= self.start

    def padded(self, before: timedelta, after: timedelta = timedelta(0)) -> Window:
        """A wider window, e.g. to catch alerts that started just before the incident."""
        return Window(self.start - before, self.end + after)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def days(self) -> list[date]:
        """Every UTC calendar day the window touches, oldest first."""
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def to_dict(self) -> dict[str, str]:
        return {"start": format_utc(self.start), "end": format_utc(self.end)}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Window:
        start, end = _parse_iso(data["start"]), _parse_iso(data["end"])
        if start is None or end is None:
            raise InputError(f"bad saved window {data!r}", hint="the saved pull is damaged; pull again")
        return cls(start, end)


def parse_window(
    start: str, end: str | None, *, now: datetime, max_span: timedelta = timedelta(days=14)
) -> Window:
    """Build a Window from --from/--to text; --to defaults to *now*.

    Raises InputError for unreadable text, an end before the start, or a span over *max_span*.
    """
    begin = parse_when(start, now=now, option="--from")
    finish = parse_when(end, now=now, option="--to") if end else ensure_utc(now)
    if finish <= begin:
        raise InputError(
            f"the window ends ({format_utc(finish)}) before it starts ({format_utc(begin)})",
            hint="--to must be later than --from",
        )
    window = Window(begin, finish)
    if window.duration > max_span:
        days = window.duration.total_seconds() / 86400
        raise InputError(
            f"the window spans {days:.1f} days, more than the maximum of {max_span.days} days",
            hint="narrow --from/--to, or raise max_window_days in the [draft] config section",
        )
    return window
