"""One row per fact: the same action reported by two sources becomes one row.

A person who opens a task often says so in the SAL ("cwhite: opened T329510 for the fatals") while
Phabricator records the creation ten seconds later; a deploy tool and a chat bot can both report one
status change. Two rows are the same fact when they come from **different sources**, lie **within a
minute** of each other, name **the same task**, and have **the same actor** (nick, ignoring a
``@host``) **or the same kind**. Alert rows are left alone: :mod:`incidentkit.timeline.alerts`
already merges alerts across sources.

The merged row keeps the wording, time and key of the row a reader learns most from — a human's
own words (a log line) before a deploy tool's line before a task-tracker transaction — so its key
stays the same whichever other source also answered, and lists every source in its provenance.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ..model.event import ALERT_KINDS, DEPLOY_KINDS, EventKind
from ..model.row import Row

__all__ = ["SAME_FACT_WITHIN", "merge_duplicates", "actor_nick"]

SAME_FACT_WITHIN = timedelta(minutes=1)


_TOOL_KINDS = DEPLOY_KINDS | {EventKind.COOKBOOK, EventKind.DBCTL, EventKind.CONFTOOL}


def actor_nick(actor: str | None) -> str | None:
    """The person behind an actor as sources write it: ``urbanecm@deploy1002`` -> ``urbanecm``."""
    if not actor:
        return None
    nick = actor.strip().lstrip("<+@~&%").rstrip(">:").split("@", 1)[0].strip()
    return nick or None


def _rank(row: Row) -> int:
    """Whose wording wins: a person's words, then a tool's line, then a tracker's transaction."""
    if row.kind in (EventKind.LOG, EventKind.MANUAL):
        return 0
    if row.kind in _TOOL_KINDS:
        return 1
    return 2


def _same_fact(a: Row, b: Row) -> bool:
    if set(a.provenance) & set(b.provenance):
        return False
    if abs(a.time - b.time) > SAME_FACT_WITHIN or not set(a.tasks) & set(b.tasks):
        return False
    nick_a, nick_b = actor_nick(a.actor), actor_nick(b.actor)
    same_actor = nick_a is not None and nick_b is not None and nick_a.lower() == nick_b.lower()
    return same_actor or a.kind == b.kind


def _merge(a: Row, b: Row) -> Row:
    first, second = sorted((a, b), key=lambda r: (_rank(r), r.time, r.key))
    return replace(
        first,
        sources=tuple(dict.fromkeys((*first.provenance, *second.provenance))),
        actor=first.actor or second.actor,
        url=first.url or second.url,
        tasks=tuple(dict.fromkeys((*first.tasks, *second.tasks))),
        events=tuple(dict.fromkeys((*first.events, *second.events))),
        data={**second.data, **first.data},
    )


def merge_duplicates(rows: Sequence[Row]) -> list[Row]:
    """*rows* with every fact reported by several sources merged into one row (order kept by time).

    Linear in the rows: only rows of the last two minutes are candidates (a merged row keeps one
    of its two times, so it moves by a minute at most).
    """
    merged: list[Row] = []
    recent: deque[tuple[datetime, int]] = deque()  # (time first seen, index in merged) of rows with tasks
    for row in sorted(rows, key=lambda r: (r.time, r.source, r.key)):
        if row.kind in ALERT_KINDS or not row.tasks:
            merged.append(row)
            continue
        while recent and recent[0][0] < row.time - 2 * SAME_FACT_WITHIN:
            recent.popleft()
        match = next((index for _, index in reversed(recent) if _same_fact(merged[index], row)), None)
        if match is None:
            merged.append(row)
            recent.append((row.time, len(merged) - 1))
        else:
            merged[match] = _merge(merged[match], row)
    return sorted(merged, key=lambda r: (r.time, r.source, r.key))
