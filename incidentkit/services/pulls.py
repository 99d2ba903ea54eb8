"""Pulling every source for a window, and saved pulls: ``pull --save DIR`` and ``--replay DIR``.

Live sources are pulled at once, each in its own thread within the ``[draft]`` budget
(:func:`~incidentkit.sources.pull_source`), so one slow source does not add to the others and the
whole pull ends about ``source_timeout`` after it starts: a source still running then is given
up. A source that fails becomes a :class:`~incidentkit.model.source.SourceFailure` (a note on the
page) unless the caller is strict. What sources answer is checked at this boundary: lone
surrogates (invalid Unicode a JSON answer can carry) are replaced with U+FFFD and counted as
problems, so they can reach neither the page, the store, a saved pull nor the terminal.

A pull can be saved to a folder and replayed later with no network; a replay gives the same draft
byte for byte because the pull's own clock reading and failures are saved with it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ..clients.budget import DEADLINE_HINT
from ..config import Settings, shown_path, user_path
from ..errors import InputError, SourceError
from ..model.actionable import FollowUp
from ..model.event import Event
from ..model.source import (
    REPLACED_CHARACTERS,
    Export,
    Problem,
    Query,
    SourceFailure,
    SourceResult,
    SourceSummary,
)
from ..model.time import ensure_utc, format_utc, parse_utc
from ..sources import all_specs, pull_source
from ..sources.exports import load_export, save_export
from ..timeline.merge import merge_events
from ..util import plural, replace_surrogate_escapes, replace_surrogates

__all__ = ["PULL_MANIFEST", "Collected", "parse_inputs", "collect", "save_pull", "load_pull"]


PULL_MANIFEST = "pull.json"
GRACE_SECONDS = 1.0  # past source_timeout, for a source to report its own deadline before it is given up


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
        inputs[name] = user_path(path.strip(), what=f"--input {name}=")
    return inputs


def _parse(name: str, export: Export, query: Query) -> SourceResult:
    parse = all_specs()[name].parse
    try:
        result = parse(export, query)
    except UnicodeEncodeError:
        # JSON in a file that did not look like JSON (a log with a prefix on every line) carried
        # an escaped lone surrogate into a value the parser had to encode: rewrite every file.
        export = _clean_export(export, every_file=True)
        result = parse(export, query)
    return _without_surrogates(result, export)


def _without_surrogates(result: SourceResult, export: Export) -> SourceResult:
    """*result* with lone surrogates replaced, each affected event (and any a client replaced in
    the raw answers, recorded in the export's meta) counted as a problem."""
    found: list[Problem] = []
    replaced = export.meta.get(REPLACED_CHARACTERS)
    if isinstance(replaced, int) and replaced > 0:
        found.append(
            Problem(f"{export.source} answers", f"{plural(replaced, 'lone surrogate')} (invalid Unicode) replaced with U+FFFD")
        )
    events: list[Event] = []
    for event in result.events:
        fixed, count = replace_surrogates(event)
        if count:
            found.append(
                Problem(fixed.raw or fixed.key, "lone surrogate (invalid Unicode) replaced with U+FFFD", fixed.text[:120])
            )
        events.append(fixed)
    rest, count = replace_surrogates((result.problems, result.notes, result.followups))
    if not found and not count:
        return result
    problems, notes, followups = rest
    return replace(result, events=tuple(events), problems=(*problems, *found), notes=notes, followups=followups)


def _looks_like_json(name: str, text: str) -> bool:
    return name.endswith((".json", ".jsonl", ".ndjson")) or text.lstrip()[:1] in ("{", "[")


def _clean_export(export: Export, *, every_file: bool = False) -> Export:
    """*export* with lone surrogates in its file names and texts replaced, and in JSON files (or
    *every_file*) their escapes too; how many is added to its meta, for :func:`_without_surrogates`."""
    files, count = replace_surrogates(export.files)
    escaped: list[tuple[str, str]] = []
    for name, text in files:
        if every_file or _looks_like_json(name, text):
            text, found = replace_surrogate_escapes(text)
            count += found
        escaped.append((name, text))
    if not count:
        return export
    files = tuple(escaped)
    meta = dict(export.meta)
    meta[REPLACED_CHARACTERS] = int(meta.get(REPLACED_CHARACTERS) or 0) + count
    return replace(export, files=files, meta=meta)


def _pull_all(names: list[str], query: Query, settings: Settings) -> dict[str, Export | SourceError]:
    """Pull the live sources *names* at once; each gives its export or the SourceError it raised.

    A source still running ``GRACE_SECONDS`` after its ``source_timeout`` is given up (its thread
    is a daemon, left to end on its own). Any other exception is a bug and is raised here.
    """
    seconds = settings.draft.source_timeout
    outcomes: dict[str, Export | BaseException] = {}

    def run(name: str) -> None:
        try:
            outcomes[name] = _clean_export(pull_source(name, settings, query))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, which raises bugs
            outcomes[name] = exc

    threads = [threading.Thread(target=run, args=(name,), name=f"incidentkit-pull-{name}", daemon=True) for name in names]
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + seconds + GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, give_up - time.monotonic()))
    found: dict[str, Export | SourceError] = {}
    for name in names:
        outcome = outcomes.get(name)
        if outcome is None:
            found[name] = SourceError(
                f"no answer within {seconds:g} s (the [draft] source_timeout)",
                hint=DEADLINE_HINT,
            )
        elif isinstance(outcome, (Export, SourceError)):
            found[name] = outcome
        else:
            raise outcome
    return found


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
    given = {name: _clean_export(load_export(name, inputs[name])) for name in names if name in inputs}
    pulled = _pull_all([name for name in names if name not in inputs], query, settings)
    exports: list[Export] = []
    results: list[SourceResult] = []
    failures: list[SourceFailure] = []
    for name in names:
        outcome = given.get(name) or pulled[name]
        if isinstance(outcome, SourceError):
            if strict:
                raise outcome
            failures.append(SourceFailure(name, outcome.message))
            continue
        exports.append(outcome)
        results.append(_parse(name, outcome, query))
    return Collected(query, ensure_utc(now), tuple(exports), tuple(results), tuple(failures), title, tuple(notices))


def save_pull(collected: Collected, directory: Path) -> Path:
    """Write a pull as ``DIR/pull.json`` plus one folder per source (see :func:`save_export`).

    Raises InputError when the folder cannot be written.
    """
    manifest = {
        "query": collected.query.to_dict(),
        "pulled_at": format_utc(collected.pulled_at),
        "title": collected.title,
        "sources": [e.source for e in collected.exports],
        "failures": [{"source": f.source, "message": f.message} for f in collected.failures],
    }
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for export in collected.exports:
            save_export(export, directory)
        (directory / PULL_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(
            f"cannot save the pull to {shown_path(directory)}: {reason}", hint="give --save a folder you can write"
        ) from exc
    return directory


def load_pull(directory: Path, *, inputs: Mapping[str, Path] | None = None) -> Collected:
    """Re-parse a saved pull with no network; ``inputs`` may add or replace sources.

    Raises InputError when *directory* is not a readable saved pull.
    """
    manifest_path = directory / PULL_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        query = Query.from_dict(manifest["query"])
        pulled_at = parse_utc(manifest["pulled_at"])
        sources = [str(name) for name in manifest["sources"]]
        title = manifest.get("title")
        failed = [(str(f["source"]), str(f["message"])) for f in manifest.get("failures", [])]
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise InputError(
            f"{shown_path(directory)} is not a saved pull (no {PULL_MANIFEST})",
            hint="create one with `incidentkit pull --save DIR`",
        ) from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
        raise InputError(f"cannot read saved pull {shown_path(manifest_path)}: {reason}", hint="pull again with --save") from exc
    unknown = [name for name in sources if name not in all_specs()]
    if unknown:
        raise InputError(f"saved pull {shown_path(directory)} holds unknown source {unknown[0]!r}", hint="pull again with --save")
    exports = {name: _clean_export(load_export(name, directory / name)) for name in sources}
    for name, path in (inputs or {}).items():
        exports[name] = _clean_export(load_export(name, path))
    results = tuple(_parse(name, export, query) for name, export in exports.items())
    failures = tuple(SourceFailure(source, message) for source, message in failed if source not in exports)
    return Collected(query, pulled_at, tuple(exports.values()), results, failures, title if isinstance(title, str) else None)
