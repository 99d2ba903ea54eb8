"""The people facts of a draft: computed from its pull and the owner's curation, recorded for the scorecard and stats.

:func:`people_of_draft` computes :class:`~incidentkit.model.people.PeopleFacts` (who was paged, the
responders, a coordinator suggestion, the first human report, the paging verdicts) for a pull, with
the owner's impact start and the rows the owner hid taken into account. :func:`paging_metadata` is
what a draft records in the incident's metadata (the scorecard's default rules read it);
:meth:`~incidentkit.store.Store.save_pages` keeps each page to each person for the after-hours
statistics.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..model.curation import OWNER
from ..model.people import PeopleFacts
from ..model.time import format_utc
from ..store import Store
from ..timeline.alerts import detect
from ..timeline.curate import curate
from ..timeline.people import people_facts
from ..timeline.rows import build_rows
from .pulls import Collected

__all__ = ["PAGING_SOURCES", "people_of_draft", "paging_metadata"]

PAGING_SOURCES = ("oncall",)


def people_of_draft(store: Store | None, slug: str, collected: Collected, settings: Settings) -> PeopleFacts:
    """The people facts of a pull; with a store, the owner's impact start and hidden rows of *slug* count.

    Raises ConfigError for unreadable ``[business_hours]``.
    """
    events = collected.events
    window = collected.query.window
    impact_start = None
    ignore: set[str] = set()
    if store is not None:
        curated = curate(build_rows(events), store.curation_state(slug), settings.timeline)
        impact_start = next((c.time for c in curated.choices if c.moment == "impact_start" and c.origin == OWNER), None)
        ignore = {
            key
            for row in curated.rows
            if row.hidden and curated.curation.get(row.key) is not None and curated.curation[row.key].hidden_by == OWNER
            for key in row.events
        }
    return people_facts(
        events,
        window,
        settings,
        tasks=collected.query.tasks,
        paging_read=any(r.source in PAGING_SOURCES for r in collected.results),
        first_alert=detect(events, window).first_alert_time,
        impact_start=impact_start,
        ignore=ignore,
    )


def paging_metadata(facts: PeopleFacts) -> dict[str, Any]:
    """What a draft records about people in the incident's metadata (see docs/schema.md)."""
    found = facts.responders
    metadata: dict[str, Any] = {
        "responder_count": found.count,
        "responders": list(found.names),
        "responders_reason": found.reason,
        "pages_routing": facts.routing.to_dict(),
        "pages_business_hours": facts.business_hours.to_dict(),
        "pages_out_of_hours": sum(1 for p in facts.burden if p.in_hours is False),
    }
    if facts.paged is not None:
        paged = facts.paged
        metadata["people_paged"] = str(paged.count) if paged.count is not None else paged.text
        metadata["people_paged_names"] = list(paged.names)
        metadata["people_paged_reason"] = paged.reason
    if facts.coordinator is not None:
        metadata["coordinators_suggested"] = {"name": facts.coordinator.name, "reason": facts.coordinator.reason}
    if facts.human_report is not None:
        report = facts.human_report
        metadata["first_human_report"] = {
            "time": format_utc(report.time),
            "who": report.who,
            "text": report.text,
            "before_first_alert": report.before_first_alert,
            "reason": report.reason,
        }
    return metadata
