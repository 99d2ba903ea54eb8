"""Drafting: the one path from what the sources said, plus what the store knows, to the page.

Every way to get a page — ``draft`` (live, ``--replay``, ``--incident``), ``publish SLUG`` and the
page a ``draft -o FILE`` wrote — goes through :func:`compose`: the same events, curation, locked
fields, tracked actionables and scorecard give the same wikitext byte for byte. What a draft adds
to the store (:func:`record_draft`) is exactly what a later :func:`redraft` reads back: the
events, the pull's own clock reading, the source summaries and failures, the title and template.

Orchestration only: sources do the I/O (:mod:`incidentkit.services.pulls`), the timeline package
builds and curates rows, templates render (:mod:`incidentkit.wikitext.render`), the store persists.
Nothing here prints or reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..config import Settings
from ..errors import InputError
from ..model.actionable import Actionable, ActionableStatus, FollowUp, TaskStatus, status_from_hint
from ..model.curation import OWNER, CurationResult, CurationState, MomentChoice, Orphan
from ..model.event import Event
from ..model.incident import Incident, IncidentRecord, slugify
from ..model.scorecard import FilledScorecard
from ..model.source import Query, SourceFailure, SourceSummary
from ..model.tasks import task_or_none
from ..model.time import ensure_utc, format_utc, parse_utc
from ..store import Store
from ..timeline.alerts import detect
from ..timeline.curate import curate
from ..timeline.people import people_of_timeline
from ..timeline.rows import build_rows
from ..timeline.wording import word_rows
from ..wikitext.render import render_incident
from .actionables import record_proposed
from .paging import PAGING_SOURCES, paging_metadata
from .pulls import Collected
from .scorecard import scorecard_for_incident
from .search import index_draft
from .similar import with_similar
from .tasks import task_statuses

__all__ = [
    "Draft",
    "StoredState",
    "stored_state",
    "compose",
    "page_actionables",
    "draft_incident",
    "make_draft",
    "record_draft",
    "redraft",
    "source_summaries",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredState:
    """What the store adds to a draft of one incident (empty for an incident it does not know)."""

    record: IncidentRecord | None = None
    curation: CurationState = field(default_factory=CurationState)
    scorecard: FilledScorecard | None = None
    actionables: tuple[Actionable, ...] = ()
    statuses: Mapping[str, TaskStatus] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """A composed draft: the incident, how its timeline was curated, and the page text."""

    incident: Incident
    curation: CurationResult
    text: str

    @property
    def orphans(self) -> tuple[Orphan, ...]:
        return self.curation.orphans

    def notices(self, *, recorded: bool = True) -> list[str]:
        """What the owner should know and the page does not say (for stderr); *recorded*: the
        incident is in the store, so its moments can be marked."""
        found = [f"override on row {o.row_key} ({o.action}) no longer matches any row" for o in self.orphans]
        found.extend(_moment_notices(self.curation.choices, self.incident.slug, recorded=recorded))
        report = self.incident.people.human_report if self.incident.people else None
        detected = next((c for c in self.curation.choices if c.moment == "detected"), None)
        if report is not None and report.before_first_alert and (detected is None or detected.origin != OWNER):
            how = f"incidentkit timeline mark {self.incident.slug} detected {report.time:%H:%M:%S}"
            found.append(
                f"detected: {report.who} reported the symptoms at {report.time:%H:%M:%S}, before the first alert "
                f"({report.reason}); if that is when it was noticed: `{how}`"
            )
        return found


def _moment_notices(choices: Sequence[MomentChoice], slug: str, *, recorded: bool) -> list[str]:
    notices = []
    for choice in choices:
        name = choice.moment.replace("_", " ")
        if choice.time is None and choice.moment in ("impact_start", "resolved"):
            how = (
                f"mark it with `incidentkit timeline mark {slug} {choice.moment} ROW|TIME`"
                if recorded
                else "record the draft (without --no-store) to mark it"
            )
            notices.append(f"{name} is unknown ({choice.reason}), so the page says TODO: {how}")
        elif "out of order" in choice.reason:
            notices.append(f"{name}: {choice.reason} (`incidentkit timeline moments {slug}`)")
    return notices


def stored_state(store: Store | None, slug: str, settings: Settings, *, as_drafted: bool = False) -> StoredState:
    """Read what the store knows about incident *slug* (nothing when *store* is None)."""
    if store is None:
        return StoredState(scorecard=scorecard_for_incident(None, slug, settings))
    record = store.get_incident(slug)
    return StoredState(
        record=record,
        curation=store.curation_state(slug, as_drafted=as_drafted) if record else CurationState(),
        scorecard=scorecard_for_incident(store if record else None, slug, settings),
        actionables=tuple(store.incident_actionables(slug)) if record else (),
        statuses=task_statuses(store),
    )


_STATE_WORDS = {
    ActionableStatus.OPEN: "Open",
    ActionableStatus.IN_PROGRESS: "In progress",
    ActionableStatus.DONE: "Done",
    ActionableStatus.WONT_DO: "Won't do",
}


def page_actionables(
    tracked: Sequence[Actionable], proposed: Sequence[FollowUp], statuses: Mapping[str, TaskStatus]
) -> tuple[FollowUp, ...]:
    """The Actionables the page lists: every tracked one, then the proposed ones not tracked yet.

    A proposed follow-up is shown as recording it would track it, so a draft that records
    nothing (``--no-store``) lists what a recording draft lists. Statuses are the instance's
    status names where known (``Open``, ``Resolved``), else incidentkit's own state.
    """
    parents = {task_or_none(f.task): f.parent for f in proposed if f.task and f.parent}
    items = [
        FollowUp(
            title=a.title,
            task=a.task,
            status=statuses[a.task_status].name if a.task_status in statuses else _STATE_WORDS[a.status],
            owner=a.owner,
            parent=parents.get(a.task),
        )
        for a in tracked
    ]
    tasks = {a.task for a in tracked if a.task}
    ideas = {a.title for a in tracked if not a.task}
    for item in proposed:
        title, task = " ".join(item.title.split()), task_or_none(item.task) if item.task else None
        if (task in tasks) if task else (not title or title in ideas):
            continue
        state = status_from_hint(item.status, statuses) or ActionableStatus.OPEN
        items.append(
            FollowUp(
                title=title or task or "", task=task, status=_STATE_WORDS[state], owner=item.owner or None,
                parent=item.parent,
            )
        )
        if task:
            tasks.add(task)
        else:
            ideas.add(title)
    return tuple(items)


def _locked_time(record: IncidentRecord | None, name: str) -> datetime | None:
    if record is None or name not in record.locked:
        return None
    value = getattr(record, name)
    return parse_utc(value) if value else None


def compose(
    *,
    title: str,
    query: Query,
    events: Sequence[Event],
    settings: Settings,
    generated_at: datetime,
    stored: StoredState,
    followups: Sequence[FollowUp] = (),
    sources: Sequence[SourceSummary] = (),
    failures: Sequence[SourceFailure] = (),
    lightweight: bool = False,
    raw: bool = False,
    slug: str | None = None,
) -> tuple[Incident, CurationResult]:
    """Assemble the Incident a page renders, and its curated timeline (pure).

    *title* names the incident (its slug, unless *slug* is given); a title the owner set with
    ``incidents edit`` wins on the page, as do a locked Start and End. With *raw* every row is
    shown, ignoring curation.
    """
    window = query.window
    rows = build_rows(events)
    result = curate(rows, stored.curation, settings.timeline)
    detection = detect(events, window)
    people = people_of_timeline(
        events, window, settings, result, tasks=query.tasks, first_alert=detection.first_alert_time,
        paging_read=any(s.source in PAGING_SOURCES for s in sources),
    )
    curated = tuple(r.with_changes(hidden=False) for r in result.rows) if raw else result.rows
    record = stored.record
    moments = result.moments
    start = _locked_time(record, "start") or moments.impact_start
    end = _locked_time(record, "end") or moments.resolved
    moments = replace(moments, impact_start=start, resolved=end)
    shown_title = record.title if record is not None and "title" in record.locked else title
    return (
        Incident(
            slug=slug or slugify(title, window.start),
            title=shown_title,
            window=window,
            generated_at=ensure_utc(generated_at),
            start=start,
            end=end,
            tasks=query.tasks,
            rows=word_rows(curated),
            raw_rows=tuple(rows),
            detection=detection,
            people=people,
            actionables=page_actionables(stored.actionables, followups, stored.statuses),
            key_moments=moments,
            sources=tuple(sources),
            failures=tuple(failures),
            scorecard=stored.scorecard,
            lightweight=lightweight or settings.draft.lightweight,
            phabricator_url=settings.phabricator.url or "https://phabricator.wikimedia.org/",
        ),
        result,
    )


def _compose_collected(
    collected: Collected,
    *,
    title: str,
    settings: Settings,
    stored: StoredState,
    lightweight: bool,
    raw: bool,
    slug: str | None = None,
) -> tuple[Incident, CurationResult]:
    return compose(
        title=title,
        query=collected.query,
        events=collected.events,
        settings=settings,
        generated_at=collected.pulled_at,
        stored=stored,
        followups=collected.followups,
        sources=collected.summaries(),
        failures=collected.failures,
        lightweight=lightweight,
        raw=raw,
        slug=slug,
    )


def draft_incident(
    collected: Collected,
    *,
    title: str,
    settings: Settings,
    store: Store | None = None,
    lightweight: bool = False,
    raw: bool = False,
) -> Incident:
    """The Incident of a fresh pull, with what *store* knows about it (reads only)."""
    slug = slugify(title, collected.query.window.start)
    incident, _ = _compose_collected(
        collected, title=title, settings=settings, stored=stored_state(store, slug, settings),
        lightweight=lightweight, raw=raw,
    )  # fmt: skip
    return incident


def make_draft(
    collected: Collected,
    *,
    title: str,
    settings: Settings,
    store: Store | None,
    write: bool = True,
    lightweight: bool = False,
    raw: bool = False,
    slug: str | None = None,
) -> Draft:
    """Draft a fresh pull: compose it with what *store* knows, record it (when *write*), render it.

    *slug*: the recorded incident this re-pulls (default: the one *title* names). Without *write*
    (``draft --no-store``) the store is only read: the page is the one a recording draft would give.
    """
    slug = slug or slugify(title, collected.query.window.start)
    stored = stored_state(store, slug, settings)
    incident, result = _compose_collected(
        collected, title=title, settings=settings, stored=stored, lightweight=lightweight, raw=raw, slug=slug
    )
    if store is not None and write:
        record_draft(store, incident, collected, settings, title=title, lightweight=lightweight)
        incident = replace(
            incident,
            actionables=page_actionables(store.incident_actionables(slug), (), stored.statuses),
        )
    # the similar earlier incidents, with their open follow-ups, as a redraft shows them (none
    # without a store: no incident is recorded, so none is earlier; the page is the same)
    if store is not None:
        incident = with_similar(store, incident, collected.events, now=incident.generated_at)
    else:
        incident = replace(incident, similar=())
    return Draft(incident=incident, curation=result, text=render_incident(incident))


def source_summaries(metadata: Mapping[str, Any]) -> tuple[SourceSummary, ...]:
    """The per-source summaries a draft recorded in the incident's metadata."""
    return tuple(
        SourceSummary(
            source=r["source"],
            events=int(r.get("events", 0)),
            lines_read=int(r.get("lines_read", 0)),
            skipped=len(r.get("skipped_where", ())),
            skipped_where=tuple(r.get("skipped_where", ())),
            notes=tuple(r.get("notes", ())),
        )
        for r in metadata.get("sources", metadata.get("reports", []))
    )


def record_draft(
    store: Store,
    incident: Incident,
    collected: Collected,
    settings: Settings,
    *,
    title: str | None = None,
    lightweight: bool = False,
) -> None:
    """Record a draft in the store: the incident, its events, its proposed follow-ups, the rows it
    showed, its people facts (metadata) and its pages.

    *title* is the one the draft was made with (default: the incident's). Fields the owner set
    with ``incidents edit`` (locked) are kept.
    """
    people = incident.people
    metadata = {
        "query": collected.query.to_dict(),
        "pulled_at": format_utc(collected.pulled_at),
        "title": title or incident.title,
        "lightweight": lightweight,
        "failures": [{"source": f.source, "message": f.message} for f in collected.failures],
        "sources": [
            {"source": r.source, "events": r.events, "lines_read": r.lines_read, "skipped_where": list(r.skipped_where), "notes": list(r.notes)}
            for r in incident.sources
        ],
        "first_alert": incident.detection.first_alert,
        "first_alert_paged": incident.detection.first_alert_paged,
        **(paging_metadata(people) if people is not None else {}),
    }
    existing = store.get_incident(incident.slug)
    if existing is not None:
        metadata = {**existing.metadata, **metadata}
        metadata.pop("reports", None)  # what older versions called "sources"
    with store.transaction():
        store.save_incident(
            IncidentRecord(
                slug=incident.slug,
                title=incident.title,
                start=format_utc(incident.start) if incident.start else None,
                end=format_utc(incident.end) if incident.end else None,
                task=incident.tasks[0] if incident.tasks else None,
                status=existing.status if existing else "draft",
                metadata=metadata,
            ),
            respect_locked=True,
        )
        store.save_events(incident.slug, collected.events)
        if people is not None:
            store.save_pages(incident.slug, people.burden)
        record_proposed(store, incident.slug, collected.followups, settings, now=incident.generated_at)
        store.mark_rows_seen(incident.slug, [row.key for row in incident.raw_rows])
        index_draft(store, incident, collected.events)


def redraft(store: Store, slug: str, settings: Settings) -> Draft:
    """Re-render a recorded incident from the store alone (no network): the page its draft gave,
    with every curation, edit, actionable and scorecard answer made since."""
    record = store.require_incident(slug)
    meta = record.metadata
    try:
        query = Query.from_dict(meta["query"])
        pulled_at = parse_utc(meta["pulled_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"incident {slug} was imported, not drafted: there is nothing to re-render",
            hint="draft it first (`incidentkit draft --from ... --to ... --title ...`) or publish a FILE",
        ) from exc
    stored = stored_state(store, slug, settings, as_drafted=True)
    incident, result = compose(
        title=str(meta.get("title") or record.title),
        query=query,
        events=store.load_events(slug),
        settings=settings,
        generated_at=pulled_at,
        stored=stored,
        sources=source_summaries(meta),
        failures=tuple(SourceFailure(f["source"], f["message"]) for f in meta.get("failures", [])),
        lightweight=bool(meta.get("lightweight")),
        slug=slug,
    )
    incident = with_similar(store, incident, store.load_events(slug), now=incident.generated_at)
    return Draft(incident=incident, curation=result, text=render_incident(incident))
