"""The draft pipeline: pull every source for a window, merge, curate, and assemble the Incident.

Orchestration only: sources do the I/O (:mod:`incidentkit.sources`), the store persists
(:mod:`incidentkit.store`), templates render (:mod:`incidentkit.render`). A pull can be saved to a
folder (``pull --save``) and replayed later with no network; a replay gives the same draft byte
for byte because the pull's own clock reading and failures are saved with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import alerts
from .config import Settings
from .errors import InputError, SourceError
from .events import Event, EventKind, merge_events
from .incident import Incident, ProposedActionable, SourceFailure, SourceReport, slugify
from .sources import Export, Problem, Query, SourceResult, all_specs, load_export, save_export
from .timeline import build_rows
from .window import Window, ensure_utc, format_utc

__all__ = [
    "Collected",
    "parse_inputs",
    "collect",
    "save_pull",
    "load_pull",
    "build_incident",
    "record_draft",
    "redraft",
    "PULL_MANIFEST",
]

PULL_MANIFEST = "pull.json"


@dataclass(frozen=True, slots=True)
class Collected:
    """What a pull gathered: the exports, their parsed results, and the sources that failed."""

    query: Query
    pulled_at: datetime
    exports: tuple[Export, ...] = ()
    results: tuple[SourceResult, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def events(self) -> list[Event]:
        """Every source's events merged: deduplicated by key, in the window, stably sorted."""
        return merge_events((r.events for r in self.results), self.query.window)

    def reports(self) -> tuple[SourceReport, ...]:
        return tuple(
            SourceReport(
                source=r.source,
                events=len(r.events),
                lines_read=r.lines_read,
                skipped=len(r.problems),
                skipped_where=tuple(f"{p.where} ({p.reason})" if p.reason else p.where for p in r.problems),
                notes=r.notes,
            )
            for r in self.results
        )


def parse_inputs(values: Iterable[str] | None) -> dict[str, Path]:
    """``["sal=page.wiki", ...]`` -> ``{"sal": Path("page.wiki")}``; InputError for bad items."""
    known = all_specs()
    inputs: dict[str, Path] = {}
    for item in values or ():
        name, sep, path = item.partition("=")
        name = name.strip().lower()
        if not sep or not path.strip():
            raise InputError(f"--input {item!r} is not NAME=PATH", hint="e.g. --input sal=server-admin-log.wiki")
        if name not in known:
            raise InputError(f"--input names unknown source {name!r}", hint=f"known sources: {', '.join(known)}")
        inputs[name] = Path(path.strip()).expanduser()
    return inputs


def _parse(name: str, export: Export, query: Query) -> SourceResult:
    return all_specs()[name].parse(export, query)


def collect(
    query: Query,
    settings: Settings,
    *,
    inputs: Mapping[str, Path] | None = None,
    only: Iterable[str] | None = None,
    strict: bool = False,
    now: datetime,
    title: str | None = None,
) -> Collected:
    """Pull and parse every source that is configured or given with ``--input``.

    A source that fails becomes a SourceFailure (shown on the page) unless *strict*, in which
    case its SourceError propagates. Unreadable ``--input`` files are always errors.
    """
    inputs = dict(inputs or {})
    specs = all_specs()
    wanted = set(only) if only else None
    names = [
        name
        for name in specs
        if (name in inputs or settings.is_configured(name)) and (wanted is None or name in wanted)
    ]
    if not names:
        raise InputError(
            "no source to read: nothing is configured and no --input was given",
            hint="give --input sal=PATH (or --replay DIR), or configure [sal]/[phabricator]/... (see README)",
        )
    exports: list[Export] = []
    results: list[SourceResult] = []
    failures: list[SourceFailure] = []
    for name in names:
        if name in inputs:
            export = load_export(name, inputs[name])
        else:
            try:
                export = specs[name].factory(settings).pull(query)
            except SourceError as exc:
                if strict:
                    raise
                failures.append(SourceFailure(name, exc.message))
                continue
        exports.append(export)
        results.append(_parse(name, export, query))
    return Collected(query, ensure_utc(now), tuple(exports), tuple(results), tuple(failures), title)


def save_pull(collected: Collected, directory: Path) -> Path:
    """Write a pull as ``DIR/pull.json`` plus one folder per source (see :func:`save_export`)."""
    directory.mkdir(parents=True, exist_ok=True)
    for export in collected.exports:
        save_export(export, directory)
    manifest = {
        "query": collected.query.to_dict(),
        "pulled_at": format_utc(collected.pulled_at),
        "title": collected.title,
        "sources": [e.source for e in collected.exports],
        "failures": [{"source": f.source, "message": f.message} for f in collected.failures],
    }
    (directory / PULL_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return directory


def load_pull(directory: Path, *, inputs: Mapping[str, Path] | None = None) -> Collected:
    """Re-parse a saved pull with no network; ``inputs`` may add or replace sources."""
    manifest_path = directory / PULL_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        query = Query.from_dict(manifest["query"])
        pulled_at = ensure_utc(datetime.fromisoformat(manifest["pulled_at"].replace("Z", "+00:00")))
        sources = list(manifest["sources"])
    except FileNotFoundError as exc:
        raise InputError(
            f"{directory} is not a saved pull (no {PULL_MANIFEST})", hint="create one with `incidentkit pull --save DIR`"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read saved pull {manifest_path}: {exc}", hint="pull again with --save") from exc
    exports = {name: load_export(name, directory / name) for name in sources}
    for name, path in (inputs or {}).items():
        exports[name] = load_export(name, path)
    results = tuple(_parse(name, export, query) for name, export in exports.items())
    failures = tuple(
        SourceFailure(f["source"], f["message"]) for f in manifest.get("failures", []) if f["source"] not in exports
    )
    return Collected(query, pulled_at, tuple(exports.values()), results, failures, manifest.get("title"))


def _proposed_actionables(events: Iterable[Event]) -> tuple[ProposedActionable, ...]:
    """Follow-up tasks (from the Phabricator source) proposed under Actionables, oldest first."""
    proposed: dict[str, ProposedActionable] = {}
    for event in events:
        data = event.data
        if event.kind is EventKind.TASK_CREATED and data.get("followup") and not data.get("incident_task"):
            task = str(data.get("task") or "")
            proposed.setdefault(
                task,
                ProposedActionable(
                    title=str(data.get("title") or event.text),
                    task=task or None,
                    status=data.get("status_name") or data.get("status"),
                    owner=data.get("owner"),
                    url=event.url,
                ),
            )
    return tuple(proposed.values())


def build_incident(
    collected: Collected,
    *,
    title: str,
    settings: Settings,
    generated_at: datetime,
    events: list[Event] | None = None,
    curation_state: Any = None,
    scorecard: Any = None,
    actionables: tuple[ProposedActionable, ...] | None = None,
    lightweight: bool = False,
    raw: bool = False,
) -> Incident:
    """Assemble the Incident a draft renders (pure).

    *curation_state* is the owner's stored curation (:mod:`incidentkit.curation`); without it, or
    with *raw*, the timeline shows every row.
    """
    from .curation import CurationState, curate

    window: Window = collected.query.window
    merged = collected.events if events is None else events
    rows = build_rows(merged)
    result = curate(rows, curation_state or CurationState(), settings.timeline)
    curated_rows = tuple(result.rows)
    shown = tuple(r.with_changes(hidden=False) for r in curated_rows) if raw else curated_rows
    return Incident(
        slug=slugify(title, window.start),
        title=title,
        window=window,
        generated_at=ensure_utc(generated_at),
        tasks=collected.query.tasks,
        rows=shown,
        raw_rows=tuple(rows),
        detection=alerts.detect(merged, window),
        # follow-up tasks are usually filed after the window: propose from every pulled event
        actionables=actionables
        if actionables is not None
        else _proposed_actionables(e for r in collected.results for e in r.events),
        key_moments=result.moments,
        reports=collected.reports(),
        failures=collected.failures,
        scorecard=scorecard,
        lightweight=lightweight or settings.draft.lightweight,
        phabricator_url=settings.phabricator.url or "https://phabricator.wikimedia.org/",
    )


def record_draft(store: Any, incident: Incident, collected: Collected, settings: Settings) -> list[str]:
    """Record a draft in the store: the incident, its events, its proposed actionables.

    Returns messages about curation overrides whose rows vanished (to show on stderr).
    """
    from . import actionables
    from .curation import curate
    from .store import IncidentRecord

    metadata = {
        "query": collected.query.to_dict(),
        "pulled_at": format_utc(collected.pulled_at),
        "failures": [{"source": f.source, "message": f.message} for f in collected.failures],
        "reports": [
            {"source": r.source, "events": r.events, "lines_read": r.lines_read, "skipped_where": list(r.skipped_where), "notes": list(r.notes)}
            for r in incident.reports
        ],
        "first_alert": incident.detection.first_alert,
        "first_alert_paged": incident.detection.first_alert_paged,
    }
    existing = store.get_incident(incident.slug)
    if existing is not None:
        metadata = {**existing.metadata, **metadata}
    store.save_incident(
        IncidentRecord(
            slug=incident.slug,
            title=incident.title,
            start=format_utc(incident.window.start),
            end=format_utc(incident.window.end),
            task=incident.tasks[0] if incident.tasks else None,
            status=existing.status if existing else "draft",
            metadata=metadata,
        )
    )
    events = collected.events
    store.save_events(incident.slug, events)
    actionables.record_proposed(store, incident.slug, incident.actionables, settings, now=incident.generated_at)
    state = store.curation_state(incident.slug)
    result = curate(build_rows(events), state, settings.timeline)
    store.mark_rows_seen(incident.slug, [row.key for row in incident.raw_rows])
    return [f"override on row {o.row_key} ({o.action}) no longer matches any row" for o in result.orphans]


def redraft(store: Any, slug: str, settings: Settings, now: datetime, *, lightweight: bool = False) -> str:
    """Re-render a recorded incident from the store (its saved events and curation), no network."""
    from .render import render_incident
    from .scorecard import scorecard_for_incident

    record = store.require_incident(slug)
    meta = record.metadata
    try:
        query = Query.from_dict(meta["query"])
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"incident {slug} was imported, not drafted: there is nothing to re-render",
            hint="draft it first (`incidentkit draft --from ... --to ... --title ...`) or publish a FILE",
        ) from exc
    failures = tuple(SourceFailure(f["source"], f["message"]) for f in meta.get("failures", []))
    results = tuple(
        SourceResult(
            r["source"],
            (),
            tuple(Problem(where, "") for where in r.get("skipped_where", ())),
            r.get("lines_read", 0),
            tuple(r.get("notes", ())),
        )
        for r in meta.get("reports", [])
    )
    collected = Collected(query, now, (), results, failures, record.title)
    incident = build_incident(
        collected,
        title=record.title,
        settings=settings,
        generated_at=now,
        events=store.load_events(slug),
        curation_state=store.curation_state(slug),
        scorecard=scorecard_for_incident(store, slug, settings),
        lightweight=lightweight,
    )
    return render_incident(incident)
