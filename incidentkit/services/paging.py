"""What a draft records about people: the paging sources, and the people facts as metadata.

A draft's :class:`~incidentkit.model.people.PeopleFacts` (who was paged, the responders, a
coordinator suggestion, the first human report, the paging verdicts) are computed with the page
(:func:`incidentkit.timeline.people.people_of_timeline`); :func:`paging_metadata` is what a draft
records of them in the incident's metadata (the scorecard's default rules read it), and
:meth:`~incidentkit.store.Store.save_pages` keeps each page to each person for the after-hours
statistics.
"""

from __future__ import annotations

from typing import Any

from ..model.people import PeopleFacts
from ..model.time import format_utc

__all__ = ["PAGING_SOURCES", "paging_metadata"]

PAGING_SOURCES = ("oncall",)


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
