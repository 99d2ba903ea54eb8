"""The fault drills: every live source (SAL wiki, Phabricator, Prometheus, Alertmanager, Splunk
On-Call) against the misbehaving server (``tests/servers/misbehaving.py``), through the real command line.

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

from incidentkit.clients.budget import budget
from incidentkit.clients.conduit import ConduitClient
from incidentkit.clients.http import get_json, make_session
from incidentkit.clients.mediawiki import connect_wiki
from incidentkit.config import load_settings
from incidentkit.errors import PublishError, SourceError
from incidentkit.model.source import Query
from incidentkit.model.window import Window
from incidentkit.sources import check_source
from incidentkit.sources.oncall import OncallSource
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
    "oncall": "PHPFPMTooBusy acknowledged by taavi",
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


# A 403 that says when to come back is a throttle (Splunk On-Call's way) for the plain-HTTP clients.
RETRIES = [(source, "retry_soon") for source in SOURCES] + [
    (source, "retry_soon_403") for source in ("prometheus", "alertmanager", "oncall")
]


@pytest.mark.parametrize(("source", "case"), RETRIES, ids=[f"{s}-{c}" for s, c in RETRIES])
def test_a_short_retry_after_is_honoured(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, source: str, case: str
) -> None:
    misbehaving.config_env(monkeypatch, (source,), timeout=HEALTHY_DEADLINE)
    misbehaving.behave(source, case)
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
    with pytest.raises(SourceError, match=r"rate limit was reached \(HTTP 429, retry after 3600 s\)"):
        OncallSource(settings.oncall).pull(Query(Window(WINDOW_START, WINDOW_END)))
    assert time.monotonic() - started < 5


def test_a_403_that_says_when_to_come_back_is_a_throttle_not_bad_credentials(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Splunk On-Call throttles with a 403 too: one carrying Retry-After is never "check your key"."""
    misbehaving.config_env(monkeypatch, ("oncall",), timeout=DEADLINE)
    misbehaving.behave("oncall", "retry_after_403")
    result = _draft("--no-store", sources=("oncall",))
    assert result.exit_code == 0, result.stderr
    assert "rate limit was reached (HTTP 403, retry after 3600 s)" in result.stderr
    assert "refused the API id or key" not in result.stderr


UPLOAD_CASES = [c for c in CASES if c not in ("refuse", "endless", "broken_continuation")]


@pytest.mark.parametrize("case", UPLOAD_CASES)
def test_an_odd_answer_to_a_chart_upload_is_a_publish_error(
    misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch, floor: float, case: str
) -> None:
    """``incidents stats publish`` uploads its chart after logging in; whatever the wiki answers to the
    upload itself, the client raises the PublishError that puts "the wiki refused the chart upload"
    on the page (never another exception), within the budget."""
    misbehaving.config_env(monkeypatch, ("sal",))
    misbehaving.behave("sal", case, action="upload")
    wiki = connect_wiki(load_settings(), "ops")
    started = time.monotonic()
    with budget(DEADLINE), pytest.raises(PublishError) as raised:
        wiki.upload("Drill chart.png", b"\x89PNG\r\n\x1a\n", comment="drill", text="drill")
    assert time.monotonic() - started <= DEADLINE + SLACK + floor
    message = raised.value.message
    assert "\n" not in message and "\ud800" not in message and len(message) < 300, message
    assert "not modelled by the drill server" not in message, f"{case} never reached the upload: {message}"


def test_the_drill_server_takes_a_normal_chart_upload(misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upload cases above fail because of the misbehaviour, not because the server cannot take an upload."""
    misbehaving.config_env(monkeypatch, ("sal",))
    assert connect_wiki(load_settings(), "ops").upload("Drill chart.png", b"\x89PNG\r\n\x1a\n", comment="drill", text="drill")
