"""People in an incident: who a name stands for, and what the sources say about who was paged and who responded.

The same person shows up under several names: an IRC nick (``_joe_``, ``volans|away``), a SAL
``user@host``, a Phabricator username, a Splunk On-Call username. :func:`person_key` is the one
normalisation used to count each person once; ``[oncall] people`` maps on-call usernames to the
names used elsewhere. :func:`is_bot` says which names are machines (alert and log bots, system
users), never counted as people.

The value types here are what :mod:`incidentkit.timeline.people` computes from a draft's events:
:class:`PeoplePaged`, :class:`Responders`, :class:`PersonSuggestion` (coordinators),
:class:`HumanReport` (the first human words about the outage), :class:`Verdict` (a scorecard
suggestion with its reason), :class:`PagedPerson` (one page to one person, in or out of business
hours: what the store keeps for statistics) and :class:`PeopleFacts`, all of them together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .time import format_utc

__all__ = [
    "SYSTEM_USERS",
    "person_key",
    "team_key",
    "is_bot",
    "display_name",
    "PeoplePaged",
    "Responders",
    "PersonSuggestion",
    "HumanReport",
    "Verdict",
    "PagedPerson",
    "PeopleFacts",
]

# Accounts that act in the paging system without being anyone: Klaxon's auto-escalator reroutes
# unacknowledged pages to the batphone every 15 s.
SYSTEM_USERS = frozenset({"escalator_sysuser", "system", "victorops", "splunk on-call", "alertmanager"})

_BOT_NAMES = frozenset(
    {"wikibugs", "morebots", "klaxon", "chanserv", "nickserv", "wm-bot", "wmbot", "stashbot", "logmsgbot", "sirenbot"}
)
_BOT_SUFFIX = re.compile(r"(?:bot|bots|-wm|serv)$")


def person_key(name: str) -> str:
    """The identity of a name, to count each person once: ``@_Joe_|away`` -> ``joe``, ``urbanecm@deploy1002`` -> ``urbanecm``."""
    text = name.strip().lstrip("@+%~&!")
    text = text.split("@", 1)[0] if "@" in text else text
    text = text.split("|", 1)[0]
    return text.strip("_`^ ").lower()


def team_key(name: str) -> str:
    """The identity of a team, policy or routing key: ``team-SRE``, ``SRE`` and ``sre`` are one team."""
    key = re.sub(r"[^a-z0-9]+", "", name.lower())
    return key.removeprefix("team") or key


def is_bot(name: str | None) -> bool:
    """True for names that are machines, not people (alert and log bots, paging system users)."""
    if not name:
        return True
    key = person_key(name)
    base = key.rstrip("0123456789")
    return not key or key in SYSTEM_USERS or base in _BOT_NAMES or bool(_BOT_SUFFIX.search(base))


def display_name(name: str, aliases: Mapping[str, str]) -> str:
    """The name to show for *name*: its alias (``[oncall] people``) when it has one, else itself."""
    return aliases.get(name) or aliases.get(person_key(name)) or name


@dataclass(frozen=True, slots=True, kw_only=True)
class PeoplePaged:
    """Who was paged. ``count`` is None when pages went to teams and nobody says to whom."""

    count: int | None
    names: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()  # teams and escalation policies paged, as named by the paging system
    pages: int = 0  # pages sent (on-call incidents, manual pages included)
    reason: str = ""  # how it was counted, and from which source

    @property
    def text(self) -> str:
        """The metadata cell: ``2 (alice, bob)``, ``0``, or ``team SRE (count unknown)``."""
        if self.count is None:
            return ", ".join(f"team {t}" for t in self.teams) + " (count unknown)" if self.teams else "unknown"
        return f"{self.count} ({', '.join(self.names)})" if self.names else str(self.count)


@dataclass(frozen=True, slots=True, kw_only=True)
class Responders:
    """The people who left a trace of responding, each counted once, and how."""

    names: tuple[str, ...]
    ways: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # "logged to the SAL" -> names
    reporters: tuple[str, ...] = ()  # people who only described the symptoms: not counted
    reason: str = ""

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def text(self) -> str:
        """The metadata cell: at least this many (people who helped without a trace are missed)."""
        return f"{self.count}+" if self.count else "0"


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonSuggestion:
    """A name offered for the owner to confirm (coordinators), and why."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HumanReport:
    """The first human words about the outage in a channel, and how they compare with the first alert."""

    time: datetime
    who: str
    text: str
    key: str  # the chat event's key (its row's key)
    channel: str | None = None
    matched: tuple[str, ...] = ()  # the symptom words it named
    first_alert: datetime | None = None
    reason: str = ""

    @property
    def before_first_alert(self) -> bool:
        """True when a human said it before any alert fired (a suggestion for "detected")."""
        return self.first_alert is None or self.time < self.first_alert


@dataclass(frozen=True, slots=True)
class Verdict:
    """A scorecard suggestion computed from facts: ``answer`` is "yes", "no" or None (cannot tell)."""

    answer: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class PagedPerson:
    """One page to one person: who, when, through which team, and whether it was in their business hours.

    ``person`` is empty when the page reached a team and nobody says whom; ``in_hours`` is None when
    their business hours are not configured. ``hours`` says which business hours were applied.
    """

    page: str  # the paging system's incident number ("4711")
    person: str
    team: str
    paged_at: datetime
    in_hours: bool | None = None
    local_time: datetime | None = None
    hours: str = ""
    manual: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "person": self.person,
            "team": self.team,
            "paged_at": format_utc(self.paged_at),
            "in_hours": self.in_hours,
            "local_time": self.local_time.isoformat() if self.local_time else None,
            "hours": self.hours,
            "manual": self.manual,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PeopleFacts:
    """Everything the draft knows about people, for the metadata table, Detection and the scorecard."""

    paged: PeoplePaged | None  # None: no paging data at all (leave the cell to the owner)
    responders: Responders
    coordinator: PersonSuggestion | None
    human_report: HumanReport | None
    routing: Verdict  # "Were pages routed to the correct sub-team(s)?"
    business_hours: Verdict  # "Were pages routed to online (business hours) engineers?"
    burden: tuple[PagedPerson, ...] = ()
