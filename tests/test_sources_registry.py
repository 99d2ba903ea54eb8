"""The source registry: the built-ins by name and in order, and pulls and checks within the [draft] budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from incidentkit import sources
from incidentkit.clients.budget import Budget, current_budget
from incidentkit.config import DraftSettings, Settings
from incidentkit.model.source import Export, Query, SourceResult
from incidentkit.model.window import Window
from incidentkit.sources import (
    BUILTIN_SOURCES,
    SourceSpec,
    all_specs,
    check_source,
    configured_sources,
    open_source_lines,
    pull_source,
    register,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass
class Recording:
    """A source that records the query and the budget each pull and check ran with."""

    name: str = "recording"
    queries: list[Query] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    settings: list[Settings] = field(default_factory=list)  # what it was built with

    def built(self, settings: Settings) -> Recording:
        self.settings.append(settings)
        return self

    def pull(self, query: Query) -> Export:
        self.queries.append(query)
        self.budgets.append(current_budget())
        return Export(self.name, files=(("a.json", "[]"), ("b.json", "[]")))


@dataclass
class Checking(Recording):
    def check(self) -> object:
        self.budgets.append(current_budget())
        return 42  # a description that is not a string yet


def _spec(name: str, source: Recording, *, configured: bool = True) -> SourceSpec:
    return SourceSpec(
        name=name,
        help=f"{name} for tests",
        factory=source.built,
        parse=lambda export, query: SourceResult(name, ()),
        configured=lambda settings: configured,
    )


def test_the_built_ins_come_first_in_their_order_then_the_others_as_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BUILTIN_SOURCES == ("sal", "phabricator", "prometheus", "alertmanager", "icinga", "irc", "oncall")
    assert list(all_specs()) == list(BUILTIN_SOURCES)
    assert all(all_specs()[name].name == name for name in BUILTIN_SOURCES)
    # registered in any order (this one before the built-ins), listed built-ins first in their order
    builtins = dict(sources.REGISTRY)
    monkeypatch.setattr(sources, "REGISTRY", {})
    extra = _spec("extra", Recording())
    assert register(extra) is extra and sources.REGISTRY == {"extra": extra}
    for name in reversed(BUILTIN_SOURCES):
        register(builtins[name])
    assert list(all_specs()) == [*BUILTIN_SOURCES, "extra"]
    assert all_specs()["extra"] is extra and all_specs()["sal"] is builtins["sal"]


def test_configured_sources_are_those_the_config_points_somewhere_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured_sources(Settings()) == []
    monkeypatch.setitem(sources.REGISTRY, "on", _spec("on", Recording()))
    monkeypatch.setitem(sources.REGISTRY, "off", _spec("off", Recording(), configured=False))
    assert configured_sources(Settings()) == ["on"]


def test_a_pull_runs_within_the_draft_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    source = Recording()
    monkeypatch.setitem(sources.REGISTRY, "recording", _spec("recording", source))
    settings = Settings(draft=DraftSettings(source_timeout=7.5, max_response_mb=2.0))
    query = Query(Window(NOW - timedelta(hours=1), NOW))
    export = pull_source("recording", settings, query)
    assert export.source == "recording" and source.queries == [query] and source.settings == [settings]
    (seen,) = source.budgets
    assert (seen.seconds, seen.max_bytes) == (7.5, 2 * 1024 * 1024)
    assert seen.remaining() is not None and 0 < seen.remaining() <= 7.5  # type: ignore[operator]
    assert current_budget().deadline is None  # only for the pull


def test_a_check_asks_the_source_when_it_can_check_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    source = Checking()
    monkeypatch.setitem(sources.REGISTRY, "checking", _spec("checking", source))
    settings = Settings(draft=DraftSettings(source_timeout=3.0, max_response_mb=1.0))
    assert check_source("checking", settings, now=NOW) == "42" and source.settings == [settings]
    assert source.queries == []  # nothing pulled
    (seen,) = source.budgets
    assert (seen.seconds, seen.max_bytes) == (3.0, 1024 * 1024)


def test_a_check_pulls_the_last_minute_of_a_source_that_cannot_check(monkeypatch: pytest.MonkeyPatch) -> None:
    source = Recording()
    monkeypatch.setitem(sources.REGISTRY, "recording", _spec("recording", source))
    settings = Settings(draft=DraftSettings(source_timeout=4.0, max_response_mb=3.0))
    assert check_source("recording", settings, now=NOW) == "answered (2 file(s) for the last minute)"
    assert source.settings == [settings]
    assert [q.window for q in source.queries] == [Window(NOW - timedelta(minutes=1), NOW)]
    (seen,) = source.budgets
    assert (seen.seconds, seen.max_bytes) == (4.0, 3 * 1024 * 1024)


def test_log_file_sources_are_opened_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Query] = []

    @dataclass
    class Lines(Recording):
        def open_lines(self, query: Query) -> str:
            opened.append(query)
            return "the lines"

    source = Lines()
    monkeypatch.setitem(sources.REGISTRY, "lines", _spec("lines", source))
    query, settings = Query(Window(NOW - timedelta(hours=2), NOW)), Settings()
    assert open_source_lines("lines", settings, query) == "the lines" and opened == [query]
    assert source.settings == [settings]
