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
``**`` sub-bullets and wrapped text continue the previous entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
BULLET = re.compile(r"^\*(?!\*)\s*(?P<body>.*)$")
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


@dataclass(frozen=True, slots=True)
class SalEntry:
    """One SAL entry as written on the page, before classification."""

    time: datetime
    nick: str
    message: str
    line: int  # 1-based line number of the entry in the page text
    page: str


def _unescape(text: str) -> str:
    """Undo stashbot's template escaping: ``{{!}}`` -> ``|``, ``<nowiki>{</nowiki>`` -> ``{``."""
    text = text.replace("{{!}}", "|").replace("{{=}}", "=")
    return re.sub(r"<nowiki>([^<]*)</nowiki>", r"\1", text)


def _unwrap_template(body: str) -> str:
    """``{{safesubst:SAL entry|1=HH:MM nick: msg}}`` -> ``HH:MM nick: msg`` (via mwparserfromhell)."""
    if "SAL entry" not in body:
        return body
    code = mwparserfromhell.parse(body)
    for template in code.filter_templates(recursive=False):
        name = str(template.name).strip().lower().removeprefix("safesubst:").removeprefix("subst:").strip()
        if name == "sal entry" and template.has("1"):
            return str(template.get("1").value)
    return body


def _year_hint(title: str, window: Window | None) -> int | None:
    match = re.search(r"(?<!\d)(20\d\d|19\d\d)(?!\d)", title)
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


def parse_page(
    text: str, title: str, *, window: Window | None = None, year: int | None = None
) -> tuple[list[SalEntry], list[Problem], int]:
    """Split a SAL page into entries. Returns (entries, problems, entry-like lines read)."""
    entries: list[SalEntry] = []
    problems: list[Problem] = []
    year = year or _year_hint(title, window)
    day: date | None = None
    in_day = False
    read = 0
    # HTML comments never hold entries; blank them line by line so line numbers stay right
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line:
            continue
        heading_day, is_heading = _heading_date(line, year)
        if is_heading:
            day, in_day = heading_day, heading_day is not None
            if heading_day is None and (HEAD_OLD.match(line) or HEAD_ISO.match(line)):
                problems.append(Problem(f"{title}:{number}", "date heading without a usable year or date", line))
            continue
        if not in_day or day is None:
            continue  # intro text above the first day heading
        sub = SUBBULLET.match(line)
        if sub and entries and entries[-1].page == title and not BULLET.match(line):
            last = entries[-1]
            entries[-1] = SalEntry(last.time, last.nick, f"{last.message} {sub.group('body').strip()}", last.line, title)
            continue
        bullet = BULLET.match(line)
        body = bullet.group("body") if bullet else line
        read += 1
        body = _unwrap_template(body.strip())
        match = ENTRY.match(body.strip())
        if not match:
            if not bullet and entries and entries[-1].page == title:
                last = entries[-1]  # a wrapped line continues the previous entry
                entries[-1] = SalEntry(last.time, last.nick, f"{last.message} {line}", last.line, title)
                read -= 1
                continue
            problems.append(Problem(f"{title}:{number}", "no 'HH:MM nick: message' entry", raw_line[:200]))
            continue
        hh, mm, ss = int(match["hh"]), int(match["mm"]), int(match["ss"] or 0)
        if hh > 23 or mm > 59 or ss > 59:
            problems.append(Problem(f"{title}:{number}", f"impossible time {match['hh']}:{match['mm']}", raw_line[:200]))
            continue
        when = datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC)
        entries.append(SalEntry(when, match["nick"], _unescape(match["msg"]), number, title))
    return entries, problems, read


def _split_nick(nick: str, message: str) -> tuple[str, str | None, str]:
    """(actor, host, message) after undoing relays (logmsgbot, stashbot user@host, wmbot~)."""
    nick = nick.removeprefix("wmbot~")
    link = re.match(r"^\[\[(?:User:)?([^|\]]+)(?:\|[^\]]*)?\]\]$", nick)
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
    old = re.match(r"^synchronized (?P<target>\S+)(?: '(?P<msg>.*)')?$", message)
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
            train = re.search(r"\b(group[0-2]|all wikis|testwikis) to (\d+\.\d+\.\d+-wmf\.\d+)", message)
            if train:
                kind = EventKind.TRAIN
                data.update(group=train.group(1), version=train.group(2))
        return kind, data
    if re.search(r"\brevert(?:ed|ing)?\b|\brollback\b|\brolled back\b", message, re.I):
        return EventKind.LOG, {"revert": True}
    return EventKind.LOG, {}


def _event(entry: SalEntry, project: str, occurrence: int) -> Event:
    actor, host, message = _split_nick(entry.nick, entry.message)
    kind, data = classify(message)
    if re.search(r"\brevert|\brollback|\brolled back", message, re.I):
        data["revert"] = True
    data["project"] = project
    if host:
        data["host"] = host
    started = None
    if "duration_s" in data:
        started = entry.time - timedelta(seconds=data["duration_s"])
    digest = hashlib.sha1(f"{entry.nick}\x00{entry.message}".encode()).hexdigest()[:10]
    key = f"sal:{entry.time:%Y-%m-%dT%H:%M}:{digest}" + (f":{occurrence}" if occurrence else "")
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
    """Parse every SAL page in *export* into events inside the query window (pure)."""
    pages_meta: dict[str, Any] = export.meta.get("pages", {})
    events: list[Event] = []
    problems: list[Problem] = []
    read = 0
    seen: dict[str, int] = {}
    for name, text in export.files:
        meta = pages_meta.get(name, {})
        title = meta.get("title", name)
        project = meta.get("project", title)
        entries, page_problems, page_read = parse_page(text, title, window=query.window, year=meta.get("year"))
        problems.extend(page_problems)
        read += page_read
        for entry in entries:
            base = f"{entry.time:%Y-%m-%dT%H:%M}{entry.nick}{entry.message}{entry.page}"
            occurrence = seen.get(base, 0)
            seen[base] = occurrence + 1
            event = _event(entry, project, occurrence)
            if query.window.contains(event.time) or (
                event.started is not None and event.started < query.window.end and event.time >= query.window.start
            ):
                events.append(event)
    return SourceResult("sal", tuple(events), tuple(problems), lines_read=read)


# --- live reading ----------------------------------------------------------------------------


def _is_span(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(day, str) for day in value)


def _page_dates(text: str, title: str) -> tuple[str, str] | None:
    """The oldest and newest ISO day headings of a page, for the archive index."""
    days = [d for d in (_heading_date(line.strip(), _year_hint(title, None))[0] for line in text.splitlines()) if d]
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
            index = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        usable = isinstance(index, dict) and all(
            isinstance(entry, dict) and (entry.get("dates") is None or _is_span(entry["dates"])) for entry in index.values()
        )
        return index if usable else {}

    def _save_index(self, index: dict[str, Any]) -> None:
        try:
            self.index_path.parent.mkdir(parents=True, exist_ok=True)
            self.index_path.write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
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
                key=lambda t: [int(n) for n in re.findall(r"\d+", t)] or [0],
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
