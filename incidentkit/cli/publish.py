"""``incidentkit publish``: create the incident page on the wiki, or update its generated parts."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import user_path
from ..errors import InputError
from ._app import App
from ._context import AppContext, get_context, now
from ._options import DryRunOpt, ForceOpt, PageOpt, SummaryOpt, WikiOpt
from ._output import note

if TYPE_CHECKING:  # annotations only: the modules load when a command runs (start-up cost)
    from ..services.publish import PublishOutcome

__all__ = ["app", "show_publication", "check_page"]

app = App(help="Create or update the incident page on the wiki.")

_IRDOC = re.compile(r"\{\{\s*irdoc", re.IGNORECASE)  # the report template: {{irdoc|status=...}}, {{irdoc-draft}}...
_DRAFT_HINT = "give a file written by `incidentkit draft -o FILE`, or a recorded incident's slug"


def check_page(title: str) -> str:
    """*title* as given to ``--page``, or an InputError saying why the wiki would refuse it."""
    from ..wikitext.titles import title_problem  # lazy import: loaded when the command runs

    problem = title_problem(title)
    if problem:
        raise InputError(
            f"--page {title!r} is not a valid page title: {problem}",
            hint="give the title as the wiki shows it, e.g. --page 'Incidents/2026-11-20 Example'",
        )
    return title


def read_draft_file(target: str) -> str | None:
    """The text of the draft FILE *target* names; None when *target* is not a path (a slug).

    A folder, a file that is not UTF-8 or not an incident draft, or a missing path that looks
    like one, is an InputError saying so.
    """
    path = user_path(target, what="publish TARGET")
    try:
        exists = path.exists()
    except OSError:  # a name the system cannot hold (too long) names no file
        exists = False
    if not exists:
        if "/" in target or "\\" in target or path.suffix:
            raise InputError(f"there is no file {target}", hint=_DRAFT_HINT)
        return None
    if path.is_dir():
        raise InputError(f"{target} is a folder, not a draft file", hint=_DRAFT_HINT)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {target}: {exc.strerror}", hint="check the file's permissions") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{target} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="drafts are UTF-8; write one with `incidentkit draft -o FILE`",
        ) from exc
    if not _IRDOC.search(text):
        raise InputError(f"{target} is not an incident draft (it has no {{{{irdoc}}}} template)", hint=_DRAFT_HINT)
    return text


def show_publication(outcome: PublishOutcome, *, dry_run: bool, app_ctx: AppContext) -> None:
    """Print what publishing did: the diff (dry run), hand-edited regions and their diffs, the revision."""
    plan = outcome.plan
    if dry_run:
        app_ctx.output.write(plan.diff or f"(no change to {plan.title})\n")
    result = plan.splice
    if result is not None:
        for name in result.conflicts:
            note(f"kept region {name!r}: it was edited on the wiki (--force overwrites it)")
        for name in result.merged:
            note(f"region {name!r} was answered on the wiki: the answers are in the store and on the page")
        for name in result.removed:
            note(f"removed region {name!r}: drafts no longer make it")
        for name in result.forced:
            note(f"overwrote region {name!r} although it was edited on the wiki (--force)")
        for name in result.skipped:
            note(f"warning: {result.reason(name)}")
        for _, diff in plan.conflict_diffs:
            app_ctx.output.write(diff)
    if dry_run:
        verb = "would create" if plan.creates else "would update"
        note(f"dry run: {verb if plan.changes else 'would not change'} {plan.title}; nothing written")
    elif outcome.saved is None:
        note(f"{plan.title}: nothing to update")
    else:
        done = "created" if plan.creates else "updated"
        names = [] if result is None else [*result.replaced, *result.merged, *result.forced, *result.added]
        what = f" ({', '.join(names)})" if names else ""
        note(f"{done} {outcome.saved.title}{what}: revision {outcome.saved.revid}")
    if plan.kept:
        note(f"the page still differs from the draft in: {', '.join(plan.kept)}")
    if outcome.slug and not dry_run:
        note(f"recorded on incident {outcome.slug}")


@app.command()
def publish(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="INCIDENT|FILE",
            help="A recorded incident's slug (drafted again from the store) or a draft file.",
            show_default=False,
        ),
    ],
    page: PageOpt = None,
    wiki: WikiOpt = None,
    dry_run: DryRunOpt = False,
    summary: SummaryOpt = None,
    force: ForceOpt = False,
) -> None:
    """Create or update the incident page on the wiki.

    A new page gets the whole draft; an existing one only its generated sections, so text written
    around them on the wiki is kept. Sections edited by hand are kept (and the difference shown)
    unless --force. A concurrent edit stops the save with an edit-conflict error (exit 3); run
    publish again. Logs in with the bot password from the environment variable named by
    [wikis.NAME] password_env.

    Example:  incidentkit publish 2023-02-14_backport-crash --page "Incidents/2023-02-14 Backport crash" --dry-run
    """
    app_ctx = get_context(ctx)
    draft = read_draft_file(target)
    if draft is None:
        outcome = _publish_recorded(app_ctx, target, page, wiki, summary=summary, force=force, dry_run=dry_run)
    else:
        outcome = _publish_file(app_ctx, draft, page, wiki, summary=summary, force=force, dry_run=dry_run)
    show_publication(outcome, dry_run=dry_run, app_ctx=app_ctx)


def _required_page(page: str | None) -> str:
    if not page:
        raise InputError("--page is required", hint="give the wiki page title, e.g. --page 'Incidents/2026-11-20 Example'")
    return check_page(page)


def _publish_recorded(
    app_ctx: AppContext, slug: str, page: str | None, wiki: str | None, *, summary: str | None, force: bool, dry_run: bool
) -> PublishOutcome:
    """Publish recorded incident *slug*, drafted again from the store."""
    # lazy imports: the wiki client and the publishing service load when the command runs
    from ..clients.mediawiki import connect_wiki
    from ..services import publish as publishing

    store = app_ctx.store()
    record = store.require_incident(slug)
    title = _required_page(page or record.page)
    client = connect_wiki(app_ctx.settings, wiki)
    return publishing.publish_incident(
        client, store, record.slug, app_ctx.settings, title=title, summary=summary, force=force, dry_run=dry_run
    )


def _publish_file(
    app_ctx: AppContext, draft: str, page: str | None, wiki: str | None, *, summary: str | None, force: bool, dry_run: bool
) -> PublishOutcome:
    """Publish the text of a draft file; a draft no incident knows is recorded as a new one."""
    from ..clients.mediawiki import connect_wiki  # lazy import: loads when the command runs
    from ..util import Background

    title = _required_page(page)
    client = connect_wiki(app_ctx.settings, wiki)
    # The page is read (the wiki connected to and logged in to first) in the background while the
    # publishing service loads, the store opens and the draft is read: that start-up work overlaps
    # the wiki's answers instead of adding to them. The modules load here, after the read started.
    with Background(client.read, title) as reading:
        from ..services import publish as publishing
        from ..services.scorecard import definition_path, load_definition

        store = app_ctx.store(create=True)
        report = publishing.read_draft(title, draft, app_ctx.settings)
        outcome = publishing.publish_page(
            client, store, title=title, draft=draft, slug=publishing.find_incident_for_draft(store, report),
            summary=summary, force=force, dry_run=dry_run, scorecard=load_definition(definition_path(app_ctx.settings)),
            read=reading.result,
        )  # fmt: skip
    if outcome.saved is not None and outcome.slug is None:
        adopted = publishing.adopt_published_draft(
            store, outcome.saved, report, draft, wiki=client.name, settings=app_ctx.settings, now=now()
        )
        outcome = replace(outcome, slug=adopted)
    return outcome
