"""Importing existing reports into the store, from the wiki or from a folder of saved pages.

Import is idempotent: an incident is found again by its page (or its slug), fields set locally
are locked and kept, actionables are matched by task (or, for free-text ones, by title), and
locally filled scorecard answers win over the page's; a page that says nothing new changes nothing
and is counted as unchanged. A page read again exactly as the import last read it (same text,
revision, title prefix, scorecard questions and incidentkit version) is not even parsed again: what
it held is reported from the store (``--reread`` parses every page anyway). Each page is indexed
for search as it is stored; the pages are compared with the other incidents once, at the end.
Nothing here prints or reads the clock.

Dates: the incident starts at the page's Start, else on the date its title carries (midnight UTC:
the day is known, the hour is not), so SLA due dates count from the incident, not from the import.
An item the page lists as done was closed at an unknown time.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ..clients.mediawiki import BATCH_SIZE, PageText, WikiClient
from ..config import Settings, shown_path, write_user_text
from ..errors import InputError
from ..model.actionable import FollowUp, TaskStatus, UpsertResult
from ..model.incident import IncidentRecord, slugify
from ..model.scorecard import ScorecardDefinition
from ..model.similar import Comparable
from ..model.time import format_utc
from ..store import Store
from ..util import chunks, version
from ..wikitext.reports import ItemStatus, Report, Unparsed, title_date
from .actionables import upsert_imported
from .reading import PARALLEL_FROM, PageReader, ReadPage
from .scorecard import definition_path, load_definition
from .search import StagedPage, refresh_similarity, save_staged, stage_page
from .tasks import task_statuses

__all__ = [
    "DEFAULT_PREFIX",
    "PAGE_SUFFIXES",
    "STORE_BATCH",
    "ImportedPage",
    "ImportResult",
    "ImportInterrupted",
    "imported_items",
    "import_reports",
    "import_from_wiki",
    "import_from_dir",
    "list_report_pages",
    "store_report",
    "save_page_text",
    "page_file_name",
]

DEFAULT_PREFIX = "Incidents/"
READ_AHEAD = 2  # batches read from the wiki before the import asks for them
# Pages stored per transaction: three of the wiki's reads. Each commit waits for the disk and writes
# its pages' search text as one FTS5 segment, and each batch is a round trip to the worker; an error
# undoes at most this many pages, which running the import again stores.
STORE_BATCH = 3 * BATCH_SIZE
PAGE_SUFFIXES = (".wiki", ".wikitext", ".mediawiki", ".txt")
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedPage:
    """One page that went into the store."""

    page: str
    slug: str
    created: bool
    changed: bool  # False: the store already held everything the page says
    actionables: int  # items read from the page
    tasks: tuple[str, ...]  # task ids among them
    placeholders: int
    scorecard_answers: int
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
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
    def updated(self) -> int:
        return sum(1 for page in self.imported if page.changed and not page.created)

    @property
    def unchanged(self) -> int:
        return sum(1 for page in self.imported if not page.changed)

    @property
    def items(self) -> int:
        return sum(page.actionables for page in self.imported)

    @property
    def task_ids(self) -> int:
        return sum(len(page.tasks) for page in self.imported)


_STATUS_HINTS = {
    ItemStatus.DONE: "done",
    ItemStatus.NOT_DONE: "open",
    ItemStatus.WONT_DO: "wont-do",
    ItemStatus.IN_PROGRESS: "in-progress",
    ItemStatus.UNRESOLVED: "open",
    ItemStatus.DROPPED: "wont-do",
    ItemStatus.UNKNOWN: None,
}


def imported_items(report: Report) -> list[FollowUp]:
    """The page's actionables as the actionables store takes them: one per task, or one free-text idea.

    A sub-bullet with a task of its own is an actionable; one without is part of its parent (its
    text goes into the parent's raw text).
    """
    items: list[FollowUp] = []
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
            items.append(FollowUp(title=title, task=task, status=hint, owner=item.owner, raw_text=raw))
    return items


def _slug_for(store: Store, report: Report) -> tuple[str, IncidentRecord | None]:
    """The incident slug for *report*: the one already holding its page, else a new or matching one."""
    known = store.find_incident_by_page(report.page)
    if known is not None:
        return known.slug, known
    title = report.incident_title
    if report.date is not None:
        base = slugify(title, report.date)
    else:
        raw = re.search(r"\d{4}-?\d{2}-?\d{2}", report.name)
        base = slugify(title, raw.group(0) if raw else "undated")
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


def _start(report: Report, existing: IncidentRecord | None) -> str | None:
    """The page's Start, else what the store knew, else the title's date (midnight UTC)."""
    if report.start is not None:
        return format_utc(report.start)
    if existing is not None and existing.start:
        return existing.start
    return format_utc(datetime.combine(report.date, time(), tzinfo=UTC)) if report.date else None


def store_report(
    store: Store,
    report: Report,
    *,
    wiki: str | None,
    page: PageText | None,
    settings: Settings,
    now: datetime,
    statuses: Mapping[str, TaskStatus] | None = None,
) -> tuple[ImportedPage, UpsertResult, IncidentRecord]:
    """Record what *report* says (one atomic write); returns what was done and the incident as saved.
    *statuses*: the instance's task statuses, when the caller has read them already."""
    with store.transaction():
        return _store_report_once(store, report, wiki=wiki, page=page, settings=settings, now=now, statuses=statuses)


def _store_report_once(
    store: Store,
    report: Report,
    *,
    wiki: str | None,
    page: PageText | None,
    settings: Settings,
    now: datetime,
    statuses: Mapping[str, TaskStatus] | None,
) -> tuple[ImportedPage, UpsertResult, IncidentRecord]:
    slug, existing = _slug_for(store, report)
    metadata = {**(existing.metadata if existing else {}), **report.metadata}
    record = IncidentRecord(
        slug=slug,
        title=existing.title if existing else report.incident_title,
        start=_start(report, existing),
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
    saved_record = store.save_incident(record, respect_locked=True, stored=existing)
    # a new incident has nothing stored yet: no actionables, no answers to compare with
    upserted = upsert_imported(
        store, saved_record, imported_items(report), settings=settings, now=now, statuses=statuses,
        stored=None if existing else (),
    )  # fmt: skip
    stored = store.get_scorecard_answers(slug) if report.scorecard and existing else {}
    new_answers = {
        key: (answer, note)
        for key, (answer, note) in report.scorecard.items()
        if key not in stored or (stored[key].answer, stored[key].note) != (answer, (note or "").strip())
    }
    answers = 0
    if new_answers:
        saved = store.save_scorecard_answers(
            slug, new_answers, reviewer=None, source="import", revision=page.revid if page else None
        )
        answers = len(saved.written)
    imported = ImportedPage(
        page=report.page,
        slug=slug,
        created=existing is None,
        changed=existing is None or saved_record != existing or bool(upserted.added or upserted.updated or answers),
        actionables=len(report.actionables),
        tasks=report.task_ids,
        placeholders=report.placeholders,
        scorecard_answers=answers,
        problems=report.problems,
    )
    return imported, upserted, saved_record


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl-C during an import; ``result`` holds the pages stored before it (each one complete)."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__()
        self.result = result


def _add(total: UpsertResult, more: UpsertResult) -> UpsertResult:
    return UpsertResult(total.added + more.added, total.updated + more.updated, total.unchanged + more.unchanged)


def _before(name: str, since: date | None) -> bool:
    """True when the title's own date is before *since* (pages without one are read and checked later)."""
    if since is None:
        return False
    day, _ = title_date(name)
    return day is not None and day < since


def _summary(imported: ImportedPage, day: date | None, items: int) -> dict[str, object]:
    """What a page held, as :func:`_as_last_read` reports it while the page stays the same."""
    return {
        "date": day.isoformat() if day else None,
        "items": items,
        "actionables": imported.actionables,
        "tasks": list(imported.tasks),
        "placeholders": imported.placeholders,
        "problems": list(imported.problems),
    }


def _as_last_read(title: str, slug: str, summary: Mapping[str, Any]) -> tuple[ImportedPage, UpsertResult, date | None]:
    """The page *title*, read as last time: nothing to do; what it held, as it was reported then."""
    imported = ImportedPage(
        page=title,
        slug=slug,
        created=False,
        changed=False,
        actionables=int(summary["actionables"]),
        tasks=tuple(summary["tasks"]),
        placeholders=int(summary["placeholders"]),
        scorecard_answers=0,
        problems=tuple(summary["problems"]),
    )
    day = date.fromisoformat(summary["date"]) if summary["date"] else None
    return imported, UpsertResult(unchanged=int(summary["items"])), day


Stored = tuple[ImportedPage, UpsertResult, StagedPage | None]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A page to import, and how the import last read it (*last*) if exactly so: then it is not read again."""

    title: str
    text: str
    page: PageText | None
    digest: str
    last: tuple[str, str, dict[str, Any]] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Reader:
    """How an import reads and stores each page."""

    wiki: str | None
    prefix: str
    since: date | None
    questions: ScorecardDefinition
    questions_digest: str
    settings: Settings
    now: datetime
    statuses: Mapping[str, TaskStatus]

    def plan(self, title: str, text: str, page: PageText | None, last: tuple[str, str, dict[str, Any]] | None) -> _Plan:
        """The page *title*, and *last* (how the import last read it) if it still reads the same."""
        revision = str(page.revid) if page else ""
        # what reading the page depends on: the page, and how it is read
        parts = (version(), self.questions_digest, self.wiki or "", self.prefix, title, revision, text)
        digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return _Plan(title, text, page, digest, last if last is not None and last[1] == digest else None)

    def store(self, store: Store, plan: _Plan, read: ReadPage | None) -> Stored | Unparsed | None:
        """Store the page of *plan* (*read*: as :mod:`.reading` read it; None when it reads as last
        time: then nothing is done) and index it, as one unit; None when it is before
        ``since``. What is staged for the index is the caller's to save (:func:`save_staged`)."""
        if plan.last is not None:
            imported, upserted, day = _as_last_read(plan.title, plan.last[0], plan.last[2])
            return None if self._before_since(day) else (imported, upserted, None)
        assert read is not None, "every page that changed is read"
        report = read.report
        if isinstance(report, Unparsed) or self._before_since(report.date):
            return report if isinstance(report, Unparsed) else None
        page = plan.page
        with store.transaction(unit=True):
            imported, upserted, record = store_report(
                store, report, wiki=self.wiki, page=page, settings=self.settings, now=self.now, statuses=self.statuses
            )
            staged = stage_page(
                store, record, plan.text, page.revid if page else None, outline=report.headings, facts=read.facts
            )
            items = upserted.added + upserted.updated + upserted.unchanged
            store.save_imported_page(plan.title, imported.slug, plan.digest, _summary(imported, report.date, items))
        return imported, upserted, staged

    def _before_since(self, day: date | None) -> bool:
        return self.since is not None and (day is None or day < self.since)


def _store_batch(
    store: Store,
    reader: _Reader,
    batch: Sequence[tuple[_Plan, ReadPage | None]],
    outcomes: list[Stored | Unparsed | None],
    *,
    progress: Progress | None = None,
    done: int = 0,
    total: int = 0,
) -> None:
    """Store the pages of *batch* (each with how it was read; None when it reads as last time) in
    one transaction, undone whole on any error, Ctrl-C included, and the text of those indexed;
    appends to *outcomes* what was done with each page as it is done, so the caller knows how far
    it got (*progress* is told of each: *done* pages of *total* came before the batch).

    No page takes a savepoint of its own (one costs about 50 µs, as much as storing a small
    page): a page interrupted half-written is undone with its batch, and the caller stores again
    the pages before it."""
    with store.transaction(unit=True):
        for plan, read in batch:
            outcomes.append(reader.store(store, plan, read))
            if progress:
                progress(done + len(outcomes), total)
        save_staged(store, [outcome[2] for outcome in outcomes if isinstance(outcome, tuple) and outcome[2] is not None])


def import_reports(
    store: Store,
    pages: Iterable[tuple[str, str, PageText | None]],
    *,
    total: int,
    wiki: str | None,
    prefix: str = DEFAULT_PREFIX,
    since: date | None = None,
    reread: bool = False,
    settings: Settings,
    now: datetime,
    progress: Progress | None = None,
) -> ImportResult:
    """Parse and store each ``(title, text, revision)`` of *pages*; *total* sizes the progress bar.

    Pages dated before *since* (by title, else by the Start field), or without a date when *since*
    is given, are counted in ``filtered``. A page the import read exactly so last time is not parsed
    again, unless *reread*. Pages are taken (for a wiki, read 50 per request) :data:`STORE_BATCH`
    at a time outside any transaction and parsed one batch ahead (:class:`~.reading.PageReader`:
    in a worker process when there are many), then stored in one transaction: the text of the
    batch's pages is written for search at once, and the disk is waited for once per batch
    instead of once per page, which was most of an import's time. An error undoes the pages of
    its batch; running the import again stores them. Ctrl-C keeps every page stored before it
    (ImportInterrupted): the pages of its batch before the one interrupted are stored again. The
    pages indexed are compared with the other incidents at the end, also after Ctrl-C.
    """
    imported: list[ImportedPage] = []
    unparsed: list[Unparsed] = []
    filtered = 0
    upserts = UpsertResult()
    path = definition_path(settings)
    questions = load_definition(path)
    reader = _Reader(
        wiki=wiki, prefix=prefix, since=since, questions=questions,
        questions_digest=hashlib.sha256(path.read_bytes()).hexdigest(), settings=settings, now=now,
        statuses=task_statuses(store),
    )  # fmt: skip

    def so_far() -> ImportResult:
        return ImportResult(
            listed=total, imported=tuple(imported), unparsed=tuple(unparsed), filtered=filtered, actionables=upserts
        )

    def planned() -> Iterator[tuple[list[_Plan], list[tuple[str, str]]]]:
        remaining = iter(pages)
        while batch := list(islice(remaining, STORE_BATCH)):
            last = {} if reread else store.imported_pages([title for title, _, _ in batch])
            plans = [reader.plan(title, text, page, last.get(title)) for title, text, page in batch]
            yield plans, [(plan.title, plan.text) for plan in plans if plan.last is None]

    comparables: dict[int, Comparable] = {}  # what the pages indexed are compared by, as saved
    done = 0
    interrupted: KeyboardInterrupt | None = None
    with PageReader(prefix=prefix, questions=questions, parallel=total >= PARALLEL_FROM) as page_reader:
        batches = page_reader.ahead(planned())
        while not interrupted:
            try:
                plans, read = next(batches, (None, []))
            except KeyboardInterrupt as exc:  # between batches: every batch before it is saved
                interrupted = exc
                break
            if plans is None:
                break
            pages_read = iter(read)
            batch = [(plan, next(pages_read) if plan.last is None else None) for plan in plans]
            outcomes: list[Stored | Unparsed | None] = []
            try:
                _store_batch(store, reader, batch, outcomes, progress=progress, done=done, total=total)
            except KeyboardInterrupt as exc:  # the batch is undone: store again the pages before the one interrupted
                interrupted = exc
                before, outcomes = batch[: len(outcomes)], []
                try:
                    _store_batch(store, reader, before, outcomes)
                except KeyboardInterrupt:  # interrupted again: nothing of this batch is stored
                    outcomes = []
            done += len(outcomes)
            for outcome in outcomes:
                if isinstance(outcome, Unparsed):
                    unparsed.append(outcome)
                elif outcome is None:
                    filtered += 1
                else:
                    page, upserted, staged = outcome
                    imported.append(page)
                    upserts = _add(upserts, upserted)
                    if staged is not None:
                        comparables[staged.document] = staged.comparable
    refresh_similarity(store, comparables)
    if interrupted:
        raise ImportInterrupted(so_far()) from interrupted
    return so_far()


def list_report_pages(wiki: WikiClient, *, prefix: str | None, category: str | None) -> list[str]:
    """The titles to import: under *prefix*, in *category*, or (both given) in both."""
    if category and prefix:
        members = set(wiki.list_category(category))
        return [title for title in wiki.list_prefix(prefix) if title in members]
    if category:
        return wiki.list_category(category)
    return wiki.list_prefix(prefix or DEFAULT_PREFIX)


def _read_ahead(wiki: WikiClient, titles: list[str]) -> Iterator[dict[str, PageText | None]]:
    """The pages of *titles*, 50 per request, the next :data:`READ_AHEAD` batches read while the
    caller works on this one.

    The wiki and the parser then work at the same time, and a slow answer does not stall them; there
    is one reader thread, so the client still sends one request at a time. Batches not yet asked
    for when the caller stops (Ctrl-C) are not asked for.
    """
    reader = ThreadPoolExecutor(max_workers=1)
    pending: deque[Future[dict[str, PageText | None]]] = deque()
    try:
        for batch in chunks(titles, BATCH_SIZE):
            pending.append(reader.submit(wiki.read_many, batch))
            if len(pending) > READ_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        reader.shutdown(wait=True, cancel_futures=True)


def import_from_wiki(
    store: Store,
    wiki: WikiClient,
    *,
    prefix: str | None = None,
    category: str | None = None,
    since: date | None = None,
    reread: bool = False,
    save: Path | None = None,
    settings: Settings,
    now: datetime,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the report pages of *wiki*, read 50 per request; *save* also writes their texts to a folder."""
    requests_before = wiki.request_count
    titles = list_report_pages(wiki, prefix=prefix, category=category)
    wanted = [title for title in titles if not _before(title, since)]
    missing: list[str] = []

    def pages() -> Iterator[tuple[str, str, PageText | None]]:
        for batch in _read_ahead(wiki, wanted):
            for title, page in batch.items():
                if page is None:
                    missing.append(title)
                    continue
                if save is not None:
                    save_page_text(save, page.title, page.text)
                yield page.title, page.text, page

    result = import_reports(
        store, pages(), total=len(wanted), wiki=wiki.name, prefix=prefix or DEFAULT_PREFIX, since=since,
        reread=reread, settings=settings, now=now, progress=progress,
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
    """Write one page's text into *directory*, readable again by :func:`import_from_dir`.

    Raises InputError when the folder cannot be written.
    """
    return write_user_text(
        directory / page_file_name(title), text, what="--save", hint="give --save a folder you can write", folders=True
    )


def _input_files(directory: Path) -> list[tuple[str, Path]]:
    """(page title, file) of every saved page in *directory*; the title is the percent-decoded file name."""
    try:
        files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
    except (OSError, ValueError) as exc:  # not a folder, or a name the system cannot hold
        raise InputError(
            f"--replay {shown_path(directory)} is not a folder", hint="give a folder of saved page texts (*.wiki)"
        ) from exc
    if not files:
        raise InputError(
            f"--replay {shown_path(directory)} holds no page texts",
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
    reread: bool = False,
    settings: Settings,
    now: datetime,
    progress: Progress | None = None,
) -> ImportResult:
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
        reread=reread, settings=settings, now=now, progress=progress,
    )  # fmt: skip
    return replace(
        result,
        listed=len(files),
        unparsed=(*unreadable, *result.unparsed),
        filtered=result.filtered + len(files) - len(wanted),
    )
