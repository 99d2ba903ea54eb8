"""``incidentkit actionables``: track incident follow-ups to done (add, create, sync, list, stats, set)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from ..model.actionable import OPEN_STATES, ActionableSort, ActionableStatus, ActionableType, SyncChange
from ..util import plural
from ._app import App
from ._context import get_context, now
from ._options import (
    ChartOpt,
    ChartSizeOpt,
    DryRunOpt,
    FormatOpt,
    IncidentArg,
    IncidentFilterOpt,
    SummaryOpt,
    WikiOpt,
)
from ._output import Column, Fit, Format, Output, echo, note, progress

if TYPE_CHECKING:  # annotations only: the client loads when a command talks to Phabricator (start-up cost)
    from ..clients.conduit import ConduitClient
    from ..config import Settings

__all__ = ["app"]

app = App(
    help="Track incident follow-ups to done. Add them, file their tasks, sync them with Phabricator, list them "
    "and see how the backlog evolves."
)

OwnerOpt = Annotated[
    str | None, typer.Option("--owner", metavar="NAME", help="Phabricator username ('none' = unassigned).")
]
DueOpt = Annotated[
    str | None, typer.Option("--due", metavar="DATE", help="Due date: 2024-06-01, +14d or 'next friday'.")
]
TypeOpt = Annotated[
    ActionableType | None,
    typer.Option("--type", metavar="TYPE", help="prevent, detect, mitigate, process, investigate or other."),
]
IdArg = Annotated[int, typer.Argument(metavar="ID", help="The actionable's id, as `actionables list` shows it.")]

COLUMNS = (
    Column("id", right=True),
    Column("incident"),
    Column("task"),
    Column("title", fit=Fit.TRUNCATE, min_width=16),
    Column("owner", drop=2),
    Column("status", drop=3),
    Column("type", drop=4),
    Column("due"),
    Column("overdue"),  # kept: without colour it is the only sign of an overdue row
)
HISTORY_COLUMNS = (
    Column("changed_at"),
    Column("from", drop=2),
    Column("status"),
    Column("task_status", drop=1),
    Column("source", drop=3),
    Column("note", fit=Fit.TRUNCATE, min_width=12),
)


def _client(settings: Settings) -> ConduitClient:
    from ..clients.conduit import (
        ConduitClient,  # lazy import: requests loads only for commands that call Phabricator
    )

    return ConduitClient.from_settings(settings)


def _due(text: str | None, option: str) -> date | None:
    from ..model.actionable import parse_due  # lazy import: dateparser loads only for human dates

    return parse_due(text, now=now(), option=option) if text else None


@app.command("add")
def add(
    ctx: typer.Context,
    incident: IncidentArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What to do, e.g. 'Alert on replica lag'.")],
    task: Annotated[
        str | None, typer.Option("--task", "-t", metavar="TASK", help="Its Phabricator task (T123), if it has one.")
    ] = None,
    owner: OwnerOpt = None,
    type: TypeOpt = None,
    due: DueOpt = None,
) -> None:
    """Track a follow-up: a Phabricator task or a free-text idea.

    With --task, the task is checked on Phabricator when [phabricator] url is set. Values given
    here are locked: sync and import keep them. The due date defaults to the severity's SLA.

    Example:  incidentkit actionables add 2024-05-01_dns-outage "Alert on resolver errors" --task T1234 --type detect
    """
    from ..services import actionables as tracking  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    settings = app_ctx.settings
    client = _client(settings) if task and settings.phabricator.url else None
    actionable, created = tracking.add_actionable(
        app_ctx.store(), incident, text, settings=settings, now=now(), task=task, owner=owner, type=type,
        due=_due(due, "--due"), client=client,
    )  # fmt: skip
    if task and client is None:
        note(f"note: {actionable.task} was not checked ([phabricator] url is not set)")
    verb = "added" if created else "already tracked as"
    echo(
        f"#{actionable.id} {verb}: {actionable.task or 'idea'} {actionable.title} "
        f"({actionable.status}, due {actionable.due or '-'})"
    )


@app.command("create")
def create(
    ctx: typer.Context,
    actionable_id: Annotated[
        int, typer.Argument(metavar="ID", help="The free-text actionable's id, as `actionables list` shows it.")
    ],
) -> None:
    """File the Phabricator task for a free-text actionable.

    The task gets the title, a description linking the incident page, the [actionables] tags and
    the incident task as parent; the actionable is linked to it.

    Example:  incidentkit actionables create 42
    """
    from ..services import actionables as tracking  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    settings = app_ctx.settings
    actionable = tracking.create_task(
        app_ctx.store(), actionable_id, client=_client(settings), settings=settings, now=now()
    )
    echo(f"#{actionable.id} -> {actionable.task} {actionable.title}")


@app.command("sync")
def sync(
    ctx: typer.Context,
    tasks: Annotated[
        list[str] | None, typer.Argument(metavar="TASK", help="Only these tracked tasks (default: all).")
    ] = None,
    incident: IncidentFilterOpt = None,
) -> None:
    """Refresh tracked tasks from Phabricator; print what changed.

    100 tasks per Conduit call; prints nothing when nothing changed, so cron mails stay empty. Safe
    from cron and concurrently: an interrupted sync loses nothing, and each batch's changes are
    printed as soon as they are saved. Tasks that vanished or are not visible to the token are
    flagged missing, never deleted.

    Example:  incidentkit actionables sync --incident 2024-05-01_dns-outage
    """
    from ..services import sync as syncing  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    store, client = app_ctx.store(), _client(app_ctx.settings)

    def print_batch(changes: Sequence[SyncChange]) -> None:  # as each batch commits: a failed sync shows what it saved
        for change in changes:
            echo(change.line())

    with progress("sync") as update:
        report = syncing.sync_actionables(
            store, client, now=now(), incident=incident, tasks=tasks or (), progress=update, on_batch=print_batch
        )
    if update is not None:  # on a terminal only: cron mails stay empty when nothing changed
        note(
            f"{plural(report.checked, 'task')} checked, {len(report.changes)} changed, "
            f"{len(report.missing)} missing, {plural(report.calls, 'Conduit call')}"
        )


def _statuses(values: list[str]) -> tuple[ActionableStatus, ...]:
    """``--status`` values: incidentkit's states, or ``all`` (every state); none given = the open ones."""
    if "all" in values:
        return ()
    try:
        return tuple(ActionableStatus(value) for value in values) or OPEN_STATES
    except ValueError as exc:
        known = ", ".join([*(s.value for s in ActionableStatus), "all"])
        raise typer.BadParameter(f"{exc}; use one of: {known}", param_hint="'--status'") from exc


@app.command("list")
def list_(
    ctx: typer.Context,
    owner: OwnerOpt = None,
    incident: IncidentFilterOpt = None,
    project: Annotated[
        str | None, typer.Option("--project", "--team", metavar="NAME", help="The task's project (name or slug).")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            metavar="STATUS",
            help="open, in-progress, done, wont-do or all. Repeatable (default: open and in-progress).",
        ),
    ] = None,
    type: Annotated[
        list[ActionableType] | None,
        typer.Option("--type", metavar="TYPE", help="prevent, detect, mitigate, process, investigate or other. Repeatable."),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open ones past their due date.")] = False,
    due_before: Annotated[
        str | None, typer.Option("--due-before", metavar="DATE", help="Only those due before DATE.")
    ] = None,
    sort: Annotated[
        ActionableSort,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="due, owner, incident, status, created, resolved, task, priority, type or id.",
        ),
    ] = ActionableSort.DUE,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="At most N rows.", min=1)] = None,
    fmt: FormatOpt = None,
    fail_if_overdue: Annotated[
        bool, typer.Option("--fail-if-overdue", help="Exit 1 when any is overdue (for cron and CI).")
    ] = False,
) -> None:
    """List actionables, the open ones by default.

    Overdue ones are highlighted on a terminal. A summary line follows: open, overdue, done this month. JSON Lines when piped or with --format
    json, one object per actionable: id, incident, task, title, owner, status, task_status, type,
    priority, due, overdue, projects, missing, origin, created_at, resolved_at, locked.

    Example:  incidentkit actionables list --owner alice --overdue --format csv
    """
    # lazy imports: loaded when the command runs
    from ..model.actionable import RECORD_COLUMNS, ActionableQuery
    from ..services import reporting

    app_ctx = get_context(ctx)
    clock, store = now(), app_ctx.store()
    query = ActionableQuery(
        statuses=_statuses(status or ()), owner=owner, incident=incident, project=project,
        types=tuple(type or ()), overdue=overdue, due_before=_due(due_before, "--due-before"),
        sort=sort.value, limit=limit,
    )  # fmt: skip
    rows = reporting.iter_actionables(store, query, now=clock)
    summary = reporting.summarize(store, query, now=clock)
    today = clock.date()
    with app_ctx.output.rows(COLUMNS, fmt, fields=RECORD_COLUMNS) as sink:
        for actionable in rows:
            record = actionable.to_record(today)
            sink.add(record, highlight=record["overdue"])
        sink.summary(summary.line())
    if fail_if_overdue and summary.overdue:
        note(f"{plural(summary.overdue, 'actionable')} {'is' if summary.overdue == 1 else 'are'} overdue")
        raise typer.Exit(1)


@app.command("stats")
def stats(
    ctx: typer.Context,
    months: Annotated[int, typer.Option("--months", metavar="N", help="Months of backlog to show.", min=1)] = 12,
    incident: IncidentFilterOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = None,
    chart: ChartOpt = None,
    chart_size: ChartSizeOpt = None,
) -> None:
    """Show the backlog, the time to close and overdue by owner.

    Opened vs closed per month with the open backlog at each month's end, and the age of the open
    backlog (N, median, p90, max, and per age bucket). One JSON document when piped or with --format
    json: open, overdue, closed, median_days_to_close, months (month, opened, closed, open_at_end),
    by_owner (owner, open, overdue) and open_age.

    Example:  incidentkit actionables stats --months 6 --format markdown --chart backlog.svg
    """
    # lazy imports: loaded when the command runs
    from ..services import reporting
    from ..services.charts import actionables_chart
    from ..services.stats import backlog_ages
    from .analysis import chart_request, chart_to

    wanted = chart_request(chart, chart_size)
    store = get_context(ctx).store()
    result = reporting.actionable_stats(store, now=now(), months=months, incident=incident, owner=owner)
    age, buckets, ages = backlog_ages(store, now=now(), incident=incident, owner=owner)
    chart_to(lambda path, size: actionables_chart(result, ages, path, size), wanted)
    median = "-" if result.median_days_to_close is None else f"{result.median_days_to_close:g} days"
    line = f"{result.open} open, {result.overdue} overdue, {result.closed} closed, median time to close {median}"
    month_fields = ["month", "opened", "closed", "open_at_end"]
    owner_fields = ["owner", "open", "overdue"]
    month_rows = [dict(zip(month_fields, (m.month, m.opened, m.closed, m.open_at_end), strict=True)) for m in result.months]
    owner_rows = [
        dict(zip(owner_fields, (o.owner or "(unassigned)", o.open, o.overdue), strict=True)) for o in result.by_owner
    ]
    age_rows = [{"age": b.label, "open": b.count} for b in buckets]
    payload = {
        "open": result.open, "overdue": result.overdue, "closed": result.closed,
        "median_days_to_close": result.median_days_to_close, "months": month_rows, "by_owner": owner_rows,
        "open_age": {**age.to_dict("days"), "buckets": {b.label: b.count for b in buckets}},
    }  # fmt: skip

    def days(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} days"

    def draw(output: Output) -> None:
        output.table([Column(f, right=f != "month") for f in month_fields], month_rows)
        output.line()
        output.table([Column("owner"), Column("open", right=True), Column("overdue", right=True)], owner_rows)
        output.line()
        output.table([Column("age"), Column("open", right=True)], age_rows)
        output.line(f"open backlog age: N {age.n}, median {days(age.median)}, p90 {days(age.p90)}, max {days(age.max)}")
        output.line(line)

    output = get_context(ctx).output
    output.document(
        payload, fmt, table=draw,
        records=[(month_rows, month_fields), (owner_rows, owner_fields), (age_rows, ["age", "open"])],
    )  # fmt: skip
    if output.format(fmt) is not Format.TABLE:
        note(line)


@app.command("set")
def set_(
    ctx: typer.Context,
    actionable_id: IdArg,
    owner: OwnerOpt = None,
    type: TypeOpt = None,
    due: DueOpt = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", "-s", metavar="STATUS", help="open, in-progress, done, wont-do, or a status Phabricator knows."
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", metavar="TEXT", help="A new title.")] = None,
    unlock: Annotated[
        list[str] | None,
        typer.Option("--unlock", metavar="FIELD", help="Let sync and import set FIELD again. Repeatable."),
    ] = None,
) -> None:
    """Set fields by hand; sync and import never overwrite them.

    Example:  incidentkit actionables set 42 --owner alice --due +30d --type prevent
    """
    from ..services import actionables as tracking  # lazy import: loaded when the command runs

    actionable = tracking.set_fields(
        get_context(ctx).store(), actionable_id, now=now(), title=title, owner=owner, type=type,
        due=_due(due, "--due"), status=status, unlock=unlock or (),
    )  # fmt: skip
    locked = ", ".join(actionable.locked) or "nothing"
    echo(
        f"#{actionable.id} {actionable.task or 'idea'} {actionable.title}: {actionable.status}, "
        f"owner {actionable.owner or '-'}, {actionable.type}, due {actionable.due or '-'} (locked: {locked})"
    )


@app.command("history")
def history(ctx: typer.Context, actionable_id: IdArg, fmt: FormatOpt = None) -> None:
    """Show one actionable's status history, oldest first.

    Each change says where its time comes from (a transaction, the task's close time, its last
    edit, or when incidentkit saw it). JSON Lines when piped: changed_at, from, status,
    task_status, source, note.

    Example:  incidentkit actionables history 42
    """
    from ..model.time import format_utc  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    store = app_ctx.store()
    store.require_actionable(actionable_id)
    with app_ctx.output.rows(HISTORY_COLUMNS, fmt) as sink:
        for change in store.status_history(actionable_id):
            sink.add({
                "changed_at": format_utc(change.changed_at), "from": change.changed_at_from,
                "status": f"{change.old_status or '-'} -> {change.new_status}",
                "task_status": f"{change.old_task_status or '-'} -> {change.new_task_status or '-'}",
                "source": change.source, "note": change.note,
            })  # fmt: skip


@app.command("publish")
def publish(
    ctx: typer.Context,
    page: Annotated[
        str, typer.Option("--page", metavar="TITLE", help="The dashboard page's title.")
    ] = "Incident actionables",
    wiki: WikiOpt = None,
    dry_run: DryRunOpt = False,
    summary: SummaryOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the list even where someone edited it on the wiki.")
    ] = False,
) -> None:
    """Write the managers' page of open actionables to the wiki.

    Open actionables by owner and by incident, overdue ones flagged. The list is regenerated in
    place on every run; text around it on the page is kept. Run `actionables sync` first so the
    page shows Phabricator's current state.

    Example:  incidentkit actionables publish --page "Incident actionables" --dry-run
    """
    # lazy imports: the wiki client loads when the command runs
    from ..clients.mediawiki import connect_wiki
    from ..services.publish import publish_dashboard
    from .publish import check_page, show_publication

    app_ctx = get_context(ctx)
    check_page(page)
    store = app_ctx.store()
    outcome = publish_dashboard(
        connect_wiki(app_ctx.settings, wiki), store, title=page, now=now(), summary=summary, force=force,
        dry_run=dry_run,
    )  # fmt: skip
    show_publication(outcome, dry_run=dry_run, app_ctx=app_ctx)
