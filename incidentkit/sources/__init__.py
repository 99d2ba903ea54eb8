"""The source registry: every source incidentkit reads (SAL, Phabricator, alerts...), by name.

A source is split in two, so that every draft can be replayed offline (see
:mod:`incidentkit.model.source`): ``pull(query) -> Export`` does the I/O through
:mod:`incidentkit.clients` and returns what the live system answered; ``parse(export, query) ->
SourceResult`` is pure. Malformed lines are counted and reported, never silently dropped.

Built-in sources register themselves in :data:`REGISTRY` by name when their module is imported;
the name is the same string in config sections, ``--input``, ``Event.source`` and
``tests/fixtures/<name>/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ..clients.budget import budget
from ..config import Settings
from ..model.source import Export, Query, SourceResult
from ..model.window import Window

__all__ = [
    "Source",
    "SourceSpec",
    "REGISTRY",
    "BUILTIN_SOURCES",
    "register",
    "all_specs",
    "configured_sources",
    "pull_source",
    "check_source",
]


class Source(Protocol):
    """A live system incidentkit reads from. ``pull`` raises SourceError when it cannot.

    A source may also offer ``check() -> str``: a cheap call that proves it answers, returning a
    short description (``sources check`` falls back to pulling the last minute).
    """

    name: str

    def pull(self, query: Query) -> Export: ...


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """How to build and parse one source, and whether the config points it somewhere."""

    name: str
    help: str
    factory: Callable[[Settings], Source]
    parse: Callable[[Export, Query], SourceResult]
    configured: Callable[[Settings], bool]


REGISTRY: dict[str, SourceSpec] = {}


def register(spec: SourceSpec) -> SourceSpec:
    """Add a source to the registry (built-ins call this when their module is imported)."""
    REGISTRY[spec.name] = spec
    return spec


BUILTIN_SOURCES = ("sal", "phabricator", "prometheus", "alertmanager", "icinga", "irc", "oncall")


def all_specs() -> dict[str, SourceSpec]:
    """Every known source, built-ins loaded, in the built-in order."""
    for name in BUILTIN_SOURCES:
        importlib.import_module(f"{__name__}.{name}")
    return {name: REGISTRY[name] for name in BUILTIN_SOURCES if name in REGISTRY} | REGISTRY


def configured_sources(settings: Settings) -> list[str]:
    """The names of the sources the config points somewhere, in the built-in order."""
    return [name for name, spec in all_specs().items() if spec.configured(settings)]


def pull_source(name: str, settings: Settings, query: Query) -> Export:
    """Pull source *name* for *query* within the ``[draft]`` budget: every request it sends, its
    retries and paging together end by ``source_timeout``, and no answer may exceed
    ``max_response_mb``. Raises SourceError."""
    with budget(settings.draft.source_timeout, settings.draft.max_response_bytes):
        return all_specs()[name].factory(settings).pull(query)


def check_source(name: str, settings: Settings, *, now: datetime) -> str:
    """Prove that source *name* answers (within the ``[draft]`` budget); returns a short description,
    raises SourceError."""
    with budget(settings.draft.source_timeout, settings.draft.max_response_bytes):
        source = all_specs()[name].factory(settings)
        checker = getattr(source, "check", None)
        if checker is not None:
            return str(checker())
        export = source.pull(Query(Window(now - timedelta(minutes=1), now)))
    return f"answered ({len(export.files)} file(s) for the last minute)"
