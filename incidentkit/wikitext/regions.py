"""Generated regions of a published page: wrap them, find them, and splice new ones in.

A draft marks each generated section body (moments, sources, timeline, detection, links,
actionables, scorecard; the dashboard page is one region named ``dashboard``) as::

    <!-- incidentkit:begin NAME hash=HHHHHHHHHHHH -->
    ...content...
    <!-- incidentkit:end NAME -->

A value inside a line (a metadata table cell) is an *inline* region, markers and content on one
line: ``<!-- incidentkit:begin meta-start hash=HHHHHHHHHHHH -->2023-02-14 18:34<!-- incidentkit:end meta-start -->``.

``hash`` is the first 12 hex digits of the SHA-1 of the content between the two marker lines
(UTF-8; MediaWiki stores text in Unicode NFC, so the digest is taken of the NFC form, which is the
exact content for any text the wiki has saved). When a page's region no longer matches its own
hash, a human edited it.

:func:`splice` updates a page from a new draft. Its rules:

* every byte outside the generated regions stays as it was, and so does every region the draft
  does not have any more — except the *retired* ones the caller names (regions incidentkit no
  longer generates), which go with their line while nobody edited them;
* a region whose content still matches its hash is replaced by the draft's (new hash);
* a region edited by a human is kept and listed in ``conflicts`` (replaced only with ``force``),
  unless the caller's ``absorbs`` says the draft's content already holds everything the person
  wrote there (their answers were read into the store first): then it is replaced and listed in
  ``merged``;
* a region with broken markers (a begin without its end, an end without a begin, a name twice)
  is never touched, even with ``force``: it is listed in ``broken`` and the caller stops;
* a region the draft has but the page lacks is inserted only where that is certainly safe: right
  after its heading when the page has that heading exactly once and the section under it is
  empty. Otherwise it is listed in ``skipped`` and not inserted (a person may have removed the
  markers on purpose to take the text over by hand; inserting would duplicate it). Such an
  insertion replaces the blank lines of that empty section: the one change outside a region.
  An inline region is never inserted (there is no safe place for a cell value).

Pure functions; no I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "Region",
    "Text",
    "Span",
    "SpliceResult",
    "Absorbs",
    "digest",
    "wrap",
    "wrap_lines",
    "split",
    "regions",
    "splice",
    "marker_problems",
]

_NAME = r"[a-z][a-z0-9_-]*"
_MARKER = re.compile(rf"<!--\s*incidentkit:(begin|end)\s+({_NAME})(?:\s+hash=([0-9a-fA-F]*))?\s*-->")
_HEADING = re.compile(r"^(={1,6})[ \t]*(.+?)[ \t]*\1[ \t]*(?:<!--.*?-->[ \t]*)*$", re.MULTILINE)


def digest(content: str) -> str:
    """The 12-hex-digit hash recorded in a begin marker for *content*."""
    normal = unicodedata.normalize("NFC", content.replace("\r\n", "\n"))
    return hashlib.sha1(normal.encode("utf-8")).hexdigest()[:12]


def _check_name(name: str) -> None:
    if not re.fullmatch(_NAME, name):
        raise ValueError(f"bad region name {name!r}: use lower-case letters, digits, '-' and '_'")


def wrap(name: str, content: str, *, inline: bool = False) -> str:
    """*content* between the begin (with its hash) and end markers of region *name*: on lines of
    their own, or all on one line when *inline* (*content* then has no line break)."""
    _check_name(name)
    if inline and "\n" in content:
        raise ValueError(f"inline region {name!r} cannot hold a line break")
    sep = "" if inline else "\n"
    return f"<!-- incidentkit:begin {name} hash={digest(content)} -->{sep}{content}{sep}<!-- incidentkit:end {name} -->"


def wrap_lines(name: str, lines: Sequence[str]) -> Iterator[str]:
    """``wrap(name, "\\n".join(lines))`` in pieces, a line at a time, for a region too large to
    build as one string (a timeline of many rows). No line may hold a line break.

    The hash is taken line by line: a line break is never part of a composed character, so the
    NFC form of the whole is the lines' NFC forms joined.
    """
    _check_name(name)
    sha1 = hashlib.sha1()
    for number, line in enumerate(lines):
        if "\n" in line or "\r" in line:
            raise ValueError(f"line {number + 1} of region {name!r} holds a line break")
        sha1.update((b"\n" if number else b"") + unicodedata.normalize("NFC", line).encode("utf-8"))
    yield f"<!-- incidentkit:begin {name} hash={sha1.hexdigest()[:12]} -->\n"
    if not lines:
        yield "\n"
    for line in lines:
        yield line + "\n"
    yield f"<!-- incidentkit:end {name} -->"


@dataclass(frozen=True, slots=True, kw_only=True)
class Text:
    """Page text outside any region (kept byte for byte by :func:`splice`)."""

    text: str
    start: int

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True, kw_only=True)
class Region:
    """One generated region: markers included in ``text``, the body in ``content``."""

    name: str
    hash: str | None  # as recorded in the begin marker
    content: str
    text: str
    start: int
    inline: bool = False  # markers and content on one line (a table cell's value)

    @property
    def edited(self) -> bool:
        """True when the body no longer matches the hash written with it (a human changed it)."""
        return self.hash is None or digest(self.content) != self.hash.lower()

    def __str__(self) -> str:
        return self.text


Span = Text | Region


@dataclass(frozen=True, slots=True, kw_only=True)
class _Marker:
    kind: str
    name: str
    hash: str | None
    start: int
    end: int


def _markers(text: str) -> list[_Marker]:
    return [
        _Marker(kind=m.group(1), name=m.group(2), hash=m.group(3), start=m.start(), end=m.end())
        for m in _MARKER.finditer(text)
    ]


def _pairs(text: str) -> tuple[list[tuple[_Marker, _Marker]], dict[str, str]]:
    """Well-formed (begin, end) marker pairs in order, and the broken names with the reason."""
    pairs: list[tuple[_Marker, _Marker]] = []
    broken: dict[str, str] = {}
    seen: dict[str, int] = {}
    open_: _Marker | None = None
    for marker in _markers(text):
        if marker.kind == "begin":
            if open_ is not None:
                broken.setdefault(open_.name, f"region {open_.name!r} has no end marker before {marker.name!r} begins")
            open_ = marker
            continue
        if open_ is None or open_.name != marker.name:
            broken.setdefault(marker.name, f"region {marker.name!r} has an end marker without its begin marker")
            if open_ is not None:
                broken.setdefault(open_.name, f"region {open_.name!r} ends with the end marker of {marker.name!r}")
            open_ = None
            continue
        pairs.append((open_, marker))
        seen[marker.name] = seen.get(marker.name, 0) + 1
        open_ = None
    if open_ is not None:
        broken.setdefault(open_.name, f"region {open_.name!r} has no end marker")
    for name, count in seen.items():
        if count > 1:
            broken.setdefault(name, f"region {name!r} appears {count} times")
    return [p for p in pairs if p[0].name not in broken], broken


def _body(text: str, begin: _Marker, end: _Marker) -> str:
    """The content between the marker lines (one newline after begin and before end belong to them)."""
    inner = text[begin.end : end.start]
    if inner.startswith("\n"):
        inner = inner[1:]
    elif inner.startswith("\r\n"):
        inner = inner[2:]
    if inner.endswith("\r\n"):
        inner = inner[:-2]
    elif inner.endswith("\n"):
        inner = inner[:-1]
    return inner


def split(text: str) -> list[Span]:
    """*text* as alternating :class:`Text` and :class:`Region` spans; ``"".join(map(str, spans)) == text``.

    Markers that do not pair up (see :func:`marker_problems`) stay inside the Text spans.
    """
    pairs, _ = _pairs(text)
    spans: list[Span] = []
    pos = 0
    for begin, end in pairs:
        if begin.start > pos:
            spans.append(Text(text=text[pos : begin.start], start=pos))
        spans.append(
            Region(
                name=begin.name,
                hash=begin.hash or None,
                content=_body(text, begin, end),
                text=text[begin.start : end.end],
                start=begin.start,
                inline="\n" not in text[begin.start : end.end],
            )
        )
        pos = end.end
    if pos < len(text):
        spans.append(Text(text=text[pos:], start=pos))
    return spans


def regions(text: str) -> dict[str, Region]:
    """The well-formed regions of *text* by name."""
    return {s.name: s for s in split(text) if isinstance(s, Region)}


def marker_problems(text: str) -> dict[str, str]:
    """Region names whose markers are broken in *text*, with the reason (empty when all is well)."""
    return _pairs(text)[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpliceResult:
    """What :func:`splice` did. ``text`` is the page to save."""

    text: str
    replaced: tuple[str, ...] = ()  # regions rewritten from the draft (content changed)
    unchanged: tuple[str, ...] = ()  # regions whose new content equals the old
    conflicts: tuple[str, ...] = ()  # regions edited by a human, kept (replaced when forced)
    merged: tuple[str, ...] = ()  # human-edited regions the draft already holds (replaced)
    removed: tuple[str, ...] = ()  # retired regions nobody edited, taken off the page
    forced: tuple[str, ...] = ()  # human-edited regions overwritten because of force
    added: tuple[str, ...] = ()  # regions inserted under their (empty) heading
    skipped: tuple[str, ...] = ()  # draft regions the page lacks and that could not be placed safely
    broken: tuple[str, ...] = ()  # regions with broken markers on the page (never touched)
    reasons: tuple[tuple[str, str], ...] = ()  # (name, why) for conflicts, skipped and broken

    @property
    def changed(self) -> bool:
        return bool(self.replaced or self.forced or self.added or self.merged or self.removed)

    def reason(self, name: str) -> str | None:
        return dict(self.reasons).get(name)


def _heading_before(draft: str, region: Region) -> str | None:
    """The heading title directly governing *region* in the draft."""
    title = None
    for match in _HEADING.finditer(draft[: region.start]):
        title = match.group(2)
    return title


def _insert_under_heading(page: str, title: str, wrapped: str) -> tuple[str | None, str]:
    """*page* with *wrapped* placed in the empty section *title*, or (None, why not)."""
    matches = [m for m in _HEADING.finditer(page) if m.group(2).strip().lower() == title.strip().lower()]
    if not matches:
        return None, f"the page has no heading {title!r}"
    if len(matches) > 1:
        return None, f"the page has the heading {title!r} {len(matches)} times"
    heading = matches[0]
    level = len(heading.group(1))
    section_end = len(page)
    for other in _HEADING.finditer(page, heading.end()):
        if len(other.group(1)) <= level:
            section_end = other.start()
            break
    body = page[heading.end() : section_end]
    if body.strip():
        return None, f"the section {title!r} on the page has text of its own"
    tail = page[section_end:]
    new_body = "\n" + wrapped + "\n" + ("\n" if tail else "")
    return page[: heading.end()] + new_body + tail, ""


Absorbs = Callable[[str, str, str], bool]  # (region name, the page's content, the draft's) -> nothing lost


def splice(
    old_page: str,
    new_draft: str,
    *,
    force: bool = False,
    absorbs: Absorbs | None = None,
    retired: Collection[str] = (),
) -> SpliceResult:
    """Update *old_page* with the generated regions of *new_draft* (see the module rules).

    *retired*: regions incidentkit no longer generates; on the page they are removed (with the
    blank line after them) while nobody edited them, and kept otherwise.
    """
    fresh = regions(new_draft)
    broken = marker_problems(old_page)
    reasons: list[tuple[str, str]] = sorted(broken.items())
    done: dict[str, list[str]] = {k: [] for k in ("replaced", "unchanged", "conflicts", "forced", "merged", "removed")}
    present: set[str] = set(broken)
    out: list[str] = []
    for span in split(old_page):
        if isinstance(span, Text):
            text = span.text
            # a removed region's line goes too (it started the page, or a line)
            if out and out[-1] == "" and (len(out) == 1 or out[-2].endswith("\n")):
                text = text[2:] if text.startswith("\n\n") else text.removeprefix("\n")
            out.append(text)
            continue
        present.add(span.name)
        new = fresh.get(span.name)
        if new is None:
            if span.name in retired and not span.edited:
                done["removed"].append(span.name)
                out.append("")
            else:
                out.append(span.text)
            continue
        if span.edited and absorbs is not None and absorbs(span.name, span.content, new.content):
            done["merged"].append(span.name)
        elif span.edited and not force:
            done["conflicts"].append(span.name)
            reasons.append((span.name, f"region {span.name!r} was edited on the wiki since it was generated"))
            out.append(span.text)
            continue
        elif span.edited:
            done["forced"].append(span.name)
        elif span.content == new.content:
            done["unchanged"].append(span.name)
            out.append(span.text)
            continue
        else:
            done["replaced"].append(span.name)
        out.append(new.text)
    text, added, skipped = _insert_missing("".join(out), new_draft, fresh, present, reasons)
    return SpliceResult(
        text=text,
        added=tuple(added),
        skipped=tuple(skipped),
        broken=tuple(sorted(broken)),
        reasons=tuple(reasons),
        **{name: tuple(names) for name, names in done.items()},
    )


def _insert_missing(
    text: str, new_draft: str, fresh: dict[str, Region], present: set[str], reasons: list[tuple[str, str]]
) -> tuple[str, list[str], list[str]]:
    """*text* with the draft's regions it lacks inserted where that is safe; (text, added, skipped)."""
    added: list[str] = []
    skipped: list[str] = []
    for name, region in fresh.items():
        if name in present:
            continue
        if region.inline:
            skipped.append(name)
            reasons.append((name, f"the page has no generated value {name!r} (written by hand, or an older page)"))
            continue
        title = _heading_before(new_draft, region)
        if title is None:
            skipped.append(name)
            reasons.append((name, f"region {name!r} has no heading in the draft to place it under"))
            continue
        inserted, why = _insert_under_heading(text, title, wrap(name, region.content))
        if inserted is None:
            skipped.append(name)
            reasons.append((name, f"region {name!r} is not on the page and was not inserted: {why}"))
            continue
        text = inserted
        added.append(name)
    return text, added, skipped
