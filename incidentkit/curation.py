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

Also the pure helpers the ``timeline`` commands use: short refs for row keys (git-style unique
prefixes), key resolution, row filters, and times given relative to the incident's day.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

from .config import TimelineSettings
from .errors import ConfigError, InputError
from .events import DEPLOY_KINDS, EventKind
from .incident import KeyMoments
from .timeline import Row
from .window import format_utc, parse_when

__all__ = [
    "MOMENTS",
    "MARKERS",
    "MANUAL_SOURCE",
    "Override",
    "ManualRow",
    "MomentSetting",
    "CurationState",
    "Orphan",
    "MomentChoice",
    "RowCuration",
    "CurationResult",
    "curate",
    "describe_rules",
    "moment_name",
    "moment_time",
    "row_ref",
    "short_refs",
    "resolve_keys",
    "resolve_moment_target",
    "RowFilter",
    "select_keys",
    "curatable_keys",
    "parse_row_time",
    "parse_between",
    "row_records",
    "ROW_COLUMNS",
]

MOMENTS: tuple[str, ...] = tuple(f.name for f in fields(KeyMoments))  # impact_start ... resolved
MARKERS: Mapping[str, str] = {"impact_start": "OUTAGE BEGINS", "resolved": "OUTAGE ENDS"}
MANUAL_SOURCE = "manual"  # Row.source of rows the owner added
MARKER_KEY_PREFIX = "moment:"  # key of a marker-only row (a key moment that sits on no visible row)
OWNER = "owner"

_MOMENT_ALIASES = {
    **{name: name for name in MOMENTS},
    "impact-start": "impact_start",
    "start": "impact_start",
    "impact": "impact_start",
    "begins": "impact_start",
    "detection": "detected",
    "detect": "detected",
    "response": "responded",
    "first-response": "responded",
    "first_response": "responded",
    "respond": "responded",
    "mitigation": "mitigated",
    "mitigate": "mitigated",
    "resolution": "resolved",
    "resolve": "resolved",
    "end": "resolved",
    "ends": "resolved",
}

# Rows that are somebody changing production or saying what they do: where a revert shows up.
_ACTION_KINDS = (DEPLOY_KINDS - {EventKind.ABORT}) | {
    EventKind.LOG,
    EventKind.COOKBOOK,
    EventKind.DBCTL,
    EventKind.CONFTOOL,
    EventKind.MANUAL,
}
_PRODUCTION_DEPLOYS = DEPLOY_KINDS - {EventKind.ABORT}
_NOT_LANDED_PHASES = frozenset({"start", "testservers"})  # SAL data["phase"]: not yet on every server
_REVERT_RE = re.compile(r"\b(?:revert(?:s|ed|ing)?|roll(?:s|ed|ing)?[ -]?back|rollback)\b", re.IGNORECASE)
_REVERT_DEPLOY_WITHIN = timedelta(minutes=60)  # a revert announced or started lands with the next deploy


def _landed(row: Row) -> bool:
    """A production deploy that reached production: a finish line, or one with no phase."""
    return row.kind in _PRODUCTION_DEPLOYS and row.data.get("phase") not in _NOT_LANDED_PHASES


def _is_revert(row: Row) -> bool:
    return row.kind in _ACTION_KINDS and (bool(row.data.get("revert")) or bool(_REVERT_RE.search(row.text)))


def moment_name(text: str) -> str:
    """The KeyMoments field for *text* (``detected``, ``mitigation``, ``impact-start``...).

    Raises InputError for an unknown name.
    """
    name = _MOMENT_ALIASES.get(text.strip().lower().replace(" ", "-"))
    if name is None:
        raise InputError(f"unknown key moment {text!r}", hint=f"use one of: {', '.join(MOMENTS)}")
    return name


# --- the stored state -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """What the owner set on one row. ``None`` means "not set": the source and the rules decide."""

    key: str
    hidden: bool | None = None  # True = hide, False = show even if a rule hides it
    pinned: bool | None = None  # True = pin, False = unpinned even if a rule pins it
    text: str | None = None
    time: datetime | None = None
    note: str | None = None

    def describe(self) -> str:
        """What this override does, e.g. ``"hidden, text edited"``."""
        parts = []
        if self.hidden is not None:
            parts.append("hidden" if self.hidden else "unhidden")
        if self.pinned is not None:
            parts.append("pinned" if self.pinned else "unpinned")
        if self.text is not None:
            parts.append("text edited")
        if self.time is not None:
            parts.append("time edited")
        if self.note is not None:
            parts.append("note")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualRow:
    """A row the owner added by hand (``timeline add``)."""

    key: str
    time: datetime
    text: str

    def to_row(self) -> Row:
        return Row(
            key=self.key,
            time=self.time,
            text=self.text,
            source=MANUAL_SOURCE,
            kind=EventKind.MANUAL,
            events=(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MomentSetting:
    """A key moment the owner set: on a row (*key*, its *time* when marked) or at a bare time."""

    moment: str
    time: datetime
    key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CurationState:
    """Everything the owner decided for one incident, plus which row keys earlier drafts showed.

    ``drafted`` is False for an incident never drafted before: then no row counts as new.
    """

    overrides: Mapping[str, Override] = field(default_factory=dict)
    manual: tuple[ManualRow, ...] = ()
    moments: Mapping[str, MomentSetting] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()
    drafted: bool = False


# --- the result -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Orphan:
    """An override or key moment whose row the sources no longer return."""

    row_key: str
    action: str  # "hidden, text edited" or "key moment detected"


@dataclass(frozen=True, slots=True, kw_only=True)
class MomentChoice:
    """One key moment as chosen: when, on which row, and why."""

    moment: str
    time: datetime | None
    key: str | None
    origin: str  # "owner", "suggested" or "none"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RowCuration:
    """Why a row has its flags: who pinned or hid it, and what the source said before an edit."""

    pinned_by: str | None = None  # "owner" or "rule: ..."; None when nothing set it
    hidden_by: str | None = None
    original_text: str | None = None
    original_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CurationResult:
    """The curated timeline.

    ``rows`` holds every row, hidden ones included (flags set, manual and marker rows merged in,
    sorted by time); ``new_keys`` the rows no earlier draft showed; ``moments`` the key moments
    (the owner's where set, else suggested), with ``choices`` saying where each came from.
    """

    rows: tuple[Row, ...]
    orphans: tuple[Orphan, ...] = ()
    new_keys: tuple[str, ...] = ()
    moments: KeyMoments = field(default_factory=KeyMoments)
    choices: tuple[MomentChoice, ...] = ()
    curation: Mapping[str, RowCuration] = field(default_factory=dict)

    @property
    def visible(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.hidden)


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    pin_kinds: frozenset[EventKind]
    pin_first_last_alert: bool
    hide_kinds: frozenset[EventKind]
    hide_matching: tuple[re.Pattern[str], ...]
    impact_deploy_window: timedelta

    def hide_reason(self, row: Row) -> str | None:
        if row.kind in self.hide_kinds:
            return f"rule: hide_kinds ({row.kind})"
        for pattern in self.hide_matching:
            if pattern.search(row.text):
                return f"rule: hide_matching ({pattern.pattern})"
        return None


def _kinds(values: Iterable[str], key: str) -> frozenset[EventKind]:
    kinds = set()
    for value in values:
        try:
            kinds.add(EventKind(value.strip().lower()))
        except ValueError as exc:
            raise ConfigError(
                f"config key timeline.{key} names unknown event kind {value!r}",
                hint=f"known kinds: {', '.join(k.value for k in EventKind)}",
            ) from exc
    return frozenset(kinds)


def _compile(settings: TimelineSettings) -> _Rules:
    patterns = []
    for text in settings.hide_matching:
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(
                f"config key timeline.hide_matching holds an invalid regular expression {text!r}: {exc}",
                hint="fix the pattern (Python regular expressions, matched case-insensitively anywhere in a row)",
            ) from exc
    if settings.impact_deploy_minutes < 0:
        raise ConfigError(
            f"config key timeline.impact_deploy_minutes must be 0 or more, got {settings.impact_deploy_minutes}"
        )
    return _Rules(
        pin_kinds=_kinds(settings.pin_kinds, "pin_kinds"),
        pin_first_last_alert=settings.pin_first_last_alert,
        hide_kinds=_kinds(settings.hide_kinds, "hide_kinds"),
        hide_matching=tuple(patterns),
        impact_deploy_window=timedelta(minutes=settings.impact_deploy_minutes),
    )


def describe_rules(settings: TimelineSettings) -> list[dict[str, Any]]:
    """The effective auto-curation rules as records (rule, value, effect); validates them.

    Raises ConfigError for an unknown kind or an invalid pattern.
    """
    _compile(settings)
    return [
        {"rule": "pin_kinds", "value": list(settings.pin_kinds), "effect": "pin rows of these kinds"},
        {
            "rule": "pin_first_last_alert",
            "value": settings.pin_first_last_alert,
            "effect": "pin the first alert that fired and the last resolution",
        },
        {
            "rule": "hide_kinds",
            "value": list(settings.hide_kinds),
            "effect": "hide rows of these kinds unless pinned",
        },
        {
            "rule": "hide_matching",
            "value": list(settings.hide_matching),
            "effect": "hide rows whose text matches one of these regular expressions (case-insensitive) unless pinned",
        },
        {
            "rule": "impact_deploy_minutes",
            "value": settings.impact_deploy_minutes,
            "effect": "suggest a deploy this many minutes or less before the first alert as the impact start",
        },
        {
            "rule": "(always)",
            "value": None,
            "effect": "the owner's hide/unhide/pin/unpin win over every rule; rows added by hand are never auto-hidden",
        },
    ]


# --- curate ---------------------------------------------------------------------------------


def _sort_key(row: Row) -> tuple[datetime, int, str, str]:
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


def _rule_pins(rows: Sequence[Row], rules: _Rules, overrides: Mapping[str, Override]) -> dict[str, str]:
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
    compiled = _compile(rules)
    manual_keys = {m.key for m in state.manual}
    source_rows = [r for r in rows if r.key not in manual_keys]
    edited: list[Row] = []
    why: dict[str, RowCuration] = {}
    for row in [*source_rows, *(m.to_row() for m in state.manual)]:
        changed, why[row.key] = _edit(row, state.overrides.get(row.key))
        edited.append(changed)
    edited.sort(key=_sort_key)
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
    choices, moment_orphans = _choose_moments(curated, state, compiled)
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


# --- key moments ----------------------------------------------------------------------------


def moment_time(moment: str, row: Row) -> datetime:
    """When *row* puts *moment*: its time, except that an alert interval resolves at its end."""
    if moment == "resolved" and row.kind is EventKind.ALERT_FIRING and row.end is not None:
        return row.end
    return row.time


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def _choose_moments(
    rows: Sequence[Row], state: CurationState, rules: _Rules
) -> tuple[list[MomentChoice], list[Orphan]]:
    by_key = {r.key: r for r in rows}
    orphans: list[Orphan] = []
    explicit: dict[str, MomentChoice] = {}
    for name in MOMENTS:
        setting = state.moments.get(name)
        if setting is None:
            continue
        if setting.key is None:
            explicit[name] = MomentChoice(
                moment=name, time=setting.time, key=None, origin=OWNER, reason="set by the owner"
            )
        elif setting.key in by_key:
            row = by_key[setting.key]
            explicit[name] = MomentChoice(
                moment=name, time=moment_time(name, row), key=row.key, origin=OWNER, reason="set by the owner"
            )
        else:
            orphans.append(Orphan(row_key=setting.key, action=f"key moment {name}"))
            explicit[name] = MomentChoice(
                moment=name,
                time=setting.time,
                key=None,
                origin=OWNER,
                reason=f"set by the owner on a row that is gone; kept at {format_utc(setting.time)}",
            )
    return _suggest([r for r in rows if not r.hidden], explicit, rules.impact_deploy_window), orphans


def _suggested(name: str, row: Row, reason: str, when: datetime | None = None) -> MomentChoice:
    return MomentChoice(moment=name, time=when or row.time, key=row.key, origin="suggested", reason=reason)


def _none(name: str, reason: str) -> MomentChoice:
    return MomentChoice(moment=name, time=None, key=None, origin="none", reason=reason)


def _suggest(
    visible: Sequence[Row], explicit: Mapping[str, MomentChoice], impact_window: timedelta
) -> list[MomentChoice]:
    """Key moments: the owner's where set, else suggested from the visible rows, in this order.

    * **detected**: the first alert that fired.
    * **impact_start**: anchored on the earlier of the first alert and the detection time; the
      last production deploy that *landed* (a sync, deploy, train or backport that finished, not
      a "Started" or test-server line, not a revert) at most ``impact_deploy_minutes`` before the
      anchor, else the anchor itself. Bad deploys are the commonest cause, and alerts lag the damage.
    * **responded**: the first row at or after detection (same minute counts: the SAL has
      minute precision) that is not an alert firing or resolving: a log line, an ack, a silence,
      a task, a deploy.
    * **mitigated**: from the impact start on (from the first row when it is unknown), the first
      revert: a row the SAL source flags ``revert`` or whose text says revert / rollback / roll
      back. If that deploy landed, it; if it is a "Started" line or a log line announcing the
      revert, the first deploy landing within 60 minutes after it, else the row itself. With no
      revert in sight: the first deploy that landed after detection (the first alert, or the
      owner's detection time: a human report often comes before any alert).
    * **resolved**: the last alert resolution, unless an alert fired after it or was still firing
      at the window end (then the incident is not over as far as the alerts know).

    Hidden rows do not count: hiding a noisy alert moves the suggestions, as the owner meant.
    """

    def pick(name: str, suggestion: MomentChoice) -> MomentChoice:
        return explicit.get(name, suggestion)

    firing = [r for r in visible if r.kind is EventKind.ALERT_FIRING]
    first_alert = firing[0] if firing else None

    detected = pick(
        "detected",
        _suggested("detected", first_alert, "the first alert")
        if first_alert
        else _none("detected", "no alert in the timeline"),
    )

    anchor_times = [t for t in (first_alert.time if first_alert else None, detected.time) if t is not None]
    if anchor_times:
        anchor = min(anchor_times)
        deploys = [
            r
            for r in visible
            if _landed(r) and anchor - impact_window <= r.time <= anchor and not _is_revert(r)
        ]
        if deploys:
            what = (
                "the first alert" if first_alert is not None and first_alert.time == anchor else "detection"
            )
            impact = _suggested(
                "impact_start", deploys[-1], f"the deploy {_minutes(anchor - deploys[-1].time)} before {what}"
            )
        elif first_alert is not None and first_alert.time == anchor:
            impact = _suggested("impact_start", first_alert, "the first alert (no deploy just before it)")
        else:
            impact = MomentChoice(
                moment="impact_start",
                time=anchor,
                key=detected.key,
                origin="suggested",
                reason="the detection time",
            )
    else:
        impact = _none("impact_start", "no alert and no detection time")
    impact = pick("impact_start", impact)

    responded = _none("responded", "no detection time")
    if detected.time is not None:
        since = detected.time.replace(second=0, microsecond=0)
        responder = next(
            (
                r
                for r in visible
                if r.time >= since
                and r.key != detected.key
                and r.kind not in (EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED)
            ),
            None,
        )
        responded = (
            _suggested("responded", responder, "the first human action after detection")
            if responder
            else _none("responded", "no action after detection")
        )
    responded = pick("responded", responded)

    mitigated = pick("mitigated", _suggest_mitigation(visible, impact.time, detected.time))

    resolutions = [(r.time, r) for r in visible if r.kind is EventKind.ALERT_RESOLVED]
    resolutions += [(r.end, r) for r in firing if r.end is not None]
    resolved = _none("resolved", "no alert resolved")
    if any(r.data.get("ongoing") for r in firing):
        resolved = _none("resolved", "an alert was still firing at the window end")
    elif resolutions:
        when, row = max(resolutions, key=lambda pair: pair[0])
        if not firing or when >= firing[-1].time:
            resolved = _suggested("resolved", row, "the last alert resolved", when=when)
        else:
            resolved = _none("resolved", "an alert fired again after the last resolution")
    resolved = pick("resolved", resolved)
    return [impact, detected, responded, mitigated, resolved]


def _suggest_mitigation(
    visible: Sequence[Row], start: datetime | None, detected: datetime | None
) -> MomentChoice:
    after = [r for r in visible if start is None or r.time >= start]
    revert = next((r for r in after if _is_revert(r)), None)
    if revert is not None:
        if _landed(revert):
            return _suggested("mitigated", revert, "the first revert/rollback deploy")
        shipped = next(
            (r for r in after if _landed(r) and revert.time <= r.time <= revert.time + _REVERT_DEPLOY_WITHIN),
            None,
        )
        if shipped is not None:
            what = "started" if revert.kind in _PRODUCTION_DEPLOYS else "announced"
            return _suggested(
                "mitigated", shipped, f"the first deploy to land after the revert/rollback was {what}"
            )
        return _suggested("mitigated", revert, "the revert/rollback, with no deploy landing after it")
    if detected is not None:
        deploy = next((r for r in after if _landed(r) and r.time > detected), None)
        if deploy is not None:
            return _suggested("mitigated", deploy, "the first deploy after detection (no revert seen)")
    return _none("mitigated", "no revert/rollback and no deploy after detection")


def _place_markers(rows: list[Row], choices: Sequence[MomentChoice]) -> list[Row]:
    """Put OUTAGE BEGINS / ENDS on their rows; a moment on no visible row gets a marker-only row."""
    by_key = {r.key: i for i, r in enumerate(rows)}
    extra: list[Row] = []
    for choice in choices:
        marker = MARKERS.get(choice.moment)
        if marker is None or choice.time is None:
            continue
        index = by_key.get(choice.key) if choice.key else None
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
    return sorted([*rows, *extra], key=_sort_key)


# --- refs, keys and filters for the commands ------------------------------------------------

MIN_PREFIX = 4


def row_ref(key: str) -> str:
    """The full hex ref of a row key (its SHA-1); ``timeline show`` prints a unique prefix."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def short_refs(keys: Iterable[str], minimum: int = 7) -> dict[str, str]:
    """The shortest ref prefix (at least *minimum* characters) that tells every key apart."""
    full = {key: row_ref(key) for key in dict.fromkeys(keys)}
    length = minimum
    while len({ref[:length] for ref in full.values()}) < len(full) and length < 40:
        length += 1
    return {key: ref[:length] for key, ref in full.items()}


def _matches(given: str, keys: Sequence[str]) -> list[str]:
    if given in keys:
        return [given]
    if len(given) < MIN_PREFIX:
        return []
    lowered = given.lower()
    return [k for k in keys if row_ref(k).startswith(lowered) or k.startswith(given)]


def resolve_keys(given: Iterable[str], keys: Sequence[str], *, incident: str) -> tuple[str, ...]:
    """Full row keys for refs or keys as typed: an exact key, or a unique prefix of a ref or key.

    Raises InputError for one that matches nothing or several rows.
    """
    resolved: dict[str, None] = {}
    for text in given:
        found = _matches(text.strip(), keys)
        if not found:
            raise InputError(
                f"no row {text!r} in {incident}",
                hint=f"`incidentkit timeline show {incident} --all` lists every row with its ref "
                f"(give at least {MIN_PREFIX} characters)",
            )
        if len(found) > 1:
            refs = short_refs(keys)
            raise InputError(
                f"row {text!r} is ambiguous in {incident}: it matches {len(found)} rows "
                f"({', '.join(refs[k] for k in found[:5])}{', ...' if len(found) > 5 else ''})",
                hint="give more characters of the ref",
            )
        resolved[found[0]] = None
    return tuple(resolved)


_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_row_time(text: str, *, day: date | None, now: datetime, option: str = "--time") -> datetime:
    """A time for a row: ``HH:MM[:SS]`` on *day* (UTC), else any form :func:`parse_when` reads.

    Raises InputError for an unreadable time, or a bare clock time with no day to put it on.
    """
    match = _CLOCK_RE.match(text.strip())
    if match is None:
        return parse_when(text, now=now, option=option)
    if day is None:
        raise InputError(
            f"{option} {text!r} has no date and the incident has no rows to take one from",
            hint="give a full time such as 2016-09-15T19:10Z",
        )
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InputError(f"{option} {text!r} is not a time of day", hint="use HH:MM in UTC, e.g. 19:10")
    return datetime.combine(day, clock(hour, minute, second), tzinfo=UTC)


def parse_between(text: str, *, day: date | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """``FROM..TO`` (inclusive; either side may be left empty) as UTC times.

    Raises InputError for a missing ``..``, two empty sides, unreadable times or FROM after TO.
    """
    start_text, sep, end_text = text.partition("..")
    if not sep or not (start_text.strip() or end_text.strip()):
        raise InputError(
            f"--between {text!r} is not FROM..TO",
            hint="e.g. --between 19:10..19:40, --between 2016-09-15T19:10Z.., --between ..19:40",
        )
    start = parse_row_time(start_text, day=day, now=now, option="--between") if start_text.strip() else None
    end = parse_row_time(end_text, day=day, now=now, option="--between") if end_text.strip() else None
    if start is not None and end is not None and end < start:
        raise InputError(f"--between {text!r} ends before it starts", hint="put the earlier time first")
    return start, end


@dataclass(frozen=True, slots=True, kw_only=True)
class RowFilter:
    """The ``--source/--kind/--match/--between/--unpinned`` filters; a row must pass all that are set."""

    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    match: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    unpinned: bool = False

    def __post_init__(self) -> None:
        known = {k.value for k in EventKind}
        for kind in self.kinds:
            if kind.lower() not in known:
                raise InputError(
                    f"--kind {kind!r} is not an event kind", hint=f"known kinds: {', '.join(sorted(known))}"
                )

    @property
    def active(self) -> bool:
        return bool(self.sources or self.kinds or self.match or self.start or self.end or self.unpinned)

    def accepts(self, row: Row) -> bool:
        if self.sources and row.source.lower() not in {s.lower() for s in self.sources}:
            return False
        if self.kinds and str(row.kind) not in {k.lower() for k in self.kinds}:
            return False
        if self.match and self.match.lower() not in row.text.lower():
            return False
        if self.start is not None and row.time < self.start:
            return False
        if self.end is not None and row.time > self.end:
            return False
        return not (self.unpinned and row.pinned)


def curatable_keys(rows: Iterable[Row]) -> list[str]:
    """Keys of the rows an owner can curate: every row but the marker-only ones."""
    return [r.key for r in rows if not r.key.startswith(MARKER_KEY_PREFIX)]


def select_keys(
    rows: Sequence[Row],
    given: Iterable[str],
    row_filter: RowFilter,
    *,
    incident: str,
    also: Iterable[str] = (),
) -> tuple[str, ...]:
    """Keys of the rows named in *given* plus those *row_filter* accepts (marker-only rows excluded).

    *also* adds keys that can be named but match no row (orphaned overrides, for ``reset``).
    """
    keys = curatable_keys(rows)
    known = set(keys)
    curatable = [r for r in rows if r.key in known]
    named = resolve_keys(given, [*keys, *(k for k in also if k not in known)], incident=incident)
    filtered = (
        [r.key for r in curatable if r.key not in named and row_filter.accepts(r)]
        if row_filter.active
        else []
    )
    return (*named, *filtered)


def resolve_moment_target(
    text: str, rows: Sequence[Row], moment: str, *, incident: str, day: date | None, now: datetime
) -> tuple[str | None, datetime]:
    """``ROW|TIME`` for ``timeline mark``: (row key, its time) or (None, the time given).

    An exact key wins, then a clock or ISO time, then a unique ref/key prefix, then a human time.
    Raises InputError when it is neither.
    """
    rows = [r for r in rows if not r.key.startswith(MARKER_KEY_PREFIX)]
    by_key = {r.key: r for r in rows}
    text = text.strip()
    if text in by_key:
        return text, moment_time(moment, by_key[text])
    if _CLOCK_RE.match(text) or re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None, parse_row_time(text, day=day, now=now, option="the time")
    found = _matches(text, list(by_key))
    if len(found) == 1:
        return found[0], moment_time(moment, by_key[found[0]])
    if len(found) > 1:
        resolve_keys([text], list(by_key), incident=incident)  # raises the ambiguity error
    try:
        return None, parse_when(text, now=now, option="the time")
    except InputError as exc:
        raise InputError(
            f"{text!r} is neither a row of {incident} nor a time",
            hint=f"give a ref from `incidentkit timeline show {incident} --all`, or a time such as 19:10 or 2016-09-15T19:10Z",
        ) from exc


# --- records for output ---------------------------------------------------------------------

ROW_COLUMNS = ["ref", "time", "flags", "marker", "source", "kind", "actor", "text", "note", "key"]


def _flags(row: Row, why: RowCuration) -> str:
    flags = ""
    if row.pinned:
        flags += "P" if why.pinned_by == OWNER else "p"
    if row.hidden:
        flags += "H" if why.hidden_by == OWNER else "h"
    if row.edited:
        flags += "E"
    if row.new:
        flags += "N"
    return flags


def row_records(result: CurationResult, *, include_hidden: bool) -> list[dict[str, Any]]:
    """Rows as records for ``timeline show``.

    ``flags``: P pinned by the owner, p pinned by a rule, H hidden by the owner, h hidden by a
    rule, E edited, N new since the previous draft. Marker-only rows have no ref.
    """
    refs = short_refs(r.key for r in result.rows)
    records = []
    for row in result.rows if include_hidden else result.visible:
        why = result.curation.get(row.key, RowCuration())
        marker_only = row.key.startswith(MARKER_KEY_PREFIX)
        records.append(
            {
                "ref": "" if marker_only else refs[row.key],
                "time": format_utc(row.time),
                "end": format_utc(row.end) if row.end else None,
                "flags": _flags(row, why),
                "marker": row.marker,
                "source": row.source,
                "kind": str(row.kind),
                "actor": row.actor,
                "text": row.text,
                "note": row.note,
                "key": row.key,
                "pinned": row.pinned,
                "hidden": row.hidden,
                "edited": row.edited,
                "new": row.new,
                "pinned_by": why.pinned_by,
                "hidden_by": why.hidden_by,
                "original_text": why.original_text,
                "original_time": format_utc(why.original_time) if why.original_time else None,
            }
        )
    return records
