"""The services on their own, without the CLI: pulls saved and replayed, drafts assembled, publish
planned against an in-memory wiki."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidentkit.config import Settings
from incidentkit.errors import ConflictError, InputError
from incidentkit.model.source import Query
from incidentkit.model.window import Window
from incidentkit.services.draft import StoredState, compose, draft_incident
from incidentkit.services.publish import publish_page
from incidentkit.services.pulls import collect, load_pull, parse_inputs, save_pull
from incidentkit.wikitext.regions import regions
from incidentkit.wikitext.render import render_incident
from tests.fakes import MemoryWiki

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
WINDOW = Window(datetime(2023, 2, 14, 18, 0, tzinfo=UTC), datetime(2023, 2, 14, 19, 45, tzinfo=UTC))
PULLED = datetime(2023, 2, 16, 9, 0, tzinfo=UTC)


def test_parse_inputs() -> None:
    assert parse_inputs(["sal=page.wiki", " IRC = logs/ "]) == {"sal": Path("page.wiki"), "irc": Path("logs")}
    with pytest.raises(InputError, match="is not NAME=PATH"):
        parse_inputs(["sal"])
    with pytest.raises(InputError, match="unknown source 'nagios'"):
        parse_inputs(["nagios=x.log"])


def test_collect_needs_a_source() -> None:
    with pytest.raises(InputError, match="no source to read"):
        collect(Query(WINDOW), Settings(), now=PULLED)


def test_a_saved_pull_replays_to_the_same_events_and_draft(tmp_path: Path) -> None:
    original = load_pull(EXAMPLE)
    saved = save_pull(original, tmp_path / "again")
    replayed = load_pull(saved)
    assert replayed.query == original.query and replayed.pulled_at == original.pulled_at == PULLED
    assert replayed.events == original.events and replayed.events
    assert [s.source for s in replayed.summaries()] == ["sal", "phabricator", "prometheus", "alertmanager", "irc", "oncall"]
    settings = Settings()
    first = render_incident(draft_incident(original, title="Backport crash", settings=settings))
    assert render_incident(draft_incident(replayed, title="Backport crash", settings=settings)) == first


def test_collect_reads_inputs_and_keeps_the_pull_clock(tmp_path: Path) -> None:
    sal = EXAMPLE / "sal"
    collected = collect(Query(WINDOW), Settings(), inputs={"sal": sal}, now=PULLED)
    assert collected.pulled_at == PULLED and collected.failures == ()
    assert {e.source for e in collected.events} == {"sal"}
    assert all(e.within(WINDOW) for e in collected.events)
    assert collected.summaries()[0].skipped == 1  # the example's one hand-written line


def test_follow_ups_come_from_the_sources_that_propose_them() -> None:
    collected = load_pull(EXAMPLE)
    assert [f.task for f in collected.followups] == ["T329530", "T329531"]
    incident = draft_incident(collected, title="Backport crash", settings=Settings())
    assert [(a.task, a.title) for a in incident.actionables] == [(f.task, f.title) for f in collected.followups]
    assert incident.slug == "2023-02-14_backport-crash" and incident.generated_at == PULLED


def test_compose_is_pure_and_raw_shows_hidden_rows() -> None:
    collected = load_pull(EXAMPLE)
    kwargs = dict(title="Backport crash", query=collected.query, events=collected.events, settings=Settings(),
                  generated_at=PULLED, stored=StoredState())
    assert compose(**kwargs) == compose(**kwargs)  # type: ignore[arg-type]
    hidden_by_rule = Settings(timeline=Settings().timeline.__class__(hide_kinds=["dbctl"]))
    curated, _ = compose(**{**kwargs, "settings": hidden_by_rule})  # type: ignore[arg-type]
    raw, _ = compose(**{**kwargs, "settings": hidden_by_rule, "raw": True})  # type: ignore[arg-type]
    assert len(curated.visible_rows) < len(raw.visible_rows) == len(raw.rows)


def test_publish_creates_then_splices_and_refuses_a_stale_base() -> None:
    wiki = MemoryWiki()
    draft = render_incident(draft_incident(load_pull(EXAMPLE), title="Backport crash", settings=Settings()))
    title = "Incidents/2023-02-14 Backport crash"
    created = publish_page(wiki, None, title=title, draft=draft)
    assert created.plan.creates and created.saved is not None and wiki.read(title).text == draft  # type: ignore[union-attr]
    # a colleague writes outside the generated regions; republishing keeps it
    edited = wiki.read(title).text.replace("== Conclusions ==", "== Conclusions ==\nWe learned a lot.")  # type: ignore[union-attr]
    wiki.put(title, edited)
    again = publish_page(wiki, None, title=title, draft=draft)
    assert again.saved is None and not again.plan.changes  # nothing of ours changed
    page = wiki.read(title)
    assert page is not None and "We learned a lot." in page.text
    assert regions(page.text).keys() == regions(draft).keys()
    stale = wiki.pages[title][0]
    with pytest.raises(ConflictError):
        wiki.save(title, draft + "x", summary="s", base=stale)
