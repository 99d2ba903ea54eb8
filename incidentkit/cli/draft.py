"""``incidentkit draft``, ``events`` and ``pull``: read the sources for a window and show the result."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..config import user_path, write_user_text
from ..errors import InputError
from ..model.incident import slugify
from ..model.source import Query
from ..model.window import parse_window
from ..services.draft import draft_incident, record_draft
from ..services.pulls import Collected, collect, load_pull, parse_inputs, save_pull
from ..wikitext.render import render_incident
from ._context import AppContext, err, get_context, is_terminal, now, out
from ._options import (
    FormatOpt,
    FromOpt,
    InputOpt,
    OutputFormat,
    ReplayOpt,
    StrictOpt,
    TaskOpt,
    ToOpt,
    emit_records,
)

__all__ = ["register"]

TitleOpt = Annotated[str | None, typer.Option("--title", help="Incident title, e.g. 'Wikidata dispatch lag'.")]
IncidentOpt = Annotated[
    str | None,
    typer.Option("--incident", help="Re-pull a recorded incident (its window, title and tasks) by slug."),
]


def _tasks(values: list[str] | None) -> tuple[str, ...]:
    tasks = []
    for value in values or ():
        text = value.strip().upper().removeprefix("HTTPS://PHABRICATOR.WIKIMEDIA.ORG/")
        text = text if text.startswith("T") else f"T{text}"
        if not text[1:].isdigit():
            raise InputError(f"--task {value!r} is not a task id", hint="give a Phabricator task like T123456")
        tasks.append(text)
    return tuple(dict.fromkeys(tasks))


def _collect(
    app: AppContext,
    *,
    start: str | None,
    end: str | None,
    tasks: list[str] | None,
    inputs: list[str] | None,
    replay: str | None,
    incident: str | None,
    strict: bool,
    title: str | None,
) -> Collected:
    parsed_inputs = parse_inputs(inputs)
    if replay:
        return load_pull(user_path(replay, what="--replay"), inputs=parsed_inputs)
    task_ids = _tasks(tasks)
    if incident:
        record = app.store().require_incident(incident)
        query_data = record.metadata.get("query")
        if not query_data:
            raise InputError(f"incident {incident} has no recorded window", hint="draft it with --from/--to first")
        query = Query.from_dict(query_data)
        query = Query(query.window, task_ids or query.tasks)
        title = title or record.title
    else:
        if not start:
            raise InputError("--from is required", hint="give --from (and --to), or --replay DIR, or --incident SLUG")
        max_span = timedelta(days=app.settings.draft.max_window_days)
        window = parse_window(start, end, now=now(), max_span=max_span)
        query = Query(window, task_ids)
    return collect(query, app.settings, inputs=parsed_inputs, strict=strict, now=now(), title=title)


def _report(collected: Collected) -> None:
    """One stderr line per source: events found, lines skipped, failures."""
    for report in collected.summaries():
        skipped = f", {report.skipped} lines skipped" if report.skipped else ""
        read = f" from {report.lines_read} lines" if report.lines_read else ""
        err.print(f"{report.source}: {report.events} events{read}{skipped}", markup=False)
        for where in report.skipped_where[:10]:
            err.print(f"  skipped {where}", markup=False)
        if len(report.skipped_where) > 10:
            err.print(f"  … and {len(report.skipped_where) - 10} more", markup=False)
    for failure in collected.failures:
        err.print(f"{failure.source}: unavailable: {failure.message}", markup=False)


def draft(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    title: TitleOpt = None,
    task: TaskOpt = None,
    input: InputOpt = None,
    replay: ReplayOpt = None,
    incident: IncidentOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the wikitext here, not stdout.")] = None,
    lightweight: Annotated[bool, typer.Option("--lightweight", help="Render the short (lightweight) report.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Show every timeline row, ignoring curation.")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the incident in the local store.")] = False,
    strict: StrictOpt = False,
) -> None:
    """Draft the incident page (wikitext) for a window from every configured source.

    Times are UTC; naive input ("2016-09-15 19:10") is read as UTC. A source that is down gives a
    visible "unavailable" note in the page (non-zero exit only with --strict).

    Sources: sal, phabricator, prometheus (ALERTS history, also Thanos), alertmanager, icinga, irc.
    Alertmanager keeps no alert history: it only adds current alerts, silences and annotations;
    alert history comes from Prometheus/Thanos, the Icinga log, IRC bot logs and webhook logs.

    Example:  incidentkit draft --from "2023-02-14 18:00" --to "2023-02-14 19:45" --title "Backport crash" --task T329000
    """
    from ..services.scorecard import scorecard_for_incident

    app = get_context(ctx)
    collected = _collect(
        app, start=start, end=end, tasks=task, inputs=input, replay=replay, incident=incident, strict=strict, title=title
    )
    name = title or collected.title
    if not name:
        raise InputError("--title is required", hint='give the incident a title, e.g. --title "API outage"')
    settings = app.settings
    slug = slugify(name, collected.query.window.start)
    store = None if no_store else app.store()
    state = store.curation_state(slug) if store is not None else None
    scorecard = scorecard_for_incident(store, slug, settings) if store is not None else None
    result = draft_incident(
        collected,
        title=name,
        settings=settings,
        curation_state=state,
        scorecard=scorecard,
        lightweight=lightweight,
        raw=raw,
    )
    text = render_incident(result)
    _report(collected)
    if store is not None:
        for message in record_draft(store, result, collected, settings):
            err.print(f"warning: {message}", markup=False)
        err.print(f"recorded as incident {result.slug}", markup=False)
    if output:
        write_user_text(output, text, what="--output", hint="give --output a file in a folder you can write")
        err.print(f"wrote {output}", markup=False)
    else:
        out.print(text, end="", markup=False, soft_wrap=True)


def events(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    task: TaskOpt = None,
    input: InputOpt = None,
    replay: ReplayOpt = None,
    fmt: FormatOpt = None,
    strict: StrictOpt = False,
) -> None:
    """List the merged raw events of every source for a window (UTC; naive input is UTC).

    A table on a terminal; JSON (time, source, kind, actor, text, tasks, ...) or CSV otherwise.

    Example:  incidentkit events --from "2 hours ago" --input sal=sal.wiki --format json
    """
    app = get_context(ctx)
    collected = _collect(
        app, start=start, end=end, tasks=task, inputs=input, replay=replay, incident=None, strict=strict, title=None
    )
    _report(collected)
    records = [e.to_dict() for e in collected.events]
    fmt = fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)
    if fmt is OutputFormat.TABLE:
        table = Table("time (UTC)", "source", "kind", "actor", "text", "tasks")
        for r in records:
            table.add_row(r["time"], r["source"], r["kind"], r["actor"] or "", r["text"], ", ".join(r["tasks"]))
        out.print(table)
        return
    columns = ["time", "source", "kind", "actor", "text", "tasks", "url", "key"]
    out.print(emit_records(records, columns, fmt), markup=False, soft_wrap=True)


def pull(
    ctx: typer.Context,
    save: Annotated[Path, typer.Option("--save", help="Folder to write what every source returned.")],
    start: FromOpt = None,
    end: ToOpt = None,
    title: TitleOpt = None,
    task: TaskOpt = None,
    input: InputOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Save what every configured source returns for a window, to draft later with --replay.

    Times are UTC; naive input is read as UTC. Alertmanager keeps no alert history (current alerts
    and silences only); Prometheus/Thanos, Icinga and IRC logs hold it.

    Example:  incidentkit pull --from 2023-02-14T18:00Z --to 2023-02-14T19:45Z --save pulls/backport
    """
    app = get_context(ctx)
    collected = _collect(
        app, start=start, end=end, tasks=task, inputs=input, replay=None, incident=None, strict=strict, title=title
    )
    _report(collected)
    save = save_pull(collected, user_path(save, what="--save"))
    err.print(f"saved {len(collected.exports)} source(s) to {save}; draft it with --replay {save}", markup=False)


def register(app: typer.Typer) -> None:
    """Add draft, events and pull to the root app."""
    app.command()(draft)
    app.command()(events)
    app.command()(pull)
