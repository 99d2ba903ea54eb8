"""The source boundary: what every source (SAL, Phabricator, alerts...) provides, and the registry.

A source is split in two, so that every draft can be replayed offline:

* ``pull(query) -> Export`` does the I/O and returns what the live system answered, as named text
  files (raw wikitext, JSON...). ``pull --save`` writes exports; ``--input NAME=PATH`` and
  ``--replay`` read them back.
* ``parse(export, query) -> SourceResult`` is pure: events plus the problems met (malformed lines
  are counted and reported, never silently dropped).

Built-in sources register themselves in :data:`REGISTRY` by name; the name is the same string in
config sections, ``--input``, ``Event.source`` and ``tests/fixtures/<name>/``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ..config import Settings
from ..errors import InputError
from ..events import Event
from ..window import Window

__all__ = [
    "Query",
    "Export",
    "Problem",
    "SourceResult",
    "Source",
    "SourceSpec",
    "REGISTRY",
    "register",
    "load_export",
    "save_export",
    "all_specs",
    "check_source",
]


@dataclass(frozen=True, slots=True)
class Query:
    """What a draft asks every source for: a window, and the incident's own task ids."""

    window: Window
    tasks: tuple[str, ...] = ()  # "T123" monograms given with --task

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window.to_dict(), "tasks": list(self.tasks)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Query:
        return cls(Window.from_dict(data["window"]), tuple(data.get("tasks", ())))


@dataclass(frozen=True, slots=True)
class Export:
    """What one source returned, as named text files; the unit of ``pull --save`` and ``--input``."""

    source: str
    files: tuple[tuple[str, str], ...]  # (file name, text), in a stable order
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. which page/archive each file is

    def text(self, name: str) -> str | None:
        return next((body for file, body in self.files if file == name), None)


@dataclass(frozen=True, slots=True)
class Problem:
    """A line or record a source could not use, with where it was and why."""

    where: str  # "Server Admin Log:132" or "page 3 of maniphest.search"
    reason: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The parsed result of one source: its events and what it had to skip."""

    source: str
    events: tuple[Event, ...]
    problems: tuple[Problem, ...] = ()
    lines_read: int = 0
    notes: tuple[str, ...] = ()  # things the page should say (e.g. "Alertmanager keeps no history")


class Source(Protocol):
    """A live system incidentkit reads from. ``pull`` raises SourceError when it cannot.

    A source may also offer ``check() -> str``: a cheap call that proves it answers, returning a
    short description (``sources check`` falls back to pulling the last minute).
    """

    name: str

    def pull(self, query: Query) -> Export: ...


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """How to build and parse one source."""

    name: str
    help: str
    factory: Callable[[Settings], Source]
    parse: Callable[[Export, Query], SourceResult]


REGISTRY: dict[str, SourceSpec] = {}


def register(spec: SourceSpec) -> SourceSpec:
    """Add a source to the registry (built-ins call this when their module is imported)."""
    REGISTRY[spec.name] = spec
    return spec


BUILTIN_SOURCES = ("sal", "phabricator", "prometheus", "alertmanager", "icinga", "irc")


def all_specs() -> dict[str, SourceSpec]:
    """Every known source, built-ins loaded, in the built-in order."""
    for name in BUILTIN_SOURCES:
        importlib.import_module(f"{__name__}.{name}")
    return {name: REGISTRY[name] for name in BUILTIN_SOURCES if name in REGISTRY} | REGISTRY


def check_source(name: str, settings: Settings, *, now: datetime) -> str:
    """Prove that source *name* answers; returns a short description, raises SourceError."""
    source = all_specs()[name].factory(settings)
    checker = getattr(source, "check", None)
    if checker is not None:
        return str(checker())
    export = source.pull(Query(Window(now - timedelta(minutes=1), now)))
    return f"answered ({len(export.files)} file(s) for the last minute)"


META_FILE = "_export.json"


def save_export(export: Export, directory: Path) -> Path:
    """Write an export as ``DIR/<source>/<file>`` plus a small JSON manifest."""
    target = directory / export.source
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for index, (name, body) in enumerate(export.files):
        safe = f"{index:03d}-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        (target / safe).write_text(body, encoding="utf-8")
        names.append({"file": safe, "name": name})
    manifest = {"source": export.source, "files": names, "meta": export.meta}
    (target / META_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def load_export(source: str, path: Path) -> Export:
    """Read an export back: a saved folder (with manifest), a plain folder, or a single file.

    Raises InputError when the path is missing or unreadable.
    """
    try:
        if path.is_dir():
            manifest_file = path / META_FILE
            if manifest_file.exists():
                manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
                files = tuple(
                    (entry["name"], (path / entry["file"]).read_text(encoding="utf-8"))
                    for entry in manifest["files"]
                )
                return Export(source, files, manifest.get("meta", {}))
            files = tuple(
                (child.name, child.read_text(encoding="utf-8"))
                for child in sorted(path.iterdir())
                if child.is_file() and not child.name.startswith(".")
            )
            if not files:
                raise InputError(f"{source} input folder {path} holds no files", hint="point --input at saved files")
            return Export(source, files)
        return Export(source, ((path.name, path.read_text(encoding="utf-8")),))
    except FileNotFoundError as exc:
        raise InputError(f"{source} input {path} does not exist", hint="check the path given to --input") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{source} input {path} is not UTF-8 text", hint="give a text export") from exc
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise InputError(f"cannot read {source} input {path}: {exc}", hint="check the path given to --input") from exc
