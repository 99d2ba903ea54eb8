"""Reading existing incident reports: a page's text in, its metadata, actionables and scorecard out.

Owns the knowledge of how Wikimedia incident reports were written from 2014 to today (see
``incident-format.md``): the ``{{irdoc|status=…}}`` line and the older ``{{irdoc-draft}}``
family, the metadata infobox (a wikitable, a template, or the rendered "Label value" forms), and
every way an actionable is written: ``{{Phabricator|T123}}``, ``[[phab:T123]]``,
``[[phab:T123|…]]``, bare ``T123``, ``task T123``/``bug T123``, Phabricator URLs, ``Status: Done -
…``, ``{{Done}}``/``{{Not done}}`` and their renderings, parenthesised notes, strike-through,
sub-bullets; template placeholders (``To do #1 (TODO: Create task)``, ``…``) are skipped.

Sections are found by heading text, never position: wikitext ``== Actionables ==`` headings, and
for pages saved as rendered text, heading lines such as ``Actionables`` or ``## Actionables`` or
the template's anchor sentences when the renderer dropped headings. Rendered text degrades
gracefully: whatever can be recognised is returned, and :attr:`Report.problems` says what not.

Pure: text in, values out. A page that is not a report (a redirect, an empty page, a subpage such
as ``/minutes``, a page with no date and no report structure) comes back as :class:`Unparsed`
with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import mwparserfromhell
from mwparserfromhell.nodes import Tag
from mwparserfromhell.wikicode import Wikicode

from ..model.scorecard import ScorecardDefinition
from .cells import cell_text
from .scorecard import parse_from_wikitext

__all__ = [
    "ItemStatus",
    "Located",
    "PageActionable",
    "Report",
    "Unparsed",
    "parse_report",
    "parse_actionables",
    "parse_metadata",
    "parse_status",
    "task_refs",
    "gerrit_refs",
    "title_date",
    "lenient_datetime",
    "section_text",
    "headings",
    "METADATA_LABELS",
    "KNOWN_PREFIXES",
    "QUOTE_MARKUP",
]


class ItemStatus(StrEnum):
    """What the page itself says about an actionable (a hint; Phabricator is authoritative)."""

    DONE = "done"
    NOT_DONE = "not-done"
    WONT_DO = "wont-do"  # declined, won't fix, invalid
    IN_PROGRESS = "in-progress"
    UNRESOLVED = "unresolved"
    DROPPED = "dropped"  # struck through: abandoned or done differently
    UNKNOWN = "unknown"


class Located(StrEnum):
    """How the Actionables of a page were found."""

    HEADING = "heading"
    ANCHOR = "anchor"  # the template's sentence ("Explicit next steps to prevent this ...")
    LAST_LIST = "last list"  # a guess: the page's last list looked like actionables
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class PageActionable:
    """One actionable bullet of a report."""

    text: str  # cleaned: status prefix, task references and trailing notes removed
    raw: str  # the item as written (wikitext or rendered text), continuation lines included
    tasks: tuple[str, ...] = ()  # T123, in order of mention
    anchors: tuple[str, ...] = ()  # T123#456 comment anchors
    gerrit: tuple[str, ...] = ()  # change numbers
    status: ItemStatus = ItemStatus.UNKNOWN
    note: str | None = None  # "TBD", "update: crash reason found", "done in gerrit:419090"
    struck: bool = False
    depth: int = 1  # 1 = top-level bullet, 2 = sub-bullet, ...
    parent: int | None = None  # index of the enclosing item in Report.actionables
    question: bool = False
    owner: str | None = None  # only from incidentkit's own "T1 title (status) – owner" lines
    line: int = 0  # 1-based line number on the page

    @property
    def task(self) -> str | None:
        return self.tasks[0] if self.tasks else None


_TITLE_DATE = re.compile(r"^\s*\d{4}-?\d{2}-?\d{2}(?:[-_ ]+\d{4}-?\d{2}-?\d{2})?[-_ :]*")  # "2022-03-01 " of "2022-03-01 ulsfo network"


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What a report page says."""

    page: str  # full page title, e.g. "Incidents/2022-03-01 ulsfo network"
    name: str  # the title without the listing prefix
    date: date | None  # from the title, else from Start
    status: str | None  # draft / review / final, or None when the page has no status line
    metadata: Mapping[str, str] = field(default_factory=dict)  # canonical key -> raw text (set values only)
    start: datetime | None = None
    end: datetime | None = None
    task: str | None = None  # the incident task
    actionables: tuple[PageActionable, ...] = ()
    placeholders: int = 0  # template placeholder bullets skipped
    found: Located = Located.HEADING  # how the Actionables were found
    scorecard: Mapping[str, tuple[Any, str]] = field(default_factory=dict)  # key -> (answer, note), answered rows
    headings: tuple[tuple[int, int, str], ...] = ()  # (0-based line, level, title), as :func:`headings` reads them
    wikitext: bool = True  # False when the page holds rendered text rather than wikitext
    problems: tuple[str, ...] = ()  # what could not be read, e.g. "Start: 'soon' is not a time"

    @property
    def incident_title(self) -> str:
        """The incident's name without the date: "2022-03-01 ulsfo network" -> "ulsfo network"."""
        stripped = _TITLE_DATE.sub("", self.name).strip()
        return stripped or self.name

    @property
    def task_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for item in self.actionables:
            for task in item.tasks:
                seen.setdefault(task, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A page that is not read as a report, and why."""

    page: str
    reason: str


# --- headings and sections -----------------------------------------------------------------

_WIKI_HEADING = re.compile(r"^(={1,6})\s*(.+?)\s*\1\s*(?:<!--.*?-->\s*)*$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_KNOWN_HEADINGS = {
    "summary": 2, "summary and metadata": 2, "impact": 2, "detection": 2, "timeline": 2, "timeline (utc)": 2,
    "conclusions": 2, "what went well?": 3, "what went poorly?": 3, "where did we get lucky?": 3,
    "links to relevant documentation": 2, "actionables": 2, "action items": 2, "follow-up": 2,
    "followup actions": 2, "follow-up actions": 2, "todos": 2, "scorecard": 2, "root cause": 2,
    "affected datasets and services": 2, "documentation:": 2, "links": 2,
}  # fmt: skip
_ACTIONABLES = re.compile(r"^(?:actionables?|action items?|follow[- ]?ups?(?: actions)?|followup actions|todos?|next steps)$", re.I)
_LONGEST_KNOWN = max(map(len, _KNOWN_HEADINGS))  # _ACTIONABLES matches no longer line either
_ANCHORS = (
    "explicit next steps to prevent this",
    "create a list of action items",
    "note: please add the #wikimedia-incident",
)
_SECTION_STOP = re.compile(r"^\s*(?:incident engagement|\[\[category:|retrieved from|categories\s*:?\s*$|\[\.\.\. truncated)", re.I)


@dataclass(frozen=True, slots=True)
class _Heading:
    line: int  # 0-based
    level: int
    title: str


def _headings(lines: list[str]) -> list[_Heading]:
    found: list[_Heading] = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("="):
            match = _WIKI_HEADING.match(stripped)
            if match:
                title = match.group(2)  # the parser finds nothing but words in a title without markup
                title = mwparserfromhell.parse(title).strip_code() if _MARKUP.search(title) else title
                found.append(_Heading(number, len(match.group(1)), title.strip()))
                continue
        elif len(stripped) > _LONGEST_KNOWN and not stripped.startswith("#"):
            continue  # neither heading markup nor a known heading: most lines of a page
        match = _MD_HEADING.match(stripped) if stripped.startswith("#") else None
        candidate = match.group(2) if match else stripped
        key = candidate.strip().lower()
        if key in _KNOWN_HEADINGS or _ACTIONABLES.match(key):
            level = len(match.group(1)) if match else _KNOWN_HEADINGS.get(key, 2)
            found.append(_Heading(number, level, candidate.strip()))
    return found


def headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(0-based line, level, title) of every heading in *lines*, as :func:`section_text` finds them."""
    return [(h.line, h.level, h.title) for h in _headings(lines)]


def section_text(
    text: str, pattern: re.Pattern[str], found: Sequence[_Heading] | None = None
) -> tuple[int, list[str]] | None:
    """The body lines of the first section whose heading matches *pattern* (and its first line
    number); *found*: the headings of *text*, when the caller has them already."""
    lines = text.splitlines()
    headings = _headings(lines) if found is None else found
    for index, heading in enumerate(headings):
        if not pattern.match(heading.title.strip()):
            continue
        end = len(lines)
        for later in headings[index + 1 :]:
            if later.level <= heading.level:
                end = later.line
                break
        return heading.line + 1, lines[heading.line + 1 : end]
    return None


def _anchored_actionables(lines: list[str]) -> tuple[int, list[str]] | None:
    """Fallback for rendered pages without headings: the bullets after an Actionables anchor sentence."""
    lowered = "\n".join(lines).lower()
    if not any(anchor in lowered for anchor in _ANCHORS):  # one test of the page rather than of each line
        return None
    for number, line in enumerate(lines):
        if any(anchor in line.lower() for anchor in _ANCHORS):
            body: list[str] = []
            seen_bullet = False
            for later in lines[number + 1 :]:
                if _BULLET.match(later):
                    seen_bullet = True
                elif later.strip() and not later.startswith((" ", "\t")) and seen_bullet:
                    break
                body.append(later)
            return number + 1, body
    return None


_TIME_FIRST = re.compile(r"^\W*(?:\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}")
_STATUS_FIRST = re.compile(r"^\W*(?:status\s*:|yes\s+done\b|done\b|☒|not done\b|\((?:pending review|done|in progress)\))", re.I)


def _last_list(lines: list[str]) -> tuple[int, list[str]] | None:
    """Last resort for rendered pages without an Actionables heading or anchor: the page's last list,
    when it looks like actionables (no timeline times; some item has a task id or a status marker)."""
    blocks: list[tuple[int, int]] = []  # [start, end) line ranges of runs of bullets
    start: int | None = None
    for number, line in enumerate(lines + [""]):
        is_item = bool(_BULLET.match(line)) or (start is not None and line[:1] in (" ", "\t") and line.strip())
        if is_item and start is None:
            start = number
        elif not is_item and start is not None:
            blocks.append((start, number))
            start = None
    if not blocks:
        return None
    first, end = blocks[-1]
    bodies = [m.group("body") for m in map(_BULLET.match, lines[first:end]) if m]
    if not bodies or sum(1 for body in bodies if _TIME_FIRST.match(body)) * 2 >= len(bodies):
        return None
    if not any(task_refs(body)[0] or _STATUS_FIRST.match(body) for body in bodies):
        return None
    return first, lines[first:end]


# --- task and change references --------------------------------------------------------------

_TASK_TEMPLATE = re.compile(r"\{\{\s*(?:phabricator|phab|phabt|task|bug)\s*\|\s*T?(\d{1,8})(?:#(\d+))?\s*[|}]", re.I)
_TASK = re.compile(
    r"(?:(?P<url>(?i:https?://[^\s\]|/]*phab[^\s\]|/]*/))"
    r"|(?P<prefix>(?i:\b(?:phab(?:ricator)?:|(?:task|bug)\s+)))"
    r"|(?<![\w/#&=.:%+-]))"
    r"T(?P<id>[1-9]\d{0,7})(?:#(?P<anchor>\d+))?(?![\w-])"
)
_GERRIT = re.compile(
    r"(?:\bgerrit:\s*(\d+)|https?://gerrit\.wikimedia\.org/r/(?:#/c/)?(?:[^\s\]]*?/\+/)?(\d+))", re.I
)


def task_refs(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Task ids and comment anchors (``T123#456``) referenced in *text*, in order, without repeats.

    Bare ids need four to eight digits (``T96853``); a short id counts only with an explicit
    prefix (``task T12``, ``phab:T12``, a Phabricator URL or a task template).
    """
    tasks: dict[str, None] = {}
    anchors: dict[str, None] = {}
    hits: list[tuple[int, str, str | None]] = []
    for match in _TASK_TEMPLATE.finditer(text):
        hits.append((match.start(), match.group(1), match.group(2)))
    for match in _TASK.finditer(text):
        explicit = match.group("url") or match.group("prefix")
        if explicit or len(match.group("id")) >= 4:
            hits.append((match.start(), match.group("id"), match.group("anchor")))
    for _, number, anchor in sorted(hits):
        tasks.setdefault(f"T{number}", None)
        if anchor:
            anchors.setdefault(f"T{number}#{anchor}", None)
    return tuple(tasks), tuple(anchors)


def gerrit_refs(text: str) -> tuple[str, ...]:
    """Gerrit change numbers referenced in *text* (``[[gerrit:123]]``, ``gerrit:123``, URLs)."""
    seen: dict[str, None] = {}
    for match in _GERRIT.finditer(text):
        seen.setdefault(match.group(1) or match.group(2), None)
    return tuple(seen)


# --- actionables ------------------------------------------------------------------------------

_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[*#]+[*#:]*|[•·‣◦▪●○]|[-–](?=\s)|\d{1,2}[.)](?=\s))\s*(?P<body>.*)$")
_DONE_TEMPLATES = {"done", "tick", "y", "yes", "check", "checked", "resolved", "fixed", "ok", "✓", "completed"}
_NOT_DONE_TEMPLATES = {"not done", "notdone", "n", "no", "x", "cross", "xmark"}
_WONT_DO_TEMPLATES = {"declined", "wontfix", "won't fix", "wont fix", "rejected"}
_PROGRESS_TEMPLATES = {"doing", "in progress", "inprogress", "pending", "working", "partly done", "partial"}
_STATUS_WORDS: list[tuple[re.Pattern[str], ItemStatus]] = [  # searched in this order
    (re.compile(r"\bunresolved\b", re.I), ItemStatus.UNRESOLVED),
    (re.compile(r"\bnot done\b", re.I), ItemStatus.NOT_DONE),
    (re.compile(r"\bdeclined\b|\bwon'?t (?:do|fix)\b|\bwontfix\b|\binvalid\b|\brejected\b|\bdropped\b", re.I), ItemStatus.WONT_DO),
    (re.compile(r"\balmost\b|\bpartial|\bin[ -]progress\b|\bpending\b|\bongoing\b|\bwip\b|\bdoing\b|\bstalled\b|\bstarted\b|needs deploy", re.I), ItemStatus.IN_PROGRESS),
    (re.compile(r"\bdone\b|\bresolved\b|\bfixed\b|\bcomplete[d]?\b|\bclosed\b", re.I), ItemStatus.DONE),
    (re.compile(r"\bopen\b|\bto ?do\b|\btbd\b|\bnew\b|needs discussion|\bsuggestion\b", re.I), ItemStatus.UNRESOLVED),
]  # fmt: skip
_BOLD_STATUS = re.compile(r"^\s*status\s*:\s*[^\w\s'*]*\s*('''|\*\*)(?P<word>.+?)\1\s*[-–—:]?\s*", re.I)
_MARKDOWN_LINK = re.compile(r"\[([^\[\]]+)\]\((?:#[^)\s]*|[a-z]+://[^)\s]*)\)")
_STATUS_PREFIX = re.compile(
    r"^(?:status\s*:\s*(?P<word>[a-z][a-z' -]*?)?\s*(?:[-–—:]\s+|[-–—]\s*|$)"
    r"|\((?P<paren>pending review|in progress|done|wip|tbd)\)\s*[-–—:]?\s*)",
    re.I,
)
_RENDERED_DONE = re.compile(r"^(?:(?:yes|✔|✓|☑)\s*)?done\b\s*[-–—:]?\s*(?=\S)", re.I)
_RENDERED_NOT_DONE = re.compile(r"^(?:(?:☒\s*n?|✗|✘|n)\s*)?not done\b\s*[-–—:]?\s*", re.I)
_NOTE_WORDS = re.compile(
    r"^(?:done|fixed|resolved|tbd|update|updated|in progress|wip|pending|ongoing|partially|optional|see|open"
    r"|stalled|declined|invalid|closed)\b",
    re.I,
)
_PLACEHOLDER = re.compile(
    r"^(?:todo:?\s*)?(?:to ?do\s*#?\s*\d*\s*(?:\(\s*todo:?\s*create task\s*\))?|[….\s]*|todo:?|tbd)$", re.I
)
_REF = r"(?:(?:task|bug)\s+)?T\d+(?:#\d+)?"
_REF_PARENS = re.compile(rf"\(\s*{_REF}(?:\s*(?:,|;|and|/)\s*{_REF})*\s*\)", re.I)
_REF_TRAILING = re.compile(rf"(?:\s*[-–—:,]?\s*{_REF})+\s*[.]?\s*$", re.I)
_DRAFT_OWNER = re.compile(r"\s+–\s+([\w.@-]+)\s*$")
_DANGLING = re.compile(r"\b(?:in|at|see|via|on|by|from|per|of|to|with|under|and|or)\s*$", re.I)
_REF_LEADING = re.compile(rf"^(?:{_REF}\s*[-–—:,]?\s*)+", re.I)


def _status_from_word(word: str) -> ItemStatus:
    word = " ".join(word.split())
    for pattern, status in _STATUS_WORDS:
        if pattern.search(word):
            return status
    return ItemStatus.UNKNOWN


# What text needs to hold for the parser to find markup in it: most metadata cells and many
# actionables are plain text, and parsing each is costly.
_MARKUP = re.compile(r"[{}\[\]<>&'\n]|//|^\s*(?:[*#:;=]|----)")


def _plain(raw: str) -> tuple[str, ItemStatus, str | None]:
    """(plain text, status from status templates, struck-through text or None) of one item's markup."""
    if not _MARKUP.search(raw):
        return raw, ItemStatus.UNKNOWN, None
    code = mwparserfromhell.parse(raw)
    status = ItemStatus.UNKNOWN
    for template in code.filter_templates(recursive=False):
        name = str(template.name).strip().lower().replace("_", " ")
        task = _TASK_TEMPLATE.match(str(template))
        if task:
            code.replace(template, f" T{task.group(1)} ")
            continue
        if name in _DONE_TEMPLATES:
            status = ItemStatus.DONE
        elif name in _NOT_DONE_TEMPLATES:
            status = ItemStatus.NOT_DONE
        elif name in _WONT_DO_TEMPLATES:
            status = ItemStatus.WONT_DO
        elif name in _PROGRESS_TEMPLATES:
            status = ItemStatus.IN_PROGRESS
        else:
            continue
        code.replace(template, " ")
    struck = [
        tag.contents.strip_code().strip()
        for tag in code.filter_tags(recursive=True)
        if str(tag.tag).lower() in ("s", "del", "strike")
    ]
    text = code.strip_code(normalize=True, collapse=True, keep_template_params=False)
    return text, status, (" ".join(struck) if struck else None)


_TASK_ID = re.compile(r"(?<![\w-])T\d{1,8}(?:#\d+)?(?![\w-])")


def _without_ids(text: str) -> str:
    return " ".join(_TASK_ID.sub(" ", text).split())


_PHAB_URL = re.compile(r"https?://[^\s\]|/]*phab[^\s\]|/]*/(T\d+(?:#\d+)?)", re.I)
_PHAB_PREFIX = re.compile(r"\bphab(?:ricator)?:\s*(T\d+)", re.I)


def _normalise_refs(text: str) -> str:
    if "phab" not in text.lower():  # what both patterns hold: a test far cheaper than their scans
        return text
    text = _PHAB_URL.sub(r"\1", text)
    text = _PHAB_PREFIX.sub(r"\1", text)
    return text


@dataclass(frozen=True, slots=True)
class _Cleaned:
    text: str
    status: ItemStatus
    note: str | None
    struck: bool
    owner: str | None


def _clean(raw: str) -> _Cleaned:
    """Cleaned text, status, trailing note, struck flag and owner of one item's markup."""
    raw = _MARKDOWN_LINK.sub(r"\1", raw)
    bold = _BOLD_STATUS.match(raw)
    phrase = None
    if bold:
        phrase = " ".join(bold.group("word").split())
        raw = raw[bold.end() :]
    text, status, struck_text = _plain(raw)
    struck = struck_text is not None
    text = " ".join(_normalise_refs(text).split())
    prefix = _STATUS_PREFIX.match(text)
    if phrase is not None:
        status = _status_from_word(phrase) if status is ItemStatus.UNKNOWN else status
    elif prefix:
        word = prefix.group("word") or prefix.group("paren") or ""
        if word and status is ItemStatus.UNKNOWN:
            status = _status_from_word(word)
        text = text[prefix.end() :]
    else:
        done = _RENDERED_DONE.match(text)
        not_done = _RENDERED_NOT_DONE.match(text)
        if not_done:
            status, text = ItemStatus.NOT_DONE, text[not_done.end() :]
        elif done:
            status, text = ItemStatus.DONE, text[done.end() :]
    text = _REF_PARENS.sub("", text)
    owner = None
    draft_style = _DRAFT_OWNER.search(text) if _REF_LEADING.match(text) else None
    if draft_style:  # incidentkit's own "* [[phab:T1|T1]] title (Open) – owner"
        owner, text = draft_style.group(1), text[: draft_style.start()]
    text = _REF_LEADING.sub("", text)
    note = phrase if phrase and len(phrase.split()) > 1 else None
    trailing = re.search(r"\(([^()]*)\)\s*[.]?\s*$", text)
    if note is None and trailing and _NOTE_WORDS.match(trailing.group(1).strip()):
        note = " ".join(_normalise_refs(trailing.group(1)).split())
        if status is ItemStatus.UNKNOWN and note:
            status = _status_from_word(note.split()[0])
        text = text[: trailing.start()]
    without = _REF_TRAILING.sub("", text)
    if not _DANGLING.search(without):  # "investigations in T181315" keeps its id as the object
        text = without
    text = _REF_PARENS.sub("", text)
    text = " ".join(text.split()).strip(" -–—:;,")
    if struck_text and status in (ItemStatus.UNKNOWN, ItemStatus.UNRESOLVED):
        # task ids left the text above: compare the words without them ("<s>T123 do X</s>" is all struck)
        rest = _without_ids(text).replace(_without_ids(struck_text), "").strip(" -–—:;,.")
        if not rest:
            status = ItemStatus.DROPPED
    return _Cleaned(text, status, note, struck, owner)


@dataclass(slots=True)
class _Bullet:
    line: int
    depth: int
    lines: list[str]


def _bullets(first_line: int, lines: list[str]) -> list[_Bullet]:
    """Group the section's lines into bullets (with their continuation lines) and table rows."""
    items: list[_Bullet] = []
    current: _Bullet | None = None
    indents: list[int] = []  # rendered lists: the indent of each open nesting level
    in_table = False
    row: _Bullet | None = None
    for offset, line in enumerate(lines):
        number = first_line + offset + 1
        stripped = line.strip()
        if _SECTION_STOP.match(stripped):
            break
        if stripped.startswith("{|"):
            in_table, current = True, None
            continue
        if in_table:
            if stripped.startswith("|}"):
                in_table = False
                if row and row.lines:
                    items.append(row)
                row = None
            elif stripped.startswith("|-"):
                if row and row.lines:
                    items.append(row)
                row = _Bullet(number, 1, [])
            elif stripped.startswith("|") and not stripped.startswith("|+"):
                row = row or _Bullet(number, 1, [])
                row.lines.extend(cell.strip() for cell in stripped[1:].split("||") if cell.strip())
            continue
        match = _BULLET.match(line)
        if match and match.group("marker").endswith(":") and current is not None:  # "#: more text"
            current.lines.append(match.group("body").strip())
            continue
        if match and match.group("body").strip():
            marker = match.group("marker")
            indent = len(match.group("indent").expandtabs(4))
            if marker[0] in "*#":
                depth = len(marker.replace(":", ""))
            else:
                while indents and indents[-1] > indent:
                    indents.pop()
                if not indents or indents[-1] < indent:
                    indents.append(indent)
                depth = len(indents)
            current = _Bullet(number, depth, [match.group("body")])
            items.append(current)
            continue
        if current is not None and stripped and (line[:1] in (" ", "\t", ":")):
            current.lines.append(stripped.lstrip(":").strip())
            continue
        if stripped:
            current = None
    return items


def parse_actionables(
    text: str, *, guess: bool = False, found: Sequence[_Heading] | None = None
) -> tuple[tuple[PageActionable, ...], int, Located]:
    """The actionables of a report, the number of placeholder bullets skipped, and how they were found.

    With *guess* (rendered pages), a page without an Actionables heading or anchor sentence has
    its last list read when it looks like actionables. *found*: the page's headings, if known.
    """
    lines = text.splitlines()
    how = Located.HEADING
    located = section_text(text, _ACTIONABLES, found)
    if located is None:
        how, located = Located.ANCHOR, _anchored_actionables(lines)
    if located is None and guess:
        how, located = Located.LAST_LIST, _last_list(lines)
    if located is None:
        return (), 0, Located.NONE
    first_line, body = located
    items: list[PageActionable] = []
    placeholders = 0
    stack: list[tuple[int, int]] = []  # (depth, index in items)
    for bullet in _bullets(first_line, body):
        raw = " ".join(bullet.lines) if bullet.lines else ""
        cleaned = _clean(raw)
        tasks, anchors = task_refs(raw)
        if _PLACEHOLDER.match(cleaned.text) and not tasks:
            placeholders += 1
            continue
        while stack and stack[-1][0] >= bullet.depth:
            stack.pop()
        items.append(
            PageActionable(
                text=cleaned.text,
                raw=raw,
                tasks=tasks,
                anchors=anchors,
                gerrit=gerrit_refs(raw),
                status=cleaned.status,
                note=cleaned.note,
                struck=cleaned.struck,
                depth=bullet.depth,
                parent=stack[-1][1] if stack else None,
                question=cleaned.text.endswith("?"),
                owner=cleaned.owner,
                line=bullet.line,
            )
        )
        stack.append((bullet.depth, len(items) - 1))
    return tuple(items), placeholders, how


# --- status line -----------------------------------------------------------------------------

_STATUS_VALUES = {"draft": "draft", "review": "review", "in-review": "review", "in review": "review", "final": "final"}


def parse_status(text: str, code: Wikicode | None = None) -> str | None:
    """The document status: ``{{irdoc|status=…}}``, ``{{irdoc-draft}}``…, or a rendered ``document status:`` line.

    *code* is *text* already parsed, when the caller has it.
    """
    code = code if code is not None else mwparserfromhell.parse(text)
    for template in code.filter_templates():
        name = str(template.name).strip().lower()
        if name == "irdoc" and template.has("status"):
            value = mwparserfromhell.parse(str(template.get("status").value))
            for tag in value.filter_tags():
                value.replace(tag, tag.contents)
            status = _STATUS_VALUES.get(value.strip_code().strip().lower())
            if status:
                return status
        if name.startswith("irdoc-"):
            status = _STATUS_VALUES.get(name[len("irdoc-") :])
            if status:
                return status
    match = re.search(r"^\s*document status:\s*([a-z -]+?)\s*$", text, re.I | re.M)
    if match:
        return _STATUS_VALUES.get(match.group(1).lower())
    return None


# --- metadata infobox --------------------------------------------------------------------------

METADATA_LABELS: dict[str, tuple[str, ...]] = {
    "incident_id": ("Incident ID",),
    "start": ("UTC Start Timestamp:", "UTC Start Timestamp", "Start"),
    "end": ("UTC End Timestamp:", "UTC End Timestamp", "End"),
    "task": ("Incident Task", "Task"),
    "people_paged": ("People paged", "People Paged"),
    "responder_count": ("Responder count", "Responder Count"),
    "coordinators": ("Coordinator(s)", "Coordinators"),
    "affected_metrics": ("Relevant Metrics / SLO(s) affected", "Affected metrics/SLOs"),
    "impact": ("Impact", "Summary:"),
}
_LABEL_KEY = {label.lower(): key for key, labels in METADATA_LABELS.items() for label in labels}
_PARAM_KEYS = {
    "id": "incident_id", "incidentid": "incident_id", "start": "start", "starttime": "start",
    "utcstarttimestamp": "start", "end": "end", "endtime": "end", "utcendtimestamp": "end", "task": "task",
    "incidenttask": "task", "peoplepaged": "people_paged", "paged": "people_paged",
    "respondercount": "responder_count", "responders": "responder_count", "coordinators": "coordinators",
    "coordinator": "coordinators", "affectedmetrics": "affected_metrics", "affectedmetricsslos": "affected_metrics",
    "metrics": "affected_metrics", "slos": "affected_metrics", "impact": "impact",
}  # fmt: skip
_PLACEHOLDER_VALUES = (
    "yyyy-mm-dd hh:mm:ss", "<amount of people>", "amount of people", "names - emails", "relevant metrics",
    "relevant metrics / % error budget", "…", "...", "who was affected and how?", "todo",
)  # fmt: skip

# Each label at the start of the text or after a space, pipe, or bold or list markup: its first letter,
# then a look-behind back over it (a pattern whose every alternative starts with a letter is scanned
# for those letters, rather than tried at every character).
_LABEL_SCAN = re.compile(
    "("
    + "|".join(
        f"{re.escape(label[0])}(?<![^\\s|!'*]{re.escape(label[0])}){re.escape(label[1:])}"
        for labels in METADATA_LABELS.values()
        for label in sorted(labels, key=len, reverse=True)
    )
    + r")(?=$|[\s|:'*])"
)


def _is_placeholder(value: str) -> bool:
    low = value.strip().lower()
    return not low or any(low.startswith(p) for p in _PLACEHOLDER_VALUES) or low in ("-", "?", "n/a", "none")


_EMPHASIS = re.compile(r"('{2,3})([^']+)\1")  # bold or italic around all of a cell: '''Start'''


def _cell_text(wikitext: str) -> str:
    # the space around a cell (its line's end, most often) starts no markup: only what it holds can,
    # and bold or italic around words without markup leaves the parser nothing but the words
    text = wikitext.strip()
    emphasis = _EMPHASIS.fullmatch(text)
    if emphasis and not _MARKUP.search(emphasis.group(2)):
        text = emphasis.group(2)
    if not _MARKUP.search(text):
        return " ".join(_normalise_refs(text).split()).strip(" |")
    code = mwparserfromhell.parse(wikitext)
    for template in code.filter_templates():  # nested ones too: "<small>{{Phabricator|T1}}</small>"
        match = _TASK_TEMPLATE.match(str(template))
        if match:
            code.replace(template, f"T{match.group(1)}")
    return " ".join(_normalise_refs(cell_text(code, plain=True)).split()).strip(" |")


def _metadata_from_tables(code: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for table in code.filter_tags(matches=lambda n: str(n.tag).lower() == "table", recursive=True):
        cells = [
            _cell_text(str(tag.contents))
            for tag in table.contents.filter_tags(recursive=True)
            if isinstance(tag, Tag) and str(tag.tag).lower() in ("td", "th")
        ]
        keys = [_LABEL_KEY.get(cell.lower().rstrip(":").strip()) or _LABEL_KEY.get(cell.lower()) for cell in cells]
        if sum(1 for k in keys if k) < 2:
            continue
        for index, key in enumerate(keys):
            if key and key not in found and index + 1 < len(cells) and not keys[index + 1]:
                found[key] = cells[index + 1]
            elif key and key not in found:
                found[key] = ""
    return found


def _metadata_from_templates(code: Any) -> dict[str, str]:
    for template in code.filter_templates(recursive=True):
        mapped: dict[str, str] = {}
        for param in template.params:
            key = _PARAM_KEYS.get(re.sub(r"[^a-z]", "", str(param.name).lower()))
            if key:
                mapped[key] = _cell_text(str(param.value))
        if len(mapped) >= 2:
            return mapped
    return {}


_FIRST_LABEL = re.compile(r"(?:^|[\s|])Incident ID(?=$|[\s|])")  # where the rendered infobox starts
QUOTE_MARKUP = re.compile(r"'{2,}")  # bold or italic; a lone apostrophe is text


def _field_value(text: str) -> str:
    """A field's value as written after its label: without bold or italic markup, nor the pipes and
    colons around it (``'''Start:''' 2024-01-01`` is 2024-01-01)."""
    return QUOTE_MARKUP.sub("", text).strip(" |:")


def _metadata_from_lines(text: str) -> dict[str, str]:
    """The rendered forms: 'Label value Label value' rows, markdown pipes, one field per line."""
    if "Incident ID" not in text:  # one test of the page rather than a search of each line
        return {}
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _FIRST_LABEL.search(line)), None)
    if start is None:
        return {}
    found: dict[str, str] = {}
    pending: str | None = None  # a label alone on its line waits for the next line
    for line in lines[start : start + 40]:
        stripped = line.strip().strip("|").strip()
        if not stripped or re.fullmatch(r"[-|: ]+", stripped):
            continue
        matches = list(_LABEL_SCAN.finditer(stripped))
        if not matches:
            if pending is not None:
                found.setdefault(pending, _field_value(stripped))
                pending = None
                if "impact" in found:  # the last field: what follows is the report
                    break
            continue
        before = stripped[: matches[0].start()].strip(" |!'*")  # bold or list markup is no value
        if pending is not None and before:
            found.setdefault(pending, before)
        pending = None
        for index, match in enumerate(matches):
            key = _LABEL_KEY[match.group(1).lower()]
            last = key == "impact" or index + 1 == len(matches)
            end = len(stripped) if last else matches[index + 1].start()
            value = _field_value(stripped[match.end() : end])
            if not value and last:
                pending = key
                break
            found.setdefault(key, value)
            if last:
                break
        if "impact" in found and pending is None:
            break
    return {key: " ".join(_normalise_refs(value).replace(" | ", " ").split()) for key, value in found.items()}


def parse_metadata(text: str, code: Wikicode | None = None) -> dict[str, str]:
    """The metadata infobox fields that hold a real value (placeholders and empty cells left out)."""
    code = code if code is not None else mwparserfromhell.parse(text)
    found = _metadata_from_tables(code) or _metadata_from_templates(code) or _metadata_from_lines(text)
    return {key: value for key, value in found.items() if not _is_placeholder(value)}


# --- dates -------------------------------------------------------------------------------------

_DATE = re.compile(r"(?<![\w])((?:19|20)\d{2})[-_/]?(\d{2})[-_/]?(\d{2})(?!\d)")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d])")


def title_date(name: str) -> tuple[date | None, str | None]:
    """The date in a report title (``2022-03-01 …`` or ``20220301-…``), and a problem if it is not a real date."""
    match = _DATE.search(name)
    if not match:
        return None, None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3))), None
    except ValueError:
        return None, f"the title date {match.group(0)} is not a calendar date"


def lenient_datetime(raw: str) -> datetime | None:
    """A UTC time from a metadata value such as ``2023-02-22 9:18``, ``2023_01_17 13:00:00`` or ``2022-10-31``."""
    match = _DATE.search(raw)
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    clock = _TIME.search(raw, match.end())
    hour = minute = second = 0
    if clock:
        hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            hour = minute = second = 0
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


# --- the whole page ----------------------------------------------------------------------------

_WIKITEXT_SIGNS = re.compile(r"^==[^=].*==\s*$|\{\{\s*irdoc|\[\[\s*category\s*:|<!-- incidentkit:", re.M | re.I)
# "score card" in any case: IGNORECASE from the second letter, so that the pattern starts with a set of
# letters it is scanned for ("ſ" is an "s" to IGNORECASE), rather than tried at every character
_SCORECARD_WORD = re.compile(r"[sS\u017f](?i:core\s*card)")
_TREE_MARKUP = re.compile(r"\{\{|\{\||<table", re.I)
_DATED_PART = re.compile(r"(?:^|/)((?:19|20)\d{2}-?\d{2}-?\d{2}(?!\d).*)$")
KNOWN_PREFIXES = ("Incidents/", "Incident documentation/")
_SUBPAGES = {"minutes", "updates", "retrospective", "notes", "talk", "timeline", "followup", "follow-up"}


_TIMELINE = re.compile(r"^timeline\b", re.I)
_LIST_ITEM = ("*", "#")


def _tree_text(lines: list[str], found: Sequence[_Heading]) -> str:
    """The page without the list items of its Timeline section, for the tree: a timeline holds
    neither the status template nor the metadata, and its rows (a link or two each) are most of
    a long page's markup."""
    timeline = next((index for index, heading in enumerate(found) if _TIMELINE.match(heading.title.strip())), None)
    if timeline is None:
        return "\n".join(lines)
    heading = found[timeline]
    end = next((later.line for later in found[timeline + 1 :] if later.level <= heading.level), len(lines))
    kept = lines[: heading.line + 1]
    kept += ["" if line.lstrip().startswith(_LIST_ITEM) else line for line in lines[heading.line + 1 : end]]
    return "\n".join(kept + lines[end:])


def _scorecard(text: str, definition: ScorecardDefinition | None) -> Mapping[str, tuple[Any, str]]:
    """The scorecard answers on the page (every scorecard generation names itself "ScoreCard"/"Scorecard")."""
    if definition is None or not _SCORECARD_WORD.search(text):
        return {}
    return parse_from_wikitext(text, definition)


def parse_report(
    page: str, text: str, *, prefix: str = "", scorecard: ScorecardDefinition | None = None
) -> Report | Unparsed:
    """Read the report *page* (its title) from its *text* (wikitext, or rendered text saved as a page).

    The scorecard's answers are read when the questions (*scorecard*) are given.
    """
    name = next((page[len(p) :] for p in (prefix, *KNOWN_PREFIXES) if p and page.startswith(p)), None)
    if name is None:  # "Team/Incidents/2024-01-01 X": the name starts at the dated part
        dated = _DATED_PART.search(page)
        name = dated.group(1) if dated else page
    stripped = text.strip()
    if not stripped:
        return Unparsed(page, "the page is empty")
    if re.match(r"#redirect\b", stripped, re.I):
        return Unparsed(page, "the page is a redirect")
    last = name.rsplit("/", 1)[-1].strip().lower()
    if "/" in name and last in _SUBPAGES:
        return Unparsed(page, f"a /{last} subpage, not a report")
    lines = text.splitlines()
    page_headings = _headings(lines)
    outline = tuple((h.line, h.level, h.title) for h in page_headings)
    # each sign holds one of these: a substring test is far cheaper than the pattern's scan
    wikitext = any(mark in text for mark in ("==", "{{", "[[", "<!--")) and bool(_WIKITEXT_SIGNS.search(text))
    # The tree serves the status template and the metadata tables or template: a page without
    # "{{", "{|" or "<table" has none of them, and most rendered pages are long (parsing is costly).
    code = mwparserfromhell.parse(_tree_text(lines, page_headings)) if _TREE_MARKUP.search(text) else Wikicode([])
    status = parse_status(text, code)
    metadata = parse_metadata(text, code)
    actionables, placeholders, located = parse_actionables(text, guess=not wikitext, found=page_headings)
    problems: list[str] = []
    day, why = title_date(name)
    if why:
        problems.append(why)
    start = end = None
    for key in ("start", "end"):
        if key in metadata:
            value = lenient_datetime(metadata[key])
            if value is None:
                problems.append(f"{key.capitalize()}: {metadata[key]!r} is not a time")
            elif key == "start":
                start = value
            else:
                end = value
    if day is None and start is not None:
        day = start.date()
    if day is None and why is None:
        return Unparsed(page, "no incident date in the title or the Start field")
    if located is Located.NONE:
        problems.append("no Actionables section found")
    elif located is Located.LAST_LIST:
        problems.append("no Actionables heading: the page's last list was read as its actionables")
    task = None
    if "task" in metadata:
        tasks, _ = task_refs(metadata["task"])
        task = tasks[0] if tasks else None
    return Report(
        page=page,
        name=name,
        date=day,
        status=status,
        metadata=metadata,
        start=start,
        end=end,
        task=task,
        actionables=actionables,
        placeholders=placeholders,
        found=located,
        scorecard=_scorecard(text, scorecard),
        headings=outline,
        wikitext=wikitext,
        problems=tuple(problems),
    )

