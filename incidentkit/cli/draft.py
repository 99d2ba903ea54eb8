"""``incidentkit draft``: the incident page (wikitext) for a window, from every configured source."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import InputError
from ._app import App
from ._context import get_context
from ._options import FromOpt, InputOpt, OutputFileOpt, TasksOpt, ToOpt
from ._output import note
from ._pulling import collect_window, report_sources

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
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the incident in the local store.")] = False,
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
    from ..model.incident import slugify
    from ..services.draft import draft_incident, record_draft
    from ..services.scorecard import scorecard_for_incident
    from ..wikitext.render import render_incident

    app_ctx = get_context(ctx)
    collected = collect_window(
        app_ctx, start=start, end=end, tasks=task, inputs=input, replay=replay, incident=incident, strict=strict,
        title=title,
    )  # fmt: skip
    name = title or collected.title
    if not name:
        raise InputError("--title is required", hint='give the incident a title, e.g. --title "API outage"')
    settings = app_ctx.settings
    slug = slugify(name, collected.query.window.start)
    store = None if no_store else app_ctx.store(create=True)
    result = draft_incident(
        collected,
        title=name,
        settings=settings,
        curation_state=store.curation_state(slug) if store is not None else None,
        scorecard=scorecard_for_incident(store, slug, settings) if store is not None else None,
        lightweight=lightweight,
        raw=raw,
    )
    text = render_incident(result)
    report_sources(collected)
    if store is not None:
        for message in record_draft(store, result, collected, settings):
            note(f"warning: {message}")
        note(f"recorded as incident {result.slug}")
    if output:
        output.write_text(text, encoding="utf-8")
        note(f"wrote {output}")
    else:
        app_ctx.output.write(text)
