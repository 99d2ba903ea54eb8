"""``incidentkit events``: the merged raw events of every source for a window, as a list."""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import App
from ._context import get_context
from ._options import FormatOpt, FromOpt, InputOpt, TasksOpt, ToOpt
from ._output import Column, Fit
from ._pulling import collect_window, report_sources

__all__ = ["app", "COLUMNS", "FIELDS"]

app = App(help="List the merged raw events of a time window.")

COLUMNS = (
    Column("time", header="time (UTC)"),
    Column("source", drop=1),
    Column("kind", drop=2),
    Column("actor", fit=Fit.TRUNCATE, min_width=8, drop=3),
    Column("text", fit=Fit.TRUNCATE, min_width=20),
    Column("tasks", fit=Fit.TRUNCATE, min_width=8, drop=4),
)
FIELDS = ["time", "source", "kind", "actor", "text", "tasks", "url", "key"]


@app.command()
def events(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    task: TasksOpt = None,
    input: InputOpt = None,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay", metavar="DIR", help="Read a folder written by `pull --save` instead of the live systems."
        ),
    ] = None,
    fmt: FormatOpt = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 1 when a source is unavailable (default: a line on standard error)."),
    ] = False,
) -> None:
    """List the merged raw events of a time window.

    Every source's events, deduplicated and in time order (UTC; naive input is UTC), before any
    timeline curation. A table on a terminal; JSON Lines when piped or with --format json (fields:
    time, source, kind, key, actor, text, tasks, url, started, data, raw); CSV or Markdown on
    request. Rows are written as they come.

    Example:  incidentkit events --replay data/examples/backport-crash --format json
    """
    app_ctx = get_context(ctx)
    collected = collect_window(
        app_ctx, start=start, end=end, tasks=task, inputs=input, replay=replay, strict=strict
    )
    report_sources(collected)
    with app_ctx.output.rows(COLUMNS, fmt, fields=FIELDS) as sink:
        for event in collected.events:
            sink.add(event.to_dict())
