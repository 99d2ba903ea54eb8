"""Timeline curation: the owner's overrides and the ``[timeline]`` rules, re-applied on every draft.

Curation never changes events. What the owner decides is stored per incident (the Store's
"timeline curation" methods) and read back as a :class:`CurationState`: overrides keyed by row key
(hide / unhide, pin / unpin, edited text or time, a note), manual rows, and explicit key moments.
:func:`curate` applies that state and the auto-curation rules to whatever rows the sources return
*now*, so a re-pull keeps the owner's shape; an override whose row is gone is reported as an
:class:`Orphan`, never silently dropped.

Precedence, strongest first: the owner's explicit hide/unhide or pin/unpin; a pin (the owner's or a
rule's) protects a row from the hide rules; the hide rules; otherwise a row is shown. Rows the owner
added are never hidden by a rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..config import TimelineSettings
from ..model.curation import (
    MANUAL_SOURCE,
    MARKER_KEY_PREFIX,
    MARKERS,
    OWNER,
    CurationResult,
    CurationState,
    KeyMoments,
    MomentChoice,
    Orphan,
    Override,
    RowCuration,
)
from ..model.event import EventKind
from ..model.row import Row
from .moments import choose_moments
from .rules import Rules, compile_rules

__all__ = ["curate", "sort_key"]


def sort_key(row: Row) -> tuple[datetime, int, str, str]:
    rank = 0
    if row.key.startswith(MARKER_KEY_PREFIX):
        rank = -1 if row.marker == MARKERS["impact_start"] else 1
    return (row.time, rank, row.source, row.key)


def _edit(row: Row, override: Override | None) -> tuple[Row, RowCuration]:
    if override is None:
        return row, RowCuration()
    changes: dict[str, Any] = {}
    if override.text is not None and override.text != row.text:
        changes["text"] = override.text
    if override.time is not None and override.time != row.time:
        changes["time"] = override.time
    if override.note is not None:
        changes["note"] = override.note
    why = RowCuration(
        original_text=row.text if "text" in changes else None,
        original_time=row.time if "time" in changes else None,
    )
    if "text" in changes or "time" in changes:
        changes["edited"] = True
    return (row.with_changes(**changes) if changes else row), why


def _rule_pins(rows: Sequence[Row], rules: Rules, overrides: Mapping[str, Override]) -> dict[str, str]:
    pins = {r.key: f"rule: pin_kinds ({r.kind})" for r in rows if r.kind in rules.pin_kinds}
    if rules.pin_first_last_alert:
        candidates = [r for r in rows if not (r.key in overrides and overrides[r.key].hidden)]
        firing = [r for r in candidates if r.kind is EventKind.ALERT_FIRING]
        resolved = [r for r in candidates if r.kind is EventKind.ALERT_RESOLVED]
        if firing:
            pins[firing[0].key] = "rule: pin_first_last_alert (first alert)"
        last = resolved[-1] if resolved else (firing[-1] if firing else None)
        if last is not None:
            pins[last.key] = "rule: pin_first_last_alert (last alert)"
    return pins


def curate(rows: Sequence[Row], state: CurationState, rules: TimelineSettings) -> CurationResult:
    """Apply the owner's *state* and the auto-curation *rules* to freshly built *rows* (pure).

    Edits replace text and time (the row is flagged ``edited``, the source's values kept in
    ``curation``); hide/pin follow the precedence in the module docstring; rows whose key no
    earlier draft showed are flagged ``new`` (never on a first draft, never for manual rows). Key
    moments are the owner's where set, else suggested from the visible rows (see
    :func:`_suggest`), and carry the OUTAGE BEGINS / ENDS markers. Raises ConfigError for bad rules.
    """
    compiled = compile_rules(rules)
    manual_keys = {m.key for m in state.manual}
    source_rows = [r for r in rows if r.key not in manual_keys]
    edited: list[Row] = []
    why: dict[str, RowCuration] = {}
    for row in [*source_rows, *(m.to_row() for m in state.manual)]:
        changed, why[row.key] = _edit(row, state.overrides.get(row.key))
        edited.append(changed)
    edited.sort(key=sort_key)
    rule_pins = _rule_pins(edited, compiled, state.overrides)

    curated: list[Row] = []
    new_keys: list[str] = []
    for row in edited:
        override = state.overrides.get(row.key)
        if override is not None and override.pinned is not None:
            pinned, pinned_by = override.pinned, OWNER
        else:
            pinned, pinned_by = row.key in rule_pins, rule_pins.get(row.key)
        hidden_by: str | None = None
        if override is not None and override.hidden is not None:
            hidden, hidden_by = override.hidden, OWNER
        elif pinned or row.kind is EventKind.MANUAL:
            hidden = False
        else:
            hidden_by = compiled.hide_reason(row)
            hidden = hidden_by is not None
        new = state.drafted and row.key not in state.seen and row.key not in manual_keys
        if new:
            new_keys.append(row.key)
        if (row.pinned, row.hidden, row.new) != (pinned, hidden, new):  # replace() is the costly part
            row = row.with_changes(pinned=pinned, hidden=hidden, new=new)
        curated.append(row)
        why[row.key] = RowCuration(
            pinned_by=pinned_by,
            hidden_by=hidden_by,
            original_text=why[row.key].original_text,
            original_time=why[row.key].original_time,
        )

    present = {r.key for r in curated}
    orphans = [
        Orphan(row_key=key, action=override.describe())
        for key, override in sorted(state.overrides.items())
        if key not in present and override.describe()
    ]
    choices, moment_orphans = choose_moments(curated, state, compiled)
    orphans.extend(moment_orphans)
    final = _place_markers(curated, choices)
    return CurationResult(
        rows=tuple(final),
        orphans=tuple(orphans),
        new_keys=tuple(new_keys),
        moments=KeyMoments(**{c.moment: c.time for c in choices}),
        choices=tuple(choices),
        curation=why,
    )


def _place_markers(rows: list[Row], choices: Sequence[MomentChoice]) -> list[Row]:
    """Put OUTAGE BEGINS / ENDS on their rows; a moment on no visible row gets a marker-only row.

    A moment set at a bare time marks the visible row at exactly that time, if there is one.
    """
    by_key = {r.key: i for i, r in enumerate(rows)}
    extra: list[Row] = []
    for choice in choices:
        marker = MARKERS.get(choice.moment)
        if marker is None or choice.time is None:
            continue
        if choice.key:
            index = by_key.get(choice.key)
        else:
            index = next((i for i, r in enumerate(rows) if r.time == choice.time and not r.hidden), None)
        if index is not None:
            row = rows[index]
            if not row.hidden and row.time == choice.time and row.marker is None:
                rows[index] = row.with_changes(marker=marker)
                continue
        extra.append(
            Row(
                key=MARKER_KEY_PREFIX + choice.moment,
                time=choice.time,
                text="",
                source=MANUAL_SOURCE,
                kind=EventKind.MANUAL,
                marker=marker,
            )
        )
    return sorted([*rows, *extra], key=sort_key)
