"""``incidentkit incidents search|similar|reindex|stats``: look across every recorded incident.

:func:`register` adds the commands to the ``incidents`` command group it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..model.scorecard import Period
from ..model.search import MARK_END, MARK_START
from ..model.stats import IncidentStats, metric_records, periods_records
from ..model.window import parse_when
from ..services import search as searching
from ..services import similar as similarity
from ..util import plural
from ..wikitext.render import minutes
from ._context import err, get_context, is_terminal, now, out
from ._options import FormatOpt, OutputFormat, emit_records

__all__ = ["register", "chart_to", "ChartOpt", "ChartSizeOpt"]

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
    group.add_typer(stats_app, name="stats")


# --- incidents stats [publish] ------------------------------------------------------------------

stats_app = typer.Typer()  # its help is the callback's docstring

ChartOpt = Annotated[Path | None, typer.Option("--chart", help="Also draw the chart to FILE.svg or FILE.png (needs matplotlib).")]
ChartSizeOpt = Annotated[str | None, typer.Option("--chart-size", help="Chart size in pixels, WIDTHxHEIGHT (default 1200x900).")]
ByOpt = Annotated[Period, typer.Option("--by", help="Group incidents by month, quarter or year (of their start).")]


def chart_to(draw: Callable[[Path, tuple[int, int]], Path], chart: Path | None, size: str | None) -> None:
    """Draw a chart when --chart was given, and say where (the other stats commands use this too)."""
    if chart is None:
        return
    from ..services.charts import chart_format, parse_size

    chart = chart.expanduser()
    chart_format(chart)
    err.print(f"wrote {draw(chart, parse_size(size))}", markup=False)


def _stats_table(stats: IncidentStats) -> None:
    out.print(
        f"{plural(stats.incidents, 'incident')}{f' since {stats.since}' if stats.since else ''}, by {stats.by}", markup=False
    )
    out.print("Definitions (from the key moments; unknowns counted, never dropped; p90 = nearest rank):", markup=False)
    for _, label, definition, _ in stats.metrics:
        out.print(f"  {label}: {definition}", markup=False)
    out.print(f"  page: an alert episode of a drafted incident that paged; after hours = outside {stats.business_hours}", markup=False)
    out.print(f"  repeat: a similar earlier incident at most {stats.repeat_days} days before", markup=False)
    durations = Table("metric", "N", "unknown", "median", "p90", "max", title="Durations")
    for _, label, _, dist in stats.metrics:
        durations.add_row(label, str(dist.n), str(dist.unknown), *(minutes(v) or "–" for v in (dist.median, dist.p90, dist.max)))
    out.print(durations)
    periods = Table("period", "incidents", "repeats", "pages", "after hours", "impact N", "unknown", "median impact", title=f"Per {stats.by}")
    for p in stats.periods:
        periods.add_row(
            p.period, str(p.incidents), str(p.repeats), str(p.pages), str(p.pages_outside), str(p.impact.n),
            str(p.impact.unknown), minutes(p.impact.median) or "–",
        )  # fmt: skip
    out.print(periods)
    share = "" if stats.share_outside is None else f" ({stats.share_outside:.0%})"
    out.print(
        f"Pages outside business hours: {stats.pages_outside} of {stats.pages}{share}, from "
        f"{plural(stats.incidents_with_pages_known, 'drafted incident')} (imported reports do not say when pages went out)",
        markup=False,
    )
    out.print(f"Repeats: {len(stats.repeats)} of {plural(stats.incidents, 'incident')}", markup=False)
    for r in stats.repeats:
        out.print(f"  {r.slug}: {r.days} days after {r.earlier}", markup=False)


@stats_app.callback(invoke_without_command=True)
def stats(
    ctx: typer.Context,
    by: ByOpt = Period.QUARTER,
    since: SinceOpt = None,
    repeat_days: Annotated[int | None, typer.Option("--repeat-days", help="A similar incident this many days before makes a repeat (default: [stats] repeat_days, 90).")] = None,
    fmt: FormatOpt = None,
    chart: ChartOpt = None,
    chart_size: ChartSizeOpt = None,
) -> None:
    """Incidents per period; time to detect, mitigate, resolve and impact duration as distributions
    (N, unknown, median, p90, max); pages outside business hours; repeats.

    Each metric's definition is printed once. Business hours, their time zone and the repeat window
    are set in [stats]. CSV gives one row per period.

    Example:  incidentkit incidents stats --by quarter --since 2022-01-01 --chart stats.svg
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..services.stats import incident_stats

    app = get_context(ctx)
    result = incident_stats(app.store(), app.settings.stats, by=by.value, since=_since(since), repeat_days=repeat_days)
    chosen = _format(fmt)
    if chosen is OutputFormat.JSON:
        out.file.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    elif chosen is OutputFormat.CSV:
        out.file.write(emit_records(periods_records(result), list(periods_records(result)[0]) if result.periods else ["period"], chosen) + "\n")
    elif chosen is OutputFormat.MARKDOWN:
        out.file.write(emit_records(metric_records(result.metrics), ["metric", "n", "unknown", "median_minutes", "p90_minutes", "max_minutes", "definition"], chosen) + "\n\n")
        records = periods_records(result)
        out.file.write(emit_records(records, list(records[0]) if records else ["period"], chosen) + "\n")
    else:
        _stats_table(result)
    if result.unindexed:
        err.print(f"note: {result.unindexed} incidents are not indexed yet; run `incidentkit incidents reindex`", markup=False)
    from ..services.charts import incidents_chart

    chart_to(lambda path, size: incidents_chart(result, path, size), chart, chart_size)


@stats_app.command("publish")
def stats_publish(
    ctx: typer.Context,
    page: Annotated[str, typer.Option("--page", help="The statistics page's title.")] = "Incident statistics",
    by: ByOpt = Period.QUARTER,
    since: SinceOpt = None,
    wiki: Annotated[str | None, typer.Option("--wiki", help="Which configured wiki; default: the first.")] = None,
    chart_format: Annotated[str, typer.Option("--chart-format", help="png or svg (svg needs the wiki to render SVG).")] = "png",
    chart_size: ChartSizeOpt = None,
    no_charts: Annotated[bool, typer.Option("--no-charts", help="Tables only: upload no chart.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the unified diff of the page; write and upload nothing.")] = False,
    summary: Annotated[str | None, typer.Option("--summary", help="Edit summary.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the tables even if they were edited on the wiki.")] = False,
) -> None:
    """Write the incident statistics page: the tables as one generated region, the chart uploaded and embedded.

    Text written above or below the tables is kept. The chart is uploaded as the same bot
    (action=upload); where the wiki refuses uploads the page gets the tables alone, and says so.

    Example:  incidentkit incidents stats publish --page "Incident statistics" --by quarter
    """
    from ..clients.mediawiki import connect_wiki
    from ..services.charts import parse_size
    from ..services.statspage import publish_statistics
    from .publish import show_publication

    app = get_context(ctx)
    result = publish_statistics(
        connect_wiki(app.settings, wiki), app.store(), app.settings, title=page, now=now(), by=by.value, since=_since(since),
        charts=not no_charts, chart_format=chart_format, size=parse_size(chart_size), summary=summary, force=force,
        dry_run=dry_run,
    )  # fmt: skip
    for name, changed in result.uploaded:
        err.print(f"uploaded File:{name}" if changed else f"File:{name} is already up to date", markup=False)
    if result.note:
        err.print(f"note: {result.note}", markup=False)
    show_publication(result.page, dry_run=dry_run)
