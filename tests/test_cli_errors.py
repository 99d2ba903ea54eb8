"""Errors name what the user typed and say what to do; exit codes; a store only made by writers;
interactive commands on a pipe; ``publish FILE`` on things that are not drafts."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from incidentkit.errors import IncidentKitError
from incidentkit.model.incident import IncidentRecord
from incidentkit.wikitext.titles import title_problem
from tests.helpers import home_store, run, run_in_terminal
from tests.servers.mediawiki import MediaWiki

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"


def one_line_error(result: object, *, code: int | None = None) -> tuple[str, str]:
    """(message, hint) of an error: exactly an Error line and a Hint line, no traceback."""
    stderr = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr and (code is None or result.exit_code == code), (result.exit_code, stderr)  # type: ignore[attr-defined]
    error, hint = stderr.splitlines()
    assert error.startswith("Error: ") and hint.startswith("Hint: ") and len(hint) > 10, stderr
    return error.removeprefix("Error: "), hint.removeprefix("Hint: ")


@pytest.fixture
def incident(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-06-10T12:00:00Z")
    with home_store() as store:
        store.save_incident(IncidentRecord(slug="inc-a", title="DNS outage", start="2024-05-01T12:00:00Z"))
    return "inc-a"


# --- errors name exactly what was typed, each with a hint ----------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["actionables", "list", "--due-before", "notadate"], "--due-before 'notadate'"),
        (["actionables", "add", "inc-a", "x", "--due", "someday maybe"], "--due 'someday maybe'"),
        (["actionables", "set", "1", "--due", "whenever"], "--due 'whenever'"),
        (["scorecard", "stats", "--since", "the dawn"], "--since 'the dawn'"),
        (["import", "--since", "long ago-ish", "--replay", "nowhere"], "--since 'long ago-ish'"),
        (["draft", "--from", "then-ish", "--input", "sal=x"], "--from 'then-ish'"),
        (["events", "--from", "2023-02-14", "--task", "T12x"], "--task 'T12x'"),
        (["draft", "--replay", str(EXAMPLE), "--input", "sal"], "--input 'sal'"),
    ],
)
def test_errors_name_the_option_as_typed(incident: str, args: list[str], named: str) -> None:
    message, _ = one_line_error(run(*args), code=2)
    assert named in message


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("INCIDENTKIT_DRAFT_MAX_WINDOW_DAYS", "two weeks", "environment variable INCIDENTKIT_DRAFT_MAX_WINDOW_DAYS must be an integer"),
        ("INCIDENTKIT_SAL_PAGES", '["a", 1]', "environment variable INCIDENTKIT_SAL_PAGES must be a list of strings"),
        ("INCIDENTKIT_SAL_PAGEZ", "x", "environment variable INCIDENTKIT_SAL_PAGEZ sets unknown config key sal.pagez"),
        ("INCIDENTKIT_WIKIS_OPS_TIMEOUT", "soon", "environment variable INCIDENTKIT_WIKIS_OPS_TIMEOUT must be a number"),
    ],
)
def test_config_errors_name_the_environment_variable(variable: str, value: str, named: str) -> None:
    message, hint = one_line_error(run("sources", "list", env={variable: value}), code=2)
    assert message.startswith(named) and variable in hint


@pytest.mark.parametrize("page", ["Bad[title]", "Incidents/{{x}}", "A|B", "Incidents/../Main Page", " "])
def test_a_bad_page_title_is_refused_before_any_wiki_call(tmp_path: Path, page: str) -> None:
    draft = tmp_path / "draft.wiki"
    draft.write_text("{{irdoc|status=draft}}\n== Summary ==\n", encoding="utf-8")
    for args in (["publish", str(draft), "--page", page], ["actionables", "publish", "--page", page]):
        message, hint = one_line_error(run(*args), code=2)
        assert message.startswith(f"--page {page!r} is not a valid page title") and "--page 'Incidents/" in hint


DOTS = "'.' and '..' path parts are not allowed in page titles"
# MediaWiki's Title::newFromText rules, one case each: the title, and the phrase incidentkit says
TITLES = [
    ("Incidents/2023-02-14 Backport crash", None),
    ("Incidents/Déploiement – 日本", None),
    ("_Incidents/2023_backport_", None),  # underscores are spaces, trimmed like them
    ("a.b/c..d/.e/f.", None),  # dots inside a part are fine
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("___", "it is empty"),
    ("_ _", "it is empty"),
    ("Bad[title]", "'[' is not allowed in page titles (nor any of # < > [ ] | { })"),
    ("a}b", "'}' is not allowed in page titles (nor any of # < > [ ] | { })"),
    ("a\tb", "it contains a control character"),
    ("a\x1fb", "it contains a control character"),
    ("a\x7fb", "it contains a control character"),
    ("a\x80b", None),  # a C1 code point is a character MediaWiki takes
    ("a~~~b", "'~~~' is not allowed in page titles (it is a signature)"),
    ("a~~b", None),
    (".", DOTS),
    ("..", DOTS),
    ("./x", DOTS),
    ("../x", DOTS),
    ("a/./b", DOTS),
    ("a/../b", DOTS),
    ("a/b/./c/d", DOTS),
    ("a/.", DOTS),  # Title::newFromText refuses a title ending in "/." as in "/.."
    ("a/..", DOTS),
    ("x" * 255, None),
    ("x" * 256, "it is longer than 255 bytes"),
    ("é" * 127 + "x", None),  # 255 bytes in UTF-8
    ("é" * 128, "it is longer than 255 bytes"),  # 256 bytes, 128 characters
]


@pytest.mark.parametrize(("title", "problem"), TITLES, ids=[f"case{n}" for n in range(len(TITLES))])
def test_title_problem_follows_mediawiki(title: str, problem: str | None) -> None:
    assert title_problem(title) == problem


@pytest.mark.integration
def test_the_real_wiki_refuses_exactly_the_titles_incidentkit_refuses(mediawiki: MediaWiki) -> None:
    titles = [title for title, _ in TITLES if title.strip()]  # the API drops empty titles from its answer
    answer = mediawiki.api(post=True, action="query", titles="|".join(titles))["query"]
    refused = {page["title"] for page in answer.get("pages", []) if "invalid" in page}
    refused |= {page["title"] for page in answer.get("interwiki", [])}
    # the API answers with the control characters XML cannot hold replaced by U+FFFD
    ours = {re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", t) for t in titles if title_problem(t) is not None}
    assert (sorted(refused - ours), sorted(ours - refused)) == ([], [])


def test_counts_have_the_right_plural(incident: str) -> None:
    result = run("draft", "--replay", str(EXAMPLE))
    assert "alertmanager: 1 event from 1 line\n" in result.stderr
    assert "sal: 10 events from 21 lines, 1 line skipped\n" in result.stderr
    run("actionables", "add", "inc-a", "late")
    one = run("actionables", "list", "--incident", "inc-a", "--fail-if-overdue")
    assert one.exit_code == 1 and one.stderr.endswith("\n1 actionable is overdue\n")
    three = run("actionables", "list", "--fail-if-overdue")
    assert three.exit_code == 1 and three.stderr.endswith("\n3 actionables are overdue\n")


def test_an_error_without_its_own_hint_points_at_the_commands_help(
    incident: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*args: object, **kwargs: object) -> None:
        raise IncidentKitError("the statistics could not be made")

    monkeypatch.setattr("incidentkit.services.reporting.actionable_stats", fails)
    message, hint = one_line_error(run("actionables", "stats"), code=1)
    assert hint == "`incidentkit actionables stats --help` shows what the command takes"


# --- exit codes --------------------------------------------------------------------------------------


def test_usage_errors_exit_2_and_say_how_to_get_help() -> None:
    result = run("actionables", "list", "--colour", "never")
    assert result.exit_code == 2 and "No such option: --colour" in result.stderr and "-h" in result.stderr


def test_no_arguments_prints_the_help_and_exits_0() -> None:
    for args in ([], ["actionables"], ["timeline"]):
        result = run(*args)
        assert result.exit_code == 0 and result.stdout.startswith("Usage: incidentkit") and "Commands:" in result.stdout


def test_version() -> None:
    from incidentkit.util import version

    for args in (["--version"], ["version"]):
        result = run(*args)
        assert result.exit_code == 0 and result.stdout == f"incidentkit {version()}\n"


@pytest.mark.slow  # a child process
def test_ctrl_c_exits_130_without_a_traceback(incident: str) -> None:
    import pty
    import select
    import subprocess
    import sys

    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "incidentkit", "scorecard", "fill", "inc-a", "--reviewer", "r"],
        stdin=follower, stdout=follower, stderr=follower, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 60
    while b"Answer (yes/no/skip)" not in screen and time.monotonic() < deadline:
        if select.select([leader], [], [], 0.2)[0]:
            screen += os.read(leader, 4096)
    assert b"Answer (yes/no/skip)" in screen, screen  # the first question waits for an answer
    # a person reads the question before pressing Ctrl-C: by then the prompt is blocked reading the
    # terminal (a signal in the instant between the prompt's text and its read is seen only at the
    # next keystroke, in any Python program)
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)  # what Ctrl-C at the prompt sends
    code = child.wait(timeout=60)
    while select.select([leader], [], [], 0.2)[0]:
        try:
            screen += os.read(leader, 4096)
        except OSError:
            break
    os.close(leader)
    assert code == 130, screen
    assert b"Interrupted." in screen and b"Traceback" not in screen and b"Aborted" not in screen


# --- the store: created only by commands that write ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["actionables", "list"], ["actionables", "stats"], ["actionables", "history", "1"],
        ["actionables", "sync"], ["actionables", "set", "1", "--owner", "x"], ["scorecard", "show", "inc-a"],
        ["scorecard", "stats"], ["timeline", "show", "inc-a"], ["timeline", "moments", "inc-a"],
        ["timeline", "hide", "inc-a", "abcd"], ["publish", "inc-a", "--page", "X"],
    ],  # fmt: skip
)
def test_a_read_on_a_missing_database_says_so_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    mistyped = tmp_path / "nosuch" / "incidentkit.db"
    result = run("--db", str(mistyped), *args, env={"INCIDENTKIT_PHABRICATOR_URL": "http://127.0.0.1:9/"})
    message, hint = one_line_error(result, code=1)
    assert message == f"there is no database at {str(mistyped)!r}"
    assert "`incidentkit draft`" in hint and "`incidentkit import`" in hint
    assert not mistyped.parent.exists()


def test_a_command_that_records_creates_the_database(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "folder" / "incidentkit.db"
    assert run("--db", str(fresh), "draft", "--replay", str(EXAMPLE)).exit_code == 0
    assert fresh.exists()
    listed = run("--db", str(fresh), "actionables", "list")
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 2  # the example's two follow-ups


# --- interactive commands and pipes ----------------------------------------------------------------


def test_an_interactive_command_refuses_a_pipe_and_names_the_other_way(incident: str) -> None:
    result = run("scorecard", "fill", "inc-a", input="yes\n")
    message, hint = one_line_error(result, code=2)
    assert "standard input is not a terminal" in message
    assert hint == "give the answers in a file: `incidentkit scorecard fill inc-a --answers FILE` (TOML or JSON)"
    with home_store() as store:
        assert store.get_scorecard_answers("inc-a") == {}


@pytest.mark.slow  # a child process on a terminal
def test_end_of_input_at_a_prompt_is_an_error_not_aborted(incident: str) -> None:
    result = run_in_terminal("scorecard", "fill", "inc-a", "--reviewer", "r", input="yes\n\x04")
    assert result.exit_code == 1 and "Error: standard input ended before every question was answered" in result.output


# --- publish FILE --------------------------------------------------------------------------------------


def _not_a_draft(tmp_path: Path, kind: str) -> str:
    if kind == "missing":
        return str(tmp_path / "drafts" / "backport.wiki")
    if kind == "folder":
        (tmp_path / "drafts").mkdir()
        return str(tmp_path / "drafts")
    path = tmp_path / "page.wiki"
    if kind == "latin-1":
        path.write_bytes("{{irdoc|status=draft}}\nDéploiement\n".encode("latin-1"))
    else:
        path.write_text("Just some notes about the outage.\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("missing", "there is no file {}"),
        ("folder", "{} is a folder, not a draft file"),
        ("latin-1", "{} is not UTF-8 text (byte 0xe9 at offset 24)"),
        ("notes", "{} is not an incident draft (it has no {{{{irdoc}}}} template)"),
    ],
)
def test_publish_file_that_is_not_a_draft(tmp_path: Path, kind: str, said: str) -> None:
    target = _not_a_draft(tmp_path, kind)
    message, hint = one_line_error(run("publish", target, "--page", "Incidents/X"), code=2)
    assert message == said.format(target)
    assert "`incidentkit draft -o FILE`" in hint
    assert not (Path(os.environ["INCIDENTKIT_HOME"]) / "incidentkit.db").exists()
