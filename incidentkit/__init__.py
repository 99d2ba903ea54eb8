"""incidentkit: draft, publish and follow up Wikimedia-style incident reports.

The library behind the ``incidentkit`` command. A script drafts an incident without the CLI::

    from datetime import UTC, datetime
    import incidentkit as ik

    settings = ik.load_settings()
    window = ik.parse_window("2023-02-14 18:00", "2023-02-14 19:45", now=datetime.now(UTC))
    collected = ik.collect(ik.Query(window), settings, now=datetime.now(UTC))
    print(ik.render_incident(ik.draft_incident(collected, title="Backport crash", settings=settings)))

and syncs actionables with ``ik.sync_actionables(ik.Store.open(path), ik.ConduitClient.from_settings(settings),
now=...)``. Names are loaded on first use, so ``import incidentkit`` costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "__version__",
    "IncidentKitError",
    "Settings",
    "load_settings",
    "Window",
    "parse_window",
    "Query",
    "Event",
    "EventKind",
    "Incident",
    "Actionable",
    "ActionableStatus",
    "Store",
    "ConduitClient",
    "connect_wiki",
    "collect",
    "load_pull",
    "draft_incident",
    "record_draft",
    "render_incident",
    "publish_page",
    "sync_actionables",
    "list_actionables",
]

_HOMES = {
    "IncidentKitError": "incidentkit.errors",
    "Settings": "incidentkit.config",
    "load_settings": "incidentkit.config",
    "Window": "incidentkit.model.window",
    "parse_window": "incidentkit.model.window",
    "Query": "incidentkit.model.source",
    "Event": "incidentkit.model.event",
    "EventKind": "incidentkit.model.event",
    "Incident": "incidentkit.model.incident",
    "Actionable": "incidentkit.model.actionable",
    "ActionableStatus": "incidentkit.model.actionable",
    "Store": "incidentkit.store",
    "ConduitClient": "incidentkit.clients.conduit",
    "connect_wiki": "incidentkit.clients.mediawiki",
    "collect": "incidentkit.services.pulls",
    "load_pull": "incidentkit.services.pulls",
    "draft_incident": "incidentkit.services.draft",
    "record_draft": "incidentkit.services.draft",
    "render_incident": "incidentkit.wikitext.render",
    "publish_page": "incidentkit.services.publish",
    "sync_actionables": "incidentkit.services.sync",
    "list_actionables": "incidentkit.services.reporting",
}

if TYPE_CHECKING:  # for type checkers and IDEs only: at run time the names load lazily (start-up cost)
    from incidentkit.clients.conduit import ConduitClient
    from incidentkit.clients.mediawiki import connect_wiki
    from incidentkit.config import Settings, load_settings
    from incidentkit.errors import IncidentKitError
    from incidentkit.model.actionable import Actionable, ActionableStatus
    from incidentkit.model.event import Event, EventKind
    from incidentkit.model.incident import Incident
    from incidentkit.model.source import Query
    from incidentkit.model.window import Window, parse_window
    from incidentkit.services.draft import draft_incident, record_draft
    from incidentkit.services.publish import publish_page
    from incidentkit.services.pulls import collect, load_pull
    from incidentkit.services.reporting import list_actionables
    from incidentkit.services.sync import sync_actionables
    from incidentkit.store import Store
    from incidentkit.wikitext.render import render_incident


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from incidentkit.util import version

        return version()
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'incidentkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
