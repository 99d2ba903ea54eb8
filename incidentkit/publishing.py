"""The wiki round trip: publish a draft, publish the managers' dashboard, import existing reports.

Orchestration only. Talking to the wiki is :mod:`incidentkit.wiki`'s job, splicing generated
regions :mod:`incidentkit.regions`', reading reports :mod:`incidentkit.reports`', and SQL the
store's. Nothing here prints or reads the clock: callers pass ``now`` and a ``progress`` callback.

Publishing is conflict-safe: the page is read, the draft's regions are spliced into that revision
and the result is saved with that revision as its base, so an edit made by someone else in between
is either merged by MediaWiki (different lines) or refused with :class:`ConflictError` — nothing is
lost on either side, and running ``publish`` again re-reads the page and re-applies the regions.

Import is idempotent: an incident is found again by its page (or its slug), fields set locally
are locked and kept, actionables are matched by task (or, for free-text ones, by title), and
locally filled scorecard answers win over the page's.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, unquote

from . import actionables
from .actionables import ImportedActionable, UpsertResult
from .config import Settings
from .errors import InputError, PublishError
from .incident import slugify
from .regions import SpliceResult, regions, splice
from .render import render_template
from .reports import ItemStatus, Report, Unparsed, parse_report, title_date
from .store import IncidentRecord, Store
from .wiki import BATCH_SIZE, PageText, WikiClient
from .window import format_utc

__all__ = [
    "PublishPlan",
    "PublishOutcome",
    "ImportedPage",
    "ImportReport",
    "plan_publish",
    "publish_page",
    "find_incident_for_draft",
    "adopt_published_draft",
    "render_dashboard",
    "publish_dashboard",
    "import_reports",
    "import_from_wiki",
    "import_from_dir",
    "list_report_pages",
    "save_page_text",
    "page_file_name",
    "imported_items",
    "DEFAULT_PREFIX",
    "PAGE_SUFFIXES",
]

DEFAULT_PREFIX = "Incidents/"
PAGE_SUFFIXES = (".wiki", ".wikitext", ".mediawiki", ".txt")
Progress = Callable[[int, int], None]


# --- publish ---------------------------------------------------------------------------------------


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
    slug = slugify(name, datetime(day.year, day.month, day.day))
    return slug if store.get_incident(slug) is not None else None


def adopt_published_draft(
    store: Store, saved: PageText, draft: str, *, wiki: str, settings: Settings, now: datetime
) -> str | None:
    """Record a published draft FILE that no incident knew as a new incident (read like an import)."""
    report = parse_report(saved.title, draft)
    if isinstance(report, Unparsed):
        return None
    imported, _ = _store_report(store, report, wiki=wiki, page=saved, settings=settings, now=now)
    return imported.slug


# --- the managers' dashboard -------------------------------------------------------------------------

_SAFE_TITLE = re.compile(r"^[^\[\]{}|#<>\n\r]+$")


def render_dashboard(store: Store, *, now: datetime) -> str:
    """The dashboard page's wikitext: open actionables by owner and by incident, overdue flagged."""
    dashboard = actionables.open_actionables_for_dashboard(store, now)
    pages = {
        record.slug: record.page
        for record in store.list_incidents()
        if record.page and _SAFE_TITLE.match(record.page)
    }
    return render_template("dashboard.wiki.j2", dashboard=dashboard, pages=pages)


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
    text = render_dashboard(store, now=now)
    return publish_page(
        wiki,
        None,
        title=title,
        draft=text,
        summary=summary or f"incidentkit: open incident actionables as of {format_utc(now, seconds=False)}",
        force=force,
        dry_run=dry_run,
    )


# --- import ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedPage:
    """One page that went into the store."""

    page: str
    slug: str
    created: bool
    actionables: int  # items read from the page
    tasks: tuple[str, ...]  # task ids among them
    placeholders: int
    scorecard_answers: int
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    """What an import did: pages in, pages not parsed (with the reason), actionables recorded."""

    listed: int
    imported: tuple[ImportedPage, ...] = ()
    unparsed: tuple[Unparsed, ...] = ()
    missing: tuple[str, ...] = ()  # listed but gone when read
    filtered: int = 0  # before --since
    actionables: UpsertResult = field(default_factory=UpsertResult)
    requests: int = 0  # API requests sent to the wiki (0 offline)

    @property
    def created(self) -> int:
        return sum(1 for page in self.imported if page.created)

    @property
    def items(self) -> int:
        return sum(page.actionables for page in self.imported)

    @property
    def task_ids(self) -> int:
        return sum(len(page.tasks) for page in self.imported)


_STATUS_HINTS = {
    ItemStatus.done: "done",
    ItemStatus.not_done: "open",
    ItemStatus.wont_do: "wont-do",
    ItemStatus.in_progress: "in-progress",
    ItemStatus.unresolved: "open",
    ItemStatus.dropped: "wont-do",
    ItemStatus.unknown: None,
}


def imported_items(report: Report) -> list[ImportedActionable]:
    """The page's actionables as the actionables store takes them: one per task, or one free-text idea.

    A sub-bullet with a task of its own is an actionable; one without is part of its parent (its
    text goes into the parent's raw text).
    """
    items: list[ImportedActionable] = []
    details: dict[int, list[str]] = {}
    for item in report.actionables:
        if item.parent is not None and not item.tasks:
            details.setdefault(item.parent, []).append(item.raw)
    for index, item in enumerate(report.actionables):
        if item.parent is not None and not item.tasks:
            continue
        raw = "\n".join([item.raw, *details.get(index, [])])
        hint = _STATUS_HINTS[item.status]
        title = item.text or (item.tasks[0] if item.tasks else "")
        if not title:
            continue
        for task in item.tasks or (None,):
            items.append(ImportedActionable(title=title, task=task, status=hint, owner=item.owner, raw_text=raw))
    return items


def _incident_title(report: Report) -> str:
    """The incident's name without the date: "2022-03-01 ulsfo network" -> "ulsfo network"."""
    stripped = re.sub(r"^\s*\d{4}-?\d{2}-?\d{2}(?:[-_ ]+\d{4}-?\d{2}-?\d{2})?[-_ :]*", "", report.name).strip()
    return stripped or report.name


def _slug_for(store: Store, report: Report) -> tuple[str, IncidentRecord | None]:
    """The incident slug for *report*: the one already holding its page, else a new or matching one."""
    known = store.find_incident_by_page(report.page)
    if known is not None:
        return known.slug, known
    title = _incident_title(report)
    if report.date is not None:
        base = slugify(title, datetime(report.date.year, report.date.month, report.date.day))
    else:
        raw = re.search(r"\d{4}-?\d{2}-?\d{2}", report.name)
        words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "incident"
        base = f"{raw.group(0) if raw else 'undated'}_{words}"[:80]
    candidate, number = base, 1
    while True:
        existing = store.get_incident(candidate)
        if existing is None:
            return candidate, None
        same_report = existing.page is None or existing.page.endswith(report.name)
        if same_report:
            return candidate, existing
        number += 1
        candidate = f"{base}-{number}"


def _store_report(
    store: Store,
    report: Report,
    *,
    wiki: str | None,
    page: PageText | None,
    settings: Settings,
    now: datetime,
) -> tuple[ImportedPage, UpsertResult]:
    with store.transaction():  # one page, one atomic write
        return _store_report_once(store, report, wiki=wiki, page=page, settings=settings, now=now)


def _store_report_once(
    store: Store,
    report: Report,
    *,
    wiki: str | None,
    page: PageText | None,
    settings: Settings,
    now: datetime,
) -> tuple[ImportedPage, UpsertResult]:
    slug, existing = _slug_for(store, report)
    metadata = {**(existing.metadata if existing else {}), **report.metadata}
    record = IncidentRecord(
        slug=slug,
        title=existing.title if existing else _incident_title(report),
        start=format_utc(report.start) if report.start else (existing.start if existing else None),
        end=format_utc(report.end) if report.end else (existing.end if existing else None),
        task=report.task,
        status=report.status or (existing.status if existing else "unknown"),
        wiki=wiki,
        page=page.title if page else report.page,
        revision=page.revid if page else None,
        page_timestamp=format_utc(page.timestamp) if page else None,
        origin="import",
        metadata=metadata,
    )
    store.save_incident(record, respect_locked=True)
    upserted = actionables.upsert_imported(store, slug, imported_items(report), settings=settings, now=now)
    answers = 0
    if report.scorecard:
        saved = store.save_scorecard_answers(
            slug, dict(report.scorecard), reviewer=None, source="import", revision=page.revid if page else None
        )
        answers = len(saved.written)
    imported = ImportedPage(
        page=report.page,
        slug=slug,
        created=existing is None,
        actionables=len(report.actionables),
        tasks=report.task_ids,
        placeholders=report.placeholders,
        scorecard_answers=answers,
        problems=report.problems,
    )
    return imported, upserted


def _add(total: UpsertResult, more: UpsertResult) -> UpsertResult:
    return UpsertResult(total.added + more.added, total.updated + more.updated, total.unchanged + more.unchanged)


def _before(name: str, since: date | None) -> bool:
    """True when the title's own date is before *since* (pages without one are read and checked later)."""
    if since is None:
        return False
    day, _ = title_date(name)
    return day is not None and day < since


def import_reports(
    store: Store,
    pages: Iterable[tuple[str, str, PageText | None]],
    *,
    total: int,
    wiki: str | None,
    prefix: str = DEFAULT_PREFIX,
    since: date | None = None,
    settings: Settings,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Parse and store each ``(title, text, revision)`` of *pages*; *total* sizes the progress bar.

    Pages dated before *since* (by title, else by the Start field), or without a date when *since*
    is given, are counted in ``filtered``.
    """
    imported: list[ImportedPage] = []
    unparsed: list[Unparsed] = []
    filtered = 0
    upserts = UpsertResult()
    for done, (title, text, page) in enumerate(pages, start=1):
        report = parse_report(title, text, prefix=prefix)
        if isinstance(report, Unparsed):
            unparsed.append(report)
        elif since is not None and (report.date is None or report.date < since):
            filtered += 1
        else:
            page_result, upserted = _store_report(store, report, wiki=wiki, page=page, settings=settings, now=now)
            imported.append(page_result)
            upserts = _add(upserts, upserted)
        if progress:
            progress(done, total)
    return ImportReport(
        listed=total, imported=tuple(imported), unparsed=tuple(unparsed), filtered=filtered, actionables=upserts
    )


def list_report_pages(wiki: WikiClient, *, prefix: str | None, category: str | None) -> list[str]:
    """The titles to import: under *prefix*, in *category*, or (both given) in both."""
    if category and prefix:
        members = set(wiki.list_category(category))
        return [title for title in wiki.list_prefix(prefix) if title in members]
    if category:
        return wiki.list_category(category)
    return wiki.list_prefix(prefix or DEFAULT_PREFIX)


def import_from_wiki(
    store: Store,
    wiki: WikiClient,
    *,
    prefix: str | None = None,
    category: str | None = None,
    since: date | None = None,
    save: Path | None = None,
    settings: Settings,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the report pages of *wiki*, read 50 per request; *save* also writes their texts to a folder."""
    requests_before = wiki.request_count
    titles = list_report_pages(wiki, prefix=prefix, category=category)
    wanted = [title for title in titles if not _before(title, since)]
    missing: list[str] = []

    def pages() -> Iterator[tuple[str, str, PageText | None]]:
        for start in range(0, len(wanted), BATCH_SIZE):
            for title, page in wiki.read_many(wanted[start : start + BATCH_SIZE]).items():
                if page is None:
                    missing.append(title)
                    continue
                if save is not None:
                    save_page_text(save, page.title, page.text)
                yield page.title, page.text, page

    result = import_reports(
        store, pages(), total=len(wanted), wiki=wiki.name, prefix=prefix or DEFAULT_PREFIX, since=since,
        settings=settings, now=now, progress=progress,
    )  # fmt: skip
    return replace(
        result,
        listed=len(titles),
        missing=tuple(missing),
        filtered=result.filtered + len(titles) - len(wanted),
        requests=wiki.request_count - requests_before,
    )


def page_file_name(title: str) -> str:
    """The file a page's text is saved as: the title with ``/`` and ``%`` percent-encoded, plus ``.wiki``."""
    return quote(title, safe=" ()+,;=@!$&'-._~:[]") + ".wiki"


def save_page_text(directory: Path, title: str, text: str) -> Path:
    """Write one page's text into *directory*, readable again by :func:`import_from_dir`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / page_file_name(title)
    path.write_text(text, encoding="utf-8")
    return path


def _input_files(directory: Path) -> list[tuple[str, Path]]:
    """(page title, file) of every saved page in *directory*; the title is the percent-decoded file name."""
    if not directory.is_dir():
        raise InputError(f"--input {directory} is not a folder", hint="give a folder of saved page texts (*.wiki)")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
    if not files:
        raise InputError(
            f"--input {directory} holds no page texts",
            hint=f"save pages as files named after their titles, ending in {', '.join(PAGE_SUFFIXES)} "
            "(`incidentkit import --save DIR` writes such a folder)",
        )
    return [(unquote(path.stem), path) for path in files]


def import_from_dir(
    store: Store,
    directory: Path,
    *,
    prefix: str | None = None,
    since: date | None = None,
    settings: Settings,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Import saved page texts from *directory* (no network); unreadable files are listed as not parsed."""
    files = _input_files(directory)
    wanted = [(title, path) for title, path in files if not _before(title, since)]
    unreadable: list[Unparsed] = []

    def pages() -> Iterator[tuple[str, str, PageText | None]]:
        for title, path in wanted:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                unreadable.append(Unparsed(title, f"cannot read {path.name}: {exc}"))
                continue
            yield title, text, None

    result = import_reports(
        store, pages(), total=len(wanted), wiki=None, prefix=prefix or DEFAULT_PREFIX, since=since,
        settings=settings, now=now, progress=progress,
    )  # fmt: skip
    return replace(
        result,
        listed=len(files),
        unparsed=(*unreadable, *result.unparsed),
        filtered=result.filtered + len(files) - len(wanted),
    )
