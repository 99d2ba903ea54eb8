"""Key moments: the owner's where set, else one suggestion per moment from the visible rows."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ..model.curation import MOMENTS, OWNER, CurationState, MomentChoice, Orphan
from ..model.event import DEPLOY_KINDS, PAGE_KINDS, EventKind
from ..model.row import Row
from ..model.time import format_duration, format_utc
from .rules import Rules

__all__ = ["moment_time", "choose_moments"]


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


def moment_time(moment: str, row: Row) -> datetime:
    """When *row* puts *moment*: its time, except that an alert interval resolves at its end."""
    if moment == "resolved" and row.kind is EventKind.ALERT_FIRING and row.end is not None:
        return row.end
    return row.time


def choose_moments(
    rows: Sequence[Row], state: CurationState, rules: Rules
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
    return _in_order(_suggest([r for r in rows if not r.hidden], explicit, rules.impact_deploy_window)), orphans


def _in_order(choices: list[MomentChoice]) -> list[MomentChoice]:
    """Say so on every moment that comes before an earlier one in :data:`MOMENTS` order.

    Impact start <= detected <= responded <= mitigated <= resolved. The suggestions keep that
    order by construction except where the evidence says otherwise (a revert that landed before
    any alert: people noticed before monitoring did); the owner's moments may break it too. The
    reason then names the moment it comes before, so ``timeline moments`` shows what to check.
    """
    checked: list[MomentChoice] = []
    latest: MomentChoice | None = None
    for choice in choices:
        if choice.time is not None and latest is not None and latest.time is not None and choice.time < latest.time:
            name = latest.moment.replace("_", " ")
            choice = replace(
                choice,
                reason=f"{choice.reason}; out of order: before {name} ({format_utc(latest.time)}), check both",
            )
        if choice.time is not None and (latest is None or latest.time is None or choice.time >= latest.time):
            latest = choice
        checked.append(choice)
    return checked


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
    * **responded**: the first acknowledgement of a page at or after the detection time; else the
      first row from then on (to the second: a SAL line of the detection minute may be older than
      the alert, so it does not count) that is a person's action, not an alert firing or resolving
      nor the paging system alone: a log line, an alert ack, a silence, a task, a deploy, a manual page.
    * **mitigated**: from the impact start on (from the first row when it is unknown), the first
      revert: a row the SAL source flags ``revert`` or whose text says revert / rollback / roll
      back. If that deploy landed, it; if it is a "Started" line or a log line announcing the
      revert, the first deploy landing within 60 minutes after it, else the row itself. With no
      revert in sight: the first deploy that landed after detection (the first alert, or the
      owner's detection time: a human report often comes before any alert).
    * **resolved**: the last alert resolution, unless an alert fired after it or was still firing
      at the window end (then the incident is not over as far as the alerts know).

    Hidden rows do not count: hiding a noisy alert moves the suggestions, as the owner meant.
    Their order is checked afterwards (:func:`_in_order`).
    """

    def pick(name: str, suggestion: MomentChoice) -> MomentChoice:
        return explicit.get(name, suggestion)

    firing = [r for r in visible if r.kind is EventKind.ALERT_FIRING]
    first_alert = firing[0] if firing else None
    detected = pick("detected", _detected(first_alert))
    impact = pick("impact_start", _impact_start(visible, first_alert, detected, impact_window))
    responded = pick("responded", _responded(visible, detected))
    mitigated = pick("mitigated", _suggest_mitigation(visible, impact.time, detected.time))
    resolved = pick("resolved", _resolved(visible, firing))
    return [impact, detected, responded, mitigated, resolved]


def _detected(first_alert: Row | None) -> MomentChoice:
    if first_alert is None:
        return _none("detected", "no alert in the timeline")
    return _suggested("detected", first_alert, "the first alert")


def _impact_start(
    visible: Sequence[Row], first_alert: Row | None, detected: MomentChoice, impact_window: timedelta
) -> MomentChoice:
    anchor_times = [t for t in (first_alert.time if first_alert else None, detected.time) if t is not None]
    if not anchor_times:
        return _none("impact_start", "no alert and no detection time")
    anchor = min(anchor_times)
    deploys = [
        r for r in visible if _landed(r) and anchor - impact_window <= r.time <= anchor and not _is_revert(r)
    ]
    if deploys:
        what = "the first alert" if first_alert is not None and first_alert.time == anchor else "detection"
        return _suggested(
            "impact_start", deploys[-1], f"the deploy {format_duration(anchor - deploys[-1].time)} before {what}"
        )
    if first_alert is not None and first_alert.time == anchor:
        return _suggested("impact_start", first_alert, "the first alert (no deploy just before it)")
    return MomentChoice(
        moment="impact_start", time=anchor, key=detected.key, origin="suggested", reason="the detection time"
    )


def _responded(visible: Sequence[Row], detected: MomentChoice) -> MomentChoice:
    if detected.time is None:
        return _none("responded", "no detection time")
    after = [r for r in visible if r.time >= detected.time and r.key != detected.key]
    ack = next((r for r in after if r.kind is EventKind.PAGE_ACK and r.data.get("human")), None)
    if ack is not None:
        return _suggested("responded", ack, "the first acknowledgement of a page")
    responder = next(
        (
            r
            for r in after
            if r.kind not in (EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED)
            and (r.kind not in PAGE_KINDS or r.data.get("human"))  # the paging system acting alone is no response
        ),
        None,
    )
    if responder is None:
        return _none("responded", "no action after detection")
    return _suggested("responded", responder, "the first human action after detection")


def _resolved(visible: Sequence[Row], firing: Sequence[Row]) -> MomentChoice:
    resolutions = [(r.time, r) for r in visible if r.kind is EventKind.ALERT_RESOLVED]
    resolutions += [(r.end, r) for r in firing if r.end is not None]
    if any(r.data.get("ongoing") for r in firing):
        return _none("resolved", "an alert was still firing at the window end")
    if not resolutions:
        return _none("resolved", "no alert resolved")
    when, row = max(resolutions, key=lambda pair: pair[0])
    if not firing or when >= firing[-1].time:
        return _suggested("resolved", row, "the last alert resolved", when=when)
    return _none("resolved", "an alert fired again after the last resolution")


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
