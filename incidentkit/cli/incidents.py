"""``incidentkit incidents``: list, show, correct and remove the incidents in the store."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..errors import InputError
from ..model.time import format_utc
from ..model.window import parse_when
from ..services import incidents as service
from ._context import err, get_context, is_terminal, now, out
from ._options import FormatOpt, OutputFormat, emit_records

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="The incidents in the local store (drafted or imported): list, show, edit, remove.",
)

IncidentArg = Annotated[
    str, typer.Argument(metavar="INCIDENT", help="The incident's slug, e.g. 2023-02-14_backport-crash.")
]
LIST_COLUMNS = ["slug", "title", "date", "status", "page", "open", "overdue"]


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="Only incidents dated on or after this date (their Start, else the slug's date).")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only incidents with this report status (draft, review, final...). Repeatable.")
    ] = None,
    fmt: FormatOpt = None,
) -> None:
    """List the incidents: slug, title, date, report status, wiki page, open and overdue actionables.

    Example:  incidentkit incidents list --since 2023-01-01 --status draft
    """
    app_ctx = get_context(ctx)
    day = parse_when(since, now=now(), option="--since").date() if since else None
    found = service.list_incidents(app_ctx.store(), now=now(), since=day, statuses=status or ())
    records = [s.to_record() for s in found]
    fmt = fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)
    if fmt is not OutputFormat.TABLE:
        out.print(emit_records(records, LIST_COLUMNS, fmt), markup=False, emoji=False, soft_wrap=True)
        return
    widths = {name: max([len(name), *(len(str(r[name] or "")) for r in records)]) for name in LIST_COLUMNS}
    # ids, dates and counts are never cut; the title gives way, and the page goes on a narrow terminal
    columns = [n for n in LIST_COLUMNS if n != "page" or out.width >= sum(widths.values()) - widths["title"] + 12 + 7]
    table = Table(box=None, header_style="bold", padding=(0, 1, 0, 0), pad_edge=False)
    for name in columns:
        cut = name in ("title", "page")
        table.add_column(name, no_wrap=True, overflow="ellipsis", min_width=None if cut else widths[name], ratio=1 if cut else None)
    for r in records:
        cells = [Text(str(r[n]) if r[n] is not None else "") for n in columns]
        if r["overdue"]:
            cells[columns.index("overdue")].stylize("bold red")
        table.add_row(*cells)
    out.print(table)
    out.print(f"{len(records)} incident{'' if len(records) == 1 else 's'}.", markup=False)


def _show_text(view: service.IncidentView, slug: str) -> list[str]:
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
        lines.append(f"  window      {format_utc(window.start)} – {format_utc(window.end)} (pulled {format_utc(view.pulled_at) if view.pulled_at else '?'})")
    if view.moments:
        lines += ["", "Key moments:"]
        for c in view.moments:
            when = format_utc(c.time) if c.time else "unknown"
            lines.append(f"  {c.moment:<13}{when:<22}{c.origin}: {c.reason}")
        took = {k: v for k, v in view.durations.items() if v is not None}
        if took:
            lines.append("  " + ", ".join(f"{k.replace('_', ' ')} {v:.0f} min" for k, v in took.items()))
    if view.sources or view.failures:
        lines += ["", "Sources:"]
        for s in view.sources:
            skipped = f", {s.skipped} lines skipped ({'; '.join(s.skipped_where[:3])}{', …' if s.skipped > 3 else ''})" if s.skipped else ""
            lines.append(f"  {s.source}: {s.events} events from {s.lines_read} lines{skipped}")
            lines += [f"    note: {n}" for n in s.notes]
        lines += [f"  {f.source}: unavailable: {f.message}" for f in view.failures]
    lines += ["", f"Actionables: {len(view.actionables)}" + ("" if view.actionables else f" (track one: `incidentkit actionables add {slug} TEXT`)")]
    for a in view.actionables:
        lines.append(f"  {a.task or '(no task)':<9} {a.status:<12} {a.title}" + (f" – {a.owner}" if a.owner else ""))
    if view.scorecard is not None:
        card = view.scorecard
        lines += ["", f"Scorecard: {card.answered} of {len(card.rows)} answered, total {card.total or 0}"]
    return lines


@app.command()
def show(ctx: typer.Context, incident: IncidentArg, fmt: FormatOpt = None) -> None:
    """Show one incident: metadata, key moments and durations, sources, page, actionables, scorecard.

    Example:  incidentkit incidents show 2023-02-14_backport-crash
    """
    app_ctx = get_context(ctx)
    view = service.show_incident(app_ctx.store(), incident, app_ctx.settings)
    fmt = fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)
    if fmt is OutputFormat.JSON:
        out.print(json.dumps(view.to_record(now().date()), indent=2, ensure_ascii=False), markup=False, soft_wrap=True)
    elif fmt is OutputFormat.TABLE:
        out.print("\n".join(_show_text(view, incident)), markup=False, soft_wrap=True)
    else:
        raise InputError(f"--format {fmt} is not available for one incident", hint="use table or json")


@app.command()
def edit(
    ctx: typer.Context,
    incident: IncidentArg,
    title: Annotated[str | None, typer.Option("--title", help="The title (the page's Incident ID follows).")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="The severity (picks the SLA of new actionables).")] = None,
    page: Annotated[str | None, typer.Option("--page", help="The wiki page the report lives on.")] = None,
    start: Annotated[str | None, typer.Option("--start", help="When the impact started (the page's Start); naive = UTC.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="When it ended (the page's End); naive = UTC.")] = None,
    unlock: Annotated[
        list[str] | None, typer.Option("--unlock", metavar="FIELD", help="Let drafts and imports set this field again. Repeatable.")
    ] = None,
) -> None:
    """Correct an incident by hand; what you set is kept by later drafts and imports.

    Example:  incidentkit incidents edit 2023-02-14_backport-crash --start "2023-02-14 18:33"
    """
    values = {k: v for k, v in (("title", title), ("severity", severity), ("page", page), ("start", start), ("end", end)) if v is not None}
    if not values and not unlock:
        raise InputError("nothing to change", hint="give --title, --severity, --page, --start, --end or --unlock FIELD")
    record = service.edit_incident(get_context(ctx).store(), incident, values=values, unlock=unlock or (), now=now())
    changed = ", ".join(f"{k} = {getattr(record, k)}" for k in values)
    out.print(f"{incident}: {changed or 'unchanged'}" + (f"; unlocked {', '.join(unlock)}" if unlock else "") + ".", markup=False)
    if values:
        out.print(f"Republish the page to show it: incidentkit publish {incident}", markup=False)


@app.command()
def rm(
    ctx: typer.Context,
    incident: IncidentArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove an incident from the local store with everything recorded about it.

    Only the local records go: the wiki page and the Phabricator tasks are not touched (`import`
    or a new draft brings it back).

    Example:  incidentkit incidents rm 2023-02-14_backport-crash --yes
    """
    store = get_context(ctx).store()
    store.require_incident(incident)
    footprint = store.incident_footprint(incident)
    what = ", ".join(f"{count} {table}" for table, count in footprint.items())
    if not yes and not typer.confirm(f"Remove {incident} from the store ({what})? The wiki page and tasks stay.", err=True):
        err.print("Nothing removed.", markup=False)
        raise typer.Exit(1)
    removed = service.remove_incident(store, incident)
    out.print(f"Removed {incident} from the store ({sum(removed.values())} rows); the wiki page and tasks are untouched.", markup=False)
