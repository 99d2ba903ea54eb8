"""The Timeline section's wikitext: one line per visible row, days under their own headings.

Written in Python rather than as a template macro because a timeline may hold hundreds of
thousands of rows: a macro call per row costs more than the row's own text. The rules are the
templates' (:mod:`incidentkit.wikitext.render`): every source value goes through an escaping
function of :mod:`incidentkit.wikitext.escape`, times are ``HH:MM`` UTC, rows keep their order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from ..model.event import EventKind
from ..model.incident import Incident
from ..model.row import Row
from .escape import escape_wiki, link, linkify_tasks

__all__ = ["row_line", "timeline_lines"]

def row_line(row: Row) -> str:
    """``* 18:34 ''alert:'' actor: text (runbook) ''(note)'' '''MARKER'''``: one row as a list item.

    An actor is a name: escaped, never linked; only the text links its tasks, URLs and (deploys)
    gerrit changes. The row's URL is shown unless it is the page of a task the text links already.
    """
    alert = row.kind.startswith("alert")
    parts = ["''alert:''"] if alert else []
    if row.page_text is not None:
        words = linkify_tasks(row.page_text, gerrit=row.deploy)
    else:
        words = (f"{escape_wiki(row.actor)}: " if row.actor else "") + linkify_tasks(row.text, gerrit=row.deploy)
    if words:
        parts.append(words)
    if row.url and row.url.rstrip("/").rsplit("/", 1)[-1] not in row.tasks:
        label = "runbook" if alert else ("diff" if row.kind == EventKind.DBCTL else "link")
        parts.append(f"({link(row.url, label)})")
    if row.note:
        parts.append(f"''({escape_wiki(row.note)})''")
    if row.marker:
        parts.append(f"'''{escape_wiki(row.marker)}'''")
    return f"* {row.time:%H:%M} {' '.join(parts)}"


def timeline_lines(incident: Incident) -> Iterator[str]:
    """The Timeline region's lines: a note naming the sources that could not be read, then the
    visible rows, under a ``==== YYYY-MM-DD ====`` heading per day when they span several days."""
    if incident.failures:
        names = ", ".join(escape_wiki(name) for name in _unique(f.source for f in incident.failures))
        yield f"''Missing from this timeline: {names} could not be read when it was drafted.''"
    by_day: dict[date, list[Row]] = {}
    for row in incident.rows:
        if not row.hidden:
            by_day.setdefault(row.time.date(), []).append(row)
    for day in sorted(by_day):
        if len(by_day) > 1:
            yield f"==== {day.isoformat()} ===="
        yield from map(row_line, by_day[day])


def _unique(names: Iterator[str]) -> list[str]:
    """*names* without repeats, compared ignoring case (Unicode case folding: "STRASSE" is
    "Straße"), first spelling kept."""
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.casefold(), name)
    return list(seen.values())
