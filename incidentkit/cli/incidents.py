"""``incidentkit incidents``: list, show, correct and remove the incidents in the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InputError
from ..util import plural
from . import analysis
from ._app import App
from ._context import get_context, now
from ._options import FormatOpt, IncidentArg, SinceOpt
from ._output import Column, Fit, Output, echo, note

if TYPE_CHECKING:  # annotations only: the service loads when a command runs (start-up cost)
    from ..services.incidents import IncidentView

__all__ = ["app"]

app = App(help="List, show, edit and remove recorded incidents.")

LIST_FIELDS = ["slug", "title", "date", "status", "page", "open", "overdue"]
LIST_COLUMNS = (
    Column("slug"),
    Column("date"),
    Column("status"),
    Column("open", right=True),
    Column("overdue", right=True),
    Column("title", fit=Fit.TRUNCATE, min_width=16),
    Column("page", fit=Fit.TRUNCATE, min_width=12, drop=1),
)


@app.command("list")
def list_(
    ctx: typer.Context,
    since: SinceOpt = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            metavar="STATUS",
            help="Only incidents with this report status (draft, review, final...). Repeatable.",
        ),
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """List the recorded incidents, newest first.

    Slug, date, report status, open and overdue actionables, title and wiki page. JSON Lines when
    piped or with --format json: slug, title, date, status, page, open, overdue.

    Example:  incidentkit incidents list --since 2023-01-01 --status draft
    """
    # lazy imports: loaded when the command runs
    from ..model.window import parse_when
    from ..services import incidents as service

    app_ctx = get_context(ctx)
    day = parse_when(since, now=now(), option="--since").date() if since else None
    found = service.list_incidents(app_ctx.store(), now=now(), since=day, statuses=status or ())
    with app_ctx.output.rows(LIST_COLUMNS, fmt, fields=LIST_FIELDS) as sink:
        for summary in found:
            record = summary.to_record()
            sink.add(record, highlight=bool(record["overdue"]))
        sink.summary(f"{plural(len(found), 'incident')}.")


def _show_text(view: IncidentView, slug: str) -> list[str]:
    from ..model.time import format_duration, format_utc  # lazy import

    r = view.record
    lines = [f"{r.slug}: {r.title}", ""]
    lines += [
        f"  status      {r.status}" + (f", severity {r.severity}" if r.severity else ""),
        f"  start       {r.start or 'unknown'}",
        f"  end         {r.end or 'unknown'}",
        f"  task        {r.task or '-'}",
        f"  origin      {r.origin}" + (f"; set by hand (kept by drafts and imports): {', '.join(r.locked)}" if r.locked else ""),
        f"  page        {r.page or 'not published'}" + (f" on {r.wiki}, revision {r.revision}" if r.page and r.revision else ""),
    ]
    if view.query is not None:
        window = view.query.window
        pulled = format_utc(view.pulled_at) if view.pulled_at else "?"
        lines.append(f"  window      {format_utc(window.start)} – {format_utc(window.end)} (pulled {pulled})")
    if view.moments:
        lines += ["", "Key moments:"]
        for c in view.moments:
            when = format_utc(c.time) if c.time else "unknown"
            lines.append(f"  {c.moment:<13}{when:<22}{c.origin}: {c.reason}")
        took = {k: v for k, v in view.durations.items() if v is not None}
        if took:
            from datetime import timedelta

            lines.append("  " + ", ".join(f"{k.replace('_', ' ')} {format_duration(timedelta(minutes=v))}" for k, v in took.items()))
    if view.sources or view.failures:
        lines += ["", "Sources:"]
        for s in view.sources:
            more = ", …" if s.skipped > 3 else ""
            skipped = f", {plural(s.skipped, 'line')} skipped ({'; '.join(s.skipped_where[:3])}{more})" if s.skipped else ""
            lines.append(f"  {s.source}: {plural(s.events, 'event')} from {plural(s.lines_read, 'line')}{skipped}")
            lines += [f"    note: {n}" for n in s.notes]
        lines += [f"  {f.source}: unavailable: {f.message}" for f in view.failures]
    track = "" if view.actionables else f" (track one: `incidentkit actionables add {slug} TEXT`)"
    lines += ["", f"Actionables: {len(view.actionables)}{track}"]
    for a in view.actionables:
        lines.append(f"  {a.task or '(no task)':<9} {a.status:<12} {a.title}" + (f" – {a.owner}" if a.owner else ""))
    if view.scorecard is not None:
        card = view.scorecard
        lines += ["", f"Scorecard: {card.answered} of {len(card.rows)} answered, total {card.total or 0}"]
    return lines


@app.command()
def show(ctx: typer.Context, incident: IncidentArg, fmt: FormatOpt = None) -> None:
    """Show everything recorded about one incident.

    Metadata, key moments and durations, sources with their counts and notes, the page and its
    revision, actionables and the scorecard. One JSON document when piped or with --format json.

    Example:  incidentkit incidents show 2023-02-14_backport-crash
    """
    from ..services import incidents as service  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    view = service.show_incident(app_ctx.store(), incident, app_ctx.settings)
    payload = view.to_record(now().date())

    def draw(output: Output) -> None:
        for line in _show_text(view, incident):
            output.line(line)

    app_ctx.output.document(payload, fmt, table=draw)


@app.command()
def edit(
    ctx: typer.Context,
    incident: IncidentArg,
    title: Annotated[
        str | None, typer.Option("--title", metavar="TEXT", help="The title (the page's Incident ID follows).")
    ] = None,
    severity: Annotated[
        str | None, typer.Option("--severity", metavar="TEXT", help="The severity (picks the SLA of new actionables).")
    ] = None,
    page: Annotated[str | None, typer.Option("--page", metavar="TITLE", help="The wiki page the report lives on.")] = None,
    start: Annotated[
        str | None, typer.Option("--start", metavar="TIME", help="When the impact started (the page's Start); naive = UTC.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", metavar="TIME", help="When it ended (the page's End); naive = UTC.")
    ] = None,
    unlock: Annotated[
        list[str] | None,
        typer.Option("--unlock", metavar="FIELD", help="Let drafts and imports set this field again. Repeatable."),
    ] = None,
) -> None:
    """Correct an incident's title, severity, page or times.

    What you set is kept by later drafts and imports (--unlock FIELD releases it).

    Example:  incidentkit incidents edit 2023-02-14_backport-crash --start "2023-02-14 18:33"
    """
    from ..services import incidents as service  # lazy import: loaded when the command runs

    given = (("title", title), ("severity", severity), ("page", page), ("start", start), ("end", end))
    values = {k: v for k, v in given if v is not None}
    if not values and not unlock:
        raise InputError("nothing to change", hint="give --title, --severity, --page, --start, --end or --unlock FIELD")
    record = service.edit_incident(get_context(ctx).store(), incident, values=values, unlock=unlock or (), now=now())
    changed = ", ".join(f"{k} = {getattr(record, k)}" for k in values)
    echo(f"{incident}: {changed or 'unchanged'}" + (f"; unlocked {', '.join(unlock)}" if unlock else "") + ".")
    if values:
        echo(f"Republish the page to show it: incidentkit publish {incident}")


@app.command()
def rm(
    ctx: typer.Context,
    incident: IncidentArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove an incident from the local store.

    Everything recorded about it goes with it, but only the local records: the wiki page and the Phabricator tasks are not touched (`import`
    or a new draft brings it back). Asks first on a terminal; give --yes otherwise.

    Example:  incidentkit incidents rm 2023-02-14_backport-crash --yes
    """
    import sys

    from ..services import incidents as service  # lazy import: loaded when the command runs

    store = get_context(ctx).store()
    store.require_incident(incident)
    footprint = store.incident_footprint(incident)
    what = ", ".join(f"{count} {table}" for table, count in footprint.items())
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(
                f"not removing {incident} without asking, and standard input is not a terminal",
                hint=f"give --yes to remove it: `incidentkit incidents rm {incident} --yes`",
            )
        if not typer.confirm(f"Remove {incident} from the store ({what})? The wiki page and tasks stay.", err=True):
            note("Nothing removed.")
            raise typer.Exit(1)
    removed = service.remove_incident(store, incident)
    echo(f"Removed {incident} from the store ({plural(sum(removed.values()), 'row')}); the wiki page and tasks are untouched.")


analysis.register(app)
