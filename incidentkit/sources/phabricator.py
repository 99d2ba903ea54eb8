"""The Phabricator source: an incident's tasks and the changes to them that belong in a timeline.

``PhabricatorSource.pull(query)`` talks Conduit (through :class:`incidentkit.clients.conduit.ConduitClient`)
and gathers, as raw Conduit JSON:

* the incident tasks given with ``--task``, their subtasks and their parents;
* tasks tagged with a ``[phabricator] projects`` project that existed during the window and changed
  at or after its start (``modifiedStart`` + ``createdEnd``: every task created or modified in the
  window, plus ones changed in it and again later, which ``dateModified`` alone would miss);
* tasks tagged with a ``[phabricator] followup_projects`` project created from the window start on;
* the transactions of those tasks that fall inside the window, the tasks merged into or from them,
  the instance's statuses and priorities, and the users and projects they name (100 per call).

Configured projects may be given by name, by any hashtag or by PHID; they are resolved as
:func:`~incidentkit.clients.conduit.project_key` compares them (case, ``-``/``_`` and punctuation
do not matter), the same way parse recognises follow-up projects. What the pull could not do (a
project that does not exist, an incident task the token cannot see) becomes a note on the page.

Follow-ups: tasks tagged with a follow-up project, and subtasks of an incident task, created from
the window start on. A task's comments beyond the first few fold into one "… and N more
comments" event; "Merge Duplicates In" (a ``mergedinto`` transaction, no status transaction)
reads "T1010 merged into T1 as a duplicate".

Transactions are fetched without one call per task where possible: one ``transaction.search`` scan
over ``objectType: "TASK"`` (1000 per call, newest first, stopping at the window start) covers every
task at once. That scan's cost depends on how busy the whole instance has been since the window
started, so it gets a budget of one call per candidate task (candidates: tasks that existed during
the window and changed since it began); past that budget the rest is fetched per task, and only for
candidates created before the oldest transaction already scanned. Total cost is at most twice the
cheaper of the two strategies.

``parse(export, query)`` is pure: it rebuilds the events from ``tasks.json``, ``transactions.json``,
``users.json``, ``projects.json``, ``statuses.json`` and ``priorities.json`` (or one JSON file holding
those keys) and the export's meta (the site url, the comments flag and the follow-up projects are
recorded there at pull time). Malformed records become Problems.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..clients.conduit import ConduitClient, ConduitError, Project, project_key
from ..config import PhabricatorSettings, Settings
from ..errors import ConfigError, SourceError
from ..model.actionable import FollowUp
from ..model.event import Event, EventKind
from ..model.source import REPLACED_CHARACTERS, Export, Problem, Query, SourceResult
from ..model.tasks import task_number, task_or_none
from ..model.time import format_utc, to_epoch
from . import SourceSpec, register

__all__ = ["PhabricatorSource", "parse", "SECTIONS", "TASK_ATTACHMENTS"]

SOURCE = "phabricator"
SECTIONS = ("tasks", "transactions", "users", "projects", "statuses", "priorities")
TASK_ATTACHMENTS = ("projects",)
TOP_PRIORITY_FALLBACK = 100  # Conduit's "unbreak" value, used only when the export has no priorities
OPEN_STATUS_FALLBACK = frozenset({"open", "stalled", "progress"})  # only when the export has no statuses
UNKNOWN_STATUS = "Unknown Status"
COMMENT_PREVIEW = 160
COMMENTS_SHOWN = 3  # per task; later ones fold into one "… and N more comments" event

DEFAULT_FOLLOWUP_PROJECTS = tuple(PhabricatorSettings().followup_projects)


@dataclass
class PhabricatorSource:
    """Pulls an incident's tasks and transactions from Conduit (see the module docstring)."""

    settings: Settings
    client: ConduitClient | None = None
    name: str = SOURCE

    def pull(self, query: Query) -> Export:
        """Fetch everything :func:`parse` needs; raises SourceError when Phabricator cannot be read."""
        phab = self.settings.phabricator
        client = self.client or _client(self.settings)
        calls_before = client.calls
        replaced_before = client.replaced
        window = query.window
        start = to_epoch(window.start)
        end = math.ceil(window.end.timestamp()) - 1  # Conduit's date bounds are inclusive
        warnings: list[str] = []

        statuses = client.statuses()
        priorities = client.priorities()
        resolved = client.resolve_projects([*phab.projects, *phab.followup_projects])
        project_phids = _resolve(phab.projects, "projects", resolved, warnings)
        followup_phids = _resolve(phab.followup_projects, "followup_projects", resolved, warnings)

        ids = _task_ids(query.tasks, warnings)
        tasks, subtasks = _gather_tasks(client, ids, project_phids, followup_phids, start, end, warnings)
        candidates = {  # tasks that existed during the window and changed since it began
            item["phid"]: _int_field(item, "dateCreated")
            for item in tasks
            if isinstance(item, dict)
            and isinstance(item.get("phid"), str)
            and _int_field(item, "dateModified") >= start
            and _int_field(item, "dateCreated") <= end
        }
        transactions, strategy = _fetch_transactions(client, candidates, start, end)
        tasks.extend(_merge_partners(client, tasks, transactions))

        users = client.users(_user_phids(tasks, transactions))
        projects = client.projects({*project_phids, *followup_phids, *_task_project_phids(tasks)})

        meta = {
            "url": client.url,
            "comments": phab.comments,
            "projects": list(phab.projects),
            "followup_projects": list(phab.followup_projects),
            "project_phids": project_phids,
            "followup_project_phids": followup_phids,
            "incident_tasks": [f"T{number}" for number in ids],
            "subtasks": subtasks,
            "window": window.to_dict(),
            "transactions": strategy,
            "calls": client.calls - calls_before,
            "warnings": warnings,
        }
        if client.replaced > replaced_before:  # lone surrogates in the answers (counted as problems)
            meta[REPLACED_CHARACTERS] = client.replaced - replaced_before
        files = (
            ("tasks.json", _dump(tasks)),
            ("transactions.json", _dump(transactions)),
            ("users.json", _dump(users)),
            ("projects.json", _dump(projects)),
            ("statuses.json", _dump(statuses)),
            ("priorities.json", _dump(priorities)),
        )
        return Export(SOURCE, files, meta)

    def check(self) -> str:
        """Who the token is, and what each configured project resolved to; SourceError if one did not."""
        client = self.client or _client(self.settings)
        me = client.call("user.whoami")
        name = me.get("userName") if isinstance(me, dict) else None
        configured = [
            (f"[phabricator] {key}", ref)
            for key, refs in (
                ("projects", self.settings.phabricator.projects),
                ("followup_projects", self.settings.phabricator.followup_projects),
            )
            for ref in refs
        ] + [("[actionables] tags", ref) for ref in self.settings.actionables.tags]
        resolved = client.resolve_projects(ref for _, ref in configured)
        missing = [f"{ref.strip()!r} ({key})" for key, ref in configured if ref.strip() not in resolved]
        if missing:
            raise SourceError(
                f"Phabricator has no project {', '.join(missing)}",
                hint="name each project by its name, one of its hashtags or its PHID, or take it off the list",
            )
        lines = [f"answered as {name or 'an unknown user'} at {client.url}"]
        lines += [f"{key} {ref.strip()!r} → {resolved[ref.strip()].describe()}" for key, ref in configured]
        return "\n".join(lines)


def _client(settings: Settings) -> ConduitClient:
    try:
        return ConduitClient.from_settings(settings)
    except ConfigError as exc:
        raise SourceError(f"Phabricator is not configured: {exc.message}", exc.hint) from exc


def _task_ids(tasks: Iterable[str], warnings: list[str]) -> list[int]:
    ids: list[int] = []
    for task in tasks:
        monogram = task_or_none(task)
        if monogram is None:
            warnings.append(f"ignored {task!r}: not a Phabricator task id")
        else:
            ids.append(task_number(monogram))
    return list(dict.fromkeys(ids))


def _gather_tasks(
    client: ConduitClient,
    ids: Sequence[int],
    project_phids: Sequence[str],
    followup_phids: Sequence[str],
    start: int,
    end: int,
    warnings: list[str],
) -> tuple[list[Any], dict[str, str]]:
    """The incident tasks with subtasks and parents, tagged tasks, follow-ups: each once, in order.

    Also which tasks are subtasks of which incident task (monogram -> monogram).
    """
    found: list[Any] = []
    seen: set[str] = set()

    def add(items: Iterable[Any]) -> None:
        for item in items:
            phid = item.get("phid") if isinstance(item, dict) else None
            if isinstance(phid, str):
                if phid in seen:
                    continue
                seen.add(phid)
            found.append(item)  # malformed items too: parse reports them

    def search(constraints: Mapping[str, Any]) -> list[Any]:
        items = list(client.search("maniphest.search", constraints, attachments=TASK_ATTACHMENTS))
        add(items)
        return items

    subtasks: dict[str, str] = {}
    if ids:
        add(client.tasks_by_ids(ids, attachments=TASK_ATTACHMENTS))
        present = {item.get("id") for item in found if isinstance(item, dict)}
        warnings.extend(
            f"the incident task T{number} is not visible to this token (private, or it does not exist)"
            for number in ids
            if number not in present
        )
        for number in ids:  # one search per incident task: maniphest.search does not say the parent
            for item in search({"parentIDs": [number]}):
                if isinstance(item, dict) and isinstance(item.get("id"), int):
                    subtasks.setdefault(f"T{item['id']}", f"T{number}")
        search({"subtaskIDs": list(ids)})  # parents
    for phid in project_phids:
        search({"projects": [phid], "modifiedStart": start, "createdEnd": end})
    for phid in followup_phids:
        search({"projects": [phid], "createdStart": start})
    return found, subtasks


def _merge_partners(client: ConduitClient, tasks: Sequence[Any], transactions: Sequence[Any]) -> list[Any]:
    """The tasks the pulled ones were merged into or from, when not pulled already (one call)."""
    have = {item.get("phid") for item in tasks if isinstance(item, dict)}
    wanted = {phid for txn in transactions for phid in _merged_phids(txn)} - have
    return client.tasks_by_phids(sorted(wanted), attachments=TASK_ATTACHMENTS) if wanted else []


def _merged_phids(txn: Any) -> list[str]:
    """The other tasks of a ``mergedinto`` (the target) or ``mergedfrom`` (the duplicates) transaction."""
    fields = txn.get("fields") if isinstance(txn, dict) else None
    if not isinstance(fields, dict):
        return []
    new = fields.get("new")
    if txn.get("type") == "mergedinto":
        found = [new]
    elif txn.get("type") == "mergedfrom":  # {dup: dup} as PHP writes a set; a list also reads
        found = list(new) if isinstance(new, (dict, list)) else []
    else:
        return []
    return [phid for phid in found if isinstance(phid, str) and phid.startswith("PHID-TASK-")]


def _fetch_transactions(
    client: ConduitClient, candidates: Mapping[str, int], start: int, end: int
) -> tuple[list[dict[str, Any]], str]:
    """In-window transactions of the *candidates* (task PHID → dateCreated), and the strategy used."""
    if not candidates:
        return [], "none"
    kept: dict[str, dict[str, Any]] = {}

    def keep(items: Iterable[Any]) -> None:
        for item in items:
            if (
                isinstance(item, dict)
                and item.get("objectPHID") in candidates
                and _created(item) <= end
                and isinstance(item.get("phid"), str)
            ):
                kept.setdefault(item["phid"], item)

    budget = len(candidates)
    scanned_from: int | None = None  # every transaction from this epoch on has been seen
    complete = False
    try:
        for pages, (items, last) in enumerate(client.transaction_pages("TASK", since=start), start=1):
            keep(items)
            if items:
                scanned_from = _created(items[-1])
            if last:
                complete = True
                break
            if pages >= budget:
                break
    except ConduitError as exc:
        if exc.code != "ERR-CONDUIT-CALL":  # only an older server without objectType falls back
            raise
    if complete:
        return _newest_first(kept), "type-scan"
    for phid, created in candidates.items():
        if scanned_from is not None and created > scanned_from:
            continue  # created after the oldest scanned transaction: all its transactions were seen
        keep(client.transactions(phid, since=start))
    return _newest_first(kept), "type-scan+per-task" if scanned_from is not None else "per-task"


def _newest_first(kept: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(kept.values(), key=lambda item: -item["id"] if isinstance(item.get("id"), int) else 0)


def _resolve(
    refs: Sequence[str], key: str, resolved: Mapping[str, Project], warnings: list[str]
) -> list[str]:
    """The PHIDs of the configured projects *refs* (``[phabricator] key``); a note for unknown ones."""
    phids = []
    for ref in dict.fromkeys(r.strip() for r in refs if r.strip()):
        project = resolved.get(ref)
        if project is not None:
            phids.append(project.phid)
        else:
            warnings.append(
                f"no Phabricator project {ref!r} ([phabricator] {key}): tasks tagged with it were not searched"
            )
    return list(dict.fromkeys(phids))


def _user_phids(tasks: Iterable[Any], transactions: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every user PHID the tasks and transactions name (authors, owners, closers, commenters)."""
    named: list[Any] = []
    for item in tasks:
        task_fields = item.get("fields") if isinstance(item, dict) else None
        if isinstance(task_fields, dict):
            named.extend(task_fields.get(key) for key in ("authorPHID", "ownerPHID", "closerPHID"))
    for txn in transactions:
        named.append(txn.get("authorPHID"))
        txn_fields = txn.get("fields")
        if txn.get("type") == "owner" and isinstance(txn_fields, dict):
            named.extend((txn_fields.get("old"), txn_fields.get("new")))
        named.extend(c.get("authorPHID") for c in txn.get("comments") or () if isinstance(c, dict))
    return {p for p in named if isinstance(p, str) and p.startswith("PHID-USER-")}


def _task_project_phids(tasks: Iterable[Any]) -> set[str]:
    phids: set[str] = set()
    for item in tasks:
        phids.update(p for p in _project_list(item) if isinstance(p, str))
    return phids


def _project_list(item: Any) -> list[Any]:
    attachments = item.get("attachments") if isinstance(item, dict) else None
    projects = attachments.get("projects") if isinstance(attachments, dict) else None
    listed = projects.get("projectPHIDs") if isinstance(projects, dict) else None
    return listed if isinstance(listed, list) else []


def _int_field(item: Mapping[str, Any], key: str) -> int:
    value = item.get("fields", {}).get(key) if isinstance(item.get("fields"), dict) else None
    return value if isinstance(value, int) else 0


def _created(item: Mapping[str, Any]) -> int:
    value = item.get("dateCreated")
    return value if isinstance(value, int) else 0


def _dump(records: Any) -> str:
    return json.dumps(records, indent=1, ensure_ascii=False) + "\n"


# --- parse (pure) -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Task:
    monogram: str
    phid: str
    title: str
    status: str
    status_name: str
    closed_at: int | None
    priority: str
    author: str | None
    owner: str | None
    created: datetime
    projects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Context:
    """Everything parse resolves names and flags with."""

    url: str
    users: Mapping[str, str]
    projects: Mapping[str, Mapping[str, str]]
    statuses: Mapping[str, tuple[str, bool]]
    top_priority: int
    priority_names: Mapping[int, str]
    followup_phids: frozenset[str]
    followup_names: frozenset[str]
    comments: bool
    subtasks: Mapping[str, str]  # subtask monogram -> the incident task it belongs to

    def user(self, phid: Any) -> str | None:
        return self.users.get(phid) if isinstance(phid, str) else None

    def status_name(self, value: str, reported: str | None = None) -> str:
        if value in self.statuses:
            return self.statuses[value][0]
        if reported and reported != UNKNOWN_STATUS:
            return reported
        return value.replace("_", " ").replace("-", " ").title()

    def is_closed(self, value: str, closed_at: int | None = None) -> bool:
        if value in self.statuses:
            return self.statuses[value][1]
        if self.statuses:
            return True  # the server treats statuses it does not know as closed
        return value not in OPEN_STATUS_FALLBACK if closed_at is None else True

    def is_followup_project(self, phid: str) -> bool:
        if phid in self.followup_phids:
            return True
        project = self.projects.get(phid, {})
        keys = {project_key(project.get("slug", "")), project_key(project.get("name", ""))} - {""}
        return bool(keys & self.followup_names)


def parse(export: Export, query: Query) -> SourceResult:
    """Events from a Phabricator export (see the module docstring); never raises on bad records."""
    problems: list[Problem] = []
    sections, meta = _sections(export, problems)
    context = _context(sections, meta)
    incident = {task_or_none(t) for t in query.tasks} - {None}
    window_start = query.window.start

    tasks: dict[str, _Task] = {}
    unreadable: set[Any] = set()  # PHIDs of task records that could not be read
    events: list[Event] = []
    for index, item in enumerate(sections["tasks"], start=1):
        task = _read_task(item, context)
        if isinstance(task, str):
            problems.append(Problem(f"tasks.json record {index}", task, _excerpt(item)))
            if isinstance(item, dict) and isinstance(item.get("phid"), str):
                unreadable.add(item["phid"])
            continue
        if task.phid in tasks:
            continue
        tasks[task.phid] = task
        events.append(_created_event(task, context, incident, window_start))

    transactions = sections["transactions"]
    creation_groups, closing_groups = _groups(transactions, context)
    orphans = 0
    for index, txn in enumerate(transactions, start=1):
        reason = _check_txn(txn)
        if reason is None and txn["objectPHID"] in unreadable:
            orphans += 1
            continue
        if reason is None and txn["objectPHID"] not in tasks:
            reason = "transaction of a task that is not in tasks.json"
        if reason is not None:
            problems.append(Problem(f"transactions.json record {index}", reason, _excerpt(txn)))
            continue
        task = tasks[txn["objectPHID"]]
        if txn.get("type") == "create" or (
            txn.get("groupID") and txn.get("groupID") in creation_groups.get(task.phid, ())
        ):
            continue  # folded into the task's creation event
        if txn.get("type") in ("mergedinto", "mergedfrom"):
            events.extend(_merge_events(txn, task, tasks, context))
            continue
        event = _txn_event(txn, task, context, closing_groups)
        if event is not None:
            events.append(event)

    if orphans:
        problems.append(
            Problem(
                "transactions.json", f"{orphans} transactions of tasks that could not be read were skipped"
            )
        )
    events = _fold_comments(events)
    events.sort(key=lambda e: (e.time, e.key))
    events = list({e.key: e for e in reversed(events)}.values())[::-1]  # one per key, the earliest
    return SourceResult(
        SOURCE,
        tuple(events),
        tuple(problems),
        lines_read=len(sections["tasks"]) + len(transactions),
        notes=tuple(str(w) for w in meta.get("warnings", ()) if isinstance(w, str)),
        followups=_followups(events),
    )


def _fold_comments(events: list[Event]) -> list[Event]:
    """Each task's first :data:`COMMENTS_SHOWN` comments; the rest as one "… and N more comments"."""
    by_task: dict[str, list[tuple[int, Event]]] = {}
    for index, event in enumerate(events):
        if event.kind is EventKind.TASK_COMMENT:
            by_task.setdefault(event.tasks[0], []).append((index, event))
    dropped: set[str] = set()
    summaries: list[Event] = []
    for mono, indexed in by_task.items():
        if len(indexed) <= COMMENTS_SHOWN:
            continue
        # oldest first; within one second, transactions came newest first
        comments = [event for _, event in sorted(indexed, key=lambda pair: (pair[1].time, -pair[0]))]
        rest = comments[COMMENTS_SHOWN:]
        dropped.update(e.key for e in rest)
        summaries.append(
            replace(
                rest[0],
                # "~" sorts after every "txn:" key: the row follows the comments shown in its second
                key=f"{SOURCE}:{mono}:~more-comments",
                text=f"{mono} … and {len(rest)} more comments",
                actor=None,
                raw="",
                data={"task": mono, "folded": len(rest), "until": format_utc(rest[-1].time)},
            )
        )
    if not dropped:
        return events
    return [e for e in events if e.key not in dropped] + summaries


def _followups(events: Iterable[Event]) -> tuple[FollowUp, ...]:
    """Follow-up tasks (tagged with a follow-up project or a subtask of an incident task, created from
    the window start on), oldest first."""
    proposed: dict[str, FollowUp] = {}
    for event in events:
        data = event.data
        if event.kind is EventKind.TASK_CREATED and data.get("followup") and not data.get("incident_task"):
            task = data["task"]  # _created_event sets the monogram and the status name
            proposed.setdefault(
                task,
                FollowUp(
                    title=str(data.get("title") or event.text),
                    task=task,
                    status=data["status_name"],
                    owner=data.get("owner"),
                    url=event.url,
                    closed_at=_when(data.get("closed_at")) if data.get("closed") else None,
                    parent=data.get("subtask_of"),
                ),
            )
    return tuple(proposed.values())


def _sections(export: Export, problems: list[Problem]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The record lists by section name, from per-section files or one combined JSON file."""
    meta: dict[str, Any] = dict(export.meta)
    sections: dict[str, list[Any]] = {name: [] for name in SECTIONS}
    found = False
    for name in SECTIONS:
        text = export.text(f"{name}.json")
        if text is not None:
            found = True
            sections[name] = _records(_json(text, f"{name}.json", problems), f"{name}.json", problems)
    if found:
        return sections, meta
    if len(export.files) != 1:
        problems.append(Problem("phabricator export", "no tasks.json or transactions.json in the export"))
        return sections, meta
    file_name, text = export.files[0]
    data = _json(text, file_name, problems)
    if isinstance(data, dict) and any(name in data for name in SECTIONS):
        for name in SECTIONS:
            if name in data:
                sections[name] = _records(data[name], f"{file_name} {name}", problems)
        if isinstance(data.get("meta"), dict):
            meta.update(data["meta"])
    elif data is not None:
        sections["tasks"] = _records(data, file_name, problems)
    return sections, meta


def _json(text: str, where: str, problems: list[Problem]) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        problems.append(Problem(where, f"not JSON: {exc}", text[:200]))
        return None


def _records(value: Any, where: str, problems: list[Problem]) -> list[Any]:
    """A list of records from a list, a Conduit result ``{"data": [...]}`` or a whole envelope."""
    if isinstance(value, dict) and isinstance(value.get("result"), dict):
        value = value["result"]
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        value = value["data"]
    if isinstance(value, list):
        return value
    if value is not None:
        problems.append(Problem(where, "expected a list of records", _excerpt(value)))
    return []


def _context(sections: Mapping[str, list[Any]], meta: Mapping[str, Any]) -> _Context:
    users = {
        u["phid"]: u["fields"]["username"]
        for u in sections["users"]
        if isinstance(u, dict)
        and isinstance(u.get("phid"), str)
        and isinstance(u.get("fields"), dict)
        and isinstance(u["fields"].get("username"), str)
    }
    projects = {
        p["phid"]: {"name": str(p["fields"].get("name", "")), "slug": str(p["fields"].get("slug") or "")}
        for p in sections["projects"]
        if isinstance(p, dict) and isinstance(p.get("phid"), str) and isinstance(p.get("fields"), dict)
    }
    statuses = {
        s["value"]: (str(s.get("name") or s["value"]), bool(s.get("closed")))
        for s in sections["statuses"]
        if isinstance(s, dict) and isinstance(s.get("value"), str)
    }
    priority_names = {
        p["value"]: str(p.get("name", p["value"]))
        for p in sections["priorities"]
        if isinstance(p, dict) and isinstance(p.get("value"), int)
    }
    followups = meta.get("followup_projects", DEFAULT_FOLLOWUP_PROJECTS)
    return _Context(
        url=str(meta.get("url") or "").rstrip("/"),
        users=users,
        projects=projects,
        statuses=statuses,
        top_priority=max(priority_names, default=TOP_PRIORITY_FALLBACK),
        priority_names=priority_names,
        followup_phids=frozenset(p for p in meta.get("followup_project_phids", ()) if isinstance(p, str)),
        followup_names=frozenset(project_key(n) for n in followups if isinstance(n, str)) - {""},
        comments=meta.get("comments") is True,
        subtasks=_string_map(meta.get("subtasks")),
    )


def _string_map(value: Any) -> dict[str, str]:
    return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def _read_task(item: Any, context: _Context) -> _Task | str:
    """A task from a ``maniphest.search`` item, or why it cannot be read."""
    if not isinstance(item, dict):
        return "not an object"
    task_id, phid, task_fields = item.get("id"), item.get("phid"), item.get("fields")
    if not isinstance(task_id, int) or task_id < 1 or isinstance(task_id, bool):
        return "no task id"
    if not isinstance(phid, str) or not isinstance(task_fields, dict):
        return "no phid or fields"
    title, created, status = (
        task_fields.get("name"),
        task_fields.get("dateCreated"),
        task_fields.get("status"),
    )
    when = _when(created)
    if not isinstance(title, str) or when is None:
        return "no title or creation time"
    status_value = status.get("value") if isinstance(status, dict) else status
    if not isinstance(status_value, str):
        return "no status"
    priority = task_fields.get("priority")
    priority_value = priority.get("value") if isinstance(priority, dict) else None
    priority_name = priority.get("name") if isinstance(priority, dict) else None
    if not isinstance(priority_name, str):
        priority_name = (
            context.priority_names.get(priority_value, "") if isinstance(priority_value, int) else ""
        )
    closed_at = task_fields.get("dateClosed")
    return _Task(
        monogram=f"T{task_id}",
        phid=phid,
        title=title,
        status=status_value,
        status_name=context.status_name(
            status_value, status.get("name") if isinstance(status, dict) else None
        ),
        closed_at=closed_at if isinstance(closed_at, int) else None,
        priority=priority_name,
        author=task_fields.get("authorPHID") if isinstance(task_fields.get("authorPHID"), str) else None,
        owner=task_fields.get("ownerPHID") if isinstance(task_fields.get("ownerPHID"), str) else None,
        created=when,
        projects=tuple(p for p in _project_list(item) if isinstance(p, str)),
    )


def _created_event(
    task: _Task, context: _Context, incident: set[str | None], window_start: datetime
) -> Event:
    parent = context.subtasks.get(task.monogram)
    tagged = any(context.is_followup_project(p) for p in task.projects)
    followup = task.created >= window_start and (tagged or parent is not None)
    data = {
        "task": task.monogram,
        "title": task.title,
        "status": task.status,
        "status_name": task.status_name,
        "closed": context.is_closed(task.status, task.closed_at),
        "priority": task.priority,
        "projects": [context.projects.get(p, {}).get("name") or p for p in task.projects],
        "owner": context.user(task.owner),
        "followup": followup,
        "incident_task": task.monogram in incident,
    }
    if parent is not None and not tagged:
        data["subtask_of"] = parent  # proposed because it is a subtask, not because it is tagged
    if task.closed_at is not None:
        data["closed_at"] = task.closed_at
    return Event(
        time=task.created,
        source=SOURCE,
        kind=EventKind.TASK_CREATED,
        key=f"{SOURCE}:{task.monogram}:created",
        text=f"{task.monogram} created: {task.title}",
        actor=context.user(task.author),
        url=_url(context, task),
        tasks=(task.monogram,),
        raw=task.title,
        data=data,
    )


def _groups(transactions: Sequence[Any], context: _Context) -> tuple[dict[str, set[str]], set[str]]:
    """Transaction groups that created a task (per task PHID), and groups that closed one."""
    creation: dict[str, set[str]] = {}
    closing: set[str] = set()
    for txn in transactions:
        if not isinstance(txn, dict) or not isinstance(txn.get("groupID"), str):
            continue
        if txn.get("type") == "create" and isinstance(txn.get("objectPHID"), str):
            creation.setdefault(txn["objectPHID"], set()).add(txn["groupID"])
        txn_fields = txn.get("fields")
        if (
            txn.get("type") == "status"
            and isinstance(txn_fields, dict)
            and isinstance(txn_fields.get("new"), str)
        ):
            if context.is_closed(txn_fields["new"]):
                closing.add(txn["groupID"])
    return creation, closing


def _check_txn(txn: Any) -> str | None:
    if not isinstance(txn, dict):
        return "not an object"
    if not isinstance(txn.get("phid"), str) or not isinstance(txn.get("objectPHID"), str):
        return "no phid or objectPHID"
    if _when(txn.get("dateCreated")) is None:
        return "no creation time"
    txn_fields = txn.get("fields")
    if txn_fields is not None and not isinstance(txn_fields, (dict, list)):
        return "fields is not an object"
    return None


def _txn_event(
    txn: Mapping[str, Any], task: _Task, context: _Context, closing_groups: set[str]
) -> Event | None:
    """The timeline event for one transaction, or None for changes a timeline does not show."""
    kind = txn.get("type")
    txn_fields = txn.get("fields") if isinstance(txn.get("fields"), dict) else {}
    actor = context.user(txn.get("authorPHID"))
    mono = task.monogram
    data: dict[str, Any] = {"task": mono}
    if kind == "status":
        old, new = txn_fields.get("old"), txn_fields.get("new")
        if not isinstance(new, str):
            return None
        old_name = context.status_name(old) if isinstance(old, str) else "none"
        new_name = context.status_name(new)
        event_kind, text = EventKind.TASK_STATUS, f"{mono} status changed {old_name} → {new_name}"
        data.update(
            old=old, new=new, old_name=old_name, new_name=new_name, closed=context.is_closed(new),
            was_closed=isinstance(old, str) and context.is_closed(old),
        )
    elif kind == "priority":
        old, new = txn_fields.get("old"), txn_fields.get("new")
        new_value = new.get("value") if isinstance(new, dict) else None
        old_value = old.get("value") if isinstance(old, dict) else None
        if new_value != context.top_priority or (isinstance(old_value, int) and old_value >= new_value):
            return None
        name = new.get("name") if isinstance(new, dict) and isinstance(new.get("name"), str) else None
        name = name or context.priority_names.get(new_value, str(new_value))
        event_kind, text = EventKind.TASK_PRIORITY, f"{mono} priority raised to {name}"
        data.update(old=old.get("name") if isinstance(old, dict) else None, new=name, value=new_value)
    elif kind == "owner":
        old, new = txn_fields.get("old"), txn_fields.get("new")
        if not isinstance(new, str):
            return None
        if old is None and new == txn.get("authorPHID") and txn.get("groupID") in closing_groups:
            return None  # closing an unowned task makes the closer its owner: not news
        owner = context.user(new) or new
        claimed = new == txn.get("authorPHID")
        event_kind = EventKind.TASK_OWNER
        text = f"{mono} claimed by {owner}" if claimed else f"{mono} assigned to {owner}"
        data.update(owner=owner, claimed=claimed)
    elif kind == "comment" and context.comments:
        comments = [c for c in txn.get("comments") or () if isinstance(c, dict)]
        content = comments[0].get("content") if comments else None
        body = content.get("raw") if isinstance(content, dict) else None
        if not isinstance(body, str) or not body.strip() or comments[0].get("removed") is True:
            return None
        first = body.strip().splitlines()[0]
        preview = first if len(first) <= COMMENT_PREVIEW else first[: COMMENT_PREVIEW - 1] + "…"
        event_kind, text = EventKind.TASK_COMMENT, f"{mono} comment by {actor or 'someone'}: {preview}"
        data.update(comment=body, preview=preview)
    else:
        return None
    return Event(
        time=datetime.fromtimestamp(txn["dateCreated"], UTC),  # checked by _check_txn
        source=SOURCE,
        kind=event_kind,
        key=f"{SOURCE}:{mono}:txn:{txn['phid']}",
        text=text,
        actor=actor,
        url=_url(context, task),
        tasks=(mono,),
        raw=_excerpt(txn_fields) if kind != "comment" else str(data.get("comment", "")),
        data=data,
    )


def _merge_events(
    txn: Mapping[str, Any], task: _Task, tasks: Mapping[str, _Task], context: _Context
) -> list[Event]:
    """One event per merge: ``mergedinto`` on the duplicate, ``mergedfrom`` on the task it went into.

    Both sides of one merge get the same key, so the merge is one row whichever side was pulled.
    """
    others = _merged_phids(txn)
    pairs = [(task.phid, o) for o in others] if txn.get("type") == "mergedinto" else [(o, task.phid) for o in others]
    events = []
    for duplicate_phid, target_phid in pairs:
        duplicate, target = tasks.get(duplicate_phid), tasks.get(target_phid)
        text = (
            f"{duplicate.monogram if duplicate else 'another task'} merged into "
            f"{target.monogram if target else 'another task'} as a duplicate"
        )
        events.append(
            Event(
                time=datetime.fromtimestamp(txn["dateCreated"], UTC),  # checked by _check_txn
                source=SOURCE,
                kind=EventKind.TASK_STATUS,
                key=f"{SOURCE}:merge:{duplicate_phid}:{target_phid}",
                text=text,
                actor=context.user(txn.get("authorPHID")),
                url=_url(context, duplicate or task),
                tasks=tuple(t.monogram for t in (duplicate, target) if t is not None),
                raw=_excerpt(txn.get("fields")),
                data={
                    "task": (duplicate or task).monogram,
                    "merged_into": target.monogram if target else None,
                    "duplicate": duplicate.monogram if duplicate else None,
                    "closed": True,
                },
            )
        )
    return events


def _when(epoch: Any) -> datetime | None:
    """An epoch-seconds field as aware UTC, or None when it is not a usable time."""
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _url(context: _Context, task: _Task) -> str | None:
    return f"{context.url}/{task.monogram}" if context.url else None


def _excerpt(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


register(
    SourceSpec(
        SOURCE,
        "Phabricator/Phorge tasks over Conduit: the incident tasks, tagged error and follow-up tasks, "
        "and their status, Unbreak Now! priority and owner changes ([phabricator] url, token_env)",
        PhabricatorSource,
        parse,
        lambda settings: bool(settings.phabricator.url),
    )
)
