"""The Server Admin Log source: SAL wiki pages (live page and archives) -> typed events.

Reading (``pull``) goes through :mod:`incidentkit.clients.mediawiki`; parsing (``parse``) is pure and handles
every format in the SAL's history (see ``reference/sal.md``):

* headings ``== 2016-09-15 ==`` (ISO, 2015-07 on), ``== 2015 July 6 ==``, ``== November 30 ==``
  (year from the page title or the window), and ``## 2016-12-31`` in markdown exports;
* entries ``* HH:MM nick: msg``, ``* {{SAL entry|1=...}}`` and ``{{safesubst:SAL entry|1=...}}``
  with ``{{!}}`` / ``<nowiki>{</nowiki>`` escapes undone; hand edits (``8:00``, ``17:12:``);
* relays: stashbot ``user@host`` nicks, morebots ``logmsgbot: user@host msg``, ``wmbot~``;
* deploy-tool lines typed as events (scap, scap3, train, backports, cookbooks, dbctl, conftool,
  aborts) with duration and derived start time.

Lines inside a day section that are not entries are reported as problems with their line numbers;
``**`` sub-bullets and wrapped text continue the entry above them in the same day.

The cost of a parse follows the window, not the page: one scan for heading lines splits a page into
days; a day outside the window is counted with string operations (its entry-like lines add to
``lines_read``) and never classified, unwrapped or reported on. Only a day after the window whose
durations may reach back into it is read, for entries that started inside the window.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

import mwparserfromhell

from ..config import Settings, user_dir
from ..errors import SourceError
from ..model.event import Event, EventKind
from ..model.source import REPLACED_CHARACTERS, Export, Problem, Query, SourceResult
from ..model.tasks import find_tasks
from ..model.window import Window
from . import SourceSpec, register

__all__ = ["SalSource", "parse", "parse_page", "classify", "SalEntry"]

MONTHS = (
    "January February March April May June July August September October November December".split()
)
HEAD_ISO = re.compile(r"^(?:(={2,3})\s*(\d{4}-\d{2}-\d{2})\s*\1|#{2,3}\s*(\d{4}-\d{2}-\d{2}))\s*$")
HEAD_OLD = re.compile(
    r"^={2,3}\s*(?:(?P<year>\d{4})\s+)?(?P<month>" + "|".join(MONTHS) + r")\s+(?P<day>\d{1,2})\s*={2,3}\s*$"
)
HEAD_ANY = re.compile(r"^(={1,6}).*\1\s*$|^#{1,6}\s")
ENTRY = re.compile(
    r"^(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2}))?:?\s+"
    r"(?P<nick>\[\[[^\]]+\]\]|[^\s:]+):\s*(?P<msg>.*?)\s*$"
)
SUBBULLET = re.compile(r"^(?:\*\*+|:+|#+)\s*(?P<body>.*)$")
RELAY_USER = re.compile(r"^(?P<user>[^@\s]+)@(?P<host>[^\s:]+)\s+(?P<rest>.*)$")
OLD_SYNC = re.compile(r"^(?P<user>\S+) synchronized (?P<target>\S+)(?: '(?P<msg>.*)')?$")
DUR = r"\(duration: (?P<min>\d+)m (?P<sec>\d{2})s\)"

PATTERNS: list[tuple[EventKind, str, re.Pattern[str]]] = [
    (EventKind.SYNC, "scap-finish", re.compile(r"^Finished scap(?: (?P<sub>[\w-]+))?: (?P<msg>.*?) " + DUR + r"$")),
    (EventKind.SYNC, "scap-start", re.compile(r"^Started scap(?: (?P<sub>[\w-]+))?: (?P<msg>.*)$")),
    (EventKind.SYNC, "sync", re.compile(r"^Synchronized (?P<target>\S+?):? (?P<msg>.*?) " + DUR + r"$")),
    (
        EventKind.TRAIN,
        "wikiversions",
        re.compile(r"^rebuilt (?:wikiversions\.php and synchronized|and synchronized) wikiversions files: (?P<msg>.*)$"),
    ),
    (
        EventKind.DEPLOY,
        "scap3",
        re.compile(
            r"^(?P<verb>Started|Finished|Starting) (?P<sub>deploy|restart|setup)(?: of)? "
            r"\[(?P<repo>[^\]@]+)(?:@(?P<sha>[0-9a-f]{7,}|UNKNOWN))?\]: (?P<msg>.*?)(?: " + DUR + r")?$"
        ),
    ),
    (
        EventKind.COOKBOOK,
        "cookbook",
        re.compile(
            r"^(?P<verb>START|END|DONE)(?: \((?P<status>PASS|FAIL|ERROR|NOTRUN)\))? - Cookbook (?P<name>\S+)"
            r"(?: \(exit_code=(?P<rc>-?\d+)\))?(?: (?P<msg>.*))?$",
            re.IGNORECASE,
        ),
    ),
    (
        EventKind.DBCTL,
        "dbctl",
        re.compile(
            r"^(?P<failed>FAILED )?dbctl commit \(dc=(?P<dc>\w+)\): '(?P<msg>.*)', diff saved to (?P<url>\S+)"
            r" and previous config saved to (?P<file>\S+)$"
        ),
    ),
    (
        EventKind.CONFTOOL,
        "conftool",
        re.compile(r"^conftool action : (?P<action>.+?); selector: (?P<sel>.+?)(?: \(tags: (?P<tags>.*)\))?$"),
    ),
    (
        EventKind.BACKPORT,
        "testservers",
        re.compile(r"^(?P<who>[^:]+): Backport for (?P<msg>.*) synced to the testservers(?:: (?P<hosts>.*))?$"),
    ),
    (EventKind.ABORT, "abort", re.compile(r"^(?:scap|[\w-]+) (?:aborted|failed): (?P<msg>.*?)(?: " + DUR + r")?$")),
    (EventKind.LOG, "lock", re.compile(r"^(?:Locking from|Unlocked for) deployment \[(?P<target>[^\]]*)\]: (?P<msg>.*)$")),
]
PAGES_HINT = "check [sal] pages (and wiki) in the config; `incidentkit config show` prints them"

# Lines that may be headings: the first non-blank character is "=" or "#" (breaks are "\n" by then).
# Anchoring on the break, not on a multi-line "^", lets the scan jump from break to break.
FIRST_HEADING_LINE = re.compile(r"[^\S\n]*[=#][^\n]*")
HEADING_LINE = re.compile(r"\n([^\S\n]*[=#][^\n]*)")
# The break before a line that is neither blank nor a "* ..." bullet: its day must be read line by line.
IRREGULAR = re.compile(r"\n(?!\*(?!\*)|\n|\Z)")
COMMENT = re.compile(r"<!--.*?-->", re.S)
# Line breaks that str.splitlines() honours besides "\n" (a "\r\n" pair is one break).
OTHER_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
BREAK = re.compile(r"\r\n|[" + OTHER_BREAKS + "]")
DURATION = re.compile(DUR)
NOWIKI = re.compile(r"<nowiki>([^<]*)</nowiki>")
# stashbot's own template line: every "|" escaped as {{!}}, lone braces as <nowiki>{</nowiki>. For this
# shape mwparserfromhell gives exactly the text between "1=" and "}}" (checked by a property test).
SAL_TEMPLATE = re.compile(r"\{\{(?:safesubst:|subst:)?SAL entry\|1=((?:[^{}|<>]++|\{\{!\}\}|<nowiki>[{}]</nowiki>)*+)\}\}")
YEAR = re.compile(r"(?<!\d)(20\d\d|19\d\d)(?!\d)")
USER_LINK = re.compile(r"^\[\[(?:User:)?([^|\]]+)(?:\|[^\]]*)?\]\]$")
OLD_SYNC_MESSAGE = re.compile(r"^synchronized (?P<target>\S+)(?: '(?P<msg>.*)')?$")
TRAIN_GROUP = re.compile(r"\b(group[0-2]|all wikis|testwikis) to (\d+\.\d+\.\d+-wmf\.\d+)")
REVERT_WORD = re.compile(r"\brevert(?:ed|ing)?\b|\brollback\b|\brolled back\b", re.I)
REVERT = re.compile(r"\brevert|\brollback|\brolled back", re.I)


@dataclass(frozen=True, slots=True)
class SalEntry:
    """One SAL entry as written on the page, before classification."""

    time: datetime
    nick: str
    message: str
    line: int  # 1-based line number of the entry in the page text
    page: str


@dataclass(slots=True)
class _Section:
    """A heading of a page and the lines under it, up to the next heading."""

    day: date | None  # None: not a day heading; its lines are not entries
    start: int  # offset of the first line under the heading
    end: int  # offset where the next heading (or the text) starts
    number: int  # line number of the first line under the heading
    problem: Problem | None = None  # a date heading that cannot be read


class _Mode(Enum):
    """How much of a day section a window needs."""

    READ = "read"  # a day of the window: every entry, and its problems
    KEEP = "keep"  # a day after the window whose durations may reach back into it: every entry
    COUNT = "count"  # any other day: entry-like lines counted, nothing parsed


def _unescape(text: str) -> str:
    """Undo stashbot's template escaping: ``{{!}}`` -> ``|``, ``<nowiki>{</nowiki>`` -> ``{``."""
    text = text.replace("{{!}}", "|").replace("{{=}}", "=")
    return NOWIKI.sub(r"\1", text)


def _unwrap_template(body: str) -> str:
    """``{{safesubst:SAL entry|1=HH:MM nick: msg}}`` -> ``HH:MM nick: msg``."""
    if "SAL entry" not in body:
        return body
    plain = SAL_TEMPLATE.fullmatch(body)
    return plain.group(1) if plain else _template_value(body)


def _template_value(body: str) -> str:
    """The ``1=`` value of the first ``{{SAL entry}}`` in *body* as mwparserfromhell reads it, else *body*."""
    code = mwparserfromhell.parse(body)
    for template in code.filter_templates(recursive=False):
        name = str(template.name).strip().lower().removeprefix("safesubst:").removeprefix("subst:").strip()
        if name == "sal entry" and template.has("1"):
            return str(template.get("1").value)
    return body


def _year_hint(title: str, window: Window | None) -> int | None:
    match = YEAR.search(title)
    if match:
        return int(match.group(1))
    return window.start.year if window else None


def _heading_date(line: str, year: int | None) -> tuple[date | None, bool]:
    """(date, is_heading). A heading that is not a date gives (None, True)."""
    match = HEAD_ISO.match(line)
    if match:
        try:
            return date.fromisoformat(match.group(2) or match.group(3)), True
        except ValueError:
            return None, True
    match = HEAD_OLD.match(line)
    if match:
        y = int(match.group("year")) if match.group("year") else year
        if y is None:
            return None, True
        try:
            return date(y, MONTHS.index(match.group("month")) + 1, int(match.group("day"))), True
        except ValueError:
            return None, True
    return None, bool(HEAD_ANY.match(line))


def _breaks(text: str) -> str:
    """*text* with every line break as ``\\n``, so offsets and ``str.splitlines`` line numbers agree
    (a copy only when the text holds another break)."""
    return BREAK.sub("\n", text) if any(c in text for c in OTHER_BREAKS) else text


def _plain(text: str) -> str:
    """*text* as the parser reads it: line breaks as ``\\n``, and HTML comments (which never hold
    entries) blanked but for their breaks, so line numbers stay right. Copies only what changes."""
    text = _breaks(text)
    if "<!--" in text:
        text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return text


def _heading_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, stripped text) of every line of *text* (``\\n`` breaks) that may be a heading."""
    first = FIRST_HEADING_LINE.match(text)
    if first:
        yield first.start(), first.end(), first.group().strip()
    for match in HEADING_LINE.finditer(text):
        yield match.start(1), match.end(1), match.group(1).strip()


def _sections(text: str, title: str, year: int | None) -> list[_Section]:
    """Every heading of *text* (``\\n`` breaks) with the span of lines under it, in page order.

    One regular-expression scan finds the lines that may be headings, so a page is split into days
    without looking at each of its lines from Python.
    """
    sections: list[_Section] = []
    number, offset = 1, 0
    for start, end, line in _heading_lines(text):
        day, is_heading = _heading_date(line, year)
        if not is_heading:
            continue  # "#foo" or "=x": a line of the section it is in
        number += text.count("\n", offset, start)
        offset = start
        if sections:
            sections[-1].end = start
        problem = None
        if day is None and (HEAD_OLD.match(line) or HEAD_ISO.match(line)):
            problem = Problem(f"{title}:{number}", "date heading without a usable year or date", line)
        sections.append(_Section(day, end + 1, len(text), number + 1, problem))
    return sections


def _reaches_back(text: str, gap: float) -> bool:
    """Whether an entry in *text*, a day that starts *gap* seconds after the window ends, may have
    started inside the window: it shows a duration longer than *gap*, or one this cannot read whole
    (split over lines, or an odd shape the classifier will judge)."""
    if "<nowiki>" in text:
        text = _unescape(text)
    shown = text.count("(duration")
    if not shown:
        return False
    durations = DURATION.findall(text)
    return len(durations) < shown or any(int(minutes) * 60 + int(seconds) > gap for minutes, seconds in durations)


def _mode(section: _Section, day: date, text: str, window: Window | None) -> _Mode:
    """How much of *section*, the lines of *day*, the *window* needs (all of it without a window)."""
    if window is None:
        return _Mode.READ
    if day < window.start.date():
        return _Mode.COUNT  # every entry is earlier than the window
    if day <= (window.end - timedelta(microseconds=1)).date():
        return _Mode.READ
    gap = (datetime(day.year, day.month, day.day, tzinfo=UTC) - window.end).total_seconds()
    return _Mode.KEEP if _reaches_back(text[section.start : section.end], gap) else _Mode.COUNT


def _continued(entry: SalEntry, text: str) -> SalEntry:
    return SalEntry(entry.time, entry.nick, f"{entry.message} {text}", entry.line, entry.page)


def _entry_match(line: str, bullet: bool) -> re.Match[str] | None:
    """The ``HH:MM nick: message`` match of a stripped line (of a bullet, the text after its ``*``)."""
    return ENTRY.match(_unwrap_template(line[1:].lstrip() if bullet else line).strip())


def _clock(match: re.Match[str]) -> tuple[int, int, int] | None:
    """(hour, minute, second) of an entry match; None when no clock shows that time."""
    hh, mm, ss = int(match["hh"]), int(match["mm"]), int(match["ss"] or 0)
    return (hh, mm, ss) if hh <= 23 and mm <= 59 and ss <= 59 else None


def _is_entry(line: str, bullet: bool) -> bool:
    match = _entry_match(line, bullet)
    return match is not None and _clock(match) is not None


def _read_lines(
    lines: list[str], section: _Section, day: date, title: str, report: bool
) -> tuple[list[SalEntry], list[Problem], int]:
    """The entries, problems (if *report*) and entry-like line count of one day's lines.

    ``**`` sub-bullets and wrapped lines continue the entry above them in the same day; with no
    entry above them they are unreadable lines.
    """
    entries: list[SalEntry] = []
    problems: list[Problem] = []
    read = 0
    for number, raw_line in enumerate(lines, start=section.number):
        line = raw_line.strip()
        if not line:
            continue
        bullet = line[0] == "*" and line[1:2] != "*"
        sub = None if bullet or not entries else SUBBULLET.match(line)
        if sub:
            entries[-1] = _continued(entries[-1], sub.group("body").strip())
            continue
        read += 1
        match = _entry_match(line, bullet)
        if not match:
            if not bullet and entries:
                read -= 1  # a wrapped line continues the previous entry
                entries[-1] = _continued(entries[-1], line)
            elif report:
                problems.append(Problem(f"{title}:{number}", "no 'HH:MM nick: message' entry", raw_line[:200]))
            continue
        clock = _clock(match)
        if clock is None:
            if report:
                problems.append(Problem(f"{title}:{number}", f"impossible time {match['hh']}:{match['mm']}", raw_line[:200]))
            continue
        when = datetime(day.year, day.month, day.day, *clock, tzinfo=UTC)
        entries.append(SalEntry(when, match["nick"], _unescape(match["msg"]), number, title))
    return entries, problems, read


def _count_lines(lines: list[str]) -> int:
    """The entry-like lines of a day outside the window, counted as :func:`_read_lines` counts them.

    Every bullet counts. A line that is not a bullet counts unless it continues an entry, which
    needs to know whether the day has shown an entry above it: only then are the bullets above it
    checked, up to the first entry. Nothing is classified.
    """
    read = 0
    has_entry = False
    unchecked: list[str] = []  # bullets above, while no entry is known in the day
    for raw_line in lines:
        line = raw_line.strip()
        if not line:
            continue
        if line[0] == "*" and line[1:2] != "*":
            read += 1
            if not has_entry:
                unchecked.append(line)
            continue
        if unchecked:
            has_entry = any(_is_entry(bullet, True) for bullet in unchecked)
            unchecked.clear()
        if has_entry and (SUBBULLET.match(line) or _entry_match(line, False) is None):
            continue  # a continuation
        read += 1
        has_entry = has_entry or _is_entry(line, False)
    return read


def _count_section(text: str, section: _Section) -> int:
    """The entry-like lines of a day outside the window."""
    if IRREGULAR.search(text, section.start - 1, section.end):
        return _count_lines(text[section.start : section.end].split("\n"))
    # every line is blank or a "* ..." bullet, one entry-like line each; from the heading's break on
    return text.count("\n*", section.start - 1, section.end)


def parse_page(
    text: str, title: str, *, window: Window | None = None, year: int | None = None
) -> tuple[list[SalEntry], list[Problem], int]:
    """Split a SAL page into entries. Returns (entries, problems, entry-like lines read).

    Without a *window*, every day is read. With one, the cost follows the window, not the page: a
    day before the window, or after it with no duration reaching back into it, is only counted
    (its entry-like lines add to the count; none is parsed, so its problems are not reported). The
    entries returned are those of the days that may hold the window's events; :func:`parse` keeps
    the ones inside it. Date headings that cannot be read are problems wherever they are.
    """
    year = year or _year_hint(title, window)
    text = _plain(text)
    entries: list[SalEntry] = []
    problems: list[Problem] = []
    read = 0
    for section in _sections(text, title, year):
        if section.problem is not None:
            problems.append(section.problem)
        day = section.day
        if day is None:
            continue  # intro text, or a heading that is not a day: no entries under it
        mode = _mode(section, day, text, window)
        if mode is _Mode.COUNT:
            read += _count_section(text, section)
            continue
        lines = text[section.start : section.end].split("\n")
        day_entries, day_problems, day_read = _read_lines(lines, section, day, title, mode is _Mode.READ)
        entries.extend(day_entries)
        problems.extend(day_problems)
        read += day_read
    return entries, problems, read


def _split_nick(nick: str, message: str) -> tuple[str, str | None, str]:
    """(actor, host, message) after undoing relays (logmsgbot, stashbot user@host, wmbot~)."""
    nick = nick.removeprefix("wmbot~")
    link = USER_LINK.match(nick)
    if link:
        nick = link.group(1)
    if "@" in nick:
        user, _, host = nick.partition("@")
        return user, host, message
    if nick.lower() in ("logmsgbot", "logmsgbot_cloud", "wm-bot", "wm-bot2"):
        relay = RELAY_USER.match(message)
        if relay:
            return relay["user"].removeprefix("wmbot~"), relay["host"], relay["rest"]
        old = OLD_SYNC.match(message)
        if old:
            return old["user"], None, message[len(old["user"]) + 1 :]
    return nick, None, message


def classify(message: str) -> tuple[EventKind, dict[str, Any]]:
    """Type a SAL message (after the nick) and extract its fields (duration, repo, cookbook...)."""
    old = OLD_SYNC_MESSAGE.match(message)
    if old:
        return EventKind.SYNC, {"tool": "scap", "action": "sync", "target": old["target"]}
    for kind, tool, pattern in PATTERNS:
        match = pattern.match(message)
        if not match:
            continue
        groups = {k: v for k, v in match.groupdict().items() if v is not None}
        data: dict[str, Any] = {"tool": tool}
        if "min" in groups:
            data["duration_s"] = int(groups.pop("min")) * 60 + int(groups.pop("sec"))
        if tool == "scap-start" or tool == "scap-finish":
            data["tool"], data["action"] = "scap", groups.get("sub", "scap")
            data["phase"] = "start" if tool == "scap-start" else "finish"
        elif tool == "sync":
            data["tool"], data["action"], data["target"] = "scap", "sync-file", groups["target"]
        elif tool == "scap3":
            data.update(
                action=groups["sub"],
                repo=groups["repo"],
                sha=groups.get("sha"),
                phase="finish" if groups["verb"] == "Finished" else "start",
            )
        elif tool == "cookbook":
            data.update(
                cookbook=groups["name"],
                phase="start" if groups["verb"].upper() == "START" else "finish",
                status=groups.get("status"),
                exit_code=int(groups["rc"]) if "rc" in groups else None,
            )
        elif tool == "dbctl":
            data.update(dc=groups["dc"], failed="failed" in groups, diff=groups["url"])
        elif tool == "conftool":
            data.update(action=groups["action"], selector=groups["sel"])
        elif tool == "testservers":
            data.update(tool="scap", action="backport", phase="testservers")
        elif tool == "lock":
            data.update(target=groups.get("target"))
        if kind is EventKind.SYNC and "Backport for" in message:
            kind = EventKind.BACKPORT
        if kind is EventKind.SYNC or kind is EventKind.TRAIN:
            train = TRAIN_GROUP.search(message)
            if train:
                kind = EventKind.TRAIN
                data.update(group=train.group(1), version=train.group(2))
        return kind, data
    if REVERT_WORD.search(message):
        return EventKind.LOG, {"revert": True}
    return EventKind.LOG, {}


def _event(entry: SalEntry, project: str, occurrence: int, minute: str) -> Event:
    """The event of one entry; *minute* is its time as ``%Y-%m-%dT%H:%M`` (part of the key)."""
    actor, host, message = _split_nick(entry.nick, entry.message)
    kind, data = classify(message)
    if REVERT.search(message):
        data["revert"] = True
    data["project"] = project
    if host:
        data["host"] = host
    started = None
    if "duration_s" in data:
        started = entry.time - timedelta(seconds=data["duration_s"])
    digest = hashlib.sha1(f"{entry.nick}\x00{entry.message}".encode()).hexdigest()[:10]
    key = f"sal:{minute}:{digest}" + (f":{occurrence}" if occurrence else "")
    nick = f"{actor}@{host}" if host else actor
    return Event(
        time=entry.time,
        source="sal",
        kind=kind,
        key=key,
        text=message,
        actor=nick,
        tasks=find_tasks(message),
        started=started,
        raw=f"{entry.page}:{entry.line}",
        data=data,
    )


def parse(export: Export, query: Query) -> SourceResult:
    """Parse every SAL page in *export* into events inside the query window (pure).

    An entry is classified only when it can belong to the window: inside it, or later but with a
    duration that may reach back into it. Entries that share minute, nick, message and page are
    numbered in page order so their keys differ; they share their verdict too, so skipping some
    never renumbers the others.
    """
    window = query.window
    pages_meta: dict[str, Any] = export.meta.get("pages", {})
    events: list[Event] = []
    problems: list[Problem] = []
    read = 0
    seen: dict[str, int] = {}
    for name, text in export.files:
        meta = pages_meta.get(name, {})
        title = meta.get("title", name)
        project = meta.get("project", title)
        entries, page_problems, page_read = parse_page(text, title, window=window, year=meta.get("year"))
        problems.extend(page_problems)
        read += page_read
        for entry in entries:
            if entry.time < window.start or (entry.time >= window.end and "(duration" not in entry.message):
                continue
            minute = entry.time.strftime("%Y-%m-%dT%H:%M")
            base = f"{minute}{entry.nick}{entry.message}{entry.page}"
            occurrence = seen.get(base, 0)
            seen[base] = occurrence + 1
            event = _event(entry, project, occurrence, minute)
            if window.touches(event.time, event.started):
                events.append(event)
    return SourceResult("sal", tuple(events), tuple(problems), lines_read=read)


# --- live reading ----------------------------------------------------------------------------


def _is_span(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(day, str) for day in value)


def _page_dates(text: str, title: str) -> tuple[str, str] | None:
    """The oldest and newest ISO day headings of a page, for the archive index."""
    year = _year_hint(title, None)
    days = [day for day in (_heading_date(line, year)[0] for _, _, line in _heading_lines(_breaks(text))) if day]
    return (min(days).isoformat(), max(days).isoformat()) if days else None


class SalSource:
    """Reads the SAL pages named in ``[sal] pages`` (live page plus archives) from the ops wiki.

    Which archive covers which dates is remembered in ``sal-archives.json`` in the user
    directory, so later windows read only the pages they need.
    """

    name = "sal"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_path = user_dir() / "sal-archives.json"

    def _index(self) -> dict[str, Any]:
        """The archive index; a damaged one is a cache miss (every archive is read again)."""
        try:
            index = json.loads(self.index_path.read_bytes())  # json reads UTF-8 (or -16, -32) bytes itself
        except (OSError, ValueError):
            return {}
        usable = isinstance(index, dict) and all(
            isinstance(entry, dict) and (entry.get("dates") is None or _is_span(entry["dates"])) for entry in index.values()
        )
        return index if usable else {}

    def _save_index(self, index: dict[str, Any]) -> None:
        try:
            self.index_path.parent.mkdir(parents=True, exist_ok=True)
            self.index_path.write_bytes(json.dumps(index, indent=1, sort_keys=True).encode())
        except OSError:
            return  # the index is only a cache; a read-only home just means reading more pages

    def check(self) -> str:
        """Connect to the SAL wiki and confirm that every configured SAL page exists."""
        from ..clients.mediawiki import connect_wiki

        wiki = connect_wiki(self.settings, self.settings.sal.wiki or None)
        detail = wiki.check()
        pages = wiki.read_many(self.settings.sal.pages)
        missing = [title for title, page in pages.items() if page is None]
        if missing:
            raise SourceError(f"SAL page {missing[0]!r} does not exist on wiki {wiki.name}", hint=PAGES_HINT)
        return f"{detail}; pages: {', '.join(self.settings.sal.pages)}"

    def pull(self, query: Query) -> Export:
        from ..clients.mediawiki import connect_wiki

        wiki = connect_wiki(self.settings, self.settings.sal.wiki or None)
        index = self._index()
        files: list[tuple[str, str]] = []
        meta: dict[str, Any] = {}
        first_day = (query.window.start - timedelta(days=1)).date().isoformat()
        last_day = (query.window.end + timedelta(days=1)).date().isoformat()
        for page_title in self.settings.sal.pages:
            page = wiki.read(page_title)
            if page is None:
                raise SourceError(f"SAL page {page_title!r} does not exist on wiki {wiki.name}", hint=PAGES_HINT)
            files.append((page_title, page.text))
            meta[page_title] = {"title": page_title, "project": page_title, "revid": page.revid}
            span = _page_dates(page.text, page_title)
            if span is not None and span[0] <= first_day:
                continue  # the live page reaches back far enough
            archives = sorted(
                set(wiki.list_prefix(f"{page_title}/Archive"))
                | set(wiki.list_prefix(f"{page_title[0]}{page_title[1:].lower()}/Archive")),
                # newest first; the title breaks ties (one number under both spellings), so the
                # order does not depend on the set's
                key=lambda t: ([int(n) for n in re.findall(r"\d+", t)] or [0], t),
                reverse=True,
            )
            unknown = [t for t in archives if t not in index]
            if unknown:
                for title, archive in wiki.read_many(unknown).items():
                    if archive is not None:
                        index[title] = {"dates": _page_dates(archive.text, title), "revid": archive.revid}
                self._save_index(index)
            needed = [
                t
                for t in archives
                if index.get(t, {}).get("dates")
                and index[t]["dates"][0] <= last_day
                and index[t]["dates"][1] >= first_day
            ]
            for title, archive in wiki.read_many(needed).items():
                if archive is not None:
                    files.append((title, archive.text))
                    meta[title] = {"title": title, "project": page_title, "revid": archive.revid}
        found: dict[str, Any] = {"pages": meta, "wiki": wiki.name}
        if wiki.replaced:  # lone surrogates in the wiki's answers (counted as problems)
            found[REPLACED_CHARACTERS] = wiki.replaced
        return Export("sal", tuple(files), found)


register(
    SourceSpec(
        name="sal",
        help="Server Admin Log pages on the ops wiki ([sal] wiki, pages), with their archives.",
        factory=SalSource,
        parse=parse,
        configured=lambda settings: bool(settings.wikis) and bool(settings.sal.pages),
    )
)
