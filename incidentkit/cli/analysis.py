"""``incidentkit incidents search|similar|reindex|stats``: look across every recorded incident.

:func:`register` adds these commands to the ``incidents`` group (:mod:`.incidents`); :func:`chart_to`
draws the ``--chart`` of every stats command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import user_path
from ..errors import InputError
from ..model.scorecard import Period
from ..util import plural
from ._app import App, CommandGroup
from ._context import get_context, now
from ._options import ChartOpt, ChartSizeOpt, DryRunOpt, ForceOpt, FormatOpt, SinceOpt, SummaryOpt, WikiOpt
from ._output import Column, Fit, Output, note

if TYPE_CHECKING:  # annotations only: the services load when a command runs (start-up cost)
    from datetime import date

    from ..model.stats import IncidentStats

__all__ = ["register", "chart_request", "chart_to"]

LimitOpt = Annotated[int, typer.Option("--limit", metavar="N", help="At most N results.")]
SEARCH_FIELDS = ["slug", "title", "date", "status", "score", "snippet", "page"]
SEARCH_COLUMNS = (
    Column("date"),
    Column("slug"),
    Column("status", drop=2),
    Column("score", right=True, drop=3),
    Column("snippet", header="match", fit=Fit.TRUNCATE, min_width=20, marked=True),
    Column("title", fit=Fit.TRUNCATE, min_width=12, drop=1),
)
SIMILAR_FIELDS = ["slug", "title", "date", "score", "reasons", "open_actionables", "page"]
SIMILAR_COLUMNS = (
    Column("date"),
    Column("slug"),
    Column("score", right=True, drop=2),
    Column("why", fit=Fit.WRAP, min_width=20),
    Column("still_open", header="still open", fit=Fit.WRAP, min_width=16, drop=1),
)


def _since(text: str | None) -> date | None:
    from ..model.window import parse_when  # lazy import: dateparser

    return parse_when(text, now=now(), option="--since").date() if text else None


def search(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help='Words, "a phrase", prefix*, AND/OR/NOT, field:word (title, summary, timeline, conclusions, '
            "actionables, signals, body).",
        ),
    ],
    since: SinceOpt = None,
    status: Annotated[
        str | None, typer.Option("--status", "-s", metavar="STATUS", help="Only reports with this status (draft, review, final).")
    ] = None,
    limit: LimitOpt = 20,
    fmt: FormatOpt = None,
) -> None:
    """Search every recorded incident's text.

    Title, summary, timeline, conclusions, actionables, alert names, services, hosts and task
    titles. Words are stemmed ("restart" finds "restarting"); results are ranked by BM25 with the
    title weighing most. The snippet shows the match (highlighted on a terminal, **bold** in JSON).
    JSON Lines when piped or with --format json: slug, title, date, status, score, snippet, page.

    Example:  incidentkit incidents search "wdqs blazegraph" --since 2022-01-01 --limit 5
    """
    from ..model.search import MARK_END, MARK_START  # lazy imports: loaded when the command runs
    from ..services import search as searching
    from ._output import MARKS

    app_ctx = get_context(ctx)
    hits = searching.search(app_ctx.store(), query, since=_since(since), status=status, limit=limit)
    with app_ctx.output.rows(SEARCH_COLUMNS, fmt, fields=SEARCH_FIELDS) as sink:
        for hit in hits:
            record = hit.to_dict()
            if sink.format == "table":
                record["snippet"] = hit.snippet.replace(MARK_START, MARKS[0]).replace(MARK_END, MARKS[1])
            sink.add(record)
        sink.summary(f"{plural(len(hits), 'incident')} found.")


def similar(
    ctx: typer.Context,
    incident: Annotated[
        str, typer.Argument(metavar="INCIDENT", help="The incident's slug, e.g. 2023-02-14_backport-crash.")
    ],
    limit: LimitOpt = 5,
    fmt: FormatOpt = None,
) -> None:
    """Show earlier incidents like this one.

    With each, the reasons it matched and its follow-ups still open. Incidents match on the same alert names, services, hosts, data centres, Phabricator projects or
    tasks, title words and text; a repeat with open follow-ups shows what was left undone. JSON
    Lines when piped or with --format json: slug, title, date, score, reasons, open_actionables, page.

    Example:  incidentkit incidents similar 2025-02-27_wdqs-500-errors --format json
    """
    from ..services import similar as similarity  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    found = similarity.similar_incidents(app_ctx.store(), incident, now=now(), limit=limit)
    with app_ctx.output.rows(SIMILAR_COLUMNS, fmt, fields=SIMILAR_FIELDS) as sink:
        for item in found:
            record = item.to_dict()
            if sink.format == "table":
                open_items = [
                    f"{a.task or 'idea'} {a.title} – {a.owner or 'unassigned'}" + (" (overdue)" if a.overdue else "")
                    for a in item.open_actionables
                ]
                record = {
                    **record, "slug": f"{item.slug}", "why": "; ".join(r.text() for r in item.reasons),
                    "still_open": "; ".join(open_items),
                }  # fmt: skip
            sink.add(record, highlight=any(a.overdue for a in item.open_actionables))
        sink.summary(f"{plural(len(found), 'earlier incident')} like {incident}." if found else f"No earlier incident is like {incident}.")


def reindex(ctx: typer.Context) -> None:
    """Rebuild the search index of every recorded incident.

    `draft`, `import` and `publish` keep the index current; this rebuilds it from the stored
    events and curation of drafts and the page texts last imported or published (after an
    upgrade, or to refresh).

    Example:  incidentkit incidents reindex
    """
    from ..services import search as searching  # lazy imports: loaded when the command runs
    from ._output import progress

    app_ctx = get_context(ctx)
    with progress("indexing") as update:
        count = searching.reindex(app_ctx.store(), app_ctx.settings, progress=update)
    note(f"indexed {plural(count, 'incident')}")


ChartRequest = tuple[Path, tuple[int, int]] | None


def chart_request(chart: str | None, size: str | None) -> ChartRequest:
    """The chart --chart asks for, checked before the command does any work (None: none asked)."""
    if chart is None:
        if size is not None:  # a size alone draws nothing: say so rather than ignore it
            raise InputError("--chart-size needs --chart FILE", hint="e.g. --chart stats.svg --chart-size 1200x900")
        return None
    from ..services.charts import chart_request as checked  # lazy import: matplotlib only when drawing

    return checked(user_path(chart, what="--chart"), size)


def chart_to(draw: Callable[[Path, tuple[int, int]], Path], request: ChartRequest) -> None:
    """Draw the chart of *request* (if any) and say where."""
    if request is not None:
        note(f"wrote {draw(*request)}")


# --- incidents stats [publish] ------------------------------------------------------------------

stats_app = App(
    help="Incidents per period, time to detect, mitigate and resolve, pages after hours, repeats.",
    cls=CommandGroup,
    invoke_without_command=True,
    no_args_is_help=False,
)
ByOpt = Annotated[
    Period, typer.Option("--by", metavar="PERIOD", help="Group incidents by month, quarter or year (of their start).")
]


def _draw_stats(stats: IncidentStats) -> Callable[[Output], None]:
    from ..wikitext.render import minutes  # lazy import

    def draw(output: Output) -> None:
        since = f" since {stats.since}" if stats.since else ""
        output.line(f"{plural(stats.incidents, 'incident')}{since}, by {stats.by}", "header")
        output.line("Definitions (from the key moments; unknowns counted, never dropped; p90 = nearest rank):")
        for _, label, definition, _ in stats.metrics:
            output.line(f"  {label}: {definition}")
        output.line(f"  page: an alert episode of a drafted incident that paged; after hours = outside {stats.business_hours}")
        output.line(f"  repeat: a similar earlier incident at most {stats.repeat_days} days before")
        output.line()
        output.table(
            [Column("metric"), *(Column(k, right=True) for k in ("N", "unknown", "median", "p90", "max"))],
            [
                {"metric": label, "N": dist.n, "unknown": dist.unknown,
                 **{k: minutes(v) or "–" for k, v in (("median", dist.median), ("p90", dist.p90), ("max", dist.max))}}
                for _, label, _, dist in stats.metrics
            ],  # fmt: skip
        )
        output.line()
        keys = ("incidents", "repeats", "pages", "after hours", "impact N", "unknown", "median impact")
        output.table(
            [Column("period"), *(Column(k, right=True) for k in keys)],
            [
                {"period": p.period, "incidents": p.incidents, "repeats": p.repeats, "pages": p.pages,
                 "after hours": p.pages_outside, "impact N": p.impact.n, "unknown": p.impact.unknown,
                 "median impact": minutes(p.impact.median) or "–"}
                for p in stats.periods
            ],  # fmt: skip
        )
        share = "" if stats.share_outside is None else f" ({stats.share_outside:.0%})"
        output.line()
        output.line(
            f"Pages outside business hours: {stats.pages_outside} of {stats.pages}{share}, from "
            f"{plural(stats.incidents_with_pages_known, 'drafted incident')} (imported reports do not say when pages went out)"
        )
        output.line(f"Repeats: {len(stats.repeats)} of {plural(stats.incidents, 'incident')}")
        for r in stats.repeats:
            output.line(f"  {r.slug}: {r.days} days after {r.earlier}")

    return draw


@stats_app.callback()
def stats(
    ctx: typer.Context,
    by: ByOpt = Period.QUARTER,
    since: SinceOpt = None,
    repeat_days: Annotated[
        int | None,
        typer.Option(
            "--repeat-days", metavar="DAYS",
            help="A similar incident this many days before makes a repeat (default: [stats] repeat_days, 90).",
        ),
    ] = None,
    fmt: FormatOpt = None,
    chart: ChartOpt = None,
    chart_size: ChartSizeOpt = None,
) -> None:
    """Show incident statistics per period.

    Incidents per period; time to detect, mitigate, resolve and impact duration as distributions
    (N, unknown, median, p90, max — never a mean alone); pages outside business hours; repeats.
    Each metric's definition is printed once. Business hours, their time zone and the repeat window
    are set in [stats]. One JSON document when piped or with --format json; CSV gives one row per
    period. `incidents stats publish` writes these tables to the wiki.

    Example:  incidentkit incidents stats --by quarter --since 2022-01-01 --chart stats.svg
    """
    if ctx.invoked_subcommand is not None:
        return
    wanted = chart_request(chart, chart_size)
    # lazy imports: loaded when the command runs
    from ..model.stats import metric_records, periods_records
    from ..services.charts import incidents_chart
    from ..services.stats import incident_stats

    app_ctx = get_context(ctx)
    result = incident_stats(
        app_ctx.store(), app_ctx.settings.stats, by=by.value, since=_since(since), repeat_days=repeat_days
    )
    periods = periods_records(result)
    metrics = metric_records(result.metrics)
    app_ctx.output.document(
        result.to_dict(), fmt, table=_draw_stats(result),
        records=[(periods, list(periods[0]) if periods else ["period"]), (metrics, list(metrics[0]) if metrics else ["metric"])],
    )  # fmt: skip
    if result.unindexed:
        note(f"note: {plural(result.unindexed, 'incident')} not indexed yet; run `incidentkit incidents reindex`")
    chart_to(lambda path, size: incidents_chart(result, path, size), wanted)


@stats_app.command("publish")
def stats_publish(
    ctx: typer.Context,
    page: Annotated[
        str, typer.Option("--page", metavar="TITLE", help="The statistics page's title.")
    ] = "Incident statistics",
    by: ByOpt = Period.QUARTER,
    since: SinceOpt = None,
    wiki: WikiOpt = None,
    chart_format: Annotated[
        str, typer.Option("--chart-format", metavar="FORMAT", help="png, or svg (the wiki must render SVG).")
    ] = "png",
    chart_size: ChartSizeOpt = None,
    no_charts: Annotated[bool, typer.Option("--no-charts", help="Tables only: upload no chart.")] = False,
    dry_run: DryRunOpt = False,
    summary: SummaryOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write the incident statistics page on the wiki.

    The tables are one generated region (text written above or below them is kept); the chart is
    uploaded by the same bot (action=upload) and embedded. Where the wiki refuses uploads the page
    gets the tables alone, and says so.

    Example:  incidentkit incidents stats publish --page "Incident statistics" --by quarter
    """
    # lazy imports: the wiki client loads when the command runs
    from ..clients.mediawiki import connect_wiki
    from ..services.charts import parse_size
    from ..services.statspage import publish_statistics
    from .publish import check_page, show_publication

    app_ctx = get_context(ctx)
    result = publish_statistics(
        connect_wiki(app_ctx.settings, wiki), app_ctx.store(), app_ctx.settings, title=check_page(page), now=now(),
        by=by.value, since=_since(since), charts=not no_charts, chart_format=chart_format, size=parse_size(chart_size),
        summary=summary, force=force, dry_run=dry_run,
    )  # fmt: skip
    for name, changed in result.uploaded:
        note(f"uploaded File:{name}" if changed else f"File:{name} is already up to date")
    if result.note:
        note(f"note: {result.note}")
    show_publication(result.page, dry_run=dry_run, app_ctx=app_ctx)


def register(group: typer.Typer) -> None:
    """Add search, similar, reindex and stats (with stats publish) to the ``incidents`` group."""
    group.command("search")(search)
    group.command("similar")(similar)
    group.command("reindex")(reindex)
    group.add_typer(stats_app, name="stats")
