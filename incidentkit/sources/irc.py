"""The ``irc`` source: alert bot lines and people's words in IRC channel logs (#wikimedia-operations and friends).

**Bots read.** ``icinga-wm`` (and the older ``nagios-wm``): ``PROBLEM - <service> on <host> is
<STATE>: <output>``, ``RECOVERY - ...``, ``Host <host> is DOWN: ...``, ``ACKNOWLEDGEMENT``,
``FLAPPING*``, ``DOWNTIME*``, ``CUSTOM``. ``jinxer-wm`` (alertmanager-irc-relay) in every
historic template: 2020 ``(AlertName) firing: (2) summary[ - https://alerts.wikimedia.org]``,
2021–2024 ``(AlertName) firing: (2) summary - runbook - dashboard - https://alerts.wikimedia.org/?q=...``,
2024+ ``FIRING: [2x] AlertName: summary - runbook - dashboard - ...``, and the relay's default
``Alert AlertName on instance is firing``. A leading ``ALERT:`` is tolerated. ``#page`` in a line
marks a page. Nick decorations (``+``, ``@``, trailing ``_``) are ignored. A bot line that matches
no format is a problem, except the continuation of a bot line split at ircecho's 450-character limit.

**People's words.** Lines from people (``<nick> message`` and ``* nick action``) become ``chat``
events: the raw log keeps them (hidden from the curated timeline by the default ``[timeline]
hide_kinds``), so the first human report and the responders can be found, searched and pinned.
Joins, parts, quits, mode and topic lines, and other bots (stashbot, logmsgbot, wikibugs, any
``*bot`` or ``*-wm`` nick) stay out. Chat lines whose date cannot be known are counted in one
problem per file.

**Line prefixes accepted** (all times are read as UTC):

* ``[12:46:28] <icinga-wm> ...`` and ``[12:51] <jinxer-wm> ...`` (wm-bot, ZNC, HexChat)
* ``12:46:28 <+icinga-wm> ...``, ``12:46 <+icinga-wm> ...`` (irssi), ``19:18 icinga-wm: ...``
* ``2023-02-14 18:34:55 <+icinga-wm> ...``, ``[2023-02-14 18:34:55] <icinga-wm> ...``,
  ``2023-02-14T18:34:55Z <icinga-wm> ...`` (ISO, with or without brackets, ``T`` or ``Z``)
* WeeChat: ``2023-02-14 18:34:55<TAB>+icinga-wm<TAB>...``
* HexChat: ``Feb 14 18:34:55 <icinga-wm><TAB>...`` (the year from the last date line or the file name,
  else the window's)

**Dates** for lines that carry only a time come from, in order: the last date line seen in the
file (irssi ``--- Day changed Tue Feb 14 2023`` / ``--- Log opened Tue Feb 14 18:00:00 2023``,
HexChat ``**** BEGIN LOGGING AT Tue Feb 14 18:00:00 2023``, mIRC ``Session Start: ...``, or a
bare ``2023-02-14`` / ``== 2023-02-14 ==`` line), else the file name (``20160728.txt``,
``#wikimedia-operations.2023-02-14.log``), else — when the window lies within one UTC day — that
day (with a note). When the time of day jumps back by more than an hour without a date line,
the date moves to the next day. A bot line whose date cannot be known is a problem.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..config import Settings
from ..model.alert import (
    HOST_STATES,
    NOTIFICATION_NOTES,
    SERVICE_STATES,
    alert_event,
    icinga_identity,
    plugin_summary,
    severity_of,
    split_links,
    starts_given,
    with_starts,
)
from ..model.event import Event, EventKind
from ..model.people import is_bot
from ..model.source import (
    Export,
    LineExport,
    LineFile,
    Problem,
    Query,
    SourceResult,
    SourceStream,
    SourceTally,
)
from ..model.tasks import find_tasks
from ..model.window import Window
from . import SourceSpec, register
from .logfiles import LogFileSource, name_date

__all__ = ["IrcSource", "parse_irc", "stream_irc", "parse_bot_message", "BOTS"]

NAME = "irc"
BOTS = {"icinga-wm": "icinga", "nagios-wm": "icinga", "jinxer-wm": "alertmanager"}
SPLIT_AT = 400  # ircecho splits lines into 450-character chunks; a line this long may continue

_TIME = r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
_DATE = r"(?P<date>\d{4}-\d{2}-\d{2})"
_ZONE = r"(?:Z|[+-]00:?00)?"
_PREFIXES = (
    re.compile(rf"^\[{_DATE}[ T]{_TIME}{_ZONE}\]\s*(?P<rest>.*)$"),
    re.compile(rf"^{_DATE}[ T]{_TIME}{_ZONE}\s+(?P<rest>.*)$"),
    re.compile(rf"^\[{_TIME}\]\s*(?P<rest>.*)$"),
    re.compile(rf"^{_TIME}\s+(?P<rest>.*)$"),
    re.compile(rf"^(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(?P<mday>\d{{1,2}})\s+{_TIME}\s+(?P<rest>.*)$"),
)
_NICK_MSG = (
    re.compile(r"^<\s?[@+%~&!]?(?P<nick>[^>\s]+)>\s?(?P<msg>.*)$"),
    re.compile(r"^[@+%~&!]?(?P<nick>[^\s\t]+)\t(?P<msg>.*)$"),  # WeeChat
    re.compile(r"^(?P<nick>[A-Za-z][\w\-\[\]\\`^{}|]*):\s(?P<msg>.*)$"),  # "icinga-wm: PROBLEM ..." (bots only)
    re.compile(r"^\*\s(?P<nick>[^\s*]\S*)\s(?P<msg>.+)$"),  # "* nick does something" (/me, people only)
)
_VALID_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}\-]*$")  # RFC 2812; rules out -->, ***, -!-
_CHANNEL = re.compile(r"(#[A-Za-z0-9_\-]+)")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_WORD_DATE = re.compile(
    r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\s+(?P<day>\d{1,2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?\s+(?P<year>\d{4})",
    re.IGNORECASE,
)
_DATE_LINES = (
    re.compile(r"^-{2,3}\s*(?:Day changed|Log opened)\s+(?P<rest>.*)$", re.IGNORECASE),
    re.compile(r"^\*{4}\s*BEGIN LOGGING AT\s+(?P<rest>.*)$", re.IGNORECASE),
    re.compile(r"^Session Start:\s+(?P<rest>.*)$", re.IGNORECASE),
)
_BARE_DATE = re.compile(r"^[#=\-\s]*(?P<date>\d{4}-\d{2}-\d{2})[#=\-\s]*$")

_ICINGA_HOST = re.compile(r"^(?P<type>[A-Z]+) - Host (?P<host>\S+) is (?P<state>UP|DOWN|UNREACHABLE):?\s?(?P<rest>.*)$")
_ICINGA_SERVICE = re.compile(
    r"^(?P<type>[A-Z]+) - (?P<service>.+?) on (?P<host>\S+) is (?P<state>OK|WARNING|CRITICAL|UNKNOWN|PENDING):?\s?(?P<rest>.*)$"
)
_JINXER_NEW = re.compile(r"^(?:ALERT:\s+)?(?P<status>FIRING|RESOLVED):(?:\s+\[(?P<n>\d+)x\])?\s+(?P<alertname>[^:\s]+):\s?(?P<rest>.*)$")
_JINXER_OLD = re.compile(r"^(?:ALERT:\s+)?\((?P<alertname>[^)\s]+)\)\s+(?P<status>firing|resolved):(?:\s+\((?P<n>\d+)\))?\s?(?P<rest>.*)$")
_RELAY_DEFAULT = re.compile(
    r"^Alert (?P<alertname>\S+) (?:on (?P<instance>\S+)|for (?P<job>\S+)) is (?P<status>firing|resolved)$"
)
_ICINGA_NOTES = {**NOTIFICATION_NOTES, "STALKING": "stalking"}  # icinga-wm relays every type


class IrcSource(LogFileSource):
    """Reads IRC log files (one file or a folder of daily logs) at ``[irc] path``."""

    name = NAME
    what = "a channel log or a folder of daily logs"


def _bot(nick: str) -> str | None:
    base = nick.lstrip("@+%~&!").rstrip("_`|^0123456789").lower()
    return base if base in BOTS else None


def _links(rest: str) -> tuple[str, str | None, str | None, str | None]:
    """Split a jinxer-wm tail ``summary - runbook - dashboard - alerts link`` into its parts."""
    parts = rest.split(" - ")
    urls: list[str] = []
    while parts and (not parts[-1].strip() or parts[-1].strip().startswith(("http://", "https://"))):
        piece = parts.pop().strip()
        if piece:
            urls.insert(0, piece)
    summary = " - ".join(parts).strip()
    alerts = next((u for u in urls if "alerts.wikimedia.org" in u or "karma" in u), None)
    others = [u for u in urls if u != alerts]
    dashboard = next((u for u in others if "grafana" in u or "/d/" in u), None)
    runbook = next((u for u in others if u != dashboard), None)
    return summary, runbook, dashboard, alerts


@dataclass(frozen=True, slots=True)
class BotMessage:
    """What one alert bot line says."""

    kind: EventKind
    alertname: str
    labels: dict[str, str]
    fields: dict[str, Any]


def parse_bot_message(bot: str, message: str) -> BotMessage | None:
    """Read one alert bot message (without the time/nick prefix); None when it matches no known format."""
    text = message.strip()
    paged = "#page" in text
    if BOTS.get(bot) == "icinga":
        match = _ICINGA_HOST.match(text) or _ICINGA_SERVICE.match(text)
        if match is None:
            return None
        kind_word = match.group("type")
        host = match.group("host")
        service = match.groupdict().get("service")
        state = match.group("state")
        alertname, labels = icinga_identity(host, service)
        output, runbook, dashboard = split_links(match.group("rest"))
        if kind_word == "PROBLEM":
            kind, note = EventKind.ALERT_FIRING, None
        elif kind_word == "RECOVERY":
            kind, note = EventKind.ALERT_RESOLVED, None
        elif kind_word in _ICINGA_NOTES:
            kind, note = EventKind.ALERT_NOTE, _ICINGA_NOTES[kind_word]
        else:
            return None
        if state not in SERVICE_STATES | HOST_STATES | {"PENDING"}:
            return None
        return BotMessage(
            kind,
            alertname,
            labels,
            {
                "instance": host,
                "host": host,
                "service": service,
                "state": state,
                "severity": severity_of(state),
                "summary": plugin_summary(state, output),
                "runbook": runbook,
                "dashboard": dashboard,
                "paged": paged,
                "note": note,
                "extra": {"format": "icinga-wm"},
            },
        )
    for pattern, style in ((_JINXER_NEW, "jinxer-2024"), (_JINXER_OLD, "jinxer-2020")):
        match = pattern.match(text)
        if match is None:
            continue
        alertname = match.group("alertname")
        summary, runbook, dashboard, alerts = _links(match.group("rest"))
        if style == "jinxer-2020" and (runbook or dashboard or (alerts and "?q=" in alerts)):
            style = "jinxer-2021"
        resolved = match.group("status").lower() == "resolved"
        cleaned = re.sub(r"\s*#page\b", "", summary).strip() or None
        return BotMessage(
            EventKind.ALERT_RESOLVED if resolved else EventKind.ALERT_FIRING,
            alertname,
            {"alertname": alertname},
            {
                "count": int(match.group("n") or 1),
                "summary": cleaned,
                "runbook": runbook,
                "dashboard": dashboard,
                "url": alerts,
                "paged": paged,
                "extra": {"format": style},
            },
        )
    match = _RELAY_DEFAULT.match(text)
    if match is not None:
        alertname = match.group("alertname")
        instance = match.group("instance")
        labels = {"alertname": alertname} | ({"instance": instance} if instance else {"job": match.group("job")})
        return BotMessage(
            EventKind.ALERT_RESOLVED if match.group("status") == "resolved" else EventKind.ALERT_FIRING,
            alertname,
            labels,
            {"instance": instance, "paged": paged, "extra": {"format": "relay-default"}},
        )
    return None


def _word_date(text: str) -> date | None:
    match = _WORD_DATE.search(text)
    if match is None:
        return None
    try:
        return date(int(match.group("year")), _MONTHS[match.group("mon").lower()], int(match.group("day")))
    except ValueError:
        return None


def _date_line(line: str) -> date | None:
    for pattern in _DATE_LINES:
        match = pattern.match(line)
        if match:
            return _word_date(match.group("rest"))
    bare = _BARE_DATE.match(line)
    if bare:
        try:
            return date.fromisoformat(bare.group("date"))
        except ValueError:
            return None
    return None


def _clock(text: str) -> time | None:
    parts = [int(p) for p in text.split(":")]
    try:
        return time(parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
    except ValueError:
        return None


def _seconds(clock: time) -> int:
    return clock.hour * 3600 + clock.minute * 60 + clock.second


@dataclass
class _FileState:
    day: date | None
    last: time | None = None
    assumed: bool = False  # its dates were taken from the window's single day


@dataclass(frozen=True, slots=True)
class _Context:
    """What every file of one parse shares: the window, its single day (if any), the export's path."""

    window: Window
    single_day: date | None
    meta_path: str

    @classmethod
    def of(cls, export: Export | LineExport, query: Query) -> _Context:
        window = query.window
        single_day = window.start.date() if window.days() == [window.start.date()] else None
        return cls(window, single_day, str(export.meta.get("path") or ""))


def _file_events(
    name: str, lines: Iterable[str], context: _Context, problems: list[Problem], notes: list[str], tally: SourceTally
) -> Iterator[Event]:
    """The events of one log file, in its order; unreadable bot lines go to *problems*."""
    window, single_day = context.window, context.single_day
    state = _FileState(name_date(name))
    channel = _channel(name) or _channel(context.meta_path)
    undated_chat: list[int] = []
    previous: tuple[str, int] | None = None  # (bot, length) of the last bot line, for split lines
    for number, raw_line in enumerate(lines, 1):
        line = raw_line.strip("\ufeff\r\n ")
        if not line:
            continue
        tally.lines_read += 1
        timed = _timed(line, state, single_day, window.start.year)
        if timed is None:
            continue
        parsed, bot, when = timed
        if isinstance(when, str):
            if bot is None:
                undated_chat.append(number)
            else:
                problems.append(Problem(f"{name}:{number}", when, line[:200]))
            continue
        if bot is None:
            if parsed.message.strip():
                yield _chat_event(when, parsed, line, channel)
            continue
        message_info = parse_bot_message(bot, parsed.message)
        if message_info is None:
            if not (previous is not None and previous[0] == bot and previous[1] >= SPLIT_AT) and _reportable(when, window):
                problems.append(Problem(f"{name}:{number}", f"{bot} line in no known format", line[:200]))
            previous = (bot, len(parsed.message))
            continue
        previous = (bot, len(parsed.message))
        yield _event(bot, when, parsed.message, line, message_info)
    if state.assumed:
        notes.append(f"IRC log {name} carries no date; its times were read as {single_day:%Y-%m-%d} (the window's day)")
    if undated_chat:
        count = len(undated_chat)
        problems.append(
            Problem(
                f"{name}:{undated_chat[0]}",
                f"{count} chat line{'' if count == 1 else 's'} with no readable date or time "
                "(name the file YYYYMMDD.txt or add a date line)",
            )
        )


def _timed(line: str, state: _FileState, single_day: date | None, year: int) -> tuple[_Line, str | None, datetime | str] | None:
    """A person's or an alert bot's line with its bot (None for a person) and time (or why it has
    none), moving the file's date along; None for any other line."""
    day = _date_line(line)
    if day is not None:
        state.day, state.last = day, None
        return None
    parsed = _split_line(line)
    if parsed is None:
        return None
    bot = None if parsed.action else _bot(parsed.nick)
    if bot is None and not _person(parsed.nick):
        return None
    return parsed, bot, _timestamp(parsed, state, single_day, year)


def _skipped_note(export: Export | LineExport) -> list[str]:
    skipped = export.meta.get("skipped_files")
    return [f"IRC log files not read (compressed): {', '.join(skipped)}"] if skipped else []


def parse_irc(export: Export, query: Query) -> SourceResult:
    """Alert events from alert-bot lines and chat events from people's lines. Pure.

    Unreadable alert-bot lines become problems; joins, parts, system lines and other bots are skipped.
    """
    context = _Context.of(export, query)
    tally = SourceTally(NAME)
    found: list[Event] = []
    for name, text in export.files:
        found.extend(_file_events(name, text.splitlines(), context, tally.problems, tally.notes, tally))
    events = [e for e in with_starts(found) if e.within(query.window)]  # chat passes through unchanged
    notes = [*tally.notes, *_skipped_note(export)]
    return SourceResult(NAME, tuple(events), tuple(tally.problems), tally.lines_read, tuple(dict.fromkeys(notes)))


def _in_time_order(file: LineFile, context: _Context) -> bool:
    """True when the times of a file's lines never go back (one read that keeps nothing)."""
    state = _FileState(name_date(file.name))
    last: datetime | None = None
    for raw_line in file.lines():
        line = raw_line.strip("\ufeff\r\n ")
        timed = _timed(line, state, context.single_day, context.window.start.year)
        if timed is None or isinstance(timed[2], str):
            continue
        if last is not None and timed[2] < last:
            return False
        last = timed[2]
    return True


def _time_key(event: Event) -> tuple[datetime, str]:
    return event.time, event.key


def stream_irc(export: LineExport, query: Query) -> SourceStream:
    """:func:`parse_irc` as the lines are read: the same events, in ``(time, key)`` order, in
    memory that does not grow with the logs.

    Each file is assumed to be in time order (checked first, by a read that keeps nothing); the
    files are merged by time. A file that is not in order is sorted in memory (with a note).
    """
    context = _Context.of(export, query)
    tally = SourceTally(NAME)
    problems: list[list[Problem]] = [[] for _ in export.files]  # per file, reported in file order
    notes: list[list[str]] = [[] for _ in export.files]
    streams: list[Iterator[Event]] = []
    unsorted: list[str] = []
    for index, file in enumerate(export.files):
        events = _file_events(file.name, file.lines(), context, problems[index], notes[index], tally)
        if _in_time_order(file, context):
            streams.append(e for _, same in itertools.groupby(events, key=_time) for e in sorted(same, key=_key))
        else:
            unsorted.append(file.name)
            streams.append(iter(sorted(events, key=_time_key)))
    merged = starts_given(heapq.merge(*streams, key=_time_key))
    extra = [f"IRC log files not in time order, sorted in memory: {', '.join(unsorted)}"] if unsorted else []
    return SourceStream(tally, _released(merged, query.window, tally, problems, [*notes, _skipped_note(export), extra]))


def _released(
    events: Iterable[Event], window: Window, tally: SourceTally, problems: list[list[Problem]], notes: list[list[str]]
) -> Iterator[Event]:
    for event in events:
        if event.within(window):
            tally.events += 1
            yield event
    tally.problems.extend(problem for found in problems for problem in found)
    tally.notes.extend(note for found in notes for note in found)


def _time(event: Event) -> datetime:
    return event.time


def _key(event: Event) -> str:
    return event.key


def _timestamp(parsed: _Line, state: _FileState, single_day: date | None, year: int) -> datetime | str:
    """When a line was said (moving the file's date along), or why that cannot be known."""
    clock = parsed.clock
    if clock is None:
        return "bad time of day"
    line_date = parsed.day
    if isinstance(line_date, tuple):  # HexChat: month and day, the year from context
        known = state.day or single_day
        try:
            line_date = date(known.year if known else year, *line_date)
        except ValueError:
            return "bad date"
    if line_date is not None:
        state.day, state.last = line_date, clock
    else:
        if state.day is None and single_day is not None:
            state.day, state.assumed = single_day, True
        if state.day is None:
            return "no date for this time-only line (name the file YYYYMMDD.txt or add a date line)"
        if state.last is not None and _seconds(clock) < _seconds(state.last) - 3600:
            state.day += timedelta(days=1)  # midnight passed without a date line
        state.last = clock
    return datetime.combine(state.day, clock, tzinfo=UTC)


def _reportable(when: datetime, window: Window) -> bool:
    """Problems are reported from the day before the window to its end (logs may hold years)."""
    return window.start - timedelta(days=1) <= when < window.end


def _person(nick: str) -> bool:
    """True for a nick that is a person: a valid IRC nick that is no bot."""
    base = nick.lstrip("@+%~&!")
    return bool(_VALID_NICK.match(base)) and not is_bot(base)


def _channel(text: str) -> str | None:
    match = _CHANNEL.search(text)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class _Line:
    """One message line. ``day`` is None for time-only prefixes and ``(month, day)`` for HexChat."""

    day: date | tuple[int, int] | None
    clock: time | None
    nick: str
    message: str
    action: bool = False  # "* nick does something"


def _split_line(line: str) -> _Line | None:
    """The message a line carries, with its date, time and nick; None for anything else."""
    for pattern in _PREFIXES:
        match = pattern.match(line)
        if match is None:
            continue
        rest = match.group("rest")
        for nick_pattern in _NICK_MSG:
            nick_match = nick_pattern.match(rest)
            if nick_match is None:
                continue
            nick = nick_match.group("nick")
            action = nick_pattern is _NICK_MSG[3]
            if nick_pattern is _NICK_MSG[2] and _bot(nick) is None:
                return None
            groups = match.groupdict()
            line_date: date | tuple[int, int] | None = None
            try:
                if groups.get("date"):
                    line_date = date.fromisoformat(groups["date"])
                elif groups.get("mon"):
                    line_date = (_MONTHS[groups["mon"].lower()], int(groups["mday"]))
            except ValueError:
                return None
            return _Line(line_date, _clock(match.group("time")), nick, nick_match.group("msg"), action)
        return None
    return None


def _chat_event(when: datetime, parsed: _Line, line: str, channel: str | None) -> Event:
    nick = parsed.nick.lstrip("@+%~&!")
    text = parsed.message.strip()
    digest = hashlib.sha1(f"{nick}\n{text}".encode()).hexdigest()[:12]
    data: dict[str, Any] = {"channel": channel} if channel else {}
    if parsed.action:
        data["action"] = True
    return Event(
        time=when,
        source=NAME,
        kind=EventKind.CHAT,
        key=f"{NAME}:chat:{int(when.timestamp())}:{digest}",
        text=text,
        actor=nick,
        tasks=find_tasks(text),
        raw=line,
        data=data,
    )


def _event(bot: str, when: datetime, message: str, line: str, info: BotMessage) -> Event:
    digest = hashlib.sha1(message.encode()).hexdigest()[:12]
    fields = dict(info.fields)
    return alert_event(
        source=NAME,
        kind=info.kind,
        time=when,
        key=f"{NAME}:{bot}:{int(when.timestamp())}:{digest}",
        text=message.strip(),
        alertname=info.alertname,
        labels=info.labels,
        raw=line,
        actor=bot,
        tasks=find_tasks(message),
        notifications=1,
        **fields,
    )


def _factory(settings: Settings) -> IrcSource:
    return IrcSource(settings.irc)


SPEC = register(
    SourceSpec(
        name=NAME,
        help=(
            "IRC channel logs: icinga-wm PROBLEM/RECOVERY/ACKNOWLEDGEMENT lines and jinxer-wm (Alertmanager) lines "
            "in the 2020, 2021-2024 and 2024+ formats; people's lines become chat rows of the raw log (hidden "
            "unless pinned; joins, parts and other bots are skipped). Accepts wm-bot, irssi, ZNC, HexChat and "
            "WeeChat line prefixes; times are UTC, dates from date lines or file names (20160728.txt). "
            "Config: [irc] path = a log file or folder. --input irc=FILE|DIR."
        ),
        factory=_factory,
        parse=parse_irc,
        stream=stream_irc,
        configured=lambda settings: bool(settings.irc.path),
    )
)
