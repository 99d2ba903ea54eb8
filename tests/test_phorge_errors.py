"""What incidentkit says when Phabricator refuses it, against the real Phorge: a bad or revoked token,
a URL where nothing answers, a URL with a path Phorge does not serve Conduit on, a private task; and
what ``sources check`` says each configured project resolved to."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest

from incidentkit.clients.conduit import WRONG_PATH, ConduitClient, ConduitError
from incidentkit.model.incident import IncidentRecord
from tests.helpers import home_store, json_lines, run
from tests.phorge_support import configure, iso, requests_served, tag, utc_now
from tests.servers.phorge import Phorge

pytestmark = pytest.mark.integration


def _draft(*extra: str) -> list[str]:
    now = utc_now()
    return ["draft", "--from", iso(now, timedelta(minutes=-5)), "--to", iso(now), "--no-store", *extra]


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


@pytest.mark.parametrize("kind", ["unknown", "revoked"])
def test_a_bad_token_is_a_note_on_the_draft_and_an_error_elsewhere(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, kind: str
) -> None:
    token = phorge.bad_token()
    if kind == "revoked":
        token = phorge.new_token("bob")
        phorge.revoke_token(token)
    configure(incidentkit_home, monkeypatch, phorge, token=token)
    result = run(*_draft("--title", "Bad token", "--task", "T1"))
    assert result.exit_code == 0, result.output
    assert "phabricator: unavailable: Phabricator maniphest.status.search failed: ERR-INVALID-AUTH" in result.stderr
    assert "Missing from this timeline: phabricator could not be read" in result.stdout
    assert token not in result.output and token[4:] not in result.output
    result = run(*_draft("--title", "Bad token", "--task", "T1", "--strict"))
    assert result.exit_code == 1 and result.stderr.startswith("Error: Phabricator maniphest.status.search failed")
    assert "TEST_PHORGE_TOKEN" in result.stderr  # the hint names the env var to fix
    result = run("sources", "check")
    (check,) = json_lines(result.stdout)
    assert result.exit_code == 1 and (check["name"], check["status"]) == ("phabricator", "FAIL")
    assert check["detail"].startswith("Phabricator user.whoami failed: ERR-INVALID-AUTH")
    assert token not in result.output and "Traceback" not in result.output


def test_nothing_answering_at_the_url(incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge) -> None:
    configure(incidentkit_home, monkeypatch, phorge, url=_dead_url())
    result = run(*_draft("--title", "Nobody home"))
    assert result.exit_code == 0 and "Missing from this timeline: phabricator could not be read" in result.stdout
    assert "phabricator: unavailable: " in result.stderr and "cannot connect to 127.0.0.1" in result.stderr


@pytest.mark.parametrize("path", ["phab/", "w/api.php", "api/api/"])
def test_a_wrong_path_gets_phorges_own_answer_once(phorge: Phorge, path: str) -> None:
    client = ConduitClient(phorge.url + path, phorge.tokens["admin"], retries=3, backoff=0)
    served = "/" + path.rstrip("/").removesuffix("/api") + "/api/maniphest.status.search"
    before = requests_served(phorge, served)
    with pytest.raises(ConduitError) as failure:
        client.call("maniphest.status.search")
    assert failure.value.code == WRONG_PATH
    assert failure.value.message == (
        f'Phabricator maniphest.status.search failed: ERROR: You are making a Conduit API request to "{served}", '
        'but the correct HTTP request path to use in order to access a Conduit method is "/api/<method>" '
        '(for example, "/api/conduit.ping"). Check your configuration.'
    )
    assert failure.value.hint == f"set [phabricator] url to the site root, e.g. {phorge.url}"
    assert client.calls == 1 and requests_served(phorge, served) == before + 1  # a configuration error: no retries


def test_a_wrong_path_in_the_config_is_one_line_in_sources_check(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge
) -> None:
    configure(incidentkit_home, monkeypatch, phorge, url=phorge.url + "phabricator/")
    result = run("sources", "check")
    assert result.exit_code == 1
    (check,) = json_lines(result.stdout)
    assert check["status"] == "FAIL" and "\n" not in check["detail"]  # one line
    assert check["detail"].startswith("Phabricator user.whoami failed: ERROR: You are making a Conduit API")
    assert check["detail"].endswith(f"(hint: set [phabricator] url to the site root, e.g. {phorge.url})")


def test_sources_check_says_what_each_project_resolved_to(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge
) -> None:
    error = phorge.projects["Wikimedia-production-error"]
    followup = phorge.projects["Sustainability (Incident Followup)"]
    onfire = phorge.projects["SRE-OnFIRE (Pending Review & Scorecard)"]
    configure(
        incidentkit_home, monkeypatch, phorge, user="bob",
        phabricator={"projects": [error["phid"]], "followup_projects": ["sustainability-incident-followup", "#SRE-OnFIRE_Pending_Review_Scorecard"]},
    )  # fmt: skip
    result = run("sources", "check")
    assert result.exit_code == 0, result.output
    (check,) = json_lines(result.stdout)
    lines = check["detail"].splitlines()
    assert check["status"] == "ok" and lines[0] == f"answered as bob at {phorge.url.rstrip('/')}"
    assert [line.strip() for line in lines[1:]] == [
        f"[phabricator] projects '{error['phid']}' → Wikimedia-production-error (#wikimedia-production-error, {error['phid']})",
        "[phabricator] followup_projects 'sustainability-incident-followup' → Sustainability (Incident Followup) "
        f"(#sustainability_incident_followup, {followup['phid']})",
        "[phabricator] followup_projects '#SRE-OnFIRE_Pending_Review_Scorecard' → SRE-OnFIRE (Pending Review & Scorecard) "
        f"(#sre-onfire_pending_review_scorecard, {onfire['phid']})",
        "[actionables] tags 'Sustainability (Incident Followup)' → Sustainability (Incident Followup) "
        f"(#sustainability_incident_followup, {followup['phid']})",
    ]


def test_sources_check_fails_on_a_project_that_does_not_exist(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge
) -> None:
    configure(incidentkit_home, monkeypatch, phorge, phabricator={"followup_projects": ["sre-onfire"]})
    result = run("sources", "check")
    assert result.exit_code == 1
    (check,) = json_lines(result.stdout)
    assert check["status"] == "FAIL"
    assert check["detail"].startswith("Phabricator has no project 'sre-onfire' ([phabricator] followup_projects)")


def test_a_private_task_cannot_be_tracked_by_others(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge
) -> None:
    secret = phorge.create_task(tag("Leaked checkout token"), user="alice")
    phorge.make_private(secret["id"], owner="alice")
    configure(incidentkit_home, monkeypatch, phorge, user="bob")
    with home_store() as store:
        store.save_incident(IncidentRecord(slug="inc", title="Checkout down", start=utc_now().isoformat()))
    result = run("actionables", "add", "inc", "Rotate the token", "--task", secret["monogram"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(
        f"Error: unknown task {secret['monogram']}: Phabricator does not know it or the token cannot see it"
    )
    configure(incidentkit_home, monkeypatch, phorge, user="alice")  # its owner may
    assert run("actionables", "add", "inc", "Rotate the token", "--task", secret["monogram"]).exit_code == 0


def test_draft_without_a_title_asks_phabricator_nothing(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge
) -> None:
    configure(incidentkit_home, monkeypatch, phorge)
    before = requests_served(phorge)
    result = run(*_draft("--task", "T1"))
    assert result.exit_code == 2 and result.stderr.startswith("Error: --title is required")
    assert requests_served(phorge) == before
