"""Naming rows from the command line: short refs (git-style unique prefixes), key resolution, row
filters, times given relative to the incident's day, and rows as records for ``timeline show``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock
from typing import Any

from ..errors import InputError
from ..model.curation import MARKER_KEY_PREFIX, OWNER, CurationResult, RowCuration
from ..model.event import EventKind
from ..model.row import Row
from ..model.time import format_utc
from ..model.window import parse_when
from .moments import moment_time

__all__ = [
    "row_ref",
    "short_refs",
    "resolve_keys",
    "parse_row_time",
    "parse_between",
    "RowFilter",
    "curatable_keys",
    "select_keys",
    "resolve_moment_target",
    "row_at",
    "ROW_COLUMNS",
    "row_records",
]


MIN_PREFIX = 4


def row_ref(key: str) -> str:
    """The full hex ref of a row key (its SHA-1); ``timeline show`` prints a unique prefix."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def short_refs(keys: Iterable[str], minimum: int = 7) -> dict[str, str]:
    """The shortest ref prefix (at least *minimum* characters) that tells every key apart."""
    full = {key: row_ref(key) for key in dict.fromkeys(keys)}
    length = minimum
    while len({ref[:length] for ref in full.values()}) < len(full) and length < 40:
        length += 1
    return {key: ref[:length] for key, ref in full.items()}


def _matches(given: str, keys: Sequence[str]) -> list[str]:
    if given in keys:
        return [given]
    if len(given) < MIN_PREFIX:
        return []
    lowered = given.lower()
    return [k for k in keys if row_ref(k).startswith(lowered) or k.startswith(given)]


def resolve_keys(given: Iterable[str], keys: Sequence[str], *, incident: str) -> tuple[str, ...]:
    """Full row keys for refs or keys as typed: an exact key, or a unique prefix of a ref or key.

    Raises InputError for one that matches nothing or several rows.
    """
    resolved: dict[str, None] = {}
    for text in given:
        found = _matches(text.strip(), keys)
        if not found:
            raise InputError(
                f"no row {text!r} in {incident}",
                hint=f"`incidentkit timeline show {incident} --all` lists every row with its ref "
                f"(give at least {MIN_PREFIX} characters)",
            )
        if len(found) > 1:
            refs = short_refs(keys)
            raise InputError(
                f"row {text!r} is ambiguous in {incident}: it matches {len(found)} rows "
                f"({', '.join(refs[k] for k in found[:5])}{', ...' if len(found) > 5 else ''})",
                hint="give more characters of the ref",
            )
        resolved[found[0]] = None
    return tuple(resolved)


_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_row_time(text: str, *, day: date | None, now: datetime, option: str = "--time") -> datetime:
    """A time for a row: ``HH:MM[:SS]`` on *day* (UTC), else any form :func:`parse_when` reads.

    Raises InputError for an unreadable time, or a bare clock time with no day to put it on.
    """
    match = _CLOCK_RE.match(text.strip())
    if match is None:
        return parse_when(text, now=now, option=option)
    if day is None:
        raise InputError(
            f"{option} {text!r} has no date and the incident has no rows to take one from",
            hint="give a full time such as 2016-09-15T19:10Z",
        )
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InputError(f"{option} {text!r} is not a time of day", hint="use HH:MM in UTC, e.g. 19:10")
    return datetime.combine(day, clock(hour, minute, second), tzinfo=UTC)


def parse_between(text: str, *, day: date | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """``FROM..TO`` (inclusive; either side may be left empty) as UTC times.

    Raises InputError for a missing ``..``, two empty sides, unreadable times or FROM after TO.
    """
    start_text, sep, end_text = text.partition("..")
    if not sep or not (start_text.strip() or end_text.strip()):
        raise InputError(
            f"--between {text!r} is not FROM..TO",
            hint="e.g. --between 19:10..19:40, --between 2016-09-15T19:10Z.., --between ..19:40",
        )
    start = parse_row_time(start_text, day=day, now=now, option="--between") if start_text.strip() else None
    end = parse_row_time(end_text, day=day, now=now, option="--between") if end_text.strip() else None
    if start is not None and end is not None and end < start:
        raise InputError(f"--between {text!r} ends before it starts", hint="put the earlier time first")
    return start, end


@dataclass(frozen=True, slots=True, kw_only=True)
class RowFilter:
    """The ``--source/--kind/--match/--between/--unpinned`` filters; a row must pass all that are set."""

    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    match: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    unpinned: bool = False

    def __post_init__(self) -> None:
        known = {k.value for k in EventKind}
        for kind in self.kinds:
            if kind.lower() not in known:
                raise InputError(
                    f"--kind {kind!r} is not an event kind", hint=f"known kinds: {', '.join(sorted(known))}"
                )

    @property
    def active(self) -> bool:
        return bool(self.sources or self.kinds or self.match or self.start or self.end or self.unpinned)

    def accepts(self, row: Row) -> bool:
        if self.sources and not {s.lower() for s in row.provenance} & {s.lower() for s in self.sources}:
            return False
        if self.kinds and str(row.kind) not in {k.lower() for k in self.kinds}:
            return False
        if self.match and self.match.lower() not in row.text.lower():
            return False
        if self.start is not None and row.time < self.start:
            return False
        if self.end is not None and row.time > self.end:
            return False
        return not (self.unpinned and row.pinned)


def curatable_keys(rows: Iterable[Row]) -> list[str]:
    """Keys of the rows an owner can curate: every row but the marker-only ones."""
    return [r.key for r in rows if not r.key.startswith(MARKER_KEY_PREFIX)]


def select_keys(
    rows: Sequence[Row],
    given: Iterable[str],
    row_filter: RowFilter,
    *,
    incident: str,
    also: Iterable[str] = (),
) -> tuple[str, ...]:
    """Keys of the rows named in *given* plus those *row_filter* accepts (marker-only rows excluded).

    *also* adds keys that can be named but match no row (orphaned overrides, for ``reset``).
    """
    keys = curatable_keys(rows)
    known = set(keys)
    curatable = [r for r in rows if r.key in known]
    named = resolve_keys(given, [*keys, *(k for k in also if k not in known)], incident=incident)
    filtered = (
        [r.key for r in curatable if r.key not in named and row_filter.accepts(r)]
        if row_filter.active
        else []
    )
    return (*named, *filtered)


def resolve_moment_target(
    text: str, rows: Sequence[Row], moment: str, *, incident: str, day: date | None, now: datetime
) -> tuple[str | None, datetime]:
    """``ROW|TIME`` for ``timeline mark``: (row key, its time) or (None, the time given).

    An exact key wins, then a clock or ISO time, then a unique ref/key prefix, then a human time.
    A time where a visible row stands names that row (see :func:`row_at`). Raises InputError when
    it is neither.
    """
    rows = [r for r in rows if not r.key.startswith(MARKER_KEY_PREFIX)]
    by_key = {r.key: r for r in rows}
    text = text.strip()
    if text in by_key:
        return text, moment_time(moment, by_key[text])
    if _CLOCK_RE.match(text) or re.match(r"^\d{4}-\d{2}-\d{2}", text):
        when = parse_row_time(text, day=day, now=now, option="the time")
        row = row_at(rows, when, to_the_minute=not re.search(r"\d:\d{2}:\d{2}", text))
        return (row.key, moment_time(moment, row)) if row is not None else (None, when)
    found = _matches(text, list(by_key))
    if len(found) == 1:
        return found[0], moment_time(moment, by_key[found[0]])
    if found:  # several
        resolve_keys([text], list(by_key), incident=incident)  # raises the ambiguity error
    try:
        return None, parse_when(text, now=now, option="the time")
    except InputError as exc:
        raise InputError(
            f"{text!r} is neither a row of {incident} nor a time",
            hint=f"give a ref from `incidentkit timeline show {incident} --all`, or a time such as 19:10 or 2016-09-15T19:10Z",
        ) from exc


def row_at(rows: Sequence[Row], when: datetime, *, to_the_minute: bool) -> Row | None:
    """The one visible row at *when* (anywhere in that minute with *to_the_minute*), else None.

    Several rows in the minute: the one at exactly *when*, else the one row the owner added by
    hand there; still several, none (the time is kept as it was given).
    """
    minute = when.replace(second=0, microsecond=0)
    found = [
        r
        for r in rows
        if not r.hidden
        and not r.key.startswith(MARKER_KEY_PREFIX)
        and (r.time.replace(second=0, microsecond=0) == minute if to_the_minute else r.time == when)
    ]
    for narrowed in (found, [r for r in found if r.time == when], [r for r in found if r.kind is EventKind.MANUAL]):
        if len(narrowed) == 1:
            return narrowed[0]
    return None


ROW_COLUMNS = ["ref", "time", "flags", "marker", "sources", "kind", "actor", "text", "note", "key"]


def _flags(row: Row, why: RowCuration) -> str:
    flags = ""
    if row.pinned:
        flags += "P" if why.pinned_by == OWNER else "p"
    if row.hidden:
        flags += "H" if why.hidden_by == OWNER else "h"
    if row.edited:
        flags += "E"
    if row.new:
        flags += "N"
    return flags


def row_records(result: CurationResult, *, include_hidden: bool) -> list[dict[str, Any]]:
    """Rows as records for ``timeline show``.

    ``sources`` lists every source that reported the row's fact (``source`` is the one whose
    wording the row keeps). ``flags``: P pinned by the owner, p pinned by a rule, H hidden by the owner, h hidden by a
    rule, E edited, N new since the previous draft. Marker-only rows have no ref.
    """
    refs = short_refs(r.key for r in result.rows)
    records = []
    for row in result.rows if include_hidden else result.visible:
        why = result.curation.get(row.key, RowCuration())
        marker_only = row.key.startswith(MARKER_KEY_PREFIX)
        records.append(
            {
                "ref": "" if marker_only else refs[row.key],
                "time": format_utc(row.time),
                "end": format_utc(row.end) if row.end else None,
                "flags": _flags(row, why),
                "marker": row.marker,
                "source": row.source,
                "sources": list(row.provenance),
                "kind": str(row.kind),
                "actor": row.actor,
                "text": row.text,
                "note": row.note,
                "key": row.key,
                "pinned": row.pinned,
                "hidden": row.hidden,
                "edited": row.edited,
                "new": row.new,
                "pinned_by": why.pinned_by,
                "hidden_by": why.hidden_by,
                "original_text": why.original_text,
                "original_time": format_utc(why.original_time) if why.original_time else None,
            }
        )
    return records
