"""Building an incident's search document from what the store knows and what its page says.

Two parts make a document (:class:`~incidentkit.model.search.IncidentDocument`): the facts of
the latest draft (:class:`~incidentkit.model.search.DraftFacts`: the curated timeline, the signals
of its events, its key moments, the pages its alerts sent) and the page text last imported or
published. The incident record adds the title, date and task; its actionables add their titles,
tasks and projects. Key moments come from the draft; an incident known only from its page has
its Start as the impact start and its End as the resolution, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from ..config import Settings
from ..model.actionable import Actionable
from ..model.curation import KeyMoments
from ..model.event import Event, EventKind
from ..model.incident import Incident, IncidentRecord
from ..model.row import Row
from ..model.search import DraftFacts, IncidentDocument
from ..model.signals import Signals, merge_signals, text_signals
from ..model.time import format_utc, parse_utc
from ..store import Store
from ..timeline.curate import curate
from ..timeline.rows import build_rows
from .reading import PageFacts, page_facts

__all__ = ["event_signals", "draft_facts", "facts_of_draft", "build_document", "document_for_draft"]


def _host(value: str) -> str:
    """``wdqs1006`` from ``wdqs1006.eqiad.wmnet:9100``."""
    return value.split(":", 1)[0].split(".", 1)[0].lower()


def event_signals(events: Iterable[Event]) -> Signals:
    """The signals of a draft's events: alert names and labels, Phabricator projects and tasks, and
    whatever the events' text names (hosts in SAL lines, alerts in bot lines)."""
    found = merge_signals()
    texts: list[str] = []
    for event in events:
        texts.append(event.text)
        found["task"].update(event.tasks)
        data = event.data
        if event.kind in (EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED, EventKind.ALERT_NOTE):
            if data.get("alertname"):
                found["alert"].add(str(data["alertname"]))
            labels = data.get("labels") or {}
            for name in ("instance", "host"):
                value = data.get(name) or labels.get(name)
                if value:
                    found["host"].add(_host(str(value)))
            for name in ("service", "job", "cluster"):
                value = labels.get(name) or (data.get(name) if name == "service" else None)
                if value:
                    found["service"].add(str(value).lower())
            for name in ("site", "datacenter", "dc"):
                if labels.get(name):
                    found["site"].add(str(labels[name]).lower())
        for project in data.get("projects") or ():
            found["project"].add(str(project))
    return merge_signals(found, text_signals("\n".join(texts)))


def _row_text(row: Row) -> str:
    return f"{row.actor}: {row.text}" if row.actor else row.text


def facts_of_draft(rows: Sequence[Row], raw_rows: Sequence[Row], moments: KeyMoments, events: Iterable[Event]) -> DraftFacts:
    """What a draft knows, from its curated and raw rows, key moments and events.

    A page is an alert episode that paged (a paging notification, or labels that page), at the
    time it started firing.
    """
    pages = tuple(
        sorted(row.time for row in raw_rows if row.kind is EventKind.ALERT_FIRING and row.data.get("paged"))
    )
    return DraftFacts(
        timeline="\n".join(_row_text(row) for row in rows if not row.hidden),
        signals=event_signals(events),
        moments=moments,
        pages=pages,
    )


def draft_facts(store: Store, slug: str, settings: Settings) -> DraftFacts | None:
    """The facts of incident *slug*'s latest draft, rebuilt from its stored events and curation."""
    events = store.load_events(slug)
    if not events:
        return None
    rows = build_rows(events)
    result = curate(rows, store.curation_state(slug, as_drafted=True), settings.timeline)
    return facts_of_draft(result.rows, rows, result.moments, events)


def _actionables_text(actionables: Sequence[Actionable]) -> str:
    return "\n".join(" ".join(part for part in (a.task or "", a.title, a.owner or "") if part) for a in actionables)


def build_document(
    record: IncidentRecord,
    actionables: Sequence[Actionable],
    *,
    draft: DraftFacts | None,
    page_text: str | None,
    outline: Sequence[tuple[int, int, str]] | None = None,
    facts: PageFacts | None = None,
) -> IncidentDocument:
    """The document of one incident from its record, actionables, draft facts and page text
    (*outline*: the page's headings, when it has just been parsed; *facts*: :func:`page_facts` of
    the page, when they have been read already)."""
    if facts is None or facts.title != record.title:
        facts = page_facts(record.title, page_text, outline) if page_text else None
    page = facts.text if facts else None
    signals = merge_signals(
        draft.signals if draft else {},
        facts.signals if facts else text_signals(record.title),
        {
            "task": [t for t in [record.task, *(a.task for a in actionables)] if t],
            "project": [p for a in actionables for p in a.projects],
        },
    )
    start = _time(record.start)
    if draft is not None and any(getattr(draft.moments, name) for name in ("impact_start", "resolved", "detected")):
        moments, moments_from = draft.moments, "draft"
    elif start is not None or record.end:
        moments, moments_from = KeyMoments(impact_start=start, resolved=_time(record.end)), "page"
    else:
        moments, moments_from = KeyMoments(), None
    return IncidentDocument(
        slug=record.slug,
        title=record.title,
        day=record.day,
        start=start,
        summary=page.summary if page else "",
        timeline="\n".join(part for part in ((draft.timeline if draft else ""), page.timeline if page else "") if part),
        conclusions=page.conclusions if page else "",
        actionables="\n".join(part for part in (_actionables_text(actionables), page.actionables if page else "") if part),
        body=page.body if page else "",
        signals=signals,
        moments=moments,
        moments_from=moments_from,
        pages=draft.pages if draft else (),
        pages_known=draft is not None,
    )


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_utc(text)
    except ValueError:
        return None


def document_for_draft(store: Store, incident: Incident, events: Sequence[Event]) -> tuple[IncidentDocument, DraftFacts]:
    """The document a draft would be indexed as (its page text, if published, from the index)."""
    facts = facts_of_draft(incident.rows, incident.raw_rows, incident.key_moments, events)
    stored = store.stored_parts(incident.slug)
    record = store.get_incident(incident.slug) or IncidentRecord(
        slug=incident.slug, title=incident.title, start=format_utc(incident.window.start),
        task=incident.tasks[0] if incident.tasks else None,
    )
    actionables = store.incident_actionables(incident.slug)
    document = build_document(record, actionables, draft=facts, page_text=stored.page_text if stored else None)
    return document, facts
