"""Tracking follow-ups: ``actionables add / create / set``, and recording what drafts and imports found.

Invariants:

* Status history is append-only: every change of ``status``, ``task_status`` or ``missing`` adds
  one :class:`~incidentkit.model.actionable.StatusChange`, in the same transaction as the change.
* Fields set by hand (``add`` options, ``set``) are *locked*: neither import nor sync overwrites them.
* Nothing here reads the clock: callers pass ``now`` (aware UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from ..clients.conduit import ConduitClient, remarkup_link
from ..clients.mediawiki import page_url
from ..config import Settings
from ..errors import ConfigError, InputError
from ..model.actionable import (
    CLOSED_STATES,
    LOCKABLE_FIELDS,
    OPEN_STATES,
    Actionable,
    ActionableStatus,
    ActionableType,
    FollowUp,
    Origin,
    TaskStatus,
    UpsertResult,
    map_task_status,
    sla_due,
    status_choice,
    status_from_hint,
)
from ..model.incident import IncidentRecord
from ..model.tasks import parse_task, task_number
from ..model.time import ensure_utc, parse_utc
from ..store import Store
from .tasks import Names, current_statuses, fetch_tasks, history_row, observe, state_changed, task_statuses

__all__ = ["add_actionable", "create_task", "set_fields", "record_proposed", "upsert_imported"]

def _due_base(incident: IncidentRecord, now: datetime) -> date:
    """SLAs count from the incident's start when known, else from when the actionable was recorded."""
    if incident.start:
        try:
            return parse_utc(incident.start).date()
        except ValueError:
            pass
    return ensure_utc(now).date()


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
    status: ActionableStatus = ActionableStatus.OPEN,
    raw_text: str | None = None,
    locked: Iterable[str] = (),
    closed_at: datetime | None = None,
) -> Actionable:
    created = now
    if origin is Origin.IMPORT and incident.start:
        try:
            created = parse_utc(incident.start)
        except ValueError:
            created = now
    return Actionable(
        incident=incident.slug,
        title=title,
        task=task,
        owner=owner,
        status=status,
        type=type or ActionableType.OTHER,
        due=due
        or sla_due(
            settings.actionables.sla_days, settings.actionables.default_sla_days, incident.severity,
            _due_base(incident, now),
        ),
        origin=origin,
        raw_text=raw_text,
        locked=tuple(sorted(set(locked))),
        created_at=created,
        # a page says an item is done, never when: without a known close time it stays unknown (not "now")
        resolved_at=(closed_at or (None if origin is Origin.IMPORT else now)) if status in CLOSED_STATES else None,
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
        views = fetch_tasks(client, [task_number(task)])
        view = views.get(task_number(task))
        if view is None:
            raise InputError(
                f"unknown task {task}: Phabricator does not know it or the token cannot see it",
                hint="check the task id; nothing was recorded",
            )
        statuses = current_statuses(store, client, now)
        names = Names()
        names.resolve(client, [view], {})
        actionable, _ = observe(
            actionable, view, statuses=statuses, owner_name=names.owner(view, actionable),
            project_names=names.projects_of(view, actionable), now=now,
        )
    saved = store.add_actionable(actionable, history_row(None, actionable, source="manual", now=now))
    return saved, True


def create_task(store: Store, actionable_id: int, *, client: ConduitClient, settings: Settings, now: datetime) -> Actionable:
    """Create the Phabricator task for a free-text actionable with ``maniphest.edit`` and link it.

    The task gets the title, a description linking the incident page, the ``[actionables] tags``
    projects, the incident task as parent and the actionable's owner. Everything is resolved
    before anything is filed: InputError if it already has a task or its owner is no Phabricator
    user, ConfigError if a configured tag names no project; nothing is created then.
    """
    actionable = store.require_actionable(actionable_id)
    if actionable.task:
        raise InputError(
            f"actionable #{actionable_id} is already linked to {actionable.task}",
            hint="`actionables create` is for free-text actionables that have no task yet",
        )
    incident = store.require_incident(actionable.incident)
    project_phids = _tag_phids(client, settings.actionables.tags) if settings.actionables.tags else []
    parent_phid = None
    if incident.task:
        parents = fetch_tasks(client, [task_number(parse_task(incident.task))])
        if not parents:
            raise InputError(
                f"the incident task {incident.task} of {incident.slug} is unknown to Phabricator",
                hint="fix the incident's task; no task was created",
            )
        parent_phid = next(iter(parents.values())).phid
    owner_phid = _owner_phid(client, actionable) if actionable.owner else None
    number, phid = client.create_task(
        title=actionable.title,
        description=_task_description(settings, incident, actionable),
        project_phids=project_phids,
        parent_phid=parent_phid,
        owner_phid=owner_phid,
    )
    statuses = current_statuses(store, client, now)
    default = next((s.value for s in statuses.values() if s.special == "default"), "open")
    linked = replace(
        actionable, task=f"T{number}", task_phid=phid, task_status=default, owner_phid=owner_phid,
        status=actionable.status if "status" in actionable.locked else map_task_status(default, statuses, closed=False),
        updated_at=now,
    )
    store.update_actionable(linked, [history_row(actionable, linked, source="create", now=now, note=f"created T{number}")])
    return store.require_actionable(actionable_id)


def _owner_phid(client: ConduitClient, actionable: Actionable) -> str:
    """The user PHID of the actionable's owner (a Phabricator username); InputError if unknown."""
    owner = actionable.owner or ""
    found = client.user_phids([owner]).get(owner.strip())
    if found is None:
        raise InputError(
            f"Phabricator has no user {owner.strip()!r} (the owner of actionable #{actionable.id})",
            hint=f"set a Phabricator username with `incidentkit actionables set {actionable.id} --owner NAME`; "
            "no task was created",
        )
    return found


def _tag_phids(client: ConduitClient, tags: Sequence[str]) -> list[str]:
    """The PHIDs of the configured tags (names, hashtags or PHIDs); ConfigError for unknown ones."""
    found = client.resolve_projects(tags)
    unknown = [tag.strip() for tag in tags if tag.strip() and tag.strip() not in found]
    if unknown:
        raise ConfigError(
            f"Phabricator has no project {', '.join(repr(tag) for tag in unknown)} ([actionables] tags)",
            hint="give each tag as a project's name, one of its hashtags or its PHID "
            "(`incidentkit sources check` shows what each resolves to); no task was created",
        )
    return list(dict.fromkeys(project.phid for project in found.values()))


def _task_description(settings: Settings, incident: IncidentRecord, actionable: Actionable) -> str:
    wiki = settings.wikis.get(incident.wiki or "") or next(iter(settings.wikis.values()), None)
    url = page_url(wiki.url, incident.page) if wiki and wiki.url and incident.page else None
    report = remarkup_link(url, incident.page or "") if url else (incident.page or incident.slug)
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
        state = status_choice(status, task_statuses(store))
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
    history = [history_row(current, after, source="manual", now=now)] if state_changed(current, after) else []
    with store.transaction():
        store.update_actionable(after, history)
        if unlock:  # the page may set them again: the next import reads it even if unchanged
            store.forget_imported_pages(current.incident)
    return store.require_actionable(actionable_id)


def _upsert_hinted(
    store: Store,
    incident: IncidentRecord,
    items: Iterable[FollowUp],
    *,
    origin: Origin,
    settings: Settings,
    now: datetime,
    statuses: Mapping[str, TaskStatus],
    stored: Sequence[Actionable] | None = None,
) -> UpsertResult:
    """Record items from a draft or a page: new ones are added; existing ones only take hints.

    An existing actionable keeps its locked fields, and once sync has seen its task, its status,
    owner and title come from Phabricator only. Matching: by task, else by title among free-text ones.
    *stored*: the incident's actionables, when the caller knows them (read here otherwise).
    """
    added = updated = unchanged = 0
    with store.transaction():
        existing = store.incident_actionables(incident.slug) if stored is None else stored
        by_task = {a.task: a for a in existing if a.task}
        ideas = {a.title: a for a in existing if not a.task}
        for item in items:
            title = " ".join(item.title.split())
            task = parse_task(item.task) if item.task else None
            if not title and not task:
                continue
            title = title or task or ""
            hint, owner, raw_text = item.status, item.owner or None, item.raw_text
            current = by_task.get(task) if task else None
            if current is None:
                current = ideas.get(title)
            if current is None:
                state = status_from_hint(hint, statuses) or ActionableStatus.OPEN
                new = _new_actionable(
                    incident, title, settings=settings, now=now, origin=origin, task=task, owner=owner,
                    status=state, raw_text=raw_text, closed_at=item.closed_at,
                )
                saved = store.add_actionable(new, history_row(None, new, source=str(origin), now=now))
                if task:
                    by_task[task] = saved
                else:
                    ideas[title] = saved
                added += 1
                continue
            after = _apply_hint(current, title=title, task=task, owner=owner, hint=hint, raw_text=raw_text,
                                statuses=statuses, now=now, closed_at=item.closed_at,
                                closed_now=origin is not Origin.IMPORT)
            if after == current:
                unchanged += 1
                continue
            history = [history_row(current, after, source=str(origin), now=now)] if state_changed(current, after) else []
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
    closed_at: datetime | None = None,
    closed_now: bool = True,
) -> Actionable:
    """*current* with what a draft or a page hints. A hint that closes it closed it at *closed_at*
    when known, else now with *closed_now* (a draft sees the task close), else at an unknown time
    (a page says an item is done, never when)."""
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
                updates["resolved_at"] = (closed_at or (now if closed_now else None)) if state in CLOSED_STATES else None
    if raw_text and raw_text != current.raw_text:
        updates["raw_text"] = raw_text
    if not updates:
        return current
    return replace(current, updated_at=now, **updates)


def record_proposed(
    store: Store,
    slug: str,
    proposed: Iterable[FollowUp],
    settings: Settings,
    *,
    now: datetime,
) -> UpsertResult:
    """Record the follow-ups a draft proposed for incident *slug* (idempotent by incident and task).

    The incident must already be saved; *now* is the draft's clock.
    """
    return _upsert_hinted(
        store, store.require_incident(slug), proposed, origin=Origin.DRAFT, settings=settings, now=now,
        statuses=task_statuses(store),
    )  # fmt: skip


def upsert_imported(
    store: Store,
    incident: str | IncidentRecord,
    items: Iterable[FollowUp],
    *,
    settings: Settings | None = None,
    now: datetime,
    statuses: Mapping[str, TaskStatus] | None = None,
    stored: Sequence[Actionable] | None = None,
) -> UpsertResult:
    """Record the follow-ups read from an existing report page (idempotent, safe to re-run).

    Never overwrites locked fields or anything sync has set; new ones get ``created_at`` = the
    incident start when known. *settings* give the SLA table (defaults when None). An import
    passes the incident as just saved, the instance's *statuses* read once for all its pages, and
    for an incident it has just created, its *stored* actionables: none.
    """
    record = store.require_incident(incident) if isinstance(incident, str) else incident
    return _upsert_hinted(
        store, record, items, origin=Origin.IMPORT, settings=settings or Settings(), now=now,
        statuses=task_statuses(store) if statuses is None else statuses, stored=stored,
    )  # fmt: skip
