"""People from facts: who was paged, who responded, who noticed first, and the scorecard's paging questions.

Everything here is pure and computed from a draft's events (every source's, merged). Each value
says where it came from, because each is a suggestion the incident owner confirms:

* **People paged** (:func:`paged_people`): the people the paging source says each page reached,
  counted once; pages to a team with nobody named leave the count unknown. Without a paging source,
  paged alerts only say that pages went out.
* **Responders** (:func:`responders`): people who acted on a page (acknowledged, resolved or sent
  one), logged to the SAL, acted on the incident's tasks, silenced an alert, or spoke in the channel
  about it (naming the symptoms, an alert, a task, or an action such as looking, reverting,
  restarting), within the window. People whose only words described the symptoms reported it and
  are not counted. Bots and system users never count.
* **Coordinators** (:func:`suggest_coordinator`): the responder with the most kinds of trace.
* **First human report** (:func:`first_human_report`): the first message from a person that names
  the symptoms (an alert's words, a service or host, or two error words) and no action of theirs
  (reverting, silencing, restarting...), from the impact start on
  (or from ``lookback`` before the first alert when the impact start is not known apart from it);
  :func:`detected_suggestion` offers it for "detected" when it came before the first alert.
* **Scorecard**: :func:`routing_verdict` (pages went to the team owning the paging alerts, through
  ``[oncall] team_routes``) and :func:`hours_verdict` over :func:`page_burden` (each page to each
  person, in or out of their ``[business_hours]``).
* :func:`link_pages` ties each page row to the alert row that caused it (same alert name, firing
  from 30 minutes before the page to 5 minutes after).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import BusinessHoursSettings, Settings
from ..errors import ConfigError
from ..model.curation import OWNER, CurationResult, MomentChoice
from ..model.event import ALERT_KINDS, DEPLOY_KINDS, Event, EventKind
from ..model.hours import BusinessHours, parse_business_hours
from ..model.people import (
    HumanReport,
    PagedPerson,
    PeopleFacts,
    PeoplePaged,
    PersonSuggestion,
    Responders,
    Verdict,
    display_name,
    is_bot,
    person_key,
    team_key,
)
from ..model.row import Row
from ..model.time import format_duration
from ..model.window import Window

__all__ = [
    "people_of_timeline",
    "HoursTable",
    "compile_hours",
    "symptom_words",
    "paged_people",
    "responders",
    "suggest_coordinator",
    "first_human_report",
    "detected_suggestion",
    "routing_verdict",
    "page_burden",
    "hours_verdict",
    "people_facts",
    "link_pages",
    "LOOKBACK",
]

LOOKBACK = timedelta(minutes=30)
LINK_BEFORE, LINK_AFTER = timedelta(minutes=30), timedelta(minutes=5)
MAX_NAMED = 8

_ERROR_WORDS = frozenset(
    "error fatal exception fail failed failing failure down outage broken crash crashed crashing timeout "
    "unavailable unreachable unresponsive slow latency degraded overload overloaded 5xx 500 502 503 504 oom".split()
)
_STOP = frozenset(
    "with from that this have been were than there their what when which about after before minute second "
    "enough high check state status alert count rate total service instance more less above below none "
    "some only time over under into".split()
)
_ATTENTION = re.compile(r"\b(?:look(?:ing)?|checking|investigat\w*|on it)\b", re.IGNORECASE)
_ACTION = re.compile(
    r"\b(?:revert\w*|roll(?:ing|ed)?[ -]?back|rollback|depool\w*|repool\w*|restart\w*|reboot\w*|mitigat\w*|"
    r"fix(?:ed|ing)?|cancel\w*|abort\w*|silenc\w*|ack(?:ed|ing)?|deploy\w*|sync\w*|paged|paging)\b",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SAL_KINDS = DEPLOY_KINDS | {EventKind.LOG, EventKind.COOKBOOK, EventKind.DBCTL, EventKind.CONFTOOL}
_TASK_KINDS = frozenset(
    {EventKind.TASK_CREATED, EventKind.TASK_STATUS, EventKind.TASK_PRIORITY, EventKind.TASK_OWNER, EventKind.TASK_COMMENT}
)
_WAYS = ("acted on a page", "logged to the SAL", "acted on the tasks", "silenced an alert", "spoke about it")
_PAGE_ACTIONS = frozenset({EventKind.PAGE, EventKind.PAGE_ACK, EventKind.PAGE_RESOLVED, EventKind.PAGE_NOTE})


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", _CAMEL.sub(" ", text).lower())]


def _seconds(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} s" if delta < timedelta(minutes=1) else format_duration(delta)


def _names(names: Sequence[str]) -> str:
    return ", ".join(names[:MAX_NAMED]) + (", …" if len(names) > MAX_NAMED else "")


# --- business hours ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoursTable:
    """``[business_hours]`` compiled: by person key, by team key, and the default."""

    people: Mapping[str, BusinessHours]
    teams: Mapping[str, BusinessHours]
    default: BusinessHours | None

    @property
    def configured(self) -> bool:
        return bool(self.people or self.teams or self.default)

    def lookup(self, names: Iterable[str], teams: Iterable[str]) -> tuple[BusinessHours | None, str]:
        """The hours that apply to a person (by any of their *names*) paged through *teams*, and whose they are."""
        for name in names:
            if name and person_key(name) in self.people:
                return self.people[person_key(name)], "their own"
        for team in teams:
            if team_key(team) in self.teams:
                return self.teams[team_key(team)], f"team {team}"
        return self.default, "the default"


def compile_hours(settings: BusinessHoursSettings) -> HoursTable:
    """Read every ``[business_hours]`` spec; ConfigError names the key of one that cannot be read."""

    def parse(spec: str, key: str) -> BusinessHours:
        try:
            return parse_business_hours(spec)
        except ValueError as exc:
            raise ConfigError(
                f"config key {key}: {exc}", hint='write e.g. "Europe/Berlin Mon-Fri 09:00-17:00" (zone, days, hours)'
            ) from exc

    return HoursTable(
        people={person_key(k): parse(v, f"business_hours.people.{k}") for k, v in settings.people.items()},
        teams={team_key(k): parse(v, f"business_hours.teams.{k}") for k, v in settings.teams.items()},
        default=parse(settings.default, "business_hours.default") if settings.default.strip() else None,
    )


# --- who was paged ----------------------------------------------------------------------------


def _pages(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if e.kind is EventKind.PAGE]


def paged_people(events: Sequence[Event], *, aliases: Mapping[str, str], paging_read: bool) -> PeoplePaged | None:
    """Who the pages reached; None when nothing is known about paging (no paging source, no paged alert)."""
    pages = _pages(events)
    if not pages:
        paged_alerts = sorted({str(e.data.get("alertname")) for e in events if e.kind in ALERT_KINDS and e.data.get("paged")})
        if paging_read:
            reason = "no page in the paging source for this window"
            if paged_alerts:
                reason += f", though {_names(paged_alerts)} paged"
            return PeoplePaged(count=0, reason=reason)
        if paged_alerts:
            return PeoplePaged(
                count=None,
                reason=f"{_names(paged_alerts)} paged, but no paging source says whom (configure [oncall])",
            )
        return None
    names: dict[str, str] = {}
    teams: list[str] = []
    unknown: list[str] = []
    for page in pages:
        users = [display_name(u, aliases) for u in page.data.get("users") or ()]
        for user in users:
            names.setdefault(person_key(user), user)
        targets = list(page.data.get("policies") or ()) or list(page.data.get("teams") or ())
        teams.extend(t for t in targets if t not in teams)
        if not users:
            unknown.extend(t for t in targets if t not in unknown)
    numbers = ", ".join(f"#{p.data.get('incident')}" for p in pages)
    reason = f"{len(names)} {'person' if len(names) == 1 else 'people'} in {len(pages)} page{'' if len(pages) == 1 else 's'} ({numbers})"
    reason += " of the paging source, each counted once"
    if unknown:
        reason += f"; pages to {_names(unknown)} do not say whom they reached"
        return PeoplePaged(count=None, names=tuple(names.values()), teams=tuple(unknown), pages=len(pages), reason=reason)
    return PeoplePaged(count=len(names), names=tuple(names.values()), teams=tuple(teams), pages=len(pages), reason=reason)


# --- who responded ----------------------------------------------------------------------------


def symptom_words(events: Iterable[Event]) -> frozenset[str]:
    """The words that name this incident's symptoms: alert names and summaries, services and hosts."""
    words: set[str] = set()
    for event in events:
        if event.kind not in ALERT_KINDS:
            continue
        data = event.data
        for value in (data.get("alertname"), data.get("summary"), data.get("service"), data.get("host"), data.get("instance")):
            if value:
                words.update(w for w in _words(str(value)) if len(w) >= 4 and w not in _STOP and not w.isdigit())
    return frozenset(words)


def _symptoms_named(text: str, symptoms: Collection[str]) -> tuple[str, ...]:
    """The symptom words *text* names; empty unless an alert's word or two error words are among them."""
    words = list(dict.fromkeys(_words(text)))
    named = [w for w in words if w in symptoms]
    errors = [w for w in words if w in _ERROR_WORDS and w not in named]
    return tuple(named + errors) if named or len(errors) >= 2 else ()


def _person_events(events: Iterable[Event]) -> Iterable[tuple[str, str, Event]]:
    """``(way, person, event)`` for every event that shows a person acting; the way is its description."""
    for event in events:
        if event.kind in _PAGE_ACTIONS:
            if event.data.get("human") and event.data.get("by"):
                yield "acted on a page", str(event.data["by"]), event
        elif event.kind in _SAL_KINDS and event.source == "sal" and event.actor:
            yield "logged to the SAL", event.actor, event
        elif event.kind in _TASK_KINDS and event.actor:
            yield "acted on the tasks", event.actor, event
        elif event.kind is EventKind.SILENCE and event.actor:
            yield "silenced an alert", event.actor, event


def responders(
    events: Sequence[Event],
    window: Window,
    *,
    tasks: Sequence[str] = (),
    aliases: Mapping[str, str] | None = None,
    symptoms: Collection[str] = frozenset(),
    ignore: Collection[str] = frozenset(),
) -> Responders:
    """The people who left a trace of responding in *window*, each counted once (see the module docstring).

    *ignore* holds keys of events the owner hid as unrelated; *tasks* are the incident's tasks (with
    none, every task event the sources returned counts).
    """
    aliases = aliases or {}
    ways: dict[str, dict[str, str]] = {}
    shown: dict[str, str] = {}
    reporters: dict[str, str] = {}
    in_window = [e for e in events if window.contains(e.time) and e.key not in ignore]
    for way, name, event in _person_events(in_window):
        if way == "acted on the tasks" and tasks and not set(event.tasks) & set(tasks):
            continue
        _add(ways, shown, way, name, aliases)
    channels: list[str] = []
    for event in in_window:
        if event.kind is not EventKind.CHAT or is_bot(event.actor):
            continue
        assert event.actor is not None
        responding = bool(_ACTION.search(event.text) or _ATTENTION.search(event.text) or set(event.tasks) & set(tasks))
        if responding:
            _add(ways, shown, "spoke about it", event.actor, aliases)
            channel = event.data.get("channel")
            if channel and channel not in channels:
                channels.append(str(channel))
        elif _symptoms_named(event.text, symptoms):
            reporters.setdefault(person_key(display_name(event.actor, aliases)), display_name(event.actor, aliases))
    counted = tuple(shown.values())
    not_counted = tuple(name for key, name in reporters.items() if key not in shown)
    by_way = {way: tuple(ways[way].values()) for way in _WAYS if way in ways}
    return Responders(names=counted, ways=by_way, reporters=not_counted, reason=_responders_reason(counted, by_way, not_counted, tasks, channels))


def _add(ways: dict[str, dict[str, str]], shown: dict[str, str], way: str, name: str, aliases: Mapping[str, str]) -> None:
    if is_bot(name):
        return
    name = display_name(name, aliases)
    key = person_key(name)
    shown.setdefault(key, name.split("@", 1)[0])
    ways.setdefault(way, {}).setdefault(key, shown[key])


def _responders_reason(
    counted: Sequence[str], ways: Mapping[str, Sequence[str]], reporters: Sequence[str], tasks: Sequence[str], channels: Sequence[str]
) -> str:
    if not counted:
        return "nobody left a trace of responding in the sources read (pages, SAL, tasks, silences, the channel)"
    labels = {
        "acted on the tasks": f"acted on {', '.join(tasks)}" if tasks else "acted on the tasks",
        "spoke about it": f"spoke about it in {', '.join(channels)}" if channels else "spoke about it in the channel",
    }
    parts = [f"{labels.get(way, way)}: {_names(names)}" for way, names in ways.items()]
    text = f"at least {len(counted)}, each counted once: " + "; ".join(parts)
    if reporters:
        text += f"; not counted: {_names(reporters)} (only described the symptoms)"
    return text + ". People who helped without leaving a trace here are missed."


def suggest_coordinator(found: Responders) -> PersonSuggestion | None:
    """The responder with the most kinds of trace (ties: the first found), for the owner to confirm."""
    if not found.names:
        return None
    kinds = {name: [way for way, names in found.ways.items() if name in names] for name in found.names}
    best = max(found.names, key=lambda name: len(kinds[name]))
    return PersonSuggestion(name=best, reason=f"{best} left the most kinds of trace ({'; '.join(kinds[best])}); confirm or replace")


# --- who noticed first ------------------------------------------------------------------------


def first_human_report(
    events: Sequence[Event],
    *,
    first_alert: datetime | None,
    impact_start: datetime | None = None,
    lookback: timedelta = LOOKBACK,
    symptoms: Collection[str] | None = None,
) -> HumanReport | None:
    """The first message from a person that names the symptoms, from the impact start on.

    *impact_start* is one the owner set (or one not taken from the first alert); without it the
    search starts *lookback* before the first alert, else at the first chat message.
    """
    symptoms = symptom_words(events) if symptoms is None else symptoms
    if impact_start is not None:
        since, where = impact_start, "the impact start"
    elif first_alert is not None:
        since, where = first_alert - lookback, f"{format_duration(lookback)} before the first alert"
    else:
        since, where = None, "the window start"
    for event in events:
        if event.kind is not EventKind.CHAT or is_bot(event.actor) or (since is not None and event.time < since):
            continue
        if _ACTION.search(event.text):  # someone saying what they do is responding, not reporting
            continue
        matched = _symptoms_named(event.text, symptoms)
        if not matched:
            continue
        channel = event.data.get("channel")
        reason = (
            f"the first message {'in ' + str(channel) + ' ' if channel else ''}from {where} on that names the symptoms "
            f"({', '.join(matched[:5])})"
        )
        if first_alert is not None:
            gap = first_alert - event.time
            reason += f", {_seconds(gap)} before the first alert" if gap > timedelta(0) else f", {_seconds(-gap)} after the first alert"
        return HumanReport(
            time=event.time,
            who=str(event.actor),
            text=event.text,
            key=event.key,
            channel=str(channel) if channel else None,
            matched=matched,
            first_alert=first_alert,
            reason=reason,
        )
    return None


def detected_suggestion(report: HumanReport | None) -> MomentChoice | None:
    """The first human report offered for "detected", when a person said it before any alert fired."""
    if report is None or not report.before_first_alert:
        return None
    return MomentChoice(
        moment="detected",
        time=report.time,
        key=report.key,
        origin="suggested",
        reason=f"the first human report ({report.who}): {report.reason}",
    )


# --- the scorecard's paging questions ---------------------------------------------------------


def _page_keys(page: Event) -> set[str]:
    data = page.data
    names = [*(data.get("teams") or ()), *(data.get("team_slugs") or ()), *(data.get("policies") or ()), data.get("routing_key")]
    return {team_key(str(n)) for n in names if n}


def routing_verdict(events: Sequence[Event], team_routes: Mapping[str, str]) -> Verdict:
    """Were pages routed to the team owning the paging alerts (their ``team`` label, through *team_routes*)?"""
    pages = [p for p in _pages(events) if not p.data.get("manual")]
    if not pages:
        return Verdict(None, "no alert sent a page" if not _pages(events) else "only manual pages were sent")
    paged_names = ", ".join(dict.fromkeys(t for p in pages for t in (p.data.get("policies") or p.data.get("teams") or ())))
    alertnames = {p.data.get("alertname") for p in pages if p.data.get("alertname")}
    owners: list[str] = []
    for event in events:
        labels = event.data.get("labels") or {}
        team = labels.get("team") if isinstance(labels, Mapping) else None
        if event.kind in ALERT_KINDS and team and (event.data.get("paged") or event.data.get("alertname") in alertnames):
            owners.extend([str(team)] if str(team) not in owners else [])
    if not owners:
        return Verdict(None, f"pages went to {paged_names or 'unnamed teams'}; the paging alerts name no owning team (no team label)")
    keys = set().union(*(_page_keys(p) for p in pages))
    routes = {team_key(k): v for k, v in team_routes.items()}
    missed = [t for t in owners if team_key(routes.get(team_key(t), t)) not in keys]
    owned = f"team{'' if len(owners) == 1 else 's'} {', '.join(owners)}"
    if missed:
        return Verdict("no", f"the paging alerts belong to {owned}, but pages went to {paged_names or 'other teams'}")
    return Verdict("yes", f"pages went to {paged_names}, and the paging alerts belong to {owned}")


def page_burden(events: Sequence[Event], hours: HoursTable, aliases: Mapping[str, str] | None = None) -> tuple[PagedPerson, ...]:
    """Each page to each person (or to a team, when nobody is named), in or out of their business hours."""
    aliases = aliases or {}
    burden: list[PagedPerson] = []
    for page in _pages(events):
        data = page.data
        teams = [str(t) for t in (*(data.get("teams") or ()), *(data.get("policies") or ()), *(data.get("team_slugs") or ()))]
        team = teams[0] if teams else ""
        for user in list(data.get("users") or ()) or [""]:
            found, whose = hours.lookup((user, display_name(user, aliases)), teams)
            burden.append(
                PagedPerson(
                    page=str(data.get("incident", page.key)),
                    person=display_name(user, aliases) if user else "",
                    team=team,
                    paged_at=page.time,
                    in_hours=found.contains(page.time) if found else None,
                    local_time=found.local(page.time) if found else None,
                    hours=f"{found.spec} ({whose})" if found else "",
                    manual=bool(data.get("manual")),
                )
            )
    return tuple(burden)


def hours_verdict(burden: Sequence[PagedPerson]) -> Verdict:
    """Were pages routed to people within their business hours? "no" as soon as one page was not."""
    if not burden:
        return Verdict(None, "nobody was paged")

    def who(p: PagedPerson) -> str:
        name = p.person or f"team {p.team}"
        return f"{name} at {p.local_time:%H:%M %a} ({p.hours})" if p.local_time else name

    out = [who(p) for p in burden if p.in_hours is False]
    unknown = [who(p) for p in burden if p.in_hours is None]
    if out:
        return Verdict("no", f"paged out of business hours: {_names(out)}")
    if unknown:
        return Verdict(None, f"business hours unknown for {_names(unknown)} (configure [business_hours])")
    return Verdict("yes", f"everyone was paged within business hours: {_names([who(p) for p in burden])}")


# --- together ----------------------------------------------------------------------------------


def people_facts(
    events: Sequence[Event],
    window: Window,
    settings: Settings,
    *,
    tasks: Sequence[str] = (),
    paging_read: bool = False,
    first_alert: datetime | None = None,
    impact_start: datetime | None = None,
    ignore: Collection[str] = frozenset(),
) -> PeopleFacts:
    """Every people fact of a draft (see the module docstring). Raises ConfigError for bad ``[business_hours]``."""
    aliases = settings.oncall.people
    symptoms = symptom_words(events)
    found = responders(events, window, tasks=tasks, aliases=aliases, symptoms=symptoms, ignore=ignore)
    burden = page_burden(events, compile_hours(settings.business_hours), aliases)
    lookback = timedelta(minutes=settings.timeline.impact_deploy_minutes) or LOOKBACK
    return PeopleFacts(
        paged=paged_people(events, aliases=aliases, paging_read=paging_read),
        responders=found,
        coordinator=suggest_coordinator(found),
        human_report=first_human_report(
            events, first_alert=first_alert, impact_start=impact_start, lookback=lookback, symptoms=symptoms
        ),
        routing=routing_verdict(events, settings.oncall.team_routes),
        business_hours=hours_verdict(burden),
        burden=burden,
    )


def people_of_timeline(
    events: Sequence[Event],
    window: Window,
    settings: Settings,
    curated: CurationResult,
    *,
    tasks: Sequence[str] = (),
    paging_read: bool = False,
    first_alert: datetime | None = None,
) -> PeopleFacts:
    """:func:`people_facts` as the owner curated the timeline: their impact start, and the rows they
    hid (an unrelated repool hidden by hand is nobody's response)."""
    impact_start = next((c.time for c in curated.choices if c.moment == "impact_start" and c.origin == OWNER), None)
    ignore = {
        key
        for row in curated.rows
        if row.hidden and curated.curation.get(row.key) is not None and curated.curation[row.key].hidden_by == OWNER
        for key in row.events
    }
    return people_facts(
        events, window, settings, tasks=tasks, paging_read=paging_read, first_alert=first_alert,
        impact_start=impact_start, ignore=ignore,
    )


def link_pages(rows: Sequence[Row]) -> list[Row]:
    """Tie each page row to the alert row that caused it: ``alert_key`` on the page, ``pages`` on the alert."""
    firing = [r for r in rows if r.kind is EventKind.ALERT_FIRING]
    links: dict[str, str] = {}
    for row in rows:
        if row.kind is not EventKind.PAGE or row.data.get("manual"):
            continue
        name = str(row.data.get("alertname") or "").lower()
        entity = str(row.data.get("entity") or "").lower()
        candidates = [
            a
            for a in firing
            if row.time - LINK_BEFORE <= a.time <= row.time + LINK_AFTER
            # by its alert name or, without one, in its entity; an alert with no name is named by no
            # page (an empty name is in every entity)
            and (alert_name := str(a.data.get("alertname") or "").lower())
            and (alert_name == name if name else alert_name in entity)
        ]
        if candidates:
            links[row.key] = min(candidates, key=lambda a: abs(a.time - row.time)).key
    if not links:
        return list(rows)
    pages_of: dict[str, list[str]] = {}
    for page_key, alert_key in links.items():
        pages_of.setdefault(alert_key, []).append(page_key)
    linked: list[Row] = []
    for row in rows:
        if row.key in links:
            row = row.with_changes(data={**row.data, "alert_key": links[row.key]})
        elif row.key in pages_of:
            row = row.with_changes(data={**row.data, "page_keys": pages_of[row.key]})
        linked.append(row)
    return linked
