"""``incidentkit import``: read existing incident reports on the wiki into the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..config import user_path
from ..errors import InputError
from ..util import plural
from ._app import App
from ._context import get_context, now
from ._options import SinceOpt, WikiOpt
from ._output import note, progress

if TYPE_CHECKING:  # annotations only: the modules load when a command runs (start-up cost)
    from ..services.importing import ImportResult

__all__ = ["app"]

app = App(help="Import existing incident reports from the wiki.")


def _show_import(report: ImportResult) -> None:
    pages = len(report.imported)
    line = (
        f"imported {pages} of {plural(report.listed, 'page')} ({report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged): "
        f"{plural(report.items, 'actionable')} with {plural(report.task_ids, 'task id')}; "
        f"actionables added {report.actionables.added}, updated {report.actionables.updated}, "
        f"unchanged {report.actionables.unchanged}"
    )
    if report.filtered:
        line += f"; {plural(report.filtered, 'page')} before --since left out"
    if report.requests:
        line += f"; {plural(report.requests, 'API request')}"
    note(line)
    answers = sum(page.scorecard_answers for page in report.imported)
    if answers:
        note(f"scorecard answers read: {answers}")
    for title in report.missing:
        note(f"gone when read (deleted since listed): {title}")
    if report.unparsed:
        note(f"{plural(len(report.unparsed), 'page')} not imported:")
        for item in report.unparsed:
            note(f"  {item.page}: {item.reason}")
    problems = [(page.page, problem) for page in report.imported for problem in page.problems]
    if problems:
        note(f"{plural(len(problems), 'thing')} could not be read on imported pages:")
        for title, problem in problems:
            note(f"  {title}: {problem}")


@app.command("import")
def import_(
    ctx: typer.Context,
    prefix: Annotated[
        str | None,
        typer.Option("--prefix", metavar="TEXT", help="Pages whose titles start with TEXT (default: Incidents/)."),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option("--category", metavar="NAME", help="Pages in this category (with --prefix: pages in both)."),
    ] = None,
    since: SinceOpt = None,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay", metavar="DIR", help="Read page texts saved by `import --save` instead of the wiki (offline)."
        ),
    ] = None,
    save: Annotated[
        str | None,
        typer.Option("--save", metavar="DIR", help="Also write every page read to DIR, to import it with --replay."),
    ] = None,
    wiki: WikiOpt = None,
) -> None:
    """Import existing incident reports from the wiki.

    Reads each report's metadata, actionables and scorecard answers into the store. Safe to run
    again: incidents and actionables are updated, never duplicated, and fields set locally are
    kept. Pages that are not reports (redirects, /minutes subpages...) are listed with the reason.
    An incident's date is its title's, else its Start.

    Example:  incidentkit import --prefix "Incidents/" --since 2022-01-01
    """
    # lazy imports: the wiki client and the report reader load when the command runs
    from ..clients.mediawiki import connect_wiki
    from ..model.window import parse_when
    from ..services import importing

    app_ctx = get_context(ctx)
    day = parse_when(since, now=now(), option="--since").date() if since else None
    if replay is not None and (category or save):
        raise InputError(
            "--replay reads saved pages; --category and --save need the wiki",
            hint="leave out --category/--save, or --replay to read the wiki",
        )
    store = app_ctx.store(create=True)
    try:
        with progress("importing") as update:
            if replay is not None:
                report = importing.import_from_dir(
                    store, user_path(replay, what="--replay"), prefix=prefix, since=day, settings=app_ctx.settings, now=now(),
                    progress=update,
                )  # fmt: skip
            else:
                report = importing.import_from_wiki(
                    store, connect_wiki(app_ctx.settings, wiki), prefix=prefix, category=category, since=day,
                    save=user_path(save, what="--save") if save else None, settings=app_ctx.settings, now=now(), progress=update,
                )  # fmt: skip
    except importing.ImportInterrupted as stop:
        _show_import(stop.result)
        note(
            f"Interrupted: {plural(len(stop.result.imported), 'page')} imported and saved (each page is saved whole "
            "or not at all). Run the same import again to go on: pages already imported come out unchanged."
        )
        raise typer.Exit(130) from None
    _show_import(report)
