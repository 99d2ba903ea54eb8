"""The merge of events from several sources into one stable, deduplicated list."""

from __future__ import annotations

from collections.abc import Iterable

from ..model.event import Event
from ..model.window import Window

__all__ = ["merge_events"]


def merge_events(groups: Iterable[Iterable[Event]], window: Window | None = None) -> list[Event]:
    """Merge events from several sources: drop duplicates by key, keep the window, sort stably.

    The first event seen for a key wins. Order is ``(time, source, key)``, so the same input
    always gives the same output whatever order the sources answered in.
    """
    by_key: dict[str, Event] = {}
    for group in groups:
        for event in group:
            if window is not None and not event.within(window):
                continue
            by_key.setdefault(event.key, event)
    return sorted(by_key.values(), key=lambda e: (e.time, e.source, e.key))
