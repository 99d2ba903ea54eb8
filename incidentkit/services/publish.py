"""Publishing: a draft onto its wiki page, regions spliced, and the managers' dashboard page.

Publishing is conflict-safe: the page is read, the draft's regions are spliced into that revision
and the result is saved with that revision as its base, so an edit made by someone else in between
is either merged by MediaWiki (different lines) or refused with :class:`ConflictError` — nothing is
lost on either side, and running ``publish`` again re-reads the page and re-applies the regions.
Nothing here prints or reads the clock: callers pass ``now``.

What colleagues write into a generated region is not frozen there: before ``publish SLUG``
re-renders the page, the scorecard answers written into the Scorecard table on the wiki are read
into the store (answers filled locally win), so the new draft holds them and the region is
replaced, reported as *merged*. A region is replaced that way only when the draft holds everything
the person wrote in it (:func:`absorbs`); anything else is kept and reported as before.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..clients.mediawiki import PageText, WikiClient
from ..config import Settings
from ..errors import PublishError
from ..model.incident import slugify
from ..model.scorecard import ScoreAnswer, ScorecardDefinition, fill_scorecard
from ..model.time import format_utc
from ..wikitext.regions import Absorbs, SpliceResult, regions, splice
from ..wikitext.reports import Report, Unparsed, parse_report, title_date
from ..wikitext.scorecard import parse_from_wikitext
from .scorecard import definition_path, load_definition

if TYPE_CHECKING:  # annotations only: the store's parts load with the store, when it is opened
    from ..store import Store

__all__ = [
    "RETIRED_REGIONS",
    "PublishPlan",
    "PublishOutcome",
    "plan_publish",
    "absorbs",
    "harvest_scorecard",
    "publish_page",
    "publish_incident",
    "read_draft",
    "find_incident_for_draft",
    "adopt_published_draft",
    "dashboard_text",
    "publish_dashboard",
]


# Regions earlier drafts put on incident pages and drafts no longer make: the source diagnostics
# (now on stderr and in `incidents show`) and the key-moments table (now in Detection).
RETIRED_REGIONS = ("sources", "moments")


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishPlan:
    """What publishing would do to one page. Pure: computed from the page as read and the draft."""

    title: str
    base: PageText | None  # the revision read (None: the page does not exist yet)
    text: str  # the page text to save
    splice: SpliceResult | None  # None when the page is created from the draft
    diff: str  # unified diff of the page, before -> after ("" when nothing changes)
    conflict_diffs: tuple[tuple[str, str], ...] = ()  # (region, diff of the wiki's version -> the draft's)

    @property
    def creates(self) -> bool:
        return self.base is None

    @property
    def changes(self) -> bool:
        return self.base is None or self.text != self.base.text

    @property
    def kept(self) -> tuple[str, ...]:
        """Regions edited on the wiki and kept: the page still differs from the draft there."""
        return self.splice.conflicts if self.splice is not None else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishOutcome:
    """What :func:`publish_page` did; ``saved`` is None for a dry run or when nothing changed."""

    plan: PublishPlan
    saved: PageText | None
    slug: str | None


def _diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=old_name, tofile=new_name
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


_TOTAL_CELL = re.compile(r"(!\s*colspan=\"?2\"?\s*\|[^\n]*\n)\|[^\n]*")


def _comparable(table: str) -> str:
    """The scorecard table without spacing and without its total (derived: nobody updates it by hand)."""
    return re.sub(r"\s+", "", _TOTAL_CELL.sub(r"\1|", table))


def absorbs(definition: ScorecardDefinition) -> Absorbs:
    """The test of whether a draft's region holds everything a person wrote in the page's version.

    Only the scorecard qualifies: its page version must be the table as incidentkit draws it (with
    the questions of *definition*) with only answers and notes changed — re-drawing those answers
    gives the same text, spacing and the derived total aside — and the draft must give every one of
    them unchanged.
    """

    def test(name: str, on_page: str, in_draft: str) -> bool:
        return name == "scorecard" and _scorecard_absorbed(definition, on_page, in_draft)

    return test


def _scorecard_absorbed(definition: ScorecardDefinition, on_page: str, in_draft: str) -> bool:
    # lazy import: the template engine loads only when a page's scorecard was edited (start-up cost)
    from ..wikitext.render import render_template

    written = parse_from_wikitext(on_page, definition)
    redrawn = render_template(
        "scorecard.wiki.j2",
        scorecard=fill_scorecard(
            definition, {k: ScoreAnswer(incident="", key=k, answer=a, note=n) for k, (a, n) in written.items()}
        ),
    )
    if _comparable(redrawn) != _comparable(on_page):
        return False
    drafted = parse_from_wikitext(in_draft, definition)
    return all(drafted.get(key) == value for key, value in written.items())


def plan_publish(
    title: str,
    base: PageText | None,
    draft: str,
    *,
    force: bool = False,
    scorecard: ScorecardDefinition | None = None,
) -> PublishPlan:
    """Plan publishing *draft* onto *base* (the page as read). Raises PublishError for broken markers.

    With the *scorecard* questions, a Scorecard region answered on the wiki whose answers the
    draft holds is replaced (merged), not kept.
    """
    if base is None:
        return PublishPlan(
            title=title, base=None, text=draft, splice=None, diff=_diff("", draft, f"{title} (new page)", title)
        )
    result = splice(
        base.text, draft, force=force, absorbs=absorbs(scorecard) if scorecard is not None else None,
        retired=RETIRED_REGIONS if scorecard is not None else (),
    )  # fmt: skip
    if result.broken:
        reasons = "; ".join(result.reason(name) or name for name in result.broken)
        raise PublishError(
            f"the generated-region markers on {title!r} are damaged ({reasons}); nothing was saved",
            hint="fix the <!-- incidentkit:begin/end NAME --> comments on the wiki (or remove both markers "
            "of a region to take its text over by hand), then publish again",
        )
    page_regions = regions(base.text)
    draft_regions = regions(draft)
    conflict_diffs = tuple(
        (
            name,
            _diff(
                page_regions[name].content + "\n",
                draft_regions[name].content + "\n",
                f"{name} (on the wiki, edited by hand)",
                f"{name} (new draft)",
            ),
        )
        for name in (*result.conflicts, *result.forced)
    )
    return PublishPlan(
        title=title,
        base=base,
        text=result.text,
        splice=result,
        diff=_diff(base.text, result.text, f"{title} (revision {base.revid})", f"{title} (after publish)"),
        conflict_diffs=conflict_diffs,
    )


def _default_summary(plan: PublishPlan) -> str:
    if plan.splice is None:
        return "incidentkit: create the incident report draft"
    names = [*plan.splice.replaced, *plan.splice.merged, *plan.splice.forced, *plan.splice.added, *plan.splice.removed]
    return "incidentkit: update generated sections (" + ", ".join(names) + ")" if names else "incidentkit: update"


def _record_publication(store: Store, slug: str, wiki: WikiClient, saved: PageText) -> None:
    # lazy import: the search index (and the timeline it reads) loads only when the published page
    # belongs to an incident, not for every draft file (start-up cost)
    from .search import index_page

    store.record_publication(
        slug, wiki=wiki.name, page=saved.title, revision=saved.revid, page_timestamp=format_utc(saved.timestamp)
    )
    index_page(store, slug, saved.text, saved.revid)


def publish_page(
    wiki: WikiClient,
    store: Store | None,
    *,
    title: str,
    draft: str,
    slug: str | None = None,
    summary: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    scorecard: ScorecardDefinition | None = None,
    read: Callable[[], PageText | None] | None = None,
) -> PublishOutcome:
    """Create *title* from *draft*, or update its generated regions; record the page in the store.

    The store records page, wiki and revision on incident *slug* (or the incident already known
    for that page). *scorecard*: see :func:`plan_publish`. *read* gives the page as it is now
    (default: read it here), e.g. a read started earlier in the background. Raises ConflictError
    when the page changed underneath, PublishError otherwise.
    """
    base = read() if read is not None else wiki.read(title)
    return _publish_read(
        wiki, store, title=title, base=base, draft=draft, slug=slug, summary=summary, force=force,
        dry_run=dry_run, scorecard=scorecard,
    )  # fmt: skip


def harvest_scorecard(store: Store, slug: str, page: PageText, settings: Settings) -> tuple[str, ...]:
    """Read the answers written into the page's Scorecard region into the store (as the page's,
    revision noted); an answer filled locally is kept. Returns the question keys taken."""
    region = regions(page.text).get("scorecard")
    if region is None or not region.edited:
        return ()
    written = parse_from_wikitext(region.content, load_definition(definition_path(settings)))
    if not written:
        return ()
    saved = store.save_scorecard_answers(slug, dict(written), reviewer=None, source="import", revision=page.revid)
    return saved.written


def publish_incident(
    wiki: WikiClient,
    store: Store,
    slug: str,
    settings: Settings,
    *,
    title: str,
    summary: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> PublishOutcome:
    """Publish recorded incident *slug* as page *title*: read the page, take the scorecard answers
    written on it into the store, re-render the draft from the store, splice. A dry run shows the
    same page and keeps nothing (the answers are read back out of the store afterwards).
    """
    base = wiki.read(title)
    draft = _draft_with_page_answers(store, slug, base, settings, keep=not dry_run)
    return _publish_read(
        wiki, store, title=title, base=base, draft=draft, slug=slug, summary=summary, force=force, dry_run=dry_run,
        scorecard=load_definition(definition_path(settings)),
    )  # fmt: skip


class _RolledBack(Exception):
    """Carries a dry run's draft out of the transaction it undoes."""

    def __init__(self, text: str) -> None:
        super().__init__("dry run")
        self.text = text


def _draft_with_page_answers(
    store: Store, slug: str, base: PageText | None, settings: Settings, *, keep: bool
) -> str:
    """The incident's draft once the scorecard answers written on *base* are in the store; without
    *keep* they are taken back out (the transaction is undone), so a dry run changes nothing."""
    # lazy import: drafting (and its template engine) loads only to publish a recorded incident,
    # not a draft file (start-up cost)
    from .draft import redraft

    if base is None:
        return redraft(store, slug, settings).text
    try:
        with store.transaction():
            harvest_scorecard(store, slug, base, settings)
            text = redraft(store, slug, settings).text
            if not keep:
                raise _RolledBack(text)
    except _RolledBack as undone:
        return undone.text
    return text


def _publish_read(
    wiki: WikiClient,
    store: Store | None,
    *,
    title: str,
    base: PageText | None,
    draft: str,
    slug: str | None,
    summary: str | None,
    force: bool,
    dry_run: bool,
    scorecard: ScorecardDefinition | None = None,
) -> PublishOutcome:
    plan = plan_publish(title, base, draft, force=force, scorecard=scorecard)
    if store is not None and slug is None:
        known = store.find_incident_by_page(title) or store.find_incident_by_page(base.title if base else title)
        slug = known.slug if known else None
    if dry_run or not plan.changes:
        if not dry_run and base is not None and store is not None and slug is not None:
            _record_publication(store, slug, wiki, base)
        return PublishOutcome(plan=plan, saved=None, slug=slug)
    saved = wiki.save(title, plan.text, summary=summary or _default_summary(plan), base=base)
    if store is not None and slug is not None:
        _record_publication(store, slug, wiki, saved)
    return PublishOutcome(plan=plan, saved=saved, slug=slug)


def read_draft(title: str, draft: str, settings: Settings) -> Report | Unparsed:
    """A draft FILE to be published as *title*, read like an imported page: read once, for
    :func:`find_incident_for_draft` and :func:`adopt_published_draft` both."""
    return parse_report(title, draft, scorecard=load_definition(definition_path(settings)))


def find_incident_for_draft(store: Store, report: Report | Unparsed) -> str | None:
    """The incident a draft FILE (*report*, see :func:`read_draft`) belongs to: the one published
    as its title, else the one its Incident ID names (``YYYY-MM-DD title``, as ``draft`` writes it).
    Reads only."""
    known = store.find_incident_by_page(report.page)
    if known is not None:
        return known.slug
    ident = report.metadata.get("incident_id", "") if isinstance(report, Report) else ""
    day, _ = title_date(ident)
    name = re.sub(r"^\s*\d{4}-?\d{2}-?\d{2}\s*", "", ident)
    if day is None or not name:
        return None
    slug = slugify(name, day)
    if store.get_incident(slug) is not None:
        return slug
    prefix = f"{day:%Y-%m-%d}_"  # a title set with `incidents edit` no longer gives the slug
    renamed = [r.slug for r in store.list_incidents() if r.slug.startswith(prefix) and r.title == name]
    return renamed[0] if len(renamed) == 1 else None


def adopt_published_draft(
    store: Store, saved: PageText, report: Report | Unparsed, draft: str, *, wiki: str, settings: Settings, now: datetime
) -> str | None:
    """Record a published draft FILE that no incident knew as a new incident (read like an import).
    *report* is the *draft* as :func:`read_draft` read it; it is read again under the title the
    wiki saved it as when the wiki wrote the title otherwise."""
    if report.page != saved.title:
        report = read_draft(saved.title, draft, settings)
    if isinstance(report, Unparsed):
        return None
    # lazy imports: importing and the search index load only to adopt a new incident (start-up cost)
    from .importing import store_report
    from .search import index_page

    imported, _, _ = store_report(store, report, wiki=wiki, page=saved, settings=settings, now=now)
    index_page(store, imported.slug, saved.text, saved.revid)
    return imported.slug



def dashboard_text(store: Store, *, now: datetime) -> str:
    """The dashboard page's wikitext: open actionables by owner and by incident, overdue flagged,
    and how fresh their statuses are (when sync last saw them, or that it never did)."""
    # lazy imports: the template engine loads only for the dashboard, not to publish a draft file
    from ..wikitext.render import SAFE_TITLE, render_dashboard
    from .reporting import open_actionables_for_dashboard

    dashboard = open_actionables_for_dashboard(store, now)
    pages = {
        record.slug: record.page
        for record in store.list_incidents()
        if record.page and SAFE_TITLE.match(record.page)
    }
    items = [item.actionable for group in dashboard.by_owner for item in group.items]
    synced = [a.synced_at for a in items if a.synced_at is not None]
    never = sum(1 for a in items if a.task and a.synced_at is None)
    return render_dashboard(dashboard, pages, last_synced=max(synced) if synced else None, never_synced=never)


def publish_dashboard(
    wiki: WikiClient,
    store: Store,
    *,
    title: str,
    now: datetime,
    summary: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> PublishOutcome:
    """Write the dashboard page, regenerating its one region in place; text around it is kept."""
    text = dashboard_text(store, now=now)
    return publish_page(
        wiki,
        None,
        title=title,
        draft=text,
        summary=summary or f"incidentkit: open incident actionables as of {format_utc(now, seconds=False)}",
        force=force,
        dry_run=dry_run,
    )
