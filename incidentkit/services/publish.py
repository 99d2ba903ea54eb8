"""Publishing: a draft onto its wiki page, regions spliced, and the managers' dashboard page.

Publishing is conflict-safe: the page is read, the draft's regions are spliced into that revision
and the result is saved with that revision as its base, so an edit made by someone else in between
is either merged by MediaWiki (different lines) or refused with :class:`ConflictError` — nothing is
lost on either side, and running ``publish`` again re-reads the page and re-applies the regions.
Nothing here prints or reads the clock: callers pass ``now``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from ..clients.mediawiki import PageText, WikiClient
from ..config import Settings
from ..errors import PublishError
from ..model.incident import slugify
from ..model.time import format_utc
from ..store import Store
from ..wikitext.regions import SpliceResult, regions, splice
from ..wikitext.render import SAFE_TITLE, render_dashboard
from ..wikitext.reports import Report, Unparsed, parse_report, title_date
from .importing import store_report
from .reporting import open_actionables_for_dashboard
from .scorecard import definition_path, load_definition
from .search import index_page

__all__ = [
    "PublishPlan",
    "PublishOutcome",
    "plan_publish",
    "publish_page",
    "find_incident_for_draft",
    "adopt_published_draft",
    "dashboard_text",
    "publish_dashboard",
]








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


def plan_publish(title: str, base: PageText | None, draft: str, *, force: bool = False) -> PublishPlan:
    """Plan publishing *draft* onto *base* (the page as read). Raises PublishError for broken markers."""
    if base is None:
        return PublishPlan(
            title=title, base=None, text=draft, splice=None, diff=_diff("", draft, f"{title} (new page)", title)
        )
    result = splice(base.text, draft, force=force)
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
    names = [*plan.splice.replaced, *plan.splice.forced, *plan.splice.added]
    return "incidentkit: update generated sections (" + ", ".join(names) + ")" if names else "incidentkit: update"


def _record_publication(store: Store, slug: str, wiki: WikiClient, saved: PageText) -> None:
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
) -> PublishOutcome:
    """Create *title* from *draft*, or update its generated regions; record the page in the store.

    The store records page, wiki and revision on incident *slug* (or the incident already known
    for that page). Raises ConflictError when the page changed underneath, PublishError otherwise.
    """
    base = wiki.read(title)
    plan = plan_publish(title, base, draft, force=force)
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


def find_incident_for_draft(store: Store, title: str, draft: str) -> str | None:
    """The incident a draft FILE belongs to: the one published as *title*, else the one its
    Incident ID names (``YYYY-MM-DD title``, as ``draft`` writes it). Reads only."""
    known = store.find_incident_by_page(title)
    if known is not None:
        return known.slug
    report = parse_report(title, draft)
    ident = report.metadata.get("incident_id", "") if isinstance(report, Report) else ""
    day, _ = title_date(ident)
    name = re.sub(r"^\s*\d{4}-?\d{2}-?\d{2}\s*", "", ident)
    if day is None or not name:
        return None
    slug = slugify(name, day)
    return slug if store.get_incident(slug) is not None else None


def adopt_published_draft(
    store: Store, saved: PageText, draft: str, *, wiki: str, settings: Settings, now: datetime
) -> str | None:
    """Record a published draft FILE that no incident knew as a new incident (read like an import)."""
    report = parse_report(saved.title, draft, scorecard=load_definition(definition_path(settings)))
    if isinstance(report, Unparsed):
        return None
    imported, _ = store_report(store, report, wiki=wiki, page=saved, settings=settings, now=now)
    index_page(store, imported.slug, saved.text, saved.revid)
    return imported.slug



def dashboard_text(store: Store, *, now: datetime) -> str:
    """The dashboard page's wikitext: open actionables by owner and by incident, overdue flagged."""
    dashboard = open_actionables_for_dashboard(store, now)
    pages = {
        record.slug: record.page
        for record in store.list_incidents()
        if record.page and SAFE_TITLE.match(record.page)
    }
    return render_dashboard(dashboard, pages)


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
