"""Drafting: assemble the Incident a page renders, record a draft in the store, re-render one from it.

Orchestration only: sources do the I/O (:mod:`incidentkit.services.pulls`), the timeline package
builds and curates rows, templates render (:mod:`incidentkit.wikitext.render`), the store persists.
Nothing here prints or reads the clock: callers pass ``now`` / ``generated_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..config import Settings
from ..errors import InputError
from ..model.actionable import FollowUp
from ..model.curation import CurationState
from ..model.event import Event
from ..model.incident import Incident, IncidentRecord, slugify
from ..model.scorecard import FilledScorecard
from ..model.source import Query, SourceFailure, SourceSummary
from ..model.time import ensure_utc, format_utc
from ..store import Store
from ..timeline.alerts import detect
from ..timeline.curate import curate
from ..timeline.rows import build_rows
from ..wikitext.render import render_incident
from .actionables import record_proposed
from .pulls import Collected
from .scorecard import scorecard_for_incident
from .search import index_draft
from .similar import with_similar

__all__ = ["build_incident", "draft_incident", "record_draft", "redraft"]


def build_incident(
    *,
    title: str,
    query: Query,
    events: Sequence[Event],
    settings: Settings,
    generated_at: datetime,
    followups: Sequence[FollowUp] = (),
    sources: Sequence[SourceSummary] = (),
    failures: Sequence[SourceFailure] = (),
    curation_state: CurationState | None = None,
    scorecard: FilledScorecard | None = None,
    lightweight: bool = False,
    raw: bool = False,
) -> Incident:
    """Assemble the Incident a draft renders (pure).

    *curation_state* is the owner's stored curation; without it, or with *raw*, the timeline shows
    every row.
    """
    window = query.window
    rows = build_rows(events)
    result = curate(rows, curation_state or CurationState(), settings.timeline)
    curated_rows = tuple(result.rows)
    shown = tuple(r.with_changes(hidden=False) for r in curated_rows) if raw else curated_rows
    return Incident(
        slug=slugify(title, window.start),
        title=title,
        window=window,
        generated_at=ensure_utc(generated_at),
        tasks=query.tasks,
        rows=shown,
        raw_rows=tuple(rows),
        detection=detect(events, window),
        actionables=tuple(followups),
        key_moments=result.moments,
        sources=tuple(sources),
        failures=tuple(failures),
        scorecard=scorecard,
        lightweight=lightweight or settings.draft.lightweight,
        phabricator_url=settings.phabricator.url or "https://phabricator.wikimedia.org/",
    )


def draft_incident(
    collected: Collected,
    *,
    title: str,
    settings: Settings,
    curation_state: CurationState | None = None,
    scorecard: FilledScorecard | None = None,
    lightweight: bool = False,
    raw: bool = False,
) -> Incident:
    """The Incident of a fresh pull (its own clock reading is the draft's time)."""
    return build_incident(
        title=title,
        query=collected.query,
        events=collected.events,
        settings=settings,
        generated_at=collected.pulled_at,
        followups=collected.followups,
        sources=collected.summaries(),
        failures=collected.failures,
        curation_state=curation_state,
        scorecard=scorecard,
        lightweight=lightweight,
        raw=raw,
    )


def record_draft(store: Store, incident: Incident, collected: Collected, settings: Settings) -> list[str]:
    """Record a draft in the store: the incident, its events, its proposed follow-ups.

    Returns messages about curation overrides whose rows vanished (to show on stderr).
    """
    metadata = {
        "query": collected.query.to_dict(),
        "pulled_at": format_utc(collected.pulled_at),
        "failures": [{"source": f.source, "message": f.message} for f in collected.failures],
        "sources": [
            {"source": r.source, "events": r.events, "lines_read": r.lines_read, "skipped_where": list(r.skipped_where), "notes": list(r.notes)}
            for r in incident.sources
        ],
        "first_alert": incident.detection.first_alert,
        "first_alert_paged": incident.detection.first_alert_paged,
    }
    existing = store.get_incident(incident.slug)
    if existing is not None:
        metadata = {**existing.metadata, **metadata}
        metadata.pop("reports", None)  # what older versions called "sources"
    store.save_incident(
        IncidentRecord(
            slug=incident.slug,
            title=incident.title,
            start=format_utc(incident.window.start),
            end=format_utc(incident.window.end),
            task=incident.tasks[0] if incident.tasks else None,
            status=existing.status if existing else "draft",
            metadata=metadata,
        )
    )
    events = collected.events
    store.save_events(incident.slug, events)
    record_proposed(store, incident.slug, incident.actionables, settings, now=incident.generated_at)
    state = store.curation_state(incident.slug)
    result = curate(build_rows(events), state, settings.timeline)
    store.mark_rows_seen(incident.slug, [row.key for row in incident.raw_rows])
    index_draft(store, incident, events)
    return [f"override on row {o.row_key} ({o.action}) no longer matches any row" for o in result.orphans]


def redraft(store: Store, slug: str, settings: Settings, now: datetime, *, lightweight: bool = False) -> str:
    """Re-render a recorded incident from the store (its saved events and curation), no network."""
    record = store.require_incident(slug)
    meta = record.metadata
    try:
        query = Query.from_dict(meta["query"])
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"incident {slug} was imported, not drafted: there is nothing to re-render",
            hint="draft it first (`incidentkit draft --from ... --to ... --title ...`) or publish a FILE",
        ) from exc
    stored_sources = meta.get("sources", meta.get("reports", []))
    incident = build_incident(
        title=record.title,
        query=query,
        events=store.load_events(slug),
        settings=settings,
        generated_at=now,
        sources=tuple(
            SourceSummary(
                source=r["source"],
                events=0,
                lines_read=r.get("lines_read", 0),
                skipped=len(r.get("skipped_where", ())),
                skipped_where=tuple(r.get("skipped_where", ())),
                notes=tuple(r.get("notes", ())),
            )
            for r in stored_sources
        ),
        failures=tuple(SourceFailure(f["source"], f["message"]) for f in meta.get("failures", [])),
        curation_state=store.curation_state(slug),
        scorecard=scorecard_for_incident(store, slug, settings),
        lightweight=lightweight,
    )
    incident = with_similar(store, incident, store.load_events(slug), now=now)
    return render_incident(incident)
