"""Actionables as values: an incident's follow-up work, its states, and the instance's task statuses.

incidentkit tracks every follow-up in four states of its own (:class:`ActionableStatus`); the
Phabricator instance's statuses (discovered with ``maniphest.status.search``) map onto them by
:func:`classify_status`. A :class:`FollowUp` is a follow-up as a draft proposes it or a report page
lists it, before it is tracked; an :class:`Actionable` is one the store tracks, with its append-only
:class:`StatusChange` history. Due dates come from a severity SLA table (:func:`sla_due`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from ..errors import InputError
from .time import ensure_utc, format_utc
from .window import parse_when

__all__ = [
    "ActionableStatus",
    "OPEN_STATES",
    "CLOSED_STATES",
    "ActionableType",
    "Origin",
    "LOCKABLE_FIELDS",
    "FollowUp",
    "Actionable",
    "RECORD_COLUMNS",
    "StatusChange",
    "TaskStatus",
    "TaskView",
    "UpsertResult",
    "ActionableQuery",
    "ActionableSort",
    "SORT_KEYS",
    "Summary",
    "SyncChange",
    "SyncResult",
    "MonthCount",
    "OwnerOverdue",
    "ActionableStats",
    "DashboardItem",
    "DashboardGroup",
    "Dashboard",
    "classify_status",
    "map_task_status",
    "status_from_hint",
    "status_choice",
    "parse_due",
    "sla_due",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowUp:
    """A follow-up before it is tracked: proposed by a draft (a Phabricator follow-up task) or read
    from a report page's Actionables section. ``status`` is only a hint (the status text seen)."""

    title: str
    task: str | None = None
    status: str | None = None  # the instance's status name or a page's status words
    owner: str | None = None
    url: str | None = None
    raw_text: str | None = None  # the line it was read from
    closed_at: datetime | None = None  # when the task was closed, if the source knows it
    parent: str | None = None  # the incident task it is a subtask of, when that is why it is proposed


class ActionableStatus(StrEnum):
    """incidentkit's own states; the instance's statuses map onto these."""

    OPEN = "open"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    WONT_DO = "wont-do"

    @property
    def is_open(self) -> bool:
        return self in (ActionableStatus.OPEN, ActionableStatus.IN_PROGRESS)


OPEN_STATES = (ActionableStatus.OPEN, ActionableStatus.IN_PROGRESS)


CLOSED_STATES = (ActionableStatus.DONE, ActionableStatus.WONT_DO)


class ActionableType(StrEnum):
    """What a follow-up does (SRE book / monzo / GitLab taxonomies, merged)."""

    PREVENT = "prevent"
    DETECT = "detect"
    MITIGATE = "mitigate"
    PROCESS = "process"
    INVESTIGATE = "investigate"
    OTHER = "other"


class Origin(StrEnum):
    """Where an actionable was first recorded."""

    DRAFT = "draft"
    MANUAL = "manual"
    IMPORT = "import"


LOCKABLE_FIELDS = ("title", "owner", "type", "due", "status")


_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Actionable:
    """One follow-up of one incident; ``task`` is None for a free-text idea."""

    id: int | None = None
    incident: str
    title: str
    task: str | None = None
    task_phid: str | None = None
    owner: str | None = None
    owner_phid: str | None = None
    status: ActionableStatus = ActionableStatus.OPEN
    task_status: str | None = None  # the instance's raw status key
    priority: str | None = None
    priority_value: int | None = None
    type: ActionableType = ActionableType.OTHER
    due: date | None = None
    projects: tuple[str, ...] = ()
    project_phids: tuple[str, ...] = ()
    missing: bool = False
    origin: Origin = Origin.MANUAL
    raw_text: str | None = None
    locked: tuple[str, ...] = ()
    created_at: datetime
    resolved_at: datetime | None = None
    recorded_at: datetime | None = None
    updated_at: datetime | None = None
    synced_at: datetime | None = None
    task_modified_at: datetime | None = None

    def __post_init__(self) -> None:
        for value in (self.created_at, self.resolved_at, self.recorded_at, self.updated_at, self.synced_at,
                      self.task_modified_at):
            if value is not None and value.utcoffset() != _ZERO:
                raise ValueError(f"Actionable times must be aware UTC, got {value!r}")

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def is_overdue(self, today: date) -> bool:
        """Open and past its due date (due today is not overdue)."""
        return self.status.is_open and self.due is not None and self.due < today

    def to_record(self, today: date) -> dict[str, Any]:
        """Plain data for ``--format json|csv|markdown``."""
        return {
            "id": self.id,
            "incident": self.incident,
            "task": self.task,
            "title": self.title,
            "owner": self.owner,
            "status": self.status,  # StrEnums are str: JSON and CSV write their values
            "task_status": self.task_status,
            "type": self.type,
            "priority": self.priority,
            "due": self.due.isoformat() if self.due else None,
            "overdue": self.is_overdue(today),
            "projects": list(self.projects),
            "missing": self.missing,
            "origin": self.origin,
            "created_at": format_utc(self.created_at),
            "resolved_at": format_utc(self.resolved_at) if self.resolved_at else None,
            "locked": list(self.locked),
        }


RECORD_COLUMNS = [
    "id",
    "incident",
    "task",
    "title",
    "owner",
    "status",
    "task_status",
    "type",
    "priority",
    "due",
    "overdue",
    "projects",
    "missing",
    "origin",
    "created_at",
    "resolved_at",
    "locked",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    """One row of the append-only status history."""

    id: int | None = None
    actionable_id: int | None = None
    incident: str
    task: str | None = None
    old_status: ActionableStatus | None = None
    new_status: ActionableStatus
    old_task_status: str | None = None
    new_task_status: str | None = None
    changed_at: datetime
    changed_at_from: str  # transaction / task-closed / task-modified / observed
    observed_at: datetime
    source: str  # draft / import / manual / create / sync
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStatus:
    """One status of the instance, as ``maniphest.status.search`` describes it."""

    value: str
    name: str
    closed: bool
    special: str | None = None

    @property
    def state(self) -> ActionableStatus:
        return classify_status(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskView:
    """The parts of a ``maniphest.search`` item that actionables use."""

    id: int
    phid: str
    title: str
    owner_phid: str | None
    status_value: str
    status_name: str
    closed_at: datetime | None
    priority: str | None
    priority_value: int | None
    project_phids: tuple[str, ...]
    created_at: datetime
    modified_at: datetime

    @property
    def task(self) -> str:
        return f"T{self.id}"


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What :func:`record_proposed` / :func:`upsert_imported` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionableQuery:
    """Filters and order for ``actionables list``; empty ``statuses`` means every status."""

    statuses: tuple[ActionableStatus, ...] = OPEN_STATES
    owner: str | None = None  # a username; "none" means unassigned
    incident: str | None = None
    project: str | None = None  # matches a project name or slug, loosely
    types: tuple[ActionableType, ...] = ()
    overdue: bool = False
    due_before: date | None = None
    missing: bool | None = None
    sort: str = "due"
    limit: int | None = None


class ActionableSort(StrEnum):
    """Orders of ``actionables list``."""

    DUE = "due"
    OWNER = "owner"
    INCIDENT = "incident"
    STATUS = "status"
    CREATED = "created"
    RESOLVED = "resolved"
    TASK = "task"
    PRIORITY = "priority"
    TYPE = "type"
    ID = "id"


SORT_KEYS = tuple(s.value for s in ActionableSort)


@dataclass(frozen=True, slots=True)
class Summary:
    """The summary line: open, overdue and done this (UTC calendar) month."""

    open: int
    overdue: int
    done_this_month: int

    def line(self) -> str:
        return f"{self.open} open, {self.overdue} overdue, {self.done_this_month} done this month"


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncChange:
    """One changed actionable, as ``actionables sync`` prints it."""

    actionable: Actionable
    old_status: ActionableStatus | None
    old_task_status: str | None
    note: str | None = None

    def line(self) -> str:
        a = self.actionable
        where = f"{a.task} ({a.incident})"
        if self.note:
            return f"{where}: {self.note}"
        old = f"{self.old_status or '-'} [{self.old_task_status or '?'}]"
        return f"{where}: {old} -> {a.status} [{a.task_status}] {a.title}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResult:
    """What a sync did: tasks checked, what changed, what went missing, Conduit calls made."""

    checked: int
    changes: tuple[SyncChange, ...] = ()
    missing: tuple[str, ...] = ()  # every tracked task that is currently missing
    calls: int = 0


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: str  # YYYY-MM
    opened: int
    closed: int
    open_at_end: int


@dataclass(frozen=True, slots=True)
class OwnerOverdue:
    owner: str | None
    open: int
    overdue: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionableStats:
    """Backlog over time, time to close and overdue work by owner."""

    months: tuple[MonthCount, ...]
    median_days_to_close: float | None
    closed: int
    open: int
    overdue: int
    by_owner: tuple[OwnerOverdue, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardItem:
    actionable: Actionable
    incident_title: str
    overdue: bool
    days_overdue: int  # 0 when not overdue


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardGroup:
    key: str | None  # the owner (None = unassigned) or the incident slug
    label: str
    items: tuple[DashboardItem, ...]

    @property
    def overdue(self) -> int:
        return sum(1 for item in self.items if item.overdue)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    """Open actionables grouped by owner and by incident, for the wiki dashboard page."""

    generated_at: datetime
    open: int
    overdue: int
    by_owner: tuple[DashboardGroup, ...] = ()
    by_incident: tuple[DashboardGroup, ...] = ()


# --- status mapping ---

_WONT_DO_RE = re.compile(
    r"declin|invalid|won'?t|wont|not[\s_-]*doing|duplicate|spite|reject|obsolete|cancel|abandon|merged|dropped",
    re.IGNORECASE,
)


_IN_PROGRESS_RE = re.compile(r"progress|stall|doing|started|working|review", re.IGNORECASE)


_DONE_RE = re.compile(r"resolv|done|fixed|complete|closed", re.IGNORECASE)


_NOT_DONE_RE = re.compile(r"\b(?:not|un)[\s_-]*(?:done|resolv|fixed|complete|closed)", re.IGNORECASE)


_NO_INFO = {"", "?", "unknown", "tbd", "n/a", "none"}


def classify_status(status: TaskStatus) -> ActionableStatus:
    """Map one of the instance's statuses onto incidentkit's states.

    Closedness comes from the instance (``closed``); among closed statuses, ``special: closed``
    is done and ``special: duplicate`` or a declined/invalid/wontfix-like name is won't-do; among
    open ones, a stalled/in-progress-like name is in progress.
    """
    words = f"{status.value} {status.name}"
    if status.closed:
        if status.special == "closed":
            return ActionableStatus.DONE
        if status.special == "duplicate" or _WONT_DO_RE.search(words):
            return ActionableStatus.WONT_DO
        return ActionableStatus.DONE
    if _IN_PROGRESS_RE.search(words):
        return ActionableStatus.IN_PROGRESS
    return ActionableStatus.OPEN


def map_task_status(value: str, statuses: Mapping[str, TaskStatus], *, closed: bool, name: str = "") -> ActionableStatus:
    """The state of a task whose status key is *value*.

    A key the instance did not list (``maniphest.edit`` accepts unconfigured keys; the task then
    reads "Unknown ActionableStatus") is classified from its key and whether the task has a close date.
    """
    known = statuses.get(value)
    if known is not None:
        return known.state
    return classify_status(TaskStatus(value=value, name=name, closed=closed))


def _local_state(text: str) -> ActionableStatus | None:
    cleaned = re.sub(r"[\s_']+", "-", text.strip().lower()).replace("won-t", "wont")
    aliases = {"in-progress": ActionableStatus.IN_PROGRESS, "wont-do": ActionableStatus.WONT_DO, "open": ActionableStatus.OPEN, "done": ActionableStatus.DONE}
    return aliases.get(cleaned)


def _named_state(text: str, statuses: Mapping[str, TaskStatus]) -> ActionableStatus | None:
    """The state *text* names exactly: one of incidentkit's, or a status key or name of the instance."""
    local = _local_state(text)
    if local is not None:
        return local
    wanted = text.strip().lower()
    for status in statuses.values():
        if wanted in (status.value.lower(), status.name.lower()):
            return status.state
    return None


def status_from_hint(text: str | None, statuses: Mapping[str, TaskStatus]) -> ActionableStatus | None:
    """Best guess of the state from a status text on a page or in a draft (only a hint).

    Accepts incidentkit's own states, the instance's status keys and names, else guesses from the
    words ("not done" and "unresolved" are open, "dropped" is won't do). None when the text says
    nothing ("unknown", "?", empty).
    """
    if text is None or text.strip().lower() in _NO_INFO:
        return None
    named = _named_state(text, statuses)
    if named is not None:
        return named
    if _NOT_DONE_RE.search(text):
        return ActionableStatus.OPEN
    if _WONT_DO_RE.search(text):
        return ActionableStatus.WONT_DO
    if _DONE_RE.search(text):
        return ActionableStatus.DONE
    if _IN_PROGRESS_RE.search(text):
        return ActionableStatus.IN_PROGRESS
    return ActionableStatus.OPEN


def status_choice(text: str, statuses: Mapping[str, TaskStatus]) -> ActionableStatus:
    """A status given on the command line: one of ours or one the instance knows, else InputError."""
    named = _named_state(text, statuses)
    if named is not None:
        return named
    known = ", ".join([s.value for s in ActionableStatus] + [s.value for s in statuses.values()])
    raise InputError(
        f"unknown status {text!r}",
        hint=f"use one of: {known}"
        + ("" if statuses else " (run `incidentkit actionables sync` to discover the instance's statuses)"),
    )


def parse_due(text: str, *, now: datetime, option: str = "the due date") -> date:
    """A due date: ``2024-06-01``, ``+14d`` / ``14d`` (days from now), or any time parse_when reads.

    *option* names what the user typed it as (``--due``, ``--due-before``) in the error.
    """
    text = text.strip()
    relative = re.fullmatch(r"\+?(\d{1,4})\s*d(?:ays?)?", text)
    if relative:
        return (ensure_utc(now) + timedelta(days=int(relative.group(1)))).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return parse_when(text, now=now, option=option).date()


def _severity_key(severity: str | None, table: Mapping[str, int]) -> str | None:
    if not severity:
        return None
    if severity in table:
        return severity
    lowered = {k.lower(): k for k in table}
    if severity.strip().lower() in lowered:
        return lowered[severity.strip().lower()]
    digits = re.search(r"\d+", severity)
    if digits and str(int(digits.group())) in table:
        return str(int(digits.group()))
    return None


def sla_due(table: Mapping[str, int], default_days: int, severity: str | None, base: date) -> date:
    """The due date from an SLA *table* (severity -> days) for *severity* (*default_days* if unknown).

    Severity is matched exactly, case-insensitively, then by its number ("SEV-1", "sev1" -> "1").
    """
    key = _severity_key(severity, table)
    days = table[key] if key is not None else default_days
    return base + timedelta(days=days)
