"""``incidentkit publish`` and ``incidentkit import``: the wiki round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..clients.mediawiki import connect_wiki
from ..config import read_text_if_file, user_path
from ..errors import InputError
from ..model.window import parse_when
from ..services import importing
from ..services import publish as publishing
from ..services.importing import ImportResult
from ..services.publish import PublishOutcome
from ._context import err, get_context, is_terminal, now, out

__all__ = ["register", "WikiOpt", "DryRunOpt", "SummaryOpt", "ForceOpt", "show_publication"]

WikiOpt = Annotated[str | None, typer.Option("--wiki", help="Which configured wiki ([wikis.NAME]); default: the first.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the unified diff of the page; write nothing.")]
SummaryOpt = Annotated[str | None, typer.Option("--summary", help="Edit summary (default: says what was updated).")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Overwrite generated sections even where someone edited them on the wiki.")
]


def show_publication(outcome: PublishOutcome, *, dry_run: bool) -> None:
    """Print what publishing did: the diff (dry run), hand-edited regions and their diffs, the revision."""
    plan = outcome.plan
    if dry_run:
        out.file.write(plan.diff or f"(no change to {plan.title})\n")
    result = plan.splice
    if result is not None:
        for name in result.conflicts:
            err.print(f"kept region {name!r}: it was edited on the wiki (--force overwrites it)", markup=False)
        for name in result.forced:
            err.print(f"overwrote region {name!r} although it was edited on the wiki (--force)", markup=False)
        for name in result.skipped:
            err.print(f"warning: {result.reason(name)}", markup=False)
        for _, diff in plan.conflict_diffs:
            out.file.write(diff)
    verb = "would create" if dry_run and plan.creates else "would update" if dry_run else ""
    if dry_run:
        err.print(f"dry run: {verb if plan.changes else 'would not change'} {plan.title}; nothing written", markup=False)
    elif outcome.saved is None:
        err.print(f"{plan.title} is already up to date", markup=False)
    else:
        done = "created" if plan.creates else "updated"
        names = [] if result is None else [*result.replaced, *result.forced, *result.added]
        what = f" ({', '.join(names)})" if names else ""
        err.print(f"{done} {outcome.saved.title}{what}: revision {outcome.saved.revid}", markup=False)
    if outcome.slug and not dry_run:
        err.print(f"recorded on incident {outcome.slug}", markup=False)


def publish(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="INCIDENT|FILE", help="An incident slug (re-drafted from the store) or a draft file.")],
    page: Annotated[str | None, typer.Option("--page", help="Page title, e.g. 'Incidents/2026-11-20 Example' (default: where the incident was published).")] = None,
    wiki: WikiOpt = None,
    dry_run: DryRunOpt = False,
    summary: SummaryOpt = None,
    force: ForceOpt = False,
) -> None:
    """Create the incident page, or update only its generated sections; text outside them is kept.

    Sections edited by hand on the wiki are kept (and the difference shown) unless --force. A
    concurrent edit stops the save with an edit-conflict error; run publish again. Logs in with the
    bot password from the env var named by wikis.NAME.password_env.

    Example:  incidentkit publish 2026-11-20_example --page "Incidents/2026-11-20 Example" --dry-run
    """
    app = get_context(ctx)
    store = app.store()
    draft = read_text_if_file(
        user_path(target, what="publish TARGET"), what="draft file", hint="give a file written by `draft -o FILE`, or a slug"
    )
    if draft is not None:
        slug = None
    else:
        from ..services.draft import redraft

        record = store.require_incident(target)
        draft = redraft(store, record.slug, app.settings, now())
        slug = record.slug
        page = page or record.page
    if not page:
        raise InputError("--page is required", hint="give the wiki page title, e.g. --page 'Incidents/2026-11-20 Example'")
    client = connect_wiki(app.settings, wiki)
    outcome = publishing.publish_page(
        client, store, title=page, draft=draft, slug=slug or publishing.find_incident_for_draft(store, page, draft),
        summary=summary, force=force, dry_run=dry_run,
    )  # fmt: skip
    if outcome.saved is not None and outcome.slug is None:
        adopted = publishing.adopt_published_draft(
            store, outcome.saved, draft, wiki=client.name, settings=app.settings, now=now()
        )
        outcome = replace(outcome, slug=adopted)
    show_publication(outcome, dry_run=dry_run)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on a terminal (None elsewhere: cron logs stay clean)."""
    if not is_terminal():
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _show_import(report: ImportResult) -> None:
    pages = len(report.imported)
    line = (
        f"imported {pages} of {report.listed} pages ({report.created} new, {pages - report.created} updated): "
        f"{report.items} actionables with {report.task_ids} task ids; "
        f"actionables added {report.actionables.added}, updated {report.actionables.updated}, "
        f"unchanged {report.actionables.unchanged}"
    )
    if report.filtered:
        line += f"; {report.filtered} pages before --since left out"
    if report.requests:
        line += f"; {report.requests} API requests"
    err.print(line, markup=False)
    answers = sum(page.scorecard_answers for page in report.imported)
    if answers:
        err.print(f"scorecard answers read: {answers}", markup=False)
    for title in report.missing:
        err.print(f"gone when read (deleted since listed): {title}", markup=False)
    if report.unparsed:
        err.print(f"{len(report.unparsed)} pages not imported:", markup=False)
        for item in report.unparsed:
            err.print(f"  {item.page}: {item.reason}", markup=False)
    problems = [(page.page, problem) for page in report.imported for problem in page.problems]
    if problems:
        err.print(f"{len(problems)} things could not be read on imported pages:", markup=False)
        for title, problem in problems:
            err.print(f"  {title}: {problem}", markup=False)


def import_(
    ctx: typer.Context,
    prefix: Annotated[str | None, typer.Option("--prefix", help="Import the pages whose titles start with this (default: Incidents/).")] = None,
    category: Annotated[str | None, typer.Option("--category", help="Import the pages in this category (with --prefix: pages in both).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only incidents on or after this date (by the title's date, else Start).")] = None,
    input: Annotated[Path | None, typer.Option("--input", "-i", help="Import saved page texts from this folder instead (offline).")] = None,
    save: Annotated[Path | None, typer.Option("--save", help="Also write every page read to this folder (for --input later).")] = None,
    wiki: WikiOpt = None,
) -> None:
    """Import existing incident reports into the store: metadata, actionables, scorecard answers.

    Safe to re-run: incidents and actionables are updated, never duplicated, and fields set locally
    are kept. Pages that are not reports (redirects, /minutes subpages, ...) are listed with the reason.

    Example:  incidentkit import --prefix "Incidents/" --since 2022-01-01
    """
    app = get_context(ctx)
    day = parse_when(since, now=now(), option="--since").date() if since else None
    store = app.store()
    with progress_bar("importing") as progress:
        if input is not None:
            if category or save:
                raise InputError("--input reads saved pages; --category and --save need the wiki")
            report = importing.import_from_dir(
                store, user_path(input, what="--input"), prefix=prefix, since=day, settings=app.settings, now=now(),
                progress=progress,
            )
        else:
            report = importing.import_from_wiki(
                store, connect_wiki(app.settings, wiki), prefix=prefix, category=category, since=day,
                save=user_path(save, what="--save") if save else None, settings=app.settings, now=now(), progress=progress,
            )  # fmt: skip
    _show_import(report)


def register(app: typer.Typer) -> None:
    """Add ``publish`` and ``import`` to the root app."""
    app.command("publish")(publish)
    app.command("import")(import_)
