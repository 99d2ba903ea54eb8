"""`incidentkit draft --task` against the Conduit fake: Phabricator rows merge with SAL rows, follow-up
tasks are proposed, the metadata Task is filled, and a dead Phabricator leaves a visible note."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from tests.servers.conduit_fake import ConduitFake
from tests.test_sources_phabricator import build_incident

SAL = """== 2026-11-20 ==
* 14:52 bob@deploy1002: Finished scap: revert checkout change for T4 (duration: 03m 10s)
* 14:05 alice: checkout API returning 5xx, opened T4
"""
ARGS = ["draft", "--from", "2026-11-20 14:00", "--to", "2026-11-20 15:00", "--title", "Checkout down", "--task", "T4"]


@pytest.fixture
def sal_file(tmp_path):  # noqa: ANN001, ANN201
    path = tmp_path / "sal.wiki"
    path.write_text(SAL, encoding="utf-8")
    return path


def point_at(monkeypatch: pytest.MonkeyPatch, url: str, token: str) -> None:
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_URL", url)
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN_ENV", "TEST_CONDUIT_TOKEN")
    monkeypatch.setenv("TEST_CONDUIT_TOKEN", token)
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_FOLLOWUP_PROJECTS", "sustainability-incident-followup")


def test_draft_merges_phabricator_rows_and_proposes_followups(conduit: ConduitFake, sal_file, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    build_incident(conduit)
    point_at(monkeypatch, conduit.url, conduit.token)
    monkeypatch.setenv("INCIDENTKIT_NOW", "2026-11-21T12:00:00Z")
    result = CliRunner().invoke(app, [*ARGS, "--input", f"sal={sal_file}"])
    assert result.exit_code == 0, result.output
    page = result.stdout
    timeline = page[page.index("begin timeline") : page.index("end timeline")]
    # the SAL line that mentions T4 three minutes after T4's creation is another fact: both stay
    assert "alice: checkout API returning 5xx, opened [[phab:T4|T4]]" in timeline
    assert "alice: opened [[phab:T4|T4]] – Checkout API down" in timeline
    assert "raised the priority of [[phab:T4|T4]] to Unbreak Now!" in timeline
    assert "closed [[phab:T4|T4]] as Resolved" in timeline
    assert "https://" not in timeline  # no "(task)" link after the rows: the task id is the link
    assert timeline.index("14:02") < timeline.index("14:05") < timeline.index("14:52")
    assert "| '''Task''' || <!-- incidentkit:begin meta-task hash=" in page
    assert "-->[[phab:T4|T4]]<!-- incidentkit:end meta-task -->" in page
    actionables = page[page.index("begin actionables") : page.index("end actionables")]
    assert "[[phab:T7|T7]] Write the incident report (Open)" in actionables
    assert "[[phab:T8|T8]] Alert on checkout 5xx (Open)" in actionables  # filed after the window
    assert "[[phab:T3|T3]]" not in actionables  # a follow-up of an earlier incident
    assert "phabricator: " in result.stderr and conduit.token not in result.output


def test_dead_or_misconfigured_phabricator_leaves_a_note(sal_file, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    point_at(monkeypatch, f"http://127.0.0.1:{port}/", "api-" + "x" * 28)
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_RETRIES", "0")
    args = [*ARGS, "--input", f"sal={sal_file}", "--no-store"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    missing = "''Missing from this timeline: phabricator could not be read when it was drafted.''"
    assert missing in result.stdout  # one short line under Timeline, the reason on stderr only
    assert "opened [[phab:T4|T4]]" in result.stdout  # the SAL rows are still there
    assert "phabricator: unavailable:" in result.stderr
    strict = CliRunner().invoke(app, [*args, "--strict"])
    assert strict.exit_code != 0 and strict.stderr.startswith("Error: ") and "Traceback" not in strict.output

    monkeypatch.delenv("TEST_CONDUIT_TOKEN")  # misconfigured: the token's env var is not set
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and missing in result.stdout
    assert "TEST_CONDUIT_TOKEN" in result.stderr and "TEST_CONDUIT_TOKEN" not in result.stdout
