"""Actionables: every incident follow-up, tracked to done in the store and kept in sync with Phabricator.

This module owns the :class:`Actionable` value type, the mapping of the instance's task statuses
(discovered with ``maniphest.status.search``, cached in the store) onto incidentkit's four states,
due dates from the severity SLA table, and the operations behind ``actionables add / create / sync
/ list / stats / set``, plus the entry points other features call: :func:`record_proposed` (draft),
:func:`upsert_imported` (import) and :func:`open_actionables_for_dashboard` (publish).

Invariants:

* Status history is append-only: every change of ``status``, ``task_status`` or ``missing`` adds
  one :class:`StatusChange`, written in the same transaction as the change, so the newest history
  row of an actionable always matches the actionable.
* Sync is the authority for a linked task's status; draft and import text are hints, used only
  until the first sync. Fields set by hand (``add`` options, ``set``) are *locked*: neither import
  nor sync overwrites them.
* Nothing is deleted: a task that vanished or became invisible is flagged ``missing``.
* Library functions never read the clock; callers pass ``now`` (aware UTC).
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .config import Settings
from .errors import ConfigError, InputError, SourceError
from .incident import ProposedActionable
from .window import ensure_utc, format_utc, parse_when

if TYPE_CHECKING:
    from .conduit import ConduitClient
    from .store import IncidentRecord, Store

__all__ = [
    "Status",
    "ActionableType",
    "Origin",
    "LOCKABLE_FIELDS",
    "Actionable",
    "StatusChange",
    "TaskStatus",
    "TaskView",
    "ImportedActionable",
    "UpsertResult",
    "ActionableQuery",
    "Summary",
    "SyncChange",
    "SyncReport",
    "MonthCount",
    "OwnerOverdue",
    "ActionableStats",
    "DashboardItem",
    "DashboardGroup",
    "Dashboard",
    "classify_status",
    "map_task_status",
    "status_from_hint",
    "parse_task",
    "parse_due",
    "sla_due",
    "task_statuses",
    "refresh_statuses",
    "parse_task_item",
    "add_actionable",
    "create_task",
    "sync_actionables",
    "set_fields",
    "list_actionables",
    "summarize",
    "actionable_stats",
    "record_proposed",
    "upsert_imported",
    "open_actionables_for_dashboard",
]

BATCH_SIZE = 100  # maniphest.search's maximum page size
TRANSACTION_LOOKUPS = 25  # transaction.search calls per sync for real change times (the "cheap" budget)
STATUS_CACHE_TTL = timedelta(days=1)


class Status(StrEnum):
    """incidentkit's own states; the instance's statuses map onto these."""

    OPEN = "open"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    WONT_DO = "wont-do"

    @property
    def is_open(self) -> bool:
        return self in (Status.OPEN, Status.IN_PROGRESS)


OPEN_STATES = (Status.OPEN, Status.IN_PROGRESS)
CLOSED_STATES = (Status.DONE, Status.WONT_DO)


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


# --- value types -------------------------------------------------------------------------------

_ZERO = timedelta(0)


def _utc_text(value: datetime) -> str:
    """``format_utc`` for a value already known to be UTC (several times faster than strftime)."""
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


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
    status: Status = Status.OPEN
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
            "created_at": _utc_text(self.created_at),
            "resolved_at": _utc_text(self.resolved_at) if self.resolved_at else None,
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
    old_status: Status | None = None
    new_status: Status
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
    def state(self) -> Status:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedActionable:
    """A line of an existing report's Actionables section, as the import engineer reads it."""

    title: str
    task: str | None = None
    status: str | None = None  # a hint: the status text next to the task, if any
    owner: str | None = None
    raw_text: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What :func:`record_proposed` / :func:`upsert_imported` did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionableQuery:
    """Filters and order for ``actionables list``; empty ``statuses`` means every status."""

    statuses: tuple[Status, ...] = OPEN_STATES
    owner: str | None = None  # a username; "none" means unassigned
    incident: str | None = None
    project: str | None = None  # matches a project name or slug, loosely
    types: tuple[ActionableType, ...] = ()
    overdue: bool = False
    due_before: date | None = None
    missing: bool | None = None
    sort: str = "due"
    limit: int | None = None


SORT_KEYS = ("due", "owner", "incident", "status", "created", "resolved", "task", "priority", "type", "id")


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
    old_status: Status | None
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
class SyncReport:
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


# --- status mapping ----------------------------------------------------------------------------

_WONT_DO_RE = re.compile(
    r"declin|invalid|won'?t|wont|not[\s_-]*doing|duplicate|spite|reject|obsolete|cancel|abandon|merged|dropped",
    re.IGNORECASE,
)
_IN_PROGRESS_RE = re.compile(r"progress|stall|doing|started|working|review", re.IGNORECASE)
_DONE_RE = re.compile(r"resolv|done|fixed|complete|closed", re.IGNORECASE)
_NOT_DONE_RE = re.compile(r"\b(?:not|un)[\s_-]*(?:done|resolv|fixed|complete|closed)", re.IGNORECASE)
_NO_INFO = {"", "?", "unknown", "tbd", "n/a", "none"}


def classify_status(status: TaskStatus) -> Status:
    """Map one of the instance's statuses onto incidentkit's states.

    Closedness comes from the instance (``closed``); among closed statuses, ``special: closed``
    is done and ``special: duplicate`` or a declined/invalid/wontfix-like name is won't-do; among
    open ones, a stalled/in-progress-like name is in progress.
    """
    words = f"{status.value} {status.name}"
    if status.closed:
        if status.special == "closed":
            return Status.DONE
        if status.special == "duplicate" or _WONT_DO_RE.search(words):
            return Status.WONT_DO
        return Status.DONE
    if _IN_PROGRESS_RE.search(words):
        return Status.IN_PROGRESS
    return Status.OPEN


def map_task_status(value: str, statuses: Mapping[str, TaskStatus], *, closed: bool, name: str = "") -> Status:
    """The state of a task whose status key is *value*.

    A key the instance did not list (``maniphest.edit`` accepts unconfigured keys; the task then
    reads "Unknown Status") is classified from its key and whether the task has a close date.
    """
    known = statuses.get(value)
    if known is not None:
        return known.state
    return classify_status(TaskStatus(value=value, name=name, closed=closed))


def _local_state(text: str) -> Status | None:
    cleaned = re.sub(r"[\s_']+", "-", text.strip().lower()).replace("won-t", "wont")
    aliases = {"in-progress": Status.IN_PROGRESS, "wont-do": Status.WONT_DO, "open": Status.OPEN, "done": Status.DONE}
    return aliases.get(cleaned)


def status_from_hint(text: str | None, statuses: Mapping[str, TaskStatus]) -> Status | None:
    """Best guess of the state from a status text on a page or in a draft (only a hint).

    Accepts incidentkit's own states, the instance's status keys and names, else guesses from the
    words ("not done" and "unresolved" are open, "dropped" is won't do). None when the text says
    nothing ("unknown", "?", empty).
    """
    if text is None or text.strip().lower() in _NO_INFO:
        return None
    local = _local_state(text)
    if local is not None:
        return local
    wanted = text.strip().lower()
    for status in statuses.values():
        if wanted in (status.value.lower(), status.name.lower()):
            return status.state
    if _NOT_DONE_RE.search(text):
        return Status.OPEN
    if _WONT_DO_RE.search(text):
        return Status.WONT_DO
    if _DONE_RE.search(text):
        return Status.DONE
    if _IN_PROGRESS_RE.search(text):
        return Status.IN_PROGRESS
    return Status.OPEN


def _status_choice(text: str, statuses: Mapping[str, TaskStatus]) -> Status:
    """A status given on the command line: one of ours or one the instance knows, else InputError."""
    local = _local_state(text)
    if local is not None:
        return local
    wanted = text.strip().lower()
    for status in statuses.values():
        if wanted in (status.value.lower(), status.name.lower()):
            return status.state
    known = ", ".join([s.value for s in Status] + [s.value for s in statuses.values()])
    raise InputError(
        f"unknown status {text!r}",
        hint=f"use one of: {known}"
        + ("" if statuses else " (run `incidentkit actionables sync` to discover the instance's statuses)"),
    )


# --- parsing user input ------------------------------------------------------------------------

_TASK_RE = re.compile(r"^\s*[Tt]?(\d{1,10})\s*$")


def parse_task(text: str) -> str:
    """``T123`` from ``T123``, ``t123`` or ``123``; InputError otherwise."""
    match = _TASK_RE.match(text or "")
    if not match:
        raise InputError(f"{text!r} is not a Phabricator task id", hint="give a task as T123")
    return f"T{int(match.group(1))}"


def parse_due(text: str, *, now: datetime) -> date:
    """A due date: ``2024-06-01``, ``+14d`` / ``14d`` (days from now), or any time parse_when reads."""
    text = text.strip()
    relative = re.fullmatch(r"\+?(\d{1,4})\s*d(?:ays?)?", text)
    if relative:
        return (ensure_utc(now) + timedelta(days=int(relative.group(1)))).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return parse_when(text, now=now, option="--due").date()


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


def sla_due(settings: Settings, severity: str | None, base: date) -> date:
    """The due date from ``[actionables] sla_days`` for *severity* (``default_sla_days`` if unknown).

    Severity is matched exactly, case-insensitively, then by its number ("SEV-1", "sev1" -> "1").
    """
    table = settings.actionables.sla_days
    key = _severity_key(severity, table)
    days = table[key] if key is not None else settings.actionables.default_sla_days
    return base + timedelta(days=days)


def _due_base(incident: IncidentRecord, now: datetime) -> date:
    """SLAs count from the incident's start when known, else from when the actionable was recorded."""
    if incident.start:
        try:
            return ensure_utc(datetime.fromisoformat(incident.start)).date()
        except ValueError:
            pass
    return ensure_utc(now).date()


# --- the instance's statuses -------------------------------------------------------------------


def task_statuses(store: Store) -> dict[str, TaskStatus]:
    """The instance's statuses as last discovered (empty before the first discovery)."""
    return {s.value: s for s in store.task_statuses()}


def refresh_statuses(store: Store, client: ConduitClient, *, now: datetime) -> dict[str, TaskStatus]:
    """Discover the instance's statuses with ``maniphest.status.search`` and cache them."""
    discovered = []
    for item in client.statuses():
        try:
            discovered.append(
                TaskStatus(
                    value=str(item["value"]),
                    name=str(item.get("name") or item["value"]),
                    closed=bool(item.get("closed")),
                    special=item.get("special"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise SourceError(f"phabricator: unexpected maniphest.status.search entry {item!r:.80}") from exc
    if not discovered:
        raise SourceError("phabricator: maniphest.status.search returned no statuses")
    store.save_task_statuses(discovered, fetched_at=now)
    return {s.value: s for s in discovered}


def _statuses(store: Store, client: ConduitClient, now: datetime) -> dict[str, TaskStatus]:
    fetched = store.task_statuses_fetched_at()
    if fetched is None or now - fetched > STATUS_CACHE_TTL:
        return refresh_statuses(store, client, now=now)
    return task_statuses(store)


# --- Conduit items -----------------------------------------------------------------------------


def _epoch(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(value), UTC)


def parse_task_item(item: Mapping[str, Any]) -> TaskView:
    """The fields actionables use from one ``maniphest.search`` item; SourceError if it is malformed."""
    try:
        fields = item["fields"]
        status = fields["status"]
        priority = fields.get("priority") or {}
        attachments = item.get("attachments") or {}
        projects = (attachments.get("projects") or {}).get("projectPHIDs") or []
        created = _epoch(fields.get("dateCreated"))
        modified = _epoch(fields.get("dateModified")) or created
        if created is None or modified is None:
            raise KeyError("dateCreated")
        return TaskView(
            id=int(item["id"]),
            phid=str(item["phid"]),
            title=str(fields.get("name") or ""),
            owner_phid=fields.get("ownerPHID"),
            status_value=str(status["value"]),
            status_name=str(status.get("name") or ""),
            closed_at=_epoch(fields.get("dateClosed")),
            priority=priority.get("name"),
            priority_value=priority.get("value"),
            project_phids=tuple(str(p) for p in projects),
            created_at=created,
            modified_at=modified,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(
            f"phabricator: unexpected maniphest.search item {str(item.get('id', '?'))[:20]}",
            hint="the Conduit API answered in an unexpected shape; check [phabricator] url",
        ) from exc


def _task_number(task: str) -> int:
    return int(task[1:])


def _history(
    before: Actionable | None,
    after: Actionable,
    *,
    source: str,
    now: datetime,
    changed_at: datetime | None = None,
    changed_at_from: str = "observed",
    note: str | None = None,
) -> StatusChange:
    return StatusChange(
        actionable_id=after.id,
        incident=after.incident,
        task=after.task,
        old_status=before.status if before else None,
        new_status=after.status,
        old_task_status=before.task_status if before else None,
        new_task_status=after.task_status,
        changed_at=changed_at or now,
        changed_at_from=changed_at_from if changed_at else "observed",
        observed_at=now,
        source=source,
        note=note,
    )


def _state_changed(before: Actionable, after: Actionable) -> bool:
    return (before.status, before.task_status, before.missing) != (after.status, after.task_status, after.missing)


def _observe(
    current: Actionable,
    view: TaskView,
    *,
    statuses: Mapping[str, TaskStatus],
    owner_name: str | None,
    project_names: tuple[str, ...] | None,
    now: datetime,
    change_time: tuple[datetime, str] | None,
) -> tuple[Actionable, StatusChange | None]:
    """Apply what Phabricator says about the task to *current* (locked fields kept). Pure."""
    locked = set(current.locked)
    state = map_task_status(view.status_value, statuses, closed=view.closed_at is not None, name=view.status_name)
    updates: dict[str, Any] = {
        "task_phid": view.phid,
        "owner_phid": view.owner_phid,
        "task_status": view.status_value,
        "priority": view.priority,
        "priority_value": view.priority_value,
        "project_phids": view.project_phids,
        "missing": False,
        "synced_at": now,
        "task_modified_at": view.modified_at,
        "updated_at": now,
    }
    if project_names is not None:
        updates["projects"] = project_names
    if "title" not in locked and view.title:
        updates["title"] = view.title
    if "owner" not in locked:
        updates["owner"] = owner_name
    if current.synced_at is None:
        updates["created_at"] = view.created_at
    if "status" not in locked:
        updates["status"] = state
        if state in CLOSED_STATES:
            first_look = current.synced_at is None  # a draft/import hint's time is replaced by the real one
            if first_look or current.status not in CLOSED_STATES or current.resolved_at is None:
                updates["resolved_at"] = view.closed_at or (change_time[0] if change_time else now)
        else:
            updates["resolved_at"] = None
    after = replace(current, **updates)
    if not _state_changed(current, after):
        return after, None
    when, origin = change_time if change_time else (now, "observed")
    note = "task visible again" if current.missing else None
    return after, _history(current, after, source="sync", now=now, changed_at=when, changed_at_from=origin, note=note)


def _change_time(
    current: Actionable, view: TaskView, statuses: Mapping[str, TaskStatus], client: ConduitClient, budget: list[int]
) -> tuple[datetime, str] | None:
    """When the task's status really changed: its close date, else transaction.search (budgeted), else its last edit."""
    if current.task_status == view.status_value:
        return None
    state = map_task_status(view.status_value, statuses, closed=view.closed_at is not None, name=view.status_name)
    if state in CLOSED_STATES and view.closed_at is not None:
        return view.closed_at, "task-closed"
    if current.task_status is None:
        return None  # first observation: nothing was seen to change
    if budget[0] > 0:
        budget[0] -= 1
        for xaction in client.transactions(view.task):
            if xaction.get("type") == "status" and (xaction.get("fields") or {}).get("new") == view.status_value:
                when = _epoch(xaction.get("dateCreated"))
                if when is not None:
                    return when, "transaction"
                break
    return view.modified_at, "task-modified"


def _fetch_tasks(client: ConduitClient, numbers: Sequence[int]) -> dict[int, TaskView]:
    views = (parse_task_item(item) for item in client.tasks_by_ids(numbers, attachments=("projects",)))
    return {view.id: view for view in views}


@dataclass
class _Names:
    """Owner and project names for the PHIDs of one batch; only PHIDs not already known are looked up."""

    users: dict[str, str] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)

    def resolve(self, client: ConduitClient, views: Iterable[TaskView], known: Mapping[str, Actionable]) -> None:
        need_users: set[str] = set()
        need_projects: set[str] = set()
        for view in views:
            current = known.get(view.task)
            if view.owner_phid and (current is None or current.owner_phid != view.owner_phid or not current.owner):
                need_users.add(view.owner_phid)
            if current is None or current.project_phids != view.project_phids or len(current.projects) != len(
                view.project_phids
            ):
                need_projects.update(view.project_phids)
        need_users -= set(self.users)
        need_projects -= set(self.projects)
        if need_users:
            self.users.update(client.user_names(sorted(need_users)))
        if need_projects:
            self.projects.update(client.project_names(sorted(need_projects)))

    def owner(self, view: TaskView, current: Actionable) -> str | None:
        if view.owner_phid is None:
            return None
        if view.owner_phid == current.owner_phid and current.owner and view.owner_phid not in self.users:
            return current.owner
        return self.users.get(view.owner_phid, view.owner_phid)

    def projects_of(self, view: TaskView, current: Actionable) -> tuple[str, ...] | None:
        if view.project_phids == current.project_phids and len(current.projects) == len(view.project_phids):
            return None  # unchanged
        return tuple(self.projects.get(p, p) for p in view.project_phids)


# --- add / create / set ------------------------------------------------------------------------


def _new_actionable(
    incident: IncidentRecord,
    title: str,
    *,
    settings: Settings,
    now: datetime,
    origin: Origin,
    task: str | None = None,
    owner: str | None = None,
    type: ActionableType | None = None,
    due: date | None = None,
    status: Status = Status.OPEN,
    raw_text: str | None = None,
    locked: Iterable[str] = (),
) -> Actionable:
    created = now
    if origin is Origin.IMPORT and incident.start:
        try:
            created = ensure_utc(datetime.fromisoformat(incident.start))
        except ValueError:
            created = now
    return Actionable(
        incident=incident.slug,
        title=title,
        task=task,
        owner=owner,
        status=status,
        type=type or ActionableType.OTHER,
        due=due or sla_due(settings, incident.severity, _due_base(incident, now)),
        origin=origin,
        raw_text=raw_text,
        locked=tuple(sorted(set(locked))),
        created_at=created,
        resolved_at=now if status in CLOSED_STATES else None,
        recorded_at=now,
        updated_at=now,
    )


def _clean_title(text: str) -> str:
    title = " ".join((text or "").split())
    if not title:
        raise InputError("the actionable text is empty", hint='give a short description, e.g. "Alert on replica lag"')
    return title


def add_actionable(
    store: Store,
    slug: str,
    text: str,
    *,
    settings: Settings,
    now: datetime,
    task: str | None = None,
    owner: str | None = None,
    type: ActionableType | None = None,
    due: date | None = None,
    client: ConduitClient | None = None,
) -> tuple[Actionable, bool]:
    """Track a new actionable for incident *slug*; returns it and whether it was new.

    With *task* and a *client*, the task is checked first (InputError if the instance does not
    know it) and its status, owner and priority are recorded. Values given here are locked.
    Adding the same task (or the same free-text idea) twice returns the existing one.
    """
    incident = store.require_incident(slug)
    title = _clean_title(text)
    task = parse_task(task) if task else None
    existing = store.find_actionable(slug, task=task, title=None if task else title)
    if existing is not None:
        return existing, False
    locked = ["title"] + [name for name, value in (("owner", owner), ("type", type), ("due", due)) if value]
    actionable = _new_actionable(
        incident, title, settings=settings, now=now, origin=Origin.MANUAL, task=task, owner=owner, type=type,
        due=due, raw_text=text, locked=locked,
    )
    if task and client is not None:
        views = _fetch_tasks(client, [_task_number(task)])
        view = views.get(_task_number(task))
        if view is None:
            raise InputError(
                f"unknown task {task}: Phabricator does not know it or the token cannot see it",
                hint="check the task id; nothing was recorded",
            )
        statuses = _statuses(store, client, now)
        names = _Names()
        names.resolve(client, [view], {})
        actionable, _ = _observe(
            actionable, view, statuses=statuses, owner_name=names.owner(view, actionable),
            project_names=names.projects_of(view, actionable), now=now, change_time=None,
        )
    saved = store.add_actionable(actionable, _history(None, actionable, source="manual", now=now))
    return saved, True


def _page_url(settings: Settings, incident: IncidentRecord) -> str | None:
    if not incident.page:
        return None
    wiki = settings.wikis.get(incident.wiki or "") or (next(iter(settings.wikis.values())) if settings.wikis else None)
    if wiki is None or not wiki.url:
        return None
    base = wiki.url.rsplit("/", 1)[0] if wiki.url.endswith(".php") else wiki.url.rstrip("/")
    return f"{base}/index.php?title={quote(incident.page.replace(' ', '_'), safe='/:')}"


def create_task(store: Store, actionable_id: int, *, client: ConduitClient, settings: Settings, now: datetime) -> Actionable:
    """Create the Phabricator task for a free-text actionable with ``maniphest.edit`` and link it.

    The task gets the title, a description linking the incident page, the ``[actionables] tags``
    projects and the incident task as parent. Raises InputError if it already has a task and
    ConfigError if a configured tag does not exist; nothing is created then.
    """
    actionable = store.require_actionable(actionable_id)
    if actionable.task:
        raise InputError(
            f"actionable #{actionable_id} is already linked to {actionable.task}",
            hint="`actionables create` is for free-text actionables that have no task yet",
        )
    incident = store.require_incident(actionable.incident)
    transactions: list[dict[str, Any]] = [
        {"type": "title", "value": actionable.title},
        {"type": "description", "value": _task_description(settings, incident, actionable)},
    ]
    if settings.actionables.tags:
        transactions.append({"type": "projects.add", "value": _tag_phids(client, settings.actionables.tags)})
    if incident.task:
        parents = _fetch_tasks(client, [_task_number(parse_task(incident.task))])
        if not parents:
            raise InputError(
                f"the incident task {incident.task} of {incident.slug} is unknown to Phabricator",
                hint="fix the incident's task; no task was created",
            )
        transactions.append({"type": "parent", "value": next(iter(parents.values())).phid})
    if actionable.owner:
        transactions.append({"type": "owner", "value": actionable.owner})
    result = client.edit_task(transactions)
    try:
        number, phid = int(result["object"]["id"]), str(result["object"]["phid"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError("phabricator: maniphest.edit answered without the new task's id") from exc
    statuses = _statuses(store, client, now)
    default = next((s.value for s in statuses.values() if s.special == "default"), "open")
    linked = replace(
        actionable, task=f"T{number}", task_phid=phid, task_status=default,
        status=actionable.status if "status" in actionable.locked else map_task_status(default, statuses, closed=False),
        updated_at=now,
    )
    store.update_actionable(linked, [_history(actionable, linked, source="create", now=now, note=f"created T{number}")])
    return store.require_actionable(actionable_id)


def _tag_phids(client: ConduitClient, tags: Sequence[str]) -> list[str]:
    """The PHIDs of the configured project tags (slugs or hashtag aliases); ConfigError for unknown ones."""
    wanted = [tag.strip().lstrip("#").lower() for tag in tags if tag.strip().lstrip("#")]
    answer = client.call("project.search", {"constraints": {"slugs": wanted}})
    slug_map = (answer.get("maps") or {}).get("slugMap") or {} if isinstance(answer, dict) else {}
    unknown = [tag for tag in wanted if not isinstance(slug_map.get(tag), dict)]
    if unknown:
        raise ConfigError(
            f"Phabricator has no project tagged {', '.join(unknown)}",
            hint="fix [actionables] tags (project slugs / hashtags); no task was created",
        )
    return sorted({str(slug_map[tag]["projectPHID"]) for tag in wanted})


def _task_description(settings: Settings, incident: IncidentRecord, actionable: Actionable) -> str:
    url = _page_url(settings, incident)
    report = f"[[{url} | {incident.page}]]" if url else (incident.page or incident.slug)
    lines = [f"Follow-up of the incident **{incident.title}** ({incident.slug}).", f"Incident report: {report}"]
    if actionable.raw_text and actionable.raw_text.strip() != actionable.title:
        lines += ["", actionable.raw_text.strip()]
    return "\n".join(lines)


def set_fields(
    store: Store,
    actionable_id: int,
    *,
    now: datetime,
    title: str | None = None,
    owner: str | None = None,
    type: ActionableType | None = None,
    due: date | None = None,
    status: str | None = None,
    unlock: Iterable[str] = (),
) -> Actionable:
    """Set fields by hand and lock them (import and sync keep them); *unlock* releases fields.

    *status* is one of incidentkit's states or a status the instance knows (as discovered by the
    last sync); anything else is an InputError and nothing is written.
    """
    current = store.require_actionable(actionable_id)
    unlock = set(unlock)
    bad = sorted(unlock - set(LOCKABLE_FIELDS))
    if bad:
        raise InputError(f"cannot unlock {', '.join(bad)}", hint=f"lockable fields: {', '.join(LOCKABLE_FIELDS)}")
    updates: dict[str, Any] = {}
    if title is not None:
        updates["title"] = _clean_title(title)
    if owner is not None:
        updates["owner"] = owner.strip() or None
    if type is not None:
        updates["type"] = type
    if due is not None:
        updates["due"] = due
    if status is not None:
        state = _status_choice(status, task_statuses(store))
        updates["status"] = state
        if state in CLOSED_STATES and current.status not in CLOSED_STATES:
            updates["resolved_at"] = now
        elif state in OPEN_STATES:
            updates["resolved_at"] = None
    if not updates and not unlock:
        raise InputError("nothing to set", hint="give --owner, --type, --due, --status, --title or --unlock")
    if unlock:
        updates["task_modified_at"] = None  # the next sync refreshes the unlocked fields from the task
        if "owner" in unlock:
            updates["owner_phid"] = None  # the owner column no longer reflects a synced PHID: look it up
    locked = (set(current.locked) | set(updates)) - unlock
    updates["locked"] = tuple(sorted(name for name in locked if name in LOCKABLE_FIELDS))
    updates["updated_at"] = now
    after = replace(current, **updates)
    history = [_history(current, after, source="manual", now=now)] if _state_changed(current, after) else []
    store.update_actionable(after, history)
    return store.require_actionable(actionable_id)


# --- sync --------------------------------------------------------------------------------------


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sync_actionables(
    store: Store,
    client: ConduitClient,
    *,
    now: datetime,
    incident: str | None = None,
    tasks: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    transaction_lookups: int = TRANSACTION_LOOKUPS,
) -> SyncReport:
    """Refresh every tracked task (or those of *incident* / *tasks*) from Phabricator.

    Tasks are fetched *batch_size* ids per ``maniphest.search`` call. Each batch is written in
    its own BEGIN IMMEDIATE transaction and compared with the rows as they are *inside* that
    transaction, so concurrent syncs queue and never duplicate history, and an interrupted sync
    leaves every batch either fully applied or untouched. Status changes get their real time from
    the task's close date, else ``transaction.search`` (at most *transaction_lookups* calls), else
    the task's last modification. Tasks not returned are flagged missing, never deleted. A task
    not modified since the last sync only gets its ``synced_at`` touched.
    """
    if not 1 <= batch_size <= BATCH_SIZE:
        raise InputError(f"batch size must be 1..{BATCH_SIZE}, got {batch_size}")
    if incident is not None:
        store.require_incident(incident)
    wanted = {parse_task(t) for t in tasks}
    tracked = store.tracked_tasks(incident=incident)
    untracked = sorted(wanted - set(tracked), key=_task_number)
    if untracked:
        raise InputError(
            f"task {untracked[0]} is not tracked" + (f" for {incident}" if incident else ""),
            hint="track it first with `incidentkit actionables add INCIDENT TEXT --task T123`",
        )
    selected = sorted({_task_number(t) for t in (wanted or tracked)})
    if not selected:
        return SyncReport(checked=0)
    calls_before = client.calls
    cached = task_statuses(store)
    statuses = _statuses(store, client, now)
    remap = statuses != cached  # the instance's statuses changed: recompute every task's state
    names = _Names()
    budget = [transaction_lookups]
    changes: list[SyncChange] = []
    done = 0
    if progress:
        progress(0, len(selected))
    for numbers in _chunks(selected, batch_size):
        batch_tasks = [f"T{n}" for n in numbers]
        views = _fetch_tasks(client, numbers)
        if any(v.status_value not in statuses for v in views.values()) and store.task_statuses_fetched_at() != now:
            fresh = refresh_statuses(store, client, now=now)
            remap, statuses = remap or fresh != statuses, fresh
        before = _by_task(store.actionables_for_tasks(batch_tasks, incident=incident))
        names.resolve(client, views.values(), {task: rows[0] for task, rows in before.items()})
        times = {
            task: _change_time(rows[0], views[_task_number(task)], statuses, client, budget)
            for task, rows in before.items()
            if _task_number(task) in views
        }
        with store.transaction():
            current = store.actionables_for_tasks(batch_tasks, incident=incident)
            updates: list[tuple[Actionable, StatusChange | None]] = []
            untouched: list[int] = []
            for actionable in current:
                view = views.get(_task_number(actionable.task or "T0"))
                if view is None:
                    if actionable.missing:
                        continue  # reported when it went missing
                    after = replace(actionable, missing=True, updated_at=now)
                    history = _history(actionable, after, source="sync", now=now, note="task missing (deleted or not visible)")
                elif not remap and _unchanged(actionable, view):
                    untouched.append(actionable.id or 0)
                    continue
                else:
                    after, history = _observe(
                        actionable, view, statuses=statuses, owner_name=names.owner(view, actionable),
                        project_names=names.projects_of(view, actionable), now=now,
                        change_time=times.get(view.task) if actionable.task_status != view.status_value else None,
                    )
                updates.append((after, history))
                if history is not None and _worth_printing(actionable, after, history):
                    changes.append(
                        SyncChange(
                            actionable=after, old_status=actionable.status, old_task_status=actionable.task_status,
                            note=history.note if after.missing or actionable.missing else None,
                        )
                    )
            store.update_actionables(updates)
            store.touch_actionables(untouched, synced_at=now)
        done += len(numbers)
        if progress:
            progress(done, len(selected))
    missing = tuple(store.missing_tasks(incident=incident))
    store.optimize()
    return SyncReport(checked=len(selected), changes=tuple(changes), missing=missing, calls=client.calls - calls_before)


def _unchanged(current: Actionable, view: TaskView) -> bool:
    """Synced before and the task was not modified since (every task edit bumps ``dateModified``)."""
    return current.synced_at is not None and not current.missing and current.task_modified_at == view.modified_at


def _worth_printing(before: Actionable, after: Actionable, history: StatusChange) -> bool:
    """A change of state, of a known task status, or of visibility (not the first look at a task)."""
    return bool(history.note) or before.status != after.status or (
        before.task_status is not None and before.task_status != after.task_status
    )


def _by_task(actionables: Iterable[Actionable]) -> dict[str, list[Actionable]]:
    grouped: dict[str, list[Actionable]] = defaultdict(list)
    for actionable in actionables:
        if actionable.task:
            grouped[actionable.task].append(actionable)
    return grouped


# --- hinted upserts (draft, import) ------------------------------------------------------------


def _upsert_hinted(
    store: Store,
    slug: str,
    items: Iterable[Any],
    *,
    origin: Origin,
    settings: Settings,
    now: datetime,
) -> UpsertResult:
    """Record items from a draft or a page: new ones are added; existing ones only take hints.

    An existing actionable keeps its locked fields, and once sync has seen its task, its status,
    owner and title come from Phabricator only. Matching: by task, else by title among free-text ones.
    """
    incident = store.require_incident(slug)
    statuses = task_statuses(store)
    added = updated = unchanged = 0
    with store.transaction():
        existing = store.incident_actionables(slug)
        by_task = {a.task: a for a in existing if a.task}
        ideas = {a.title: a for a in existing if not a.task}
        for item in items:
            title = " ".join(str(getattr(item, "title", None) or getattr(item, "text", None) or "").split())
            task_text = getattr(item, "task", None)
            task = parse_task(task_text) if task_text else None
            if not title and not task:
                continue
            title = title or task or ""
            status_text = getattr(item, "status", None)
            hint = str(status_text) if status_text is not None else None
            owner = getattr(item, "owner", None) or None
            raw_text = getattr(item, "raw_text", None) or getattr(item, "raw", None)
            current = by_task.get(task) if task else None
            if current is None:
                current = ideas.get(title)
            if current is None:
                state = status_from_hint(hint, statuses) or Status.OPEN
                new = _new_actionable(
                    incident, title, settings=settings, now=now, origin=origin, task=task, owner=owner,
                    status=state, raw_text=raw_text,
                )
                saved = store.add_actionable(new, _history(None, new, source=str(origin), now=now))
                if task:
                    by_task[task] = saved
                else:
                    ideas[title] = saved
                added += 1
                continue
            after = _apply_hint(current, title=title, task=task, owner=owner, hint=hint, raw_text=raw_text,
                                statuses=statuses, now=now)
            if after == current:
                unchanged += 1
                continue
            history = [_history(current, after, source=str(origin), now=now)] if _state_changed(current, after) else []
            store.update_actionable(after, history)
            if after.task:
                by_task[after.task] = after
                ideas.pop(current.title, None)
            updated += 1
    return UpsertResult(added, updated, unchanged)


def _apply_hint(
    current: Actionable,
    *,
    title: str,
    task: str | None,
    owner: str | None,
    hint: str | None,
    raw_text: str | None,
    statuses: Mapping[str, TaskStatus],
    now: datetime,
) -> Actionable:
    locked = set(current.locked)
    synced = current.synced_at is not None
    updates: dict[str, Any] = {}
    if task and not current.task:
        updates["task"] = task
    if not synced:
        if "title" not in locked and title and title != current.title and current.task:
            updates["title"] = title
        if "owner" not in locked and owner and owner != current.owner:
            updates["owner"] = owner
        if "status" not in locked and hint:
            state = status_from_hint(hint, statuses)
            if state is not None and state != current.status:
                updates["status"] = state
                updates["resolved_at"] = now if state in CLOSED_STATES else None
    if raw_text and raw_text != current.raw_text:
        updates["raw_text"] = raw_text
    if not updates:
        return current
    return replace(current, updated_at=now, **updates)


def record_proposed(
    store: Store,
    slug: str,
    proposed: Iterable[ProposedActionable],
    settings: Settings,
    *,
    now: datetime | None = None,
) -> UpsertResult:
    """Record the actionables a draft proposed for incident *slug* (idempotent by incident and task).

    The incident must already be saved. *now* defaults to the current time (pass the draft's clock).
    """
    return _upsert_hinted(store, slug, proposed, origin=Origin.DRAFT, settings=settings, now=now or datetime.now(UTC))


def upsert_imported(
    store: Store,
    slug: str,
    items: Iterable[Any],
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> UpsertResult:
    """Record the actionables read from an existing report page (idempotent, safe to re-run).

    *items* have ``title``, ``task``, ``status`` (hint text), ``owner`` and ``raw_text``
    attributes (:class:`ImportedActionable`); ``reports.PageActionable`` works as is (``text`` /
    ``raw`` stand in for ``title`` / ``raw_text``). Never overwrites locked fields or anything sync has
    set; new ones get ``created_at`` = the incident start when known. *settings* give the SLA
    table (defaults when None); *now* defaults to the current time.
    """
    return _upsert_hinted(
        store, slug, items, origin=Origin.IMPORT, settings=settings or Settings(), now=now or datetime.now(UTC)
    )


# --- views -------------------------------------------------------------------------------------


def _month_start(now: datetime) -> datetime:
    now = ensure_utc(now)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def list_actionables(store: Store, query: ActionableQuery, *, now: datetime) -> list[Actionable]:
    """The actionables matching *query* (open ones by default), in the requested order."""
    if query.sort not in SORT_KEYS:
        raise InputError(f"cannot sort by {query.sort!r}", hint=f"sort keys: {', '.join(SORT_KEYS)}")
    if query.incident is not None:
        store.require_incident(query.incident)
    return store.query_actionables(query, today=ensure_utc(now).date())


def summarize(store: Store, query: ActionableQuery, *, now: datetime) -> Summary:
    """Open, overdue and done-this-month counts under the query's owner/incident/project/type filters."""
    base = replace(query, statuses=(), overdue=False, due_before=None, missing=None, limit=None)
    open_, overdue, done = store.actionable_counts(
        base, today=ensure_utc(now).date(), month_start=format_utc(_month_start(now))
    )
    return Summary(open_, overdue, done)


def _month_range(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return months


def actionable_stats(
    store: Store, *, now: datetime, months: int = 12, incident: str | None = None, owner: str | None = None
) -> ActionableStats:
    """Opened vs closed per month (last *months* months), median days to close, overdue by owner."""
    if months < 1:
        raise InputError("--months must be at least 1")
    if incident is not None:
        store.require_incident(incident)
    query = ActionableQuery(statuses=(), incident=incident, owner=owner)
    today = ensure_utc(now).date()
    opened, closed = store.actionable_months(query)
    current = f"{today:%Y-%m}"
    year, month = today.year, today.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    first_wanted = f"{year:04d}-{month:02d}"
    backlog = sum(n for m, n in opened.items() if m < first_wanted) - sum(n for m, n in closed.items() if m < first_wanted)
    rows = []
    for m in _month_range(first_wanted, current):
        backlog += opened.get(m, 0) - closed.get(m, 0)
        rows.append(MonthCount(m, opened.get(m, 0), closed.get(m, 0), backlog))
    durations = store.days_to_close(query)
    by_owner = tuple(OwnerOverdue(o, n_open, n_overdue) for o, n_open, n_overdue in store.open_by_owner(query, today=today))
    return ActionableStats(
        months=tuple(rows),
        median_days_to_close=round(statistics.median(durations), 1) if durations else None,
        closed=len(durations),
        open=sum(o.open for o in by_owner),
        overdue=sum(o.overdue for o in by_owner),
        by_owner=by_owner,
    )


def open_actionables_for_dashboard(store: Store, now: datetime) -> Dashboard:
    """Every open actionable, grouped by owner (unassigned last) and by incident (newest first)."""
    today = ensure_utc(now).date()
    incidents = {i.slug: i for i in store.list_incidents()}
    items = []
    for a in store.query_actionables(ActionableQuery(sort="due"), today=today):
        late = a.is_overdue(today)
        record = incidents.get(a.incident)
        items.append(
            DashboardItem(
                actionable=a,
                incident_title=record.title if record else a.incident,
                overdue=late,
                days_overdue=(today - a.due).days if late and a.due else 0,
            )
        )
    owners: dict[str | None, list[DashboardItem]] = defaultdict(list)
    per_incident: dict[str, list[DashboardItem]] = defaultdict(list)
    for item in items:
        owners[item.actionable.owner].append(item)
        per_incident[item.actionable.incident].append(item)
    by_owner = tuple(
        DashboardGroup(key=owner, label=owner or "(unassigned)", items=tuple(group))
        for owner, group in sorted(owners.items(), key=lambda kv: (kv[0] is None, (kv[0] or "").lower()))
    )
    by_incident = tuple(
        DashboardGroup(key=slug, label=group[0].incident_title, items=tuple(group))
        for slug, group in sorted(
            per_incident.items(), key=lambda kv: ((incidents[kv[0]].start or "") if kv[0] in incidents else "", kv[0]),
            reverse=True,
        )
    )
    return Dashboard(
        generated_at=ensure_utc(now),
        open=len(items),
        overdue=sum(1 for i in items if i.overdue),
        by_owner=by_owner,
        by_incident=by_incident,
    )
