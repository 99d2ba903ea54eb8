"""Pulling every source for a window, and saved pulls: ``pull --save DIR`` and ``--replay DIR``.

A pull can be saved to a folder and replayed later with no network; a replay gives the same draft
byte for byte because the pull's own clock reading and failures are saved with it. A source that
fails becomes a :class:`~incidentkit.model.source.SourceFailure` (a note on the page) unless the
caller is strict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import Settings
from ..errors import InputError, SourceError
from ..model.actionable import FollowUp
from ..model.event import Event
from ..model.source import Export, Query, SourceFailure, SourceResult, SourceSummary
from ..model.time import ensure_utc, format_utc, parse_utc
from ..sources import all_specs
from ..sources.exports import load_export, save_export
from ..timeline.merge import merge_events

__all__ = ["PULL_MANIFEST", "Collected", "parse_inputs", "collect", "save_pull", "load_pull"]


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
    notices: tuple[str, ...] = ()  # what the caller should tell the user (e.g. --task not pulled)

    @property
    def events(self) -> list[Event]:
        """Every source's events merged: deduplicated by key, in the window, stably sorted."""
        return merge_events((r.events for r in self.results), self.query.window)

    @property
    def followups(self) -> tuple[FollowUp, ...]:
        """The follow-ups every source proposed (follow-up tasks are usually filed after the window)."""
        return tuple(f for r in self.results for f in r.followups)

    def summaries(self) -> tuple[SourceSummary, ...]:
        return tuple(r.summary() for r in self.results)


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
        if (name in inputs or specs[name].configured(settings)) and (wanted is None or name in wanted)
    ]
    if not names:
        raise InputError(
            "no source to read: nothing is configured and no --input was given",
            hint="give --input sal=PATH (or --replay DIR), or configure [sal]/[phabricator]/... (see README)",
        )
    notices: list[str] = []
    if query.tasks and "phabricator" not in names:
        tasks = ", ".join(query.tasks)
        message = f"--task {tasks}: Phabricator is not configured, so the task's history and follow-ups are not pulled"
        if strict:
            raise SourceError(message, hint="configure [phabricator] url and token_env, or give --input phabricator=EXPORT")
        notices.append(message + " (the metadata Task field is filled)")
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
    return Collected(query, ensure_utc(now), tuple(exports), tuple(results), tuple(failures), title, tuple(notices))


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
        pulled_at = parse_utc(manifest["pulled_at"])
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
