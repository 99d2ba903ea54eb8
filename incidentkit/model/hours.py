"""Business hours: when someone works, in their own time zone, and whether a UTC instant falls inside.

A spec reads ``"Europe/Berlin Mon-Fri 09:00-17:00"``: an IANA time zone (default UTC), days
(``Mon-Fri``, ``Sun-Thu``, ``Mon,Wed,Fri``; default Mon-Fri) and hours (``09:00-17:00`` or
``9-17``; an end before the start runs past midnight). Parts may come in any order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BusinessHours", "parse_business_hours"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_RE = re.compile(r"^(?:[A-Za-z]{3})(?:-[A-Za-z]{3})?(?:,(?:[A-Za-z]{3})(?:-[A-Za-z]{3})?)*$")
_HOURS_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?$")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Working days and hours in one time zone."""

    zone: str
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    spec: str  # as written, e.g. "Europe/Berlin Mon-Fri 09:00-17:00"

    def local(self, when: datetime) -> datetime:
        """*when* (aware) in this time zone."""
        return when.astimezone(ZoneInfo(self.zone))

    def contains(self, when: datetime) -> bool:
        """True when *when* (aware) falls within these business hours."""
        local = self.local(when)
        clock = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        if clock >= self.start:  # the evening part of a shift that runs past midnight
            return local.weekday() in self.days
        return clock < self.end and (local.weekday() - 1) % 7 in self.days


def _days(text: str) -> frozenset[int]:
    found: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"unknown day in {text!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
        a, b = _DAYS.index(first), _DAYS.index(last or first)
        found.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(found)


def _clock(hour: str, minute: str | None, spec: str) -> time:
    value = int(hour)
    if value == 24 and not minute:
        value = 0
    try:
        return time(value, int(minute or 0))
    except ValueError as exc:
        raise ValueError(f"bad time of day in {spec!r}") from exc


def parse_business_hours(spec: str) -> BusinessHours:
    """Read a spec such as ``"Europe/Berlin Mon-Fri 09:00-17:00"``.

    Raises:
        ValueError: an unknown time zone or day, a bad time, or a word that is none of these.
    """
    zone, days, hours = "UTC", frozenset(range(5)), (time(9), time(17))
    for word in spec.split():
        match = _HOURS_RE.match(word)
        if match:
            hours = (_clock(match.group(1), match.group(2), spec), _clock(match.group(3), match.group(4), spec))
            if hours[0] == hours[1]:
                raise ValueError(f"business hours in {spec!r} start and end at the same time")
        elif _DAY_RE.match(word) and word.lower()[:3] in _DAYS:
            days = _days(word)
        elif "/" in word or word.upper() == "UTC":
            try:
                ZoneInfo(word)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {word!r} in {spec!r}") from exc
            zone = word
        else:
            raise ValueError(f"cannot read {word!r} in {spec!r} (expected e.g. \"Europe/Berlin Mon-Fri 09:00-17:00\")")
    return BusinessHours(zone=zone, days=days, start=hours[0], end=hours[1], spec=" ".join(spec.split()))
