"""The fault drills: every live source (SAL wiki, Phabricator, Prometheus, Alertmanager) against the
misbehaving server (``tests/servers/misbehaving.py``), through the real command line.

Each case must give a draft with a visible note, exit 0, within the deadline (``[draft]
source_timeout``, half a second here, so the suite stays fast) plus two seconds, and no traceback;
with ``--strict`` a source that could not be read makes the exit non-zero. Lone surrogates are not
a failure: the draft keeps the events with U+FFFD and says what was replaced. Headers trickled
byte by byte (which no read timeout catches) are drilled on one source: giving up on a source is
the same code for all of them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import Result

from incidentkit.config import load_settings
from incidentkit.errors import SourceError
from incidentkit.sources import check_source
from tests.helpers import home_store, json_lines, run
from tests.servers.misbehaving import (
    CASES,
    PAGING_CASES,
    SOURCES,
    WINDOW_END,
    WINDOW_START,
    Misbehaving,
    refused_url,
)

DEADLINE = 0.5  # for drills where the source under test is the only one, and fails
HEALTHY_DEADLINE = 5.0  # where healthy answers must arrive in time, even on a loaded machine
SLACK = 2.0  # the goal: the deadline plus two seconds (plus what a draft costs on this machine now)
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"
DRILLS = [
    (source, case) for source in SOURCES for case in CASES if case not in PAGING_CASES or source in PAGING_CASES[case]
] + [("sal", "trickle_headers")]
# What a healthy answer of each source puts on the page.
HEALTHY = {
    "sal": "started the backport of",
    "phabricator": "Fatals after the backport",
    "prometheus": "PHPFPMTooBusy firing",
    "alertmanager": "silencing during the backport",
}


def _draft(*extra: str, sources: tuple[str, ...] = SOURCES) -> Result:
    """A draft of the drill window; the incident task only when Phabricator is configured (a task
    without it is an error under --strict)."""
    task = ("--task", "T1") if "phabricator" in sources else ()
    return run(
        "draft", "--from", f"{WINDOW_START:%Y-%m-%d %H:%M}", "--to", f"{WINDOW_END:%Y-%m-%d %H:%M}",
        "--title", "Drill", *task, *extra,
    )  # fmt: skip


@pytest.fixture
def floor() -> float:
    """What an offline draft (the bundled example) costs on this machine right now: the floor that
    time bounds stand on, so that a loaded machine is not taken for a missed deadline."""
    started = time.monotonic()
    result = run("draft", "--replay", str(EXAMPLE), "--no-store")
    assert result.exit_code == 0, result.stderr
    return time.monotonic() - started


def _no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr


def _setup(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, source: str, case: str, sources: tuple[str, ...], timeout: float
) -> None:
    urls = {source: refused_url()} if case == "refuse" else {}
    misbehaving.config_env(monkeypatch, sources, timeout=timeout, urls=urls)
    if case != "refuse":
        misbehaving.behave(source, case)



def _missing(page: str, source: str) -> bool:
    """Whether *page* says that *source* is missing from its timeline."""
    line = next((line for line in page.splitlines() if line.startswith("''Missing from this timeline:")), "")
    return re.search(rf"\b{source}\b", line) is not None and "could not be read" in line

@pytest.mark.parametrize(("source", "case"), DRILLS, ids=[f"{s}-{c}" for s, c in DRILLS])
def test_a_misbehaving_source_gives_a_draft_with_a_note(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, floor: float, source: str, case: str
) -> None:
    deadline = HEALTHY_DEADLINE if case == "lone_surrogates" else DEADLINE
    _setup(misbehaving, monkeypatch, source, case, (source,), deadline)
    started = time.monotonic()
    result = _draft(sources=(source,))
    elapsed = time.monotonic() - started
    _no_traceback(result)
    assert result.exit_code == 0, result.stderr
    assert elapsed <= deadline + SLACK + floor, f"{source}/{case} took {elapsed:.1f} s (floor {floor:.1f} s)"
    page = result.stdout
    if case == "lone_surrogates":
        assert "\ufffd" in page and HEALTHY[source] in page
        assert "lone surrogate" in result.stderr and "replaced with U+FFFD" in result.stderr
    else:
        assert _missing(page, source)
        assert f"{source}: unavailable:" in result.stderr
    strict = _draft("--strict", "--no-store", sources=(source,))
    _no_traceback(strict)
    if case == "lone_surrogates":
        assert strict.exit_code == 0, strict.stderr
    else:
        assert strict.exit_code != 0 and strict.stderr.startswith("Error: ")


@pytest.mark.parametrize("source", SOURCES)
def test_lone_surrogates_reach_neither_the_store_nor_a_saved_pull_intact(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str
) -> None:
    _setup(misbehaving, monkeypatch, source, "lone_surrogates", (source,), HEALTHY_DEADLINE)
    saved = tmp_path / "pull"
    pulled = run(
        "pull", "--save", str(saved), "--from", f"{WINDOW_START:%Y-%m-%d %H:%M}", "--to", f"{WINDOW_END:%Y-%m-%d %H:%M}",
        "--task", "T1",
    )  # fmt: skip
    _no_traceback(pulled)
    assert pulled.exit_code == 0, pulled.stderr
    replayed = run("draft", "--replay", str(saved), "--title", "Drill")
    assert replayed.exit_code == 0, replayed.stderr
    assert "\ufffd" in replayed.stdout and "replaced with U+FFFD" in replayed.stderr
    listed = run("events", "--replay", str(saved), "--format", "json")
    assert listed.exit_code == 0 and "\ufffd" in json_lines(listed.stdout)[0]["text"] + listed.stdout
    with home_store() as store:
        [incident] = [i for i in store.list_incidents() if i.title == "Drill"]
        assert any("\ufffd" in event.text or "\ufffd" in (event.actor or "") for event in store.load_events(incident.slug))


def test_one_slow_source_does_not_add_to_the_others(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, floor: float
) -> None:
    misbehaving.config_env(monkeypatch, SOURCES, timeout=2.0)
    misbehaving.behave("sal", "hang")
    started = time.monotonic()
    result = _draft("--no-store")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert elapsed <= 2.0 + SLACK + floor
    assert _missing(result.stdout, "sal")
    for source in ("phabricator", "prometheus", "alertmanager"):
        assert HEALTHY[source] in result.stdout


def test_every_source_hanging_costs_one_deadline_not_four(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, floor: float
) -> None:
    misbehaving.config_env(monkeypatch, SOURCES, timeout=DEADLINE)
    for source in SOURCES:
        misbehaving.behave(source, "hang")
    started = time.monotonic()
    result = _draft("--no-store")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert elapsed <= DEADLINE + SLACK + floor, f"{elapsed:.1f} s for four hanging sources (floor {floor:.1f} s)"
    assert all(_missing(result.stdout, source) for source in SOURCES)


@pytest.mark.parametrize("source", SOURCES)
def test_a_short_retry_after_is_honoured(misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    misbehaving.config_env(monkeypatch, (source,), timeout=HEALTHY_DEADLINE)
    misbehaving.behave(source, "retry_soon")
    result = _draft("--no-store", sources=(source,))
    assert result.exit_code == 0, result.stderr
    assert HEALTHY[source] in result.stdout and "unavailable" not in result.stdout
    assert source in misbehaving.limited


@pytest.mark.parametrize("source", SOURCES)
def test_sources_check_keeps_the_deadline(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, floor: float, source: str
) -> None:
    misbehaving.config_env(monkeypatch, (source,), timeout=DEADLINE)
    misbehaving.behave(source, "trickle")
    started = time.monotonic()
    with pytest.raises(SourceError, match="did not finish within 0.5 s"):
        check_source(source, load_settings(), now=WINDOW_END)
    assert time.monotonic() - started <= DEADLINE + SLACK + floor


def test_a_note_never_counts_more_unreadable_lines_than_were_read(tmp_path: Path) -> None:
    saved = tmp_path / "prometheus"
    saved.mkdir()
    (saved / "ALERTS-001.json").write_text("<html>a proxy's login page</html>", encoding="utf-8")
    (saved / "ALERTS-002.json").write_text('{"status": "error", "error": "timeout"}', encoding="utf-8")
    result = _draft("--input", f"prometheus={saved}", "--no-store", sources=())
    assert result.exit_code == 0, result.stderr
    assert "prometheus: 0 events from 2 lines, 2 lines skipped" in result.stderr
    assert " of 0 lines" not in result.stdout + result.stderr


def test_a_long_retry_after_is_not_waited_for_even_outside_a_pull(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing, importing and syncing have no deadline; a Retry-After of an hour still fails at once."""
    from incidentkit.clients.conduit import ConduitClient
    from incidentkit.clients.http import get_json, make_session
    from incidentkit.clients.mediawiki import connect_wiki

    misbehaving.config_env(monkeypatch, SOURCES)
    for source in SOURCES:
        misbehaving.behave(source, "retry_after")
    settings = load_settings()
    started = time.monotonic()
    with pytest.raises(SourceError, match="asked to wait 3600 s"):
        connect_wiki(settings, "ops").read("Server Admin Log")
    with pytest.raises(SourceError, match="asked to wait 3600 s"):
        ConduitClient.from_settings(settings).call("maniphest.search", {})
    with pytest.raises(SourceError, match="asked to wait 3600 s"):
        get_json(make_session(), misbehaving.base("prometheus") + "/api/v1/query_range", source="prometheus", timeout=5, setting="[prometheus] url")
    assert time.monotonic() - started < 5
