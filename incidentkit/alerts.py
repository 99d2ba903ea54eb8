"""Alert pairing: fire/resolve events from every alert source become one interval per alert.

(Provisional: one row per alert event until pairing lands.)
"""

from __future__ import annotations

from collections.abc import Sequence

from .events import Event
from .timeline import Row, row_from_event

__all__ = ["alert_rows"]


def alert_rows(events: Sequence[Event]) -> list[Row]:
    """Rows for alert events."""
    return [row_from_event(e) for e in events]
