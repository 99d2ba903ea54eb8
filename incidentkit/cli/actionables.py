"""``incidentkit actionables``: track incident follow-ups to done (add, create, sync, list, stats, set)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..clients.conduit import ConduitClient
from ..model.actionable import (
    OPEN_STATES,
    RECORD_COLUMNS,
    ActionableQuery,
    ActionableSort,
    ActionableStatus,
    ActionableType,
    parse_due,
)
from ..services import actionables as tracking
from ..services import reporting
from ..services import sync as syncing
from ..services.charts import actionables_chart
from ..services.stats import backlog_ages
from ._context import err, get_context, is_terminal, now, out
from ._options import FormatOpt, OutputFormat, emit_records
from .analysis import ChartOpt, ChartSizeOpt, chart_to

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Track every incident follow-up to done: add, create tasks, sync with Phabricator, list, stats.",
)


IncidentFilter = Annotated[str | None, typer.Option("--incident", "-i", help="Only this incident (slug).")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Phabricator username ('none' = unassigned).")]
TypeOpt = Annotated[ActionableType | None, typer.Option("--type", help="What the actionable does.")]
DueOpt = Annotated[str | None, typer.Option("--due", help="Due date: 2024-06-01, +14d, or 'next friday'.")]

_TABLE_COLUMNS = ["id", "incident", "task", "title", "owner", "status", "type", "due", "overdue"]


def _client(ctx: typer.Context) -> ConduitClient:
    return ConduitClient.from_settings(get_context(ctx).settings)


@app.command("add")
def add(
    ctx: typer.Context,
    incident: Annotated[str, typer.Argument(help="The incident's slug (see `incidentkit incidents`).")],
    text: Annotated[str, typer.Argument(help="What to do, e.g. 'Alert on replica lag'.")],
    task: Annotated[str | None, typer.Option("--task", "-t", help="Its Phabricator task (T123), if it has one.")] = None,
    owner: OwnerOpt = None,
    type: TypeOpt = None,
    due: DueOpt = None,
) -> None:
    """Track an actionable of an incident: a Phabricator task or a free-text idea.

    With --task, the task is checked on Phabricator when [phabricator] url is set. Values given
    here are locked: sync and import keep them. Default due date: the severity SLA.

    Example:  incidentkit actionables add 2024-05-01_dns-outage "Alert on resolver errors" --task T1234 --type detect
    """
    app_ctx = get_context(ctx)
    settings, clock = app_ctx.settings, now()
    client = _client(ctx) if task and settings.phabricator.url else None
    actionable, created = tracking.add_actionable(
        app_ctx.store(), incident, text, settings=settings, now=clock, task=task, owner=owner, type=type,
        due=parse_due(due, now=clock) if due else None, client=client,
    )
    if task and client is None:
        err.print(f"note: {actionable.task} was not checked ([phabricator] url is not set)", markup=False)
    verb = "added" if created else "already tracked as"
    out.print(f"#{actionable.id} {verb}: {actionable.task or 'idea'} {actionable.title} "
              f"({actionable.status}, due {actionable.due or '-'})", markup=False)


@app.command("create")
def create(
    ctx: typer.Context,
    actionable_id: Annotated[int, typer.Argument(metavar="ID", help="The free-text actionable's id (from `list`).")],
) -> None:
    """Create the Phabricator task for a free-text actionable and link it.

    The task gets the title, a description linking the incident page, the [actionables] tags
    and the incident task as parent.

    Example:  incidentkit actionables create 42
    """
    app_ctx = get_context(ctx)
    actionable = tracking.create_task(app_ctx.store(), actionable_id, client=_client(ctx), settings=app_ctx.settings, now=now())
    out.print(f"#{actionable.id} -> {actionable.task} {actionable.title}", markup=False)


@app.command("sync")
def sync(
    ctx: typer.Context,
    tasks: Annotated[list[str] | None, typer.Argument(help="Only these tracked tasks (default: all).")] = None,
    incident: IncidentFilter = None,
) -> None:
    """Refresh tracked tasks from Phabricator (100 per call) and print what changed.

    Safe from cron and concurrently; an interrupted sync loses nothing. Tasks that vanished or are
    not visible to the token are flagged missing, never deleted.

    Example:  incidentkit actionables sync
    """
    app_ctx = get_context(ctx)
    store, client = app_ctx.store(), _client(ctx)
    with Progress(TextColumn("sync"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        job = bar.add_task("sync", total=None)
        report = syncing.sync_actionables(store, client, now=now(), incident=incident, tasks=tasks or (),
                                      progress=lambda done, total: bar.update(job, completed=done, total=total))
    for change in report.changes:
        out.print(change.line(), markup=False)
    if err.is_terminal:
        err.print(f"{report.checked} tasks checked, {len(report.changes)} changed, {len(report.missing)} missing, "
                  f"{report.calls} Conduit calls", markup=False)


def _statuses(values: list[str]) -> tuple[ActionableStatus, ...]:
    """``--status`` values: incidentkit's states, or ``all`` (every state); none given = the open ones."""
    if "all" in values:
        return ()
    try:
        return tuple(ActionableStatus(value) for value in values) or OPEN_STATES
    except ValueError as exc:
        known = ", ".join([*(s.value for s in ActionableStatus), "all"])
        raise typer.BadParameter(f"{exc}; use one of: {known}", param_hint="--status") from exc


@app.command("list")
def list_(
    ctx: typer.Context,
    owner: OwnerOpt = None,
    incident: IncidentFilter = None,
    project: Annotated[str | None, typer.Option("--project", "--team", help="Task project (name or slug).")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="open, in-progress, done, wont-do or all. Repeatable; default open + in-progress."),
    ] = None,
    type: Annotated[list[ActionableType] | None, typer.Option("--type", help="Repeatable.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open ones past their due date.")] = False,
    due_before: Annotated[str | None, typer.Option("--due-before", help="Due before this date.")] = None,
    sort: Annotated[ActionableSort, typer.Option("--sort", help="Order.")] = ActionableSort.DUE,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many rows.")] = None,
    fmt: FormatOpt = None,
    fail_if_overdue: Annotated[bool, typer.Option("--fail-if-overdue", help="Exit 1 when any is overdue (cron/CI).")] = False,
) -> None:
    """List actionables (open ones by default) with a summary line: open, overdue, done this month.

    Example:  incidentkit actionables list --owner alice --overdue --format csv
    """
    app_ctx = get_context(ctx)
    clock, store = now(), app_ctx.store()
    statuses = _statuses(status or ())
    query = ActionableQuery(
        statuses=statuses, owner=owner, incident=incident, project=project, types=tuple(type or ()), overdue=overdue,
        due_before=parse_due(due_before, now=clock) if due_before else None, sort=sort.value, limit=limit,
    )
    rows = reporting.list_actionables(store, query, now=clock)
    summary = reporting.summarize(store, query, now=clock)
    _emit([a.to_record(clock.date()) for a in rows], RECORD_COLUMNS, fmt, summary.line(), table=_TABLE_COLUMNS)
    if fail_if_overdue and summary.overdue:
        err.print(f"{summary.overdue} actionables are overdue", markup=False)
        raise typer.Exit(1)


@app.command("stats")
def stats(
    ctx: typer.Context,
    months: Annotated[int, typer.Option("--months", help="How many months of backlog to show.")] = 12,
    incident: IncidentFilter = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = None,
    chart: ChartOpt = None,
    chart_size: ChartSizeOpt = None,
) -> None:
    """Backlog over time (opened vs closed per month), median days to close, overdue by owner, and
    the age distribution of the open backlog (N, median, p90, max, and per age bucket).

    Example:  incidentkit actionables stats --months 6 --format markdown --chart backlog.svg
    """
    app_ctx = get_context(ctx)
    result = reporting.actionable_stats(app_ctx.store(), now=now(), months=months, incident=incident, owner=owner)
    age, buckets, ages = backlog_ages(app_ctx.store(), now=now(), incident=incident, owner=owner)
    chart_to(lambda path, size: actionables_chart(result, ages, path, size), chart, chart_size)
    median = "-" if result.median_days_to_close is None else f"{result.median_days_to_close:g} days"
    line = f"{result.open} open, {result.overdue} overdue, {result.closed} closed, median time to close {median}"
    month_rows = [{"month": m.month, "opened": m.opened, "closed": m.closed, "open_at_end": m.open_at_end} for m in result.months]
    owner_rows = [{"owner": o.owner or "(unassigned)", "open": o.open, "overdue": o.overdue} for o in result.by_owner]
    chosen = fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)
    if chosen is OutputFormat.JSON:
        payload = {"open": result.open, "overdue": result.overdue, "closed": result.closed,
                   "median_days_to_close": result.median_days_to_close, "months": month_rows, "by_owner": owner_rows,
                   "open_age": {**age.to_dict("days"), "buckets": {b.label: b.count for b in buckets}}}
        out.file.write(json.dumps(payload, indent=2) + "\n")
        return
    _emit(month_rows, ["month", "opened", "closed", "open_at_end"], chosen, None)
    out.print("")
    _emit(owner_rows, ["owner", "open", "overdue"], chosen, line)
    out.print("")
    _emit([{"age": b.label, "open": b.count} for b in buckets], ["age", "open"], chosen,
          f"open backlog age: N {age.n}, median {_days(age.median)}, p90 {_days(age.p90)}, max {_days(age.max)}")


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} days"


@app.command("set")
def set_(
    ctx: typer.Context,
    actionable_id: Annotated[int, typer.Argument(metavar="ID", help="The actionable's id (from `list`).")],
    owner: OwnerOpt = None,
    type: TypeOpt = None,
    due: DueOpt = None,
    status: Annotated[str | None, typer.Option("--status", help="open / in-progress / done / wont-do, or an instance status.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="A new title.")] = None,
    unlock: Annotated[list[str] | None, typer.Option("--unlock", help="Let sync/import set this field again. Repeatable.")] = None,
) -> None:
    """Set fields by hand; they are locked so sync and import never overwrite them.

    Example:  incidentkit actionables set 42 --owner alice --due +30d --type prevent
    """
    app_ctx = get_context(ctx)
    clock = now()
    actionable = tracking.set_fields(
        app_ctx.store(), actionable_id, now=clock, title=title, owner=owner, type=type,
        due=parse_due(due, now=clock) if due else None, status=status, unlock=unlock or (),
    )
    locked = ", ".join(actionable.locked) or "nothing"
    out.print(f"#{actionable.id} {actionable.task or 'idea'} {actionable.title}: {actionable.status}, "
              f"owner {actionable.owner or '-'}, {actionable.type}, due {actionable.due or '-'} (locked: {locked})",
              markup=False)


@app.command("history")
def history(
    ctx: typer.Context,
    actionable_id: Annotated[int, typer.Argument(metavar="ID", help="The actionable's id (from `list`).")],
    fmt: FormatOpt = None,
) -> None:
    """Show the status history of one actionable, oldest first, with where each time comes from.

    Example:  incidentkit actionables history 42
    """
    store = get_context(ctx).store()
    store.require_actionable(actionable_id)
    records = [
        {"changed_at": c.changed_at.isoformat().replace("+00:00", "Z"), "from": c.changed_at_from,
         "status": f"{c.old_status or '-'} -> {c.new_status}", "task_status": f"{c.old_task_status or '-'} -> {c.new_task_status or '-'}",
         "source": c.source, "note": c.note}
        for c in store.status_history(actionable_id)
    ]
    _emit(records, ["changed_at", "from", "status", "task_status", "source", "note"], fmt, None)


def _emit(
    records: list[dict[str, object]],
    columns: list[str],
    fmt: OutputFormat | None,
    summary: str | None,
    *,
    table: list[str] | None = None,
) -> None:
    """A rich table on a terminal (summary below it), else JSON/CSV/Markdown on stdout (summary on stderr)."""
    chosen = fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)
    if chosen is OutputFormat.TABLE:
        shown = table or columns
        grid = Table(*shown)
        for record in records:
            grid.add_row(*(_cell(record.get(c)) for c in shown))
        out.print(grid)
        if summary:
            out.print(summary, markup=False)
        return
    out.file.write(emit_records(records, columns, chosen) + "\n")
    if summary:
        err.print(summary, markup=False)


def _cell(value: object) -> str:
    if value is None or value is False:
        return ""
    return "yes" if value is True else str(value)


# --- `actionables publish`: the managers' wiki dashboard ---------------------------------------------


@app.command("publish")
def publish(
    ctx: typer.Context,
    page: Annotated[str, typer.Option("--page", help="The dashboard page's title.")] = "Incident actionables",
    wiki: Annotated[str | None, typer.Option("--wiki", help="Which configured wiki; default: the first.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the unified diff of the page; write nothing.")] = False,
    summary: Annotated[str | None, typer.Option("--summary", help="Edit summary.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the list even if it was edited on the wiki.")] = False,
) -> None:
    """Write the managers' page: open actionables by owner and by incident, overdue ones flagged.

    The list is regenerated in place on every run; text around it on the page is kept. Run
    `actionables sync` first so the page shows Phabricator's current state.

    Example:  incidentkit actionables publish --page "Incident actionables"
    """
    from ..clients.mediawiki import connect_wiki
    from ..services.publish import publish_dashboard
    from .publish import show_publication

    app_ctx = get_context(ctx)
    client = connect_wiki(app_ctx.settings, wiki)
    outcome = publish_dashboard(
        client, app_ctx.store(), title=page, now=now(), summary=summary, force=force, dry_run=dry_run
    )
    show_publication(outcome, dry_run=dry_run)
