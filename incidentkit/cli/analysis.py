"""``incidentkit incidents search|similar|reindex|stats``: look across every recorded incident.

:func:`register` adds the commands to the ``incidents`` command group it is given.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..model.search import MARK_END, MARK_START
from ..model.window import parse_when
from ..services import search as searching
from ..services import similar as similarity
from ._context import err, get_context, is_terminal, now, out
from ._options import FormatOpt, OutputFormat, emit_records

__all__ = ["register"]

SinceOpt = Annotated[str | None, typer.Option("--since", help="Only incidents on or after this date (2024-01-01, '1 year ago').")]
SEARCH_COLUMNS = ["slug", "title", "date", "status", "score", "snippet", "page"]
SIMILAR_COLUMNS = ["slug", "title", "date", "score", "reasons", "open_actionables", "page"]


def _since(text: str | None) -> date | None:
    return parse_when(text, now=now(), option="--since").date() if text else None


def _format(fmt: OutputFormat | None) -> OutputFormat:
    return fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)


def _highlighted(snippet: str) -> Text:
    """A snippet with its matches in bold yellow (the markers are the index's own)."""
    text = Text()
    for index, part in enumerate(snippet.replace(MARK_END, MARK_START).split(MARK_START)):
        text.append(part, style="bold yellow" if index % 2 else "")
    return text


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='Words, "a phrase", prefix*, AND/OR/NOT, field:word (title, summary, timeline, conclusions, actionables, signals, body).')],
    since: SinceOpt = None,
    status: Annotated[str | None, typer.Option("--status", help="Only incidents whose report has this status (draft, review, final).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many results.")] = 20,
    fmt: FormatOpt = None,
) -> None:
    """Search every recorded incident: title, summary, timeline, conclusions, actionables, alerts, hosts, tasks.

    Words are stemmed ("restart" finds "restarting"); results are ranked by BM25 with the title
    weighing most. A snippet shows each match (highlighted on a terminal; **bold** in JSON).

    Example:  incidentkit incidents search "wdqs blazegraph" --since 2022-01-01 --limit 5
    """
    store = get_context(ctx).store()
    hits = searching.search(store, query, since=_since(since), status=status, limit=limit)
    chosen = _format(fmt)
    if chosen is OutputFormat.TABLE:
        table = Table("date", "incident", "status", "score", "match")
        for hit in hits:
            table.add_row(
                hit.day.isoformat() if hit.day else "", Text(f"{hit.title}\n{hit.slug}"), hit.status,
                f"{hit.score:.1f}", _highlighted(hit.snippet),
            )  # fmt: skip
        out.print(table)
        err.print(f"{len(hits)} incident{'s' if len(hits) != 1 else ''} found", markup=False)
        return
    out.file.write(emit_records([hit.to_dict() for hit in hits], SEARCH_COLUMNS, chosen) + "\n")


def similar(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The incident (see `incidentkit incidents search`).")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 5,
    fmt: FormatOpt = None,
) -> None:
    """Earlier incidents most like this one, why they match, and their follow-ups still open.

    Incidents match on the same alert names, services, hosts, data centres, Phabricator projects
    or tasks, title words and text; a repeat with open follow-ups shows what was left undone.

    Example:  incidentkit incidents similar 2025-02-27_wdqs-500-errors --format json
    """
    store = get_context(ctx).store()
    found = similarity.similar_incidents(store, slug, now=now(), limit=limit)
    chosen = _format(fmt)
    if chosen is OutputFormat.JSON:
        out.file.write(json.dumps([item.to_dict() for item in found], indent=2, ensure_ascii=False) + "\n")
        return
    if chosen is not OutputFormat.TABLE:
        records = [
            {**item.to_dict(), "open_actionables": [f"{a.task or 'idea'} {a.title}" for a in item.open_actionables]}
            for item in found
        ]
        out.file.write(emit_records(records, SIMILAR_COLUMNS, chosen) + "\n")
        return
    table = Table("date", "incident", "score", "why", "still open")
    for item in found:
        open_items = Text()
        for a in item.open_actionables:
            line = f"{a.task or 'idea'} {a.title} – {a.owner or 'unassigned'}"
            open_items.append(line + (" (overdue)" if a.overdue else "") + "\n", style="bold red" if a.overdue else "")
        table.add_row(
            item.day.isoformat() if item.day else "", Text(f"{item.title}\n{item.slug}"), f"{item.score:.2f}",
            Text("\n".join(r.text() for r in item.reasons)), open_items,
        )  # fmt: skip
    out.print(table)
    if not found:
        err.print(f"no earlier incident is like {slug}", markup=False)


def reindex(ctx: typer.Context) -> None:
    """Rebuild the search index of every incident from the store (after an upgrade, or to refresh).

    `draft`, `import` and `publish` keep the index current; this rebuilds it from the stored
    events and curation of drafts and the page texts last imported or published.

    Example:  incidentkit incidents reindex
    """
    from .publish import progress_bar

    app = get_context(ctx)
    with progress_bar("indexing") as progress:
        count = searching.reindex(app.store(), app.settings, progress=progress)
    err.print(f"indexed {count} incident{'s' if count != 1 else ''}", markup=False)


def register(group: typer.Typer) -> None:
    """Add search, similar, reindex and stats (with stats publish) to the ``incidents`` group."""
    group.command("search")(search)
    group.command("similar")(similar)
    group.command("reindex")(reindex)
