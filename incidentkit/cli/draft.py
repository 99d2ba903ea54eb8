"""``incidentkit draft``: the incident page (wikitext) for a window, from every configured source."""

from __future__ import annotations

from typing import Annotated

import typer

from ..config import user_path, write_user_text
from ..errors import InputError
from ._app import App
from ._context import get_context
from ._options import FromOpt, InputOpt, OutputFileOpt, TasksOpt, ToOpt
from ._output import note
from ._pulling import collect_window, report_sources, window_query

__all__ = ["app"]

app = App(help="Draft the incident page for a time window.")

TitleOpt = Annotated[
    str | None, typer.Option("--title", metavar="TEXT", help="The incident's title, e.g. 'Wikidata dispatch lag'.")
]


@app.command()
def draft(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    title: TitleOpt = None,
    task: TasksOpt = None,
    input: InputOpt = None,
    replay: Annotated[
        str | None,
        typer.Option("--replay", metavar="DIR", help="Draft from a folder written by `pull --save`, with no network."),
    ] = None,
    incident: Annotated[
        str | None,
        typer.Option(
            "--incident", metavar="INCIDENT", help="Draft a recorded incident again: its window, title and tasks."
        ),
    ] = None,
    output: OutputFileOpt = None,
    lightweight: Annotated[bool, typer.Option("--lightweight", help="Render the short (lightweight) report.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Show every timeline row, ignoring curation.")] = False,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not record the draft (the store is still read: the page is the same).")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 1 when a source is unavailable (default: a note in the page says so)."),
    ] = False,
) -> None:
    """Draft the incident page for a time window.

    Reads every configured source (sal, phabricator, prometheus, alertmanager, icinga, irc) for the
    window and prints the page's wikitext. Times are UTC; naive input ("2016-09-15 19:10") is read
    as UTC. A source that is down gives a visible "unavailable" note in the page. Alertmanager keeps
    no alert history: it adds current alerts and silences; history comes from Prometheus/Thanos,
    the Icinga log and IRC bot logs. The incident is recorded in the store, where `timeline`
    curates it and `publish` puts it on the wiki.

    Example:  incidentkit draft --from "2023-02-14 18:00" --to "2023-02-14 19:45" --title "Backport crash" --task T329510
    """
    # lazy imports: rendering and the store load when a draft is made, not for --help
    from ..services.draft import make_draft

    app_ctx = get_context(ctx)
    if not (title or replay or incident):  # before any source is asked anything (a bad window first)
        window_query(app_ctx, start, end)
        raise InputError("--title is required", hint='give the incident a title, e.g. --title "API outage"')
    collected = collect_window(
        app_ctx, start=start, end=end, tasks=task, inputs=input, replay=replay, incident=incident, strict=strict,
        title=title,
    )  # fmt: skip
    name = title or collected.title
    if not name:
        raise InputError("--title is required", hint='give the incident a title, e.g. --title "API outage"')
    # --no-store still reads the store (curation, locked fields, actionables): it is the same page
    if no_store:
        store = app_ctx.store() if app_ctx.db_path().exists() else None
    else:
        store = app_ctx.store(create=True)
    result = make_draft(
        collected, title=name, settings=app_ctx.settings, store=store, write=not no_store, lightweight=lightweight,
        raw=raw, slug=incident,
    )  # fmt: skip
    report_sources(collected)
    for message in result.notices(recorded=store is not None and not no_store):
        note(f"warning: {message}")
    if store is not None and not no_store:
        note(f"recorded as incident {result.incident.slug}")
    if output:
        write_user_text(user_path(output, what="--output"), result.text, what="--output", hint="give --output a file in a folder you can write")
        note(f"wrote {output}")
    else:
        app_ctx.output.write(result.text)
