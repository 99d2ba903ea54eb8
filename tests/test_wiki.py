"""Tests of incidentkit.clients.mediawiki: pure helpers, then the client against the real throwaway MediaWiki."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from incidentkit.clients.budget import DEADLINE_HINT, SIZE_HINT, budget
from incidentkit.clients.http import USER_AGENT
from incidentkit.clients.mediawiki import (
    URL_HINT,
    MwclientWiki,
    PageText,
    _reason,
    connect_wiki,
    html_errors,
    page_url,
    split_wiki_url,
)
from incidentkit.config import PhabricatorSettings, Settings, WikiSettings, load_settings
from incidentkit.errors import ConfigError, ConflictError, PublishError, SourceError
from tests.servers.mediawiki import COLLEAGUE, REPORTER, MediaWiki, free_port

TABLE_PAGE = """{{irdoc|status=draft}}
== Timeline ==
{| class="wikitable"
! Time (UTC) !! Event
|-
| 19:10 || scap sync started — ünïcode ✓ [[phab:T123|T123]]
|}
<ref>a footnote</ref>
<references />"""


def _client(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, user: str | None = REPORTER, name: str = "ops"
) -> MwclientWiki:
    mediawiki.config_env(monkeypatch, name=name, user=user)
    return connect_wiki(load_settings(), name)


# --- pure ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://wikitech.wikimedia.org/w/", ("https", "wikitech.wikimedia.org", "/w/")),
        ("https://wikitech.wikimedia.org/w", ("https", "wikitech.wikimedia.org", "/w/")),
        ("https://wikitech.wikimedia.org/w/api.php", ("https", "wikitech.wikimedia.org", "/w/")),
        ("http://127.0.0.1:8080/", ("http", "127.0.0.1:8080", "/")),
        ("http://127.0.0.1:8080", ("http", "127.0.0.1:8080", "/")),
    ],
)
def test_split_wiki_url(url: str, expected: tuple[str, str, str]) -> None:
    assert split_wiki_url(url) == expected


@pytest.mark.parametrize(
    "url", ["", "wikitech.wikimedia.org/w/", "ftp://x/", "https://u:p@x/w/", "https://x/w/?a=1"]
)
def test_split_wiki_url_rejects(url: str) -> None:
    with pytest.raises(ConfigError, match="wikis.ops.url") as error:
        split_wiki_url(url, name="ops")
    assert error.value.hint == URL_HINT
    with pytest.raises(ConfigError, match=r"^config key wikis\.wiki\.url must"):  # the default name
        split_wiki_url(url)


def test_connect_wiki_bad_url_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_URL", "wikitech.wikimedia.org")
    with pytest.raises(ConfigError, match="wikis.ops.url"):
        connect_wiki(load_settings())


def test_page_text_needs_aware_timestamp() -> None:
    with pytest.raises(ValueError, match=r"^PageText\.timestamp must be timezone-aware$"):
        PageText(title="A", text="", revid=1, timestamp=datetime(2026, 1, 1))
    page = PageText(
        title="A", text="", revid=1, timestamp=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    )
    assert page.timestamp.utcoffset() == timedelta(hours=2)


def test_html_errors_finds_inline_errors() -> None:
    html = (
        '<p>ok <strong class="error">Expression error: Division by zero.</strong> '
        '<span class="error mw-ext-cite-error" lang="en">Cite error: <b>bad</b> ref</span>'
        '<span class="mw-error-like">not one</span></p>'
    )
    assert html_errors(html) == ["Expression error: Division by zero.", "Cite error: bad ref"]
    assert html_errors('<table class="wikitable"><tr><td>x</td></tr></table>') == []


def test_unreachable_wiki_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_URL", url)
    monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_USER", REPORTER)
    monkeypatch.setenv("INCIDENTKIT_WIKI_PASSWORD", "x" * 32)
    wiki = connect_wiki(load_settings())
    with pytest.raises(SourceError) as read_error:
        wiki.read("Main Page")
    assert read_error.value.message == f"wiki ops at {url} is unreachable: connection refused"
    assert "wikis.ops.url" in (read_error.value.hint or "")
    with pytest.raises(PublishError) as save_error:
        wiki.save("X", "y", summary="s", base=None)
    assert "unreachable" in save_error.value.message
    assert not isinstance(save_error.value, ConflictError)
    assert "x" * 32 not in str(save_error.value) + repr(wiki)


def test_silent_wiki_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_URL", url)
        monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_TIMEOUT", "0.3")
        with pytest.raises(SourceError) as error:
            connect_wiki(load_settings()).list_prefix("Incidents/")
    assert error.value.message == f"wiki ops at {url} is unreachable: timed out"
    assert "timeout 0.3s" in (error.value.hint or "")


# --- against the real MediaWiki ------------------------------------------------------------


@pytest.mark.integration
def test_login_with_bot_password(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = _client(mediawiki, monkeypatch)
    description = wiki.check()
    assert description.startswith("MediaWiki 1.")
    assert description.endswith(f"logged in as {REPORTER}")
    assert wiki.logged_in
    assert wiki.request_count == 2  # site info + login token, then the login itself


@pytest.mark.integration
def test_anonymous_reads_but_cannot_save(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.put_page("Wiki test/Anonymous", "hello")
    wiki = _client(mediawiki, monkeypatch, user=None)
    page = wiki.read("Wiki test/Anonymous")
    assert page is not None and page.text == "hello"
    assert wiki.request_count == 2  # site info, then the read
    with pytest.raises(PublishError, match="without logging in") as error:
        wiki.save("Wiki test/Anonymous 2", "x", summary="s", base=None)
    assert mediawiki.password_env("ops") in (error.value.hint or "")
    assert mediawiki.get_page("Wiki test/Anonymous 2") is None


@pytest.mark.integration
def test_wrong_password_is_a_clean_error(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_env = mediawiki.config_env(monkeypatch)
    wrong = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv(secret_env, wrong)
    wiki = connect_wiki(load_settings())
    with pytest.raises(SourceError) as read_error:
        wiki.read("Main Page")
    message = read_error.value.message
    assert message.startswith(f"login to wiki ops refused for user {REPORTER}")
    assert f"${secret_env}" in (read_error.value.hint or "")
    with pytest.raises(PublishError, match="login to wiki ops refused") as save_error:
        connect_wiki(load_settings()).save("Wiki test/Never", "x", summary="s", base=None)
    for error in (read_error.value, save_error.value):
        assert wrong not in f"{error.message} {error.hint} {error!r}"
    assert mediawiki.get_page("Wiki test/Never") is None


@pytest.mark.integration
def test_wrong_script_path_is_a_clean_error(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.config_env(monkeypatch, user=None)
    monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_URL", mediawiki.url + "w/")
    with pytest.raises(SourceError, match="answered HTTP 404") as error:
        connect_wiki(load_settings()).read("Main Page")
    assert "script path of api.php" in (error.value.hint or "")


@pytest.mark.integration
def test_read_missing_page_is_none(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = _client(mediawiki, monkeypatch)
    assert wiki.read("Wiki test/Does not exist") is None


@pytest.mark.integration
def test_read_invalid_title_is_a_source_error(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = _client(mediawiki, monkeypatch)
    with pytest.raises(SourceError, match="not a valid page title"):
        wiki.read("Bad [[title]]")


@pytest.mark.integration
def test_create_and_read_back_byte_identical(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = _client(mediawiki, monkeypatch)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    saved = wiki.save("Wiki test/Created", TABLE_PAGE, summary="incidentkit test", base=None)
    assert saved.title == "Wiki test/Created"
    assert saved.text == TABLE_PAGE
    assert saved.timestamp >= before and saved.timestamp.tzinfo is UTC
    assert wiki.read("Wiki test/Created") == saved
    assert mediawiki.get_page("Wiki test/Created") == TABLE_PAGE


@pytest.mark.integration
def test_save_returns_the_text_as_stored(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = _client(mediawiki, monkeypatch)
    saved = wiki.save("Wiki test/Trailing space", "line\n\n\n", summary="s", base=None)
    assert saved.text == "line"  # MediaWiki strips trailing whitespace; we report what it stored
    assert wiki.read("Wiki test/Trailing space") == saved


@pytest.mark.integration
def test_create_only_never_clobbers(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.put_page("Wiki test/Existing", "human text", user=COLLEAGUE)
    wiki = _client(mediawiki, monkeypatch)
    with pytest.raises(ConflictError, match="already exists") as error:
        wiki.save("Wiki test/Existing", "generated", summary="s", base=None)
    assert "nothing was saved" in error.value.message
    assert mediawiki.get_page("Wiki test/Existing") == "human text"


@pytest.mark.integration
def test_update_with_base(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = _client(mediawiki, monkeypatch)
    first = wiki.save("Wiki test/Update", "one\ntwo", summary="s", base=None)
    second = wiki.save("Wiki test/Update", "one\n2", summary="s", base=first)
    assert second.revid > first.revid and second.text == "one\n2"
    same = wiki.save("Wiki test/Update", "one\n2", summary="s", base=second)
    assert same == second  # no change, no new revision


@pytest.mark.integration
def test_a_read_then_a_save_sends_the_login_the_read_the_edit_and_the_read_back(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch
) -> None:
    mediawiki.put_page("Wiki test/Republish", "one")
    wiki = _client(mediawiki, monkeypatch)
    base = wiki.read("Wiki test/Republish")
    assert base is not None
    saved = wiki.save("Wiki test/Republish", "one\ntwo  \n", summary="s", base=base)
    assert saved.text == "one\ntwo" and saved.revid > base.revid  # as stored: MediaWiki trims the end
    # site info + login token, login, the read (the edit token with it), the edit, the read back
    assert wiki.request_count == 5
    assert mediawiki.get_page("Wiki test/Republish") == "one\ntwo"


@pytest.mark.integration
def test_edit_conflict_between_two_users(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    title = "Wiki test/Conflict"
    mediawiki.put_page(title, "== Summary ==\nTODO: write the summary\n== Timeline ==\n* 19:10 start")
    reporter = _client(mediawiki, monkeypatch, REPORTER, "ops")
    colleague = _client(mediawiki, monkeypatch, COLLEAGUE, "colleague")
    base = reporter.read(title)
    theirs = colleague.read(title)
    assert base is not None and theirs is not None and base == theirs
    colleague.save(
        title, theirs.text.replace("TODO: write the summary", "The API was down."), summary="c", base=theirs
    )
    with pytest.raises(ConflictError, match="edit conflict") as error:
        reporter.save(
            title, base.text.replace("TODO: write the summary", "Generated summary."), summary="r", base=base
        )
    assert f"since revision {base.revid} was read" in error.value.message
    assert "The API was down." in (mediawiki.get_page(title) or "")


@pytest.mark.integration
def test_stale_base_conflicts_even_for_the_same_user(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of the same bot: MediaWiki's same-user rule must not let the second one win."""
    title = "Wiki test/Self conflict"
    mediawiki.put_page(title, "status: draft\nowner: TODO", user=COLLEAGUE)
    first_run = _client(mediawiki, monkeypatch)
    second_run = _client(mediawiki, monkeypatch)
    base = first_run.read(title)
    assert base is not None
    second_run.save(title, base.text.replace("owner: TODO", "owner: alice"), summary="run 2", base=base)
    with pytest.raises(ConflictError, match="edit conflict"):
        first_run.save(title, base.text.replace("owner: TODO", "owner: bob"), summary="run 1", base=base)
    assert mediawiki.get_page(title) == "status: draft\nowner: alice"


@pytest.mark.integration
def test_concurrent_edits_of_different_lines_merge(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MediaWiki merges non-overlapping concurrent edits: neither side is lost, no conflict."""
    title = "Wiki test/Merge"
    mediawiki.put_page(title, "first line\n\n\n\nmiddle\n\n\n\nlast line")
    reporter = _client(mediawiki, monkeypatch, REPORTER, "ops")
    base = reporter.read(title)
    assert base is not None
    mediawiki.put_page(title, base.text.replace("last line", "last line (human)"), user=COLLEAGUE)
    merged = reporter.save(title, base.text.replace("first line", "first line (bot)"), summary="r", base=base)
    assert merged.text == "first line (bot)\n\n\n\nmiddle\n\n\n\nlast line (human)"


@pytest.mark.integration
def test_save_after_deletion_is_a_conflict(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    title = "Wiki test/Deleted"
    mediawiki.put_page(title, "soon gone")
    wiki = _client(mediawiki, monkeypatch)
    base = wiki.read(title)
    mediawiki.delete_page(title)
    with pytest.raises(ConflictError, match="was deleted since it was read"):
        wiki.save(title, "new text", summary="s", base=base)
    assert mediawiki.get_page(title) is None


@pytest.mark.integration
def test_protected_page_is_a_publish_error(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    title = "Wiki test/Protected"
    mediawiki.put_page(title, "locked")
    mediawiki.protect_page(title)
    wiki = _client(mediawiki, monkeypatch)
    base = wiki.read(title)
    with pytest.raises(PublishError, match="refused to save") as error:
        wiki.save(title, "changed", summary="s", base=base)
    assert not isinstance(error.value, ConflictError)
    assert "protectedpage" in error.value.message
    assert "check the bot's rights" in (error.value.hint or "")
    assert mediawiki.get_page(title) == "locked"


@pytest.fixture(scope="module")
def bulk_pages(mediawiki: MediaWiki) -> list[str]:
    """120 incident-like pages under "Wiki bulk/" (created once for this module)."""
    titles = [f"Wiki bulk/2020-01-01 Page {n:03d}" for n in range(120)]
    for n, title in enumerate(titles):
        mediawiki.put_page(title, f"== Summary ==\nPage {n}\n[[Category:Wiki bulk test]]")
    return titles


@pytest.mark.integration
def test_read_many_batches_50_titles_per_request(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, bulk_pages: list[str]
) -> None:
    wiki = _client(mediawiki, monkeypatch)
    wiki.check()
    before = wiki.request_count
    pages = wiki.read_many(bulk_pages)
    assert wiki.request_count - before == 3
    assert list(pages) == bulk_pages
    for n, title in enumerate(bulk_pages):
        page = pages[title]
        assert page is not None and page.title == title and page.text.startswith(f"== Summary ==\nPage {n}\n")


@pytest.mark.integration
def test_read_many_keys_by_the_given_titles(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, bulk_pages: list[str]
) -> None:
    wiki = _client(mediawiki, monkeypatch)
    asked = ["wiki_bulk/2020-01-01_Page_007", "Wiki bulk/No such page", bulk_pages[7]]
    pages = wiki.read_many(asked)
    assert list(pages) == asked
    assert pages["Wiki bulk/No such page"] is None
    assert pages[asked[0]] == pages[bulk_pages[7]] is not None
    assert pages[asked[0]].title == bulk_pages[7]  # type: ignore[union-attr]


@pytest.mark.integration
def test_read_many_follows_continuation_past_the_result_size_limit(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = "* 19:10 a long SAL line for the size limit " + "x" * 60 + "\n"
    texts = {f"Wiki big/{n}": f"page {n}\n" + line * 8000 for n in range(3)}  # ~0.85 MB each
    for title, text in texts.items():
        mediawiki.put_page(title, text)
    wiki = _client(mediawiki, monkeypatch)
    wiki.check()
    before = wiki.request_count
    pages = wiki.read_many(texts)
    assert wiki.request_count - before == 2  # the wiki's 2 MiB result limit splits the batch
    assert {title: page.text if page else None for title, page in pages.items()} == {
        title: text.rstrip() for title, text in texts.items()
    }


@pytest.mark.integration
def test_list_prefix_follows_continuation(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, bulk_pages: list[str]
) -> None:
    wiki = _client(mediawiki, monkeypatch)
    wiki.check()
    wiki.list_limit = 50
    before = wiki.request_count
    assert wiki.list_prefix("Wiki bulk/") == sorted(bulk_pages)
    assert wiki.request_count - before == 3
    assert wiki.list_prefix("wiki_bulk/2020-01-01 Page 11") == [
        f"Wiki bulk/2020-01-01 Page 11{n}" for n in range(10)
    ]
    assert wiki.list_prefix("Wiki bulk/2021") == []


@pytest.mark.integration
def test_list_prefix_resolves_namespaces(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.put_page("Template:Wiki test box", "{{{1}}}")
    mediawiki.put_page("Project:Wiki test policy", "policy")
    mediawiki.put_page("Server Admin Log/Archive 1", "archive")
    mediawiki.put_page("Wiki test: not a namespace", "main")
    wiki = _client(mediawiki, monkeypatch, user=None)
    assert wiki.list_prefix("Template:Wiki test") == ["Template:Wiki test box"]
    assert wiki.list_prefix("template:wiki_test") == ["Template:Wiki test box"]
    assert wiki.list_prefix("Project:Wiki test") == ["IncidentWiki:Wiki test policy"]
    assert wiki.list_prefix("Server Admin Log/Archive") == ["Server Admin Log/Archive 1"]
    assert wiki.list_prefix("Wiki test: not") == ["Wiki test: not a namespace"]


@pytest.mark.integration
def test_list_category(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, bulk_pages: list[str]) -> None:
    mediawiki.put_page("Category:Wiki bulk test/Sub", "[[Category:Wiki bulk test]]")
    wiki = _client(mediawiki, monkeypatch)
    wiki.list_limit = 100
    assert wiki.list_category("Wiki bulk test") == sorted(bulk_pages)
    assert wiki.list_category("Category:Wiki bulk test") == sorted(bulk_pages)
    assert wiki.list_category("No such category") == []


@pytest.mark.integration
def test_render_html_of_a_wikitable(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = _client(mediawiki, monkeypatch)
    html = wiki.render_html(TABLE_PAGE, "Incidents/2026-11-20 Example")
    assert 'class="wikitable"' in html
    assert "ünïcode ✓" in html and "a footnote" in html
    assert html_errors(html) == []
    assert html_errors(wiki.render_html("{{#expr: 1/0}}", "Wiki test/Render")) == ["Division by zero."]


@pytest.mark.integration
def test_a_bot_password_revoked_mid_run_asks_to_check_it(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wiki ends the session of a revoked bot password; the client logs in again, once, and the
    refusal names the bot password instead of suggesting to run the command again."""
    wiki = _client(mediawiki, monkeypatch)
    wiki.check()  # logged in
    database = mediawiki.root / "data" / "wiki.sqlite"
    with sqlite3.connect(database) as conn:
        user_id = conn.execute("SELECT user_id FROM user WHERE user_name = 'Reporter'").fetchone()[0]
        row = conn.execute("SELECT * FROM bot_passwords WHERE bp_user = ?", (user_id,)).fetchone()
        conn.execute("DELETE FROM bot_passwords WHERE bp_user = ?", (user_id,))
    try:
        with pytest.raises(PublishError) as caught:
            wiki.save("Wiki test/Revoked", "never saved", summary="s", base=None)
    finally:
        with sqlite3.connect(database) as conn:
            conn.execute(f"INSERT INTO bot_passwords VALUES ({', '.join('?' * len(row))})", row)
    assert "login to wiki ops refused for user Reporter@incidentkit" in caught.value.message
    assert "bot password" in (caught.value.hint or "") and "revoked" in (caught.value.hint or "")
    assert "run the command again" not in (caught.value.hint or "")
    assert mediawiki.get_page("Wiki test/Revoked") is None
    assert "logged in as" in _client(mediawiki, monkeypatch).check()  # restored for the other tests


# --- against a scripted api.php: the answers written out here as MediaWiki 1.39 gives them --------
# (formatversion=2; the real wiki's behaviour is pinned by the integration tests above)

API_PASSWORD = "bot-password-" + "p" * 20
SITEINFO = {
    "batchcomplete": True,
    "query": {
        "general": {"generator": "MediaWiki 1.39.17", "sitename": "Ops"},
        "namespaces": {
            "0": {"id": 0, "name": "", "canonical": ""},
            "10": {"id": 10, "name": "Vorlage", "canonical": "Template"},
            "14": {"id": 14, "name": "Kategorie", "canonical": "Category"},
            "4": {"id": 4, "name": "Ops"},
        },
        "namespacealiases": [{"id": 4, "alias": "Project page"}],
    },
}
LOGIN_TOKEN = {"batchcomplete": True, "query": {"tokens": {"logintoken": "l0gin+\\"}}}
CSRF = {"batchcomplete": True, "query": {"tokens": {"csrftoken": "c5rf+\\"}}}


def revision(title: str, revid: int, text: str, timestamp: str = "2026-11-20T14:00:00Z") -> dict[str, Any]:
    return {"pageid": revid, "ns": 0, "title": title,
            "revisions": [{"revid": revid, "parentid": 0, "timestamp": timestamp, "slots": {"main": {"content": text}}}]}


class ScriptedApi:
    """api.php on a local port answering each request with the first rule whose parameters match.

    A rule's answer is a dict (sent as JSON), a werkzeug Response, or a list of those given in turn
    (the last one repeated). ``requests`` keeps every request's parameters.
    """

    def __init__(self, server: HTTPServer) -> None:
        self.requests: list[dict[str, str]] = []
        self.methods: list[str] = []
        self.agents: list[str] = []
        self.files: list[tuple[str, str | None, bytes]] = []  # (field, file name, content) of uploads
        self.rules: list[tuple[dict[str, str], list[Any]]] = []
        server.expect_request("/mw/api.php").respond_with_handler(self._answer)
        self.url = server.url_for("/mw/")  # not mwclient's default script path

    def on(self, answer: Any, **match: object) -> None:
        answers = list(answer) if isinstance(answer, list) else [answer]  # a copy: answering consumes it
        self.rules.insert(0, ({k: str(v) for k, v in match.items()}, answers))

    def _answer(self, request: Request) -> Response:
        params = {**request.args.to_dict(), **request.form.to_dict()}
        self.requests.append(params)
        # GET parameters belong in the address, POST ones in the body
        self.methods.append(request.method if bool(request.args) == (request.method == "GET") else f"{request.method}?")
        self.agents.append(request.headers.get("User-Agent", ""))
        self.files.extend((key, f.filename, f.read()) for key, f in request.files.items())
        for match, answers in self.rules:
            if all(params.get(k) == v for k, v in match.items()):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, ScriptedAnswer):
                    answer = answer.make(params)
                return answer if isinstance(answer, Response) else Response(json.dumps(answer), content_type="application/json")
        return Response(json.dumps({"error": {"code": "badvalue", "info": "not scripted"}}), content_type="application/json")

    def sent(self, **match: object) -> list[dict[str, str]]:
        """The requests whose parameters include *match*, without the ones every request carries."""
        wanted = {k: str(v) for k, v in match.items()}
        return [
            {k: v for k, v in p.items() if k not in ("format", "formatversion")}
            for p in self.requests
            if all(p.get(k) == v for k, v in wanted.items())
        ]


def edit_token_requests(api: ScriptedApi) -> list[dict[str, str]]:
    return [p for p in api.requests if p.get("meta") == "tokens" and "type" not in p and "titles" not in p]


@pytest.fixture
def api(httpserver: HTTPServer) -> Iterator[ScriptedApi]:
    scripted = ScriptedApi(httpserver)
    scripted.on(SITEINFO, action="query", meta="siteinfo")
    scripted.on({**SITEINFO, "query": {**SITEINFO["query"], **LOGIN_TOKEN["query"]}}, action="query", meta="siteinfo|tokens")
    scripted.on({"login": {"result": "Success", "lguserid": 2, "lgusername": "Reporter"}}, action="login")
    scripted.on(CSRF, action="query", meta="tokens")
    scripted.on(LOGIN_TOKEN, action="query", meta="tokens", type="login")
    yield scripted
    # every request was a GET with its parameters in the address or a POST with them in the body
    assert set(scripted.methods) <= {"GET", "POST"}, scripted.methods


def scripted_wiki(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, user: str = "Reporter@incidentkit") -> MwclientWiki:
    monkeypatch.setenv("SCRIPTED_WIKI_PASSWORD", API_PASSWORD)
    return MwclientWiki("ops", WikiSettings(url=api.url, user=user, password_env="SCRIPTED_WIKI_PASSWORD", timeout=5))


def test_connecting_anonymously_is_one_request(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = scripted_wiki(api, monkeypatch, user="")
    assert api.requests == []  # connecting is lazy
    assert wiki.check() == f"MediaWiki 1.39.17 at {api.url}, anonymous"
    assert api.sent() == [{"action": "query", "meta": "siteinfo", "type": "login", "siprop": "general|namespaces|namespacealiases"}]
    assert api.requests[0]["format"] == "json" and api.requests[0]["formatversion"] == "2"
    assert wiki.check() == f"MediaWiki 1.39.17 at {api.url}, anonymous" and len(api.requests) == 1
    assert wiki.request_count == 1 and wiki.logged_in is False


def test_logging_in_with_a_bot_password(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    wiki = scripted_wiki(api, monkeypatch)
    assert wiki.check() == f"MediaWiki 1.39.17 at {api.url}, logged in as Reporter@incidentkit"
    assert api.sent() == [
        {"action": "query", "meta": "siteinfo|tokens", "type": "login", "siprop": "general|namespaces|namespacealiases"},
        {"action": "login", "lgname": "Reporter@incidentkit", "lgpassword": API_PASSWORD, "lgtoken": "l0gin+\\"},
    ]
    assert api.methods == ["GET", "POST"] and wiki.request_count == 2 and wiki.logged_in is True
    assert repr(wiki) == f"<MwclientWiki ops {api.url} user=Reporter@incidentkit>"
    assert repr(scripted_wiki(api, monkeypatch, user="")) == f"<MwclientWiki ops {api.url} user=(anonymous)>"


@pytest.mark.parametrize(
    ("login", "why"),
    [
        ({"result": "Failed", "reason": {"code": "wrongpassword", "text": "Incorrect username or password."}},
         "Incorrect username or password."),
        ({"result": "Failed", "reason": {"code": "wrongpassword"}}, "wrongpassword"),
        ({"result": "Failed", "reason": "Incorrect password entered."}, "Incorrect password entered."),
        ({"result": "Aborted"}, "Aborted"),
        ({}, "no reason given"),
    ],
    ids=["reason-text", "reason-code", "old-reason", "result-only", "nothing"],
)
def test_a_refused_login_says_why(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, login: dict, why: str) -> None:  # type: ignore[type-arg]
    api.on({"login": login}, action="login")
    with pytest.raises(SourceError) as refused:
        scripted_wiki(api, monkeypatch).check()
    assert refused.value.message == f"login to wiki ops refused for user Reporter@incidentkit: {why}"
    assert refused.value.hint == (
        "check the bot password in $SCRIPTED_WIKI_PASSWORD (it may have been changed or revoked) and "
        "the user name in wikis.ops.user (bot passwords log in as User@appid)"
    )


def test_a_wiki_that_refuses_the_site_information(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on({"error": {"code": "mwoauth-invalid", "info": "No such consumer"}}, action="query", meta="siteinfo")
    with pytest.raises(SourceError) as refused:
        scripted_wiki(api, monkeypatch, user="").read("A")
    assert refused.value.message == f"wiki ops at {api.url} refused to connect: No such consumer (mwoauth-invalid)"
    assert refused.value.hint == URL_HINT
    api.on({"error": {"code": "readapidenied", "info": "You need read permission."}}, action="query", meta="siteinfo")
    with pytest.raises(SourceError) as denied:
        scripted_wiki(api, monkeypatch, user="").read("A")
    assert denied.value.message == "wiki ops does not let anonymous users read it"
    assert denied.value.hint == "set wikis.ops.user and the bot password in $SCRIPTED_WIKI_PASSWORD"
    api.on({"error": "just text"}, action="query", meta="siteinfo")
    with pytest.raises(SourceError) as text:
        scripted_wiki(api, monkeypatch, user="").read("A")
    assert text.value.message == f"wiki ops at {api.url} refused to connect: just text (unknown)"
    api.on({"error": {"info": ""}}, action="query", meta="siteinfo")
    with pytest.raises(SourceError) as empty:
        scripted_wiki(api, monkeypatch, user="").read("A")
    assert empty.value.message == f"wiki ops at {api.url} refused to connect:  (unknown)"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Response("<html>It works!</html>"), "{url} (wiki ops) does not answer like a MediaWiki API (the answer is not JSON)"),
        (Response("[1, 2]"), "{url} (wiki ops) does not answer like a MediaWiki API (a JSON list)"),
        ({"batchcomplete": True, "query": {"namespaces": {}}},
         "wiki ops answered its site information in an unexpected shape (KeyError: 'general')"),
        ({"query": {"general": {}, "namespaces": {"0": {"id": "zero", "name": ""}}}},
         "wiki ops answered its site information in an unexpected shape (ValueError: invalid literal for int() with base 10: 'zero')"),
        ({"query": {"general": {}, "namespaces": {"0": {"id": "z" * 100, "name": ""}}}},  # the detail cut at 80
         "wiki ops answered its site information in an unexpected shape (ValueError: invalid literal for int() with base 10: 'zzzzzzzzzzzzzzzzzzzzzzzzzzz)"),
        (Response("{}", status=404), "wiki ops at {url} answered HTTP 404"),
        (Response("{}", status=429, headers={"Retry-After": "7200"}), "wiki ops at {url} answered HTTP 429; it asked to wait 7200 s"),
    ],
    ids=["html", "list", "no-general", "bad-namespace", "long-detail", "404", "429-long"],
)
def test_answers_unlike_a_mediawiki_api(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, answer: Any, message: str) -> None:
    api.on(answer, action="query", meta="siteinfo")
    with pytest.raises(SourceError) as odd:
        scripted_wiki(api, monkeypatch, user="").list_prefix("Incidents/")
    assert odd.value.message == message.format(url=api.url)
    if "shape" in message:
        assert odd.value.hint == "the server does not answer like a MediaWiki API; " + URL_HINT
    elif "429" in message:
        assert odd.value.hint == "the wiki is rate limiting incidentkit; try again later"
    else:
        assert odd.value.hint == URL_HINT


def test_read_many_in_batches_of_50_with_normalized_and_missing_titles(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    titles = ["incidents/a", "Missing", "Special:Version", *(f"P{n}" for n in range(47)), "Last"]

    def pages(params: dict[str, str]) -> dict[str, Any]:
        asked = params["titles"].split("\x1f")[1:]
        found = []
        for title in asked:
            if title == "incidents/a":
                found.append(revision("Incidents/a", 7, "text of a", "2026-11-20T14:05:06Z"))
            elif title == "Missing":
                found.append({"ns": 0, "title": "Missing", "missing": True})
            elif title == "Special:Version":
                found.append({"ns": -1, "title": "Special:Version", "special": True})
            else:
                found.append(revision(title, 100, f"text of {title}"))
        normalized = [{"fromencoded": False, "from": "incidents/a", "to": "Incidents/a"}] if "incidents/a" in asked else []
        return {"batchcomplete": True, "query": {"normalized": normalized, "pages": found}}

    api.on(ScriptedAnswer(pages), action="query", prop="revisions")
    wiki = scripted_wiki(api, monkeypatch, user="")
    got = wiki.read_many([*titles, "Missing"])  # a title asked twice is fetched once
    assert list(got) == titles
    assert got["incidents/a"] == PageText(
        title="Incidents/a", text="text of a", revid=7, timestamp=datetime(2026, 11, 20, 14, 5, 6, tzinfo=UTC)
    )
    assert got["Missing"] is None and got["Special:Version"] is None
    assert got["Last"] is not None and got["Last"].text == "text of Last"
    reads = api.sent(prop="revisions")
    assert [r["titles"] for r in reads] == ["\x1f" + "\x1f".join(titles[:50]), "\x1fLast"]
    assert reads[0] == {"action": "query", "titles": reads[0]["titles"], "prop": "revisions",
                        "rvprop": "content|ids|timestamp", "rvslots": "main"}
    assert api.methods[1:] == ["POST", "POST"]  # titles go in the body
    assert wiki.read("incidents/a") == got["incidents/a"]


class ScriptedAnswer:
    """An answer computed from the request's parameters."""

    def __init__(self, make: Any) -> None:
        self.make = make


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ({"title": "A|B", "invalidreason": "The requested page title contains invalid characters: \"|\".", "invalid": True},
         "'A|B' is not a valid page title on wiki ops: The requested page title contains invalid characters: \"|\"."),
        ({"title": "A|B", "invalid": True}, "'A|B' is not a valid page title on wiki ops: invalid title"),
        ({"title": "A|B", "ns": 0, "revisions": []}, "wiki ops returned no revision for page 'A|B'"),
        ({"title": "A|B", "revisions": [{"revid": 12, "slots": {"main": {"texthidden": True}}}]},
         "the text of 'A|B' revision 12 on wiki ops is hidden"),
        ({"title": "A|B", "revisions": [{"revid": 12}]}, "the text of 'A|B' revision 12 on wiki ops is hidden"),
        ({"title": "Other"}, "wiki ops did not return page 'A|B'"),
    ],
    ids=["invalid", "invalid-no-reason", "no-revision", "hidden", "no-slots", "not-returned"],
)
def test_pages_that_cannot_be_read(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, page: dict, message: str) -> None:  # type: ignore[type-arg]
    api.on({"batchcomplete": True, "query": {"pages": [page]}}, action="query", prop="revisions")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").read("A|B")
    assert error.value.message == message
    if "hidden" in message:
        assert error.value.hint == "check the bot's rights: the grants of its bot password and the groups of its user"


def test_read_follows_continuation_and_fetches_the_edit_token_when_logged_in(
    api: ScriptedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = {"continue": {"rvcontinue": "2|8", "continue": "||"},
             "query": {"pages": [{"title": "A", "ns": 0}, revision("B", 8, "b")], "tokens": {"csrftoken": "c5rf+\\"}}}
    second = {"batchcomplete": True, "query": {"pages": [revision("A", 9, "a"), revision("B", 8, "b")]}}
    api.on([first, second], action="query", prop="revisions")
    wiki = scripted_wiki(api, monkeypatch)
    got = wiki.read_many(["A", "B"])
    assert (got["A"].revid, got["B"].revid) == (9, 8)  # type: ignore[union-attr]
    reads = api.sent(prop="revisions")
    assert reads[0]["meta"] == "tokens" and "rvcontinue" not in reads[0]
    assert (reads[1]["rvcontinue"], reads[1]["continue"]) == ("2|8", "||")
    # the token came with the read: a save needs no request for it
    api.on({"edit": {"result": "Success", "pageid": 1, "title": "A", "newrevid": 10}}, action="edit")
    api.on({"batchcomplete": True, "query": {"pages": [revision("A", 10, "new")]}}, action="query", revids=10)
    saved = wiki.save("A", "new", summary="s", base=got["A"])
    assert saved.revid == 10 and edit_token_requests(api) == []
    assert api.sent(action="edit")[0]["token"] == "c5rf+\\"
    wiki.read("A")
    assert "meta" not in api.sent(prop="revisions")[-1]  # the token is known


@pytest.mark.parametrize(
    ("answers", "what"),
    [
        ([{"continue": {"rvcontinue": "1"}, "query": {"pages": [{"title": "A", "ns": 0}]}}], "repeat"),
        ([{"continue": {"rvcontinue": str(n)}, "query": {"pages": [{"title": "A", "ns": 0}]}} for n in range(5)], "idle"),
        ([{"continue": "more", "query": {"pages": [{"title": "A", "ns": 0}]}}], "shape"),
    ],
    ids=["same-continue", "nothing-new", "continue-not-object"],
)
def test_continuation_that_makes_no_progress_is_an_error(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, answers: list, what: str) -> None:  # type: ignore[type-arg]
    api.on(answers, action="query", prop="revisions")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").read("A")
    if what == "shape":
        assert error.value.message == "wiki ops answered the pages in an unexpected shape (TypeError: continue is a str)"
        return
    assert error.value.message == "wiki ops keeps answering 'continue' for the pages without new results"
    assert error.value.hint == "the wiki's API is misbehaving; try later, or draft from a saved page with --input sal=FILE"
    # the first answer brought A; a repeated continuation fails at once, idle ones after three
    assert len(api.sent(prop="revisions")) == (2 if what == "repeat" else 4)


@pytest.mark.parametrize(
    ("prefix", "namespace", "rest"),
    [
        ("Incidents/", 0, "Incidents/"),
        ("Template:IR", 10, "IR"),  # the canonical name
        ("vorlage: IR", 10, "IR"),  # the local name, any case, spaces after the colon
        ("project_page:_Sal", 4, "Sal"),  # an alias, written with underscores
        (":Template:IR", 0, "Template:IR"),  # a leading colon: the main namespace
        ("Nowhere:IR", 0, "Nowhere:IR"),  # not a namespace
        ("XXXX:IR", 0, "XXXX:IR"),  # nor is a name no namespace has (Ops has no canonical name)
        ("Template:XIR", 10, "XIR"),
        ("Template:Sub:Page", 10, "Sub:Page"),  # the namespace is before the first colon
    ],
    ids=["main", "canonical", "local", "alias", "colon", "not-namespace", "no-canonical", "letters-kept", "two-colons"],
)
def test_list_prefix_resolves_the_namespace(
    api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, prefix: str, namespace: int, rest: str
) -> None:
    api.on({"batchcomplete": True, "query": {"allpages": [{"pageid": 1, "ns": namespace, "title": "T1"}]}}, list="allpages")
    assert scripted_wiki(api, monkeypatch, user="").list_prefix(prefix) == ["T1"]
    assert api.sent(list="allpages") == [
        {"action": "query", "list": "allpages", "apnamespace": str(namespace), "apprefix": rest, "aplimit": "max"}
    ]
    assert api.methods[-1] == "GET"


def test_listings_follow_continuation_without_repeating_titles(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [
        {"continue": {"apcontinue": "C", "continue": "-||"}, "query": {"allpages": [{"title": "A"}, {"title": "B"}]}},
        {"continue": {"apcontinue": "D", "continue": "-||"}, "query": {"allpages": [{"title": "B"}, {"title": "C"}]}},
        {"batchcomplete": True, "query": {"allpages": [{"title": "D"}]}},
    ]
    api.on(answers, list="allpages")
    wiki = scripted_wiki(api, monkeypatch, user="")
    wiki.list_limit = 5000
    assert wiki.list_prefix("Incidents/") == ["A", "B", "C", "D"]
    assert [r.get("apcontinue") for r in api.sent(list="allpages")] == [None, "C", "D"]
    assert api.sent(list="allpages")[0]["aplimit"] == "5000"


@pytest.mark.parametrize(
    ("name", "title"),
    [("Incident documentation", "Kategorie:Incident documentation"), ("Category:Incidents", "Kategorie:Incidents"),
     ("Kategorie:Incidents", "Kategorie:Incidents"), ("Template:X", "Kategorie:Template:X")],
    ids=["bare", "canonical", "local", "other-namespace"],
)
def test_list_category_uses_the_wikis_own_namespace_name(
    api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, name: str, title: str
) -> None:
    api.on({"batchcomplete": True, "query": {"categorymembers": [{"ns": 0, "title": "Incidents/x"}]}}, list="categorymembers")
    assert scripted_wiki(api, monkeypatch, user="").list_category(name) == ["Incidents/x"]
    assert api.sent(list="categorymembers") == [
        {"action": "query", "list": "categorymembers", "cmtitle": title, "cmtype": "page", "cmprop": "title", "cmlimit": "max"}
    ]


def test_list_category_on_a_wiki_without_a_category_namespace_name(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = {"batchcomplete": True, "query": {"general": {}, "namespaces": {"0": {"id": 0, "name": ""}}}}
    api.on(bare, action="query", meta="siteinfo")
    api.on({"batchcomplete": True, "query": {"categorymembers": []}}, list="categorymembers")
    wiki = scripted_wiki(api, monkeypatch, user="")
    assert wiki.list_category("Incidents") == []
    assert api.sent(list="categorymembers")[0]["cmtitle"] == "Category:Incidents"
    assert wiki.check() == f"MediaWiki at {api.url}, anonymous"  # no generator named


def test_a_listing_of_the_wrong_shape_names_what_was_listed(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on({"batchcomplete": True, "query": {"pages": []}}, list="allpages")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("Incidents/")
    assert error.value.message == "wiki ops answered the pages starting with 'Incidents/' in an unexpected shape (KeyError: 'allpages')"


BASE = PageText(title="A", text="old", revid=9, timestamp=datetime(2026, 11, 20, 14, 0, 5, tzinfo=UTC))


def saving(api: ScriptedApi, edit: Any) -> None:
    api.on(edit, action="edit")
    api.on({"batchcomplete": True, "query": {"pages": [revision("A", 10, "new", "2026-11-20T15:00:00Z")]}}, action="query", revids=10)
    api.on({"batchcomplete": True, "query": {"pages": [revision("A", 9, "old")]}}, action="query", titles="A")


def test_a_save_sends_the_base_revision_and_reads_the_new_one_back(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    saving(api, {"edit": {"result": "Success", "pageid": 1, "title": "A", "contentmodel": "wikitext", "oldrevid": 9, "newrevid": 10}})
    wiki = scripted_wiki(api, monkeypatch)
    saved = wiki.save("A", "new", summary="update", base=BASE)
    assert saved == PageText(title="A", text="new", revid=10, timestamp=datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
    edit = api.sent(action="edit")
    assert edit == [{
        "action": "edit", "title": "A", "text": "new", "summary": "update", "assert": "user", "baserevid": "9",
        "starttimestamp": "2026-11-20T14:00:05Z", "nocreate": "1", "token": "c5rf+\\",
    }]
    assert list(api.requests[-2])[-1] == "token"  # the token is sent last
    assert api.sent(revids=10) == [{"action": "query", "prop": "revisions", "rvprop": "content|ids|timestamp", "rvslots": "main", "revids": "10"}]
    assert len(edit_token_requests(api)) == 1  # the login's read had no page: one request for the token


def test_a_new_page_is_only_created_and_an_unchanged_save_reads_the_current_revision(
    api: ScriptedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    saving(api, [
        {"edit": {"result": "Success", "pageid": 1, "title": "A", "new": True, "newrevid": 10}},
        {"edit": {"result": "Success", "pageid": 1, "title": "A", "nochange": True}},
    ])
    wiki = scripted_wiki(api, monkeypatch)
    assert wiki.save("A", "new", summary="s", base=None).revid == 10
    assert api.sent(action="edit")[0]["createonly"] == "1" and "baserevid" not in api.sent(action="edit")[0]
    assert wiki.save("A", "old", summary="s", base=BASE).revid == 9  # nothing new: the current revision
    assert api.sent(titles="A") == [{"action": "query", "prop": "revisions", "rvprop": "content|ids|timestamp", "rvslots": "main", "titles": "A"}]


def test_saving_needs_a_login(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch, user="").save("A", "x", summary="s", base=None)
    assert error.value.message == "cannot save 'A' to wiki ops without logging in"
    assert error.value.hint == "set wikis.ops.user and put its bot password in $SCRIPTED_WIKI_PASSWORD"
    assert api.sent(action="edit") == []
    with pytest.raises(PublishError) as upload:
        scripted_wiki(api, monkeypatch, user="").upload("a.svg", b"<svg/>", comment="c", text="t")
    assert upload.value.message == "cannot upload 'a.svg' to wiki ops without logging in"
    assert upload.value.hint == error.value.hint


RIGHTS = "check the bot's rights: the grants of its bot password and the groups of its user"


@pytest.mark.parametrize(
    ("code", "kind", "message", "hint"),
    [
        ("editconflict", ConflictError,
         "edit conflict: 'A' on wiki ops was changed by someone else since revision 9 was read; nothing was saved",
         "read the page again and redo the change on top of the other edit (publish again)"),
        ("articleexists", ConflictError, "page 'A' on wiki ops already exists; refusing to overwrite it blindly; nothing was saved",
         "read the page first and save with it as the base, or choose another title"),
        ("missingtitle", ConflictError, "page 'A' on wiki ops was deleted since it was read; nothing was saved",
         "check the page's deletion log; publish again to create it anew"),
        ("pagedeleted", ConflictError, "page 'A' on wiki ops was deleted since it was read; nothing was saved",
         "check the page's deletion log; publish again to create it anew"),
        ("protectedpage", PublishError, "wiki ops refused to save 'A': This page has been protected. (protectedpage)", RIGHTS),
        ("blocked", PublishError, "wiki ops refused to save 'A': This page has been protected. (blocked)", RIGHTS),
        ("spamblacklist", PublishError, "wiki ops refused to save 'A': This page has been protected. (spamblacklist)",
         "see the API error code in the MediaWiki API documentation"),
    ],
    ids=["conflict", "exists", "missing", "deleted", "protected", "blocked", "other"],
)
def test_refused_edits(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, code: str, kind: type, message: str, hint: str) -> None:
    saving(api, {"error": {"code": code, "info": "This page has been protected."}})
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert type(error.value) is kind
    assert (error.value.message, error.value.hint) == (message, hint)
    assert len(api.sent(action="edit")) == 1  # never retried


def test_an_edit_conflict_on_a_new_page_names_no_revision(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    saving(api, {"error": {"code": "editconflict", "info": "Edit conflict."}})
    with pytest.raises(ConflictError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=None)
    assert "since revision ? was read" in error.value.message


def test_an_edit_an_extension_refused(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    saving(api, {"edit": {"result": "Failure", "title": "A", "captcha": {"type": "image"}, "abusefilter": 3}})
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert error.value.message == "wiki ops did not save 'A': Failure (abusefilter, captcha)"
    assert error.value.hint == "an extension (captcha, spam or abuse filter) refused the edit; " + RIGHTS
    saving(api, {"edit": {}})
    with pytest.raises(PublishError) as empty:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert empty.value.message == "wiki ops did not save 'A': no result ()"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"edit": ["Success"]}, "wiki ops answered the edit in an unexpected shape (TypeError: edit is a list)"),
        ({"edit": {"result": "Success"}}, "wiki ops answered the edit in an unexpected shape (KeyError: 'newrevid')"),
        ({"edit": {"result": "Success", "newrevid": 11}}, "wiki ops saved 'A' but cannot read it back"),
    ],
    ids=["edit-list", "no-revid", "no-read-back"],
)
def test_an_edit_answered_in_an_odd_shape(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, edit: dict, message: str) -> None:  # type: ignore[type-arg]
    saving(api, edit)
    api.on({"batchcomplete": True, "query": {"badrevids": {"11": {"revid": 11, "missing": True}}}}, action="query", revids=11)
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert error.value.message == message


def test_reading_back_a_save(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    saving(api, {"edit": {"result": "Success", "newrevid": 10}})
    api.on({"error": {"code": "permissiondenied", "info": "No."}}, action="query", revids=10)
    with pytest.raises(PublishError) as refused:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert refused.value.message == "wiki ops refused to read back: No. (permissiondenied)"
    api.on({"batchcomplete": True, "query": {"pages": [{"title": "A", "revisions": [{"revid": 10}]}]}}, action="query", revids=10)
    with pytest.raises(PublishError) as hidden:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert (hidden.value.message, hidden.value.hint) == ("the text of 'A' revision 10 on wiki ops is hidden", RIGHTS)
    api.on({"batchcomplete": True, "query": {"pages": [{"revisions": []}]}}, action="query", revids=10)
    with pytest.raises(PublishError) as untitled:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert untitled.value.message == "wiki ops answered the saved revision in an unexpected shape (KeyError: 'title')"


def test_a_stale_token_is_renewed_once(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"error": {"code": "badtoken", "info": "Invalid CSRF token."}}
    saving(api, [bad, {"edit": {"result": "Success", "newrevid": 10}}])
    assert scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE).revid == 10
    assert len(api.sent(action="edit")) == 2 and len(edit_token_requests(api)) == 2
    saving(api, bad)
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert error.value.message == "wiki ops refused to save 'A': Invalid CSRF token. (badtoken)"
    assert len(api.sent(action="edit")) == 4


@pytest.mark.parametrize("code", ["assertuserfailed", "assertbotfailed"])
def test_a_login_the_wiki_ended_is_redone_once(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    ended = {"error": {"code": code, "info": "You are no longer logged in."}}
    saving(api, [ended, {"edit": {"result": "Success", "newrevid": 10}}])
    wiki = scripted_wiki(api, monkeypatch)
    assert wiki.save("A", "new", summary="s", base=BASE).revid == 10
    assert [p["action"] for p in api.requests] == ["query", "login", "query", "edit", "query", "login", "query", "edit", "query"]
    assert api.requests[4]["type"] == "login" and wiki.logged_in
    relogin = {k: v for k, v in api.requests[5].items() if k not in ("format", "formatversion")}
    assert relogin == {"action": "login", "lgname": "Reporter@incidentkit", "lgpassword": API_PASSWORD, "lgtoken": "l0gin+\\"}
    saving(api, ended)
    with pytest.raises(PublishError) as again:  # ended again right after the new login
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert again.value.message == (
        "wiki ops ended the login of Reporter@incidentkit again right after it logged in anew, while saving 'A'; nothing was saved"
    )
    assert again.value.hint == (
        "the wiki does not keep the login session (check its session and cookie settings), "
        "or the bot password lacks the grants to edit; " + RIGHTS
    )


def test_a_login_ended_when_the_password_is_gone_or_refused(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    saving(api, {"error": {"code": "assertuserfailed", "info": "You are no longer logged in."}})
    wiki = scripted_wiki(api, monkeypatch)
    wiki.check()
    monkeypatch.delenv("SCRIPTED_WIKI_PASSWORD")
    with pytest.raises(PublishError) as gone:
        wiki.save("A", "new", summary="s", base=BASE)
    assert gone.value.message == "wiki ops ended the login of Reporter@incidentkit and $SCRIPTED_WIKI_PASSWORD is no longer set"
    assert gone.value.hint == "put the bot password of Reporter@incidentkit in $SCRIPTED_WIKI_PASSWORD"
    assert not wiki.logged_in
    api.on({"error": {"code": "ratelimited", "info": "Slow down."}}, action="query", meta="tokens", type="login")
    with pytest.raises(PublishError) as refused:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert refused.value.message == "wiki ops refused to log Reporter@incidentkit in again: Slow down. (ratelimited)"
    assert refused.value.hint == RIGHTS


def test_uploads(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on([
        {"upload": {"result": "Success", "filename": "Chart.svg"}},
        {"error": {"code": "fileexists-no-change", "info": "The upload is an exact duplicate."}},
    ], action="upload")
    wiki = scripted_wiki(api, monkeypatch)
    assert wiki.upload("Chart.svg", b"<svg/>", comment="chart", text="== Summary ==") is True
    sent = api.sent(action="upload")[0]
    assert sent == {"action": "upload", "filename": "Chart.svg", "comment": "chart", "text": "== Summary ==",
                    "ignorewarnings": "1", "token": "c5rf+\\"}
    assert api.methods[-1] == "POST" and api.files == [("file", "Chart.svg", b"<svg/>")]
    assert wiki.upload("Chart.svg", b"<svg/>", comment="chart", text="") is False  # identical: nothing new
    assert len(edit_token_requests(api)) == 1


def test_an_upload_with_a_stale_token_is_tried_once_more(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"error": {"code": "badtoken", "info": "Invalid CSRF token."}}
    api.on([bad, {"upload": {"result": "Success"}}], action="upload")
    assert scripted_wiki(api, monkeypatch).upload("C.svg", b"x", comment="c", text="t") is True
    assert len(edit_token_requests(api)) == 2
    api.on(bad, action="upload")
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).upload("C.svg", b"x", comment="c", text="t")
    assert error.value.message == "wiki ops refused to upload 'C.svg': Invalid CSRF token. (badtoken)"
    assert error.value.hint == "enable uploads ($wgEnableUploads, the file type in $wgFileExtensions) and the bot's upload grant"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"upload": {"result": "Warning", "warnings": {"badfilename": "x"}}}, "wiki ops did not upload 'C.svg': Warning"),
        ({"upload": {"result": "W" * 100}}, "wiki ops did not upload 'C.svg': " + "W" * 80),
        ({"upload": None}, "wiki ops did not upload 'C.svg': no result"),
        ({"upload": ["Success"]}, "wiki ops answered the upload in an unexpected shape (AttributeError: 'list' object has no attribute 'get')"),
        ({"batchcomplete": True, "query": {"tokens": []}}, "wiki ops answered the edit token in an unexpected shape (TypeError: list indices must be integers or slices, not str)"),
    ],
    ids=["warning", "long-result", "no-result", "upload-list", "token-shape"],
)
def test_odd_upload_answers(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, answer: dict, message: str) -> None:  # type: ignore[type-arg]
    if "query" in answer:
        api.on(answer, action="query", meta="tokens")
    else:
        api.on(answer, action="upload")
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).upload("C.svg", b"x", comment="c", text="t")
    assert error.value.message == message


def test_render_html_uses_the_wikis_parser(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on({"parse": {"title": "A", "pageid": 0, "text": "<div class=\"mw-parser-output\"><p>x</p></div>"}}, action="parse")
    assert scripted_wiki(api, monkeypatch, user="").render_html("x", "A") == "<div class=\"mw-parser-output\"><p>x</p></div>"
    assert api.sent(action="parse") == [{"action": "parse", "text": "x", "title": "A", "contentmodel": "wikitext", "prop": "text", "disablelimitreport": "1"}]
    assert api.methods[-1] == "POST"
    api.on({"error": {"code": "invalidtitle", "info": "Bad title \"\"."}}, action="parse")
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch, user="").render_html("x", "")
    assert (error.value.message, error.value.hint) == ("wiki ops refused parse: Bad title \"\". (invalidtitle)", RIGHTS)
    api.on({"parse": {}}, action="parse")
    with pytest.raises(PublishError) as shape:
        scripted_wiki(api, monkeypatch, user="").render_html("x", "A")
    assert shape.value.message == "wiki ops answered the parse in an unexpected shape (KeyError: 'text')"


def test_a_short_retry_after_is_waited_for(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on([Response("{}", status=429, headers={"Retry-After": "0"}), {"batchcomplete": True, "query": {"allpages": []}}], list="allpages")
    assert scripted_wiki(api, monkeypatch, user="").list_prefix("A") == []
    assert len(api.sent(list="allpages")) == 2
    api.on(Response("{}", status=429, headers={"Retry-After": "0"}), list="allpages")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert error.value.message == f"wiki ops at {api.url} answered HTTP 429; it asked to wait 0 s"
    assert len(api.sent(list="allpages")) == 2 + 3  # the first try and two more


def test_a_wiki_echoing_the_password_does_not_show_it(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on({"login": {"result": "Failed", "reason": f"Incorrect password {API_PASSWORD}"}}, action="login")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch).check()
    assert error.value.message == "login to wiki ops refused for user Reporter@incidentkit: Incorrect password <redacted>"
    assert error.value.args == (error.value.message,)
    api.on({"login": {"result": "Success"}}, action="login")
    api.on({"error": {"code": f"c-{API_PASSWORD}", "info": f"echo {API_PASSWORD}"}}, action="parse")
    with pytest.raises(PublishError) as parse_error:
        scripted_wiki(api, monkeypatch).render_html("x", "A")
    assert parse_error.value.message == "wiki ops refused parse: echo <redacted> (c-<redacted>)"
    # the cause, which --debug prints with the traceback, is scrubbed too
    assert str(parse_error.value.__cause__) == "c-<redacted>: echo <redacted>"


@pytest.mark.parametrize(
    ("wiki_url", "title", "expected"),
    [
        ("https://wikitech.wikimedia.org/w/api.php", "Incidents/2026-11-20 Checkout",
         "https://wikitech.wikimedia.org/w/index.php?title=Incidents/2026-11-20_Checkout"),
        ("https://wikitech.wikimedia.org/w/", "Help:A&B?c=d#e", "https://wikitech.wikimedia.org/w/index.php?title=Help:A%26B%3Fc%3Dd%23e"),
        ("http://127.0.0.1:8080", "Ünïcode", "http://127.0.0.1:8080/index.php?title=%C3%9Cn%C3%AFcode"),
        ("https://example.org/WIKIX/", "A", "https://example.org/WIKIX/index.php?title=A"),
    ],
    ids=["api-php", "script-path", "no-path", "path-ending-in-a-letter"],
)
def test_page_url(wiki_url: str, title: str, expected: str) -> None:
    assert page_url(wiki_url, title) == expected


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (requests.exceptions.ConnectTimeout("HTTPConnectionPool: Max retries exceeded"), "timed out"),
        (requests.exceptions.ConnectionError("Read timed out. (read timeout=5)"), "timed out"),
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), "connection refused"),
        (requests.exceptions.ConnectionError("[Errno -2] Name or service not known"), "host name not found"),
        (requests.exceptions.ConnectionError("nodename nor servname provided, or not known"), "host name not found"),
        (requests.exceptions.ConnectionError("Failed to resolve 'wiki.invalid'"), "host name not found"),
        (requests.exceptions.ConnectionError("Connection aborted."), "ConnectionError"),
    ],
    ids=["timeout", "timed-out-text", "refused", "linux-dns", "mac-dns", "urllib3-dns", "other"],
)
def test_why_a_wiki_is_unreachable(exc: Exception, reason: str) -> None:
    assert _reason(exc) == reason


def test_a_wiki_redirecting_in_a_loop(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    httpserver.expect_request("/w/api.php").respond_with_response(Response("", status=302, headers={"Location": "/w/api.php"}))
    wiki = MwclientWiki("ops", WikiSettings(url=httpserver.url_for("/w/"), timeout=5))
    with pytest.raises(SourceError) as error:
        wiki.check()
    assert (error.value.message, error.value.hint) == (f"wiki ops at {wiki.url} redirects in a loop", URL_HINT)


def test_a_database_error_is_retried(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = {"error": {"code": "internal_api_error_DBQueryError", "info": "A database query error has occurred."}}
    monkeypatch.setattr("incidentkit.clients.mediawiki.RETRY_SECONDS", 0.01)
    api.on([failed, {"batchcomplete": True, "query": {"allpages": [{"title": "A"}]}}], list="allpages")
    assert scripted_wiki(api, monkeypatch, user="").list_prefix("A") == ["A"]
    api.on(failed, list="allpages")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert error.value.message == "wiki ops refused query: A database query error has occurred. (internal_api_error_DBQueryError)"
    assert len(api.sent(list="allpages")) == 2 + 3
    api.on(failed, action="edit")
    with pytest.raises(PublishError):
        scripted_wiki(api, monkeypatch).save("A", "x", summary="s", base=None)
    assert len(api.sent(action="edit")) == 1  # an edit is never sent twice


def test_server_errors_are_retried_twice(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("incidentkit.clients.mediawiki.RETRY_SECONDS", 0.01)
    down = Response("<html>503 Service Unavailable</html>", status=503)
    api.on([down, down, {"batchcomplete": True, "query": {"allpages": [{"title": "A"}]}}], list="allpages")
    assert scripted_wiki(api, monkeypatch, user="").list_prefix("A") == ["A"]
    api.on(down, list="allpages")
    wiki = scripted_wiki(api, monkeypatch, user="")
    with pytest.raises(SourceError) as error:
        wiki.list_prefix("A")
    assert (error.value.message, error.value.hint) == (f"wiki ops at {api.url} answered HTTP 503", URL_HINT)
    assert len(api.sent(list="allpages")) == 3 + 3 and wiki.request_count == 1 + 3


def test_a_lagging_database_is_waited_for_twice(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("incidentkit.clients.mediawiki.RETRY_SECONDS", 0.01)
    lagging = Response('{"error": {"code": "maxlag"}}', headers={"X-Database-Lag": "7", "Retry-After": "0"})
    api.on(lagging, list="allpages")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert error.value.message == f"wiki ops at {api.url} is unreachable: it kept failing after 2 retries"
    assert error.value.hint == "try again later"
    assert len(api.sent(list="allpages")) == 3
    api.on(Response("{}", headers={"X-Database-Lag": "7", "Retry-After": "soon"}), list="allpages")
    with pytest.raises(SourceError) as odd:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert (odd.value.message, odd.value.hint) == (f"{api.url} (wiki ops) does not answer like a MediaWiki API", URL_HINT)


def test_a_429_without_a_delay_is_not_retried(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on(Response("{}", status=429), list="allpages")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert error.value.message == f"wiki ops at {api.url} answered HTTP 429"
    assert error.value.hint == "the wiki is rate limiting incidentkit; try again later"
    assert len(api.sent(list="allpages")) == 1


def test_waits_and_answers_beyond_the_budget(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on(Response("{}", status=429, headers={"Retry-After": "5"}), list="allpages")
    wiki = scripted_wiki(api, monkeypatch, user="")
    with budget(1), pytest.raises(SourceError) as waiting:
        wiki.list_prefix("A")
    assert waiting.value.message == f"wiki ops at {api.url}: rate limited (HTTP 429): asked to wait 5 s, past the 1 s deadline"
    assert waiting.value.hint == DEADLINE_HINT
    huge = {"batchcomplete": True, "query": {"allpages": [{"title": "x" * 2_000_000}]}}
    api.on(huge, list="allpages")
    with budget(None, max_bytes=1024 * 1024), pytest.raises(SourceError) as large:
        wiki.list_prefix("A")
    size = len(json.dumps(huge)) / (1024 * 1024)  # the Content-Length the server declares
    assert large.value.message == f"wiki ops at {api.url} answered {size:g} MB, more than the 1 MB limit"
    assert large.value.hint == SIZE_HINT


def test_requests_name_incidentkit(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_wiki(api, monkeypatch, user="").check()
    (agent,) = api.agents
    assert agent.startswith(USER_AGENT + " mwclient/")  # mwclient adds its own name after ours


def test_the_base_time_is_sent_in_utc_whatever_the_local_zone(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        saving(api, {"edit": {"result": "Success", "newrevid": 10}})
        base = PageText(title="A", text="old", revid=9, timestamp=datetime(2026, 11, 20, 16, 0, 5, tzinfo=timezone(timedelta(hours=2))))
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=base)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert api.sent(action="edit")[0]["starttimestamp"] == "2026-11-20T14:00:05Z"


def test_connect_wiki_picks_the_named_wiki_and_scrubs_every_configured_secret(
    api: ScriptedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "api-" + "t" * 28
    monkeypatch.setenv("SCRIPTED_CONDUIT_TOKEN", token)
    monkeypatch.setenv("SCRIPTED_WIKI_PASSWORD", API_PASSWORD)
    settings = Settings(
        wikis={"first": WikiSettings(url="http://127.0.0.1:9/"),
               "ops": WikiSettings(url=api.url, user="Reporter@incidentkit", password_env="SCRIPTED_WIKI_PASSWORD")},
        phabricator=PhabricatorSettings(token_env="SCRIPTED_CONDUIT_TOKEN"),
    )
    wiki = connect_wiki(settings, "ops")
    assert wiki.name == "ops" and wiki.url == api.url
    api.on({"error": {"code": "badvalue", "info": f"you sent {token} and {API_PASSWORD}"}}, action="parse")
    with pytest.raises(PublishError) as error:
        wiki.render_html("x", "A")
    assert error.value.message == "wiki ops refused parse: you sent <redacted> and <redacted> (badvalue)"
    assert connect_wiki(settings).name == "first"


def test_answers_with_lone_surrogates_are_counted(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on({"batchcomplete": True, "query": {"allpages": [{"title": "A\ud800"}, {"title": "B\udfff"}]}}, list="allpages")
    wiki = scripted_wiki(api, monkeypatch, user="")
    assert wiki.replaced == 0
    assert wiki.list_prefix("A") == ["A\ufffd", "B\ufffd"] and wiki.replaced == 2
    wiki.list_prefix("A")
    assert wiki.replaced == 4


def test_render_html_connects_first(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on({"error": {"code": "mwoauth-invalid", "info": "No such consumer"}}, action="query", meta="siteinfo")
    with pytest.raises(PublishError) as refused:
        scripted_wiki(api, monkeypatch, user="").render_html("x", "A")
    assert refused.value.message == f"wiki ops at {api.url} refused to connect: No such consumer (mwoauth-invalid)"


def test_a_database_error_retried_past_the_budget(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("incidentkit.clients.mediawiki.RETRY_SECONDS", 0.2)
    api.on({"error": {"code": "internal_api_error_DBConnectionError", "info": "Cannot access the database."}}, list="allpages")
    wiki = scripted_wiki(api, monkeypatch, user="")
    with budget(0.5), pytest.raises(SourceError) as error:
        wiki.list_prefix("A")  # waits 0.2 s, then would wait 0.4 s
    assert error.value.message == (
        f"wiki ops at {api.url}: the wiki's database failed: asked to wait 0.4 s, past the 0.5 s deadline"
    )
    assert len(api.sent(list="allpages")) == 2


def test_server_errors_retried_past_the_budget(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("incidentkit.clients.mediawiki.RETRY_SECONDS", 0.2)
    api.on(Response("<html>503</html>", status=503), list="allpages")
    wiki = scripted_wiki(api, monkeypatch, user="")
    with budget(0.5), pytest.raises(SourceError) as error:
        wiki.list_prefix("A")  # waits 0.2 s, then would wait 0.4 s
    assert error.value.message == f"wiki ops at {api.url} the wiki kept failing: asked to wait 0.4 s, past the 0.5 s deadline"
    assert error.value.hint == DEADLINE_HINT
    assert len(api.sent(list="allpages")) == 2


def test_a_retry_after_of_exactly_the_longest_wait_is_waited_for(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on(Response("{}", status=429, headers={"Retry-After": "60"}), list="allpages")
    with budget(1), pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert error.value.message == f"wiki ops at {api.url}: rate limited (HTTP 429): asked to wait 60 s, past the 1 s deadline"


def test_an_answer_that_cannot_be_decoded(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on(Response(b"not gzip at all", headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}), list="allpages")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert (error.value.message, error.value.hint) == (
        f"wiki ops at {api.url}: the request failed (ContentDecodingError)", URL_HINT
    )


@pytest.mark.parametrize("request_kind", ["token", "edit", "read-back"])
def test_a_save_whose_requests_fail(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, request_kind: str) -> None:
    saving(api, {"edit": {"result": "Success", "newrevid": 10}})
    match = {"token": {"action": "query", "meta": "tokens"}, "edit": {"action": "edit"}, "read-back": {"revids": 10}}
    api.on(Response("{}", status=404), **match[request_kind])
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert error.value.message == f"wiki ops at {api.url} answered HTTP 404"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"batchcomplete": True, "query": {"tokens": {}}}, "wiki ops answered the edit token in an unexpected shape (KeyError: 'csrftoken')"),
        ({"batchcomplete": True}, "wiki ops answered the edit token in an unexpected shape (KeyError: 'query')"),
    ],
    ids=["no-csrf", "no-query"],
)
def test_a_save_with_an_odd_token_answer(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, answer: dict, message: str) -> None:  # type: ignore[type-arg]
    saving(api, {"edit": {"result": "Success", "newrevid": 10}})
    api.on(answer, action="query", meta="tokens")
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert error.value.message == message


def test_an_edit_answer_without_an_edit(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    saving(api, {"warnings": {"main": "Unrecognized parameter"}})
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert error.value.message == "wiki ops did not save 'A': no result ()"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"batchcomplete": True}, "wiki ops saved 'A' but cannot read it back"),
        ({"batchcomplete": True, "query": {}}, "wiki ops saved 'A' but cannot read it back"),
        ({"query": {"pages": [{"title": "A", "invalid": True}]}}, "'A' is not a valid page title on wiki ops: invalid title"),
        ({"query": {"pages": [{"invalid": True}]}}, "'' is not a valid page title on wiki ops: invalid title"),
    ],
    ids=["no-query", "no-pages", "invalid", "invalid-untitled"],
)
def test_odd_read_back_answers(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, answer: dict, message: str) -> None:  # type: ignore[type-arg]
    saving(api, {"edit": {"result": "Success", "newrevid": 10}})
    api.on(answer, action="query", revids=10)
    with pytest.raises(PublishError) as error:
        scripted_wiki(api, monkeypatch).save("A", "new", summary="s", base=BASE)
    assert error.value.message == message


def test_a_login_answer_of_the_wrong_shape(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on({"login": "Success"}, action="login")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch).check()
    assert error.value.message == "wiki ops answered the login in an unexpected shape (AttributeError: 'str' object has no attribute 'get')"
    api.on({"batchcomplete": True}, action="login")
    with pytest.raises(SourceError) as empty:
        scripted_wiki(api, monkeypatch).check()
    assert empty.value.message == "login to wiki ops refused for user Reporter@incidentkit: no reason given"
    api.on(Response("{}", status=404), action="login")
    with pytest.raises(SourceError) as missing:
        scripted_wiki(api, monkeypatch).check()
    assert missing.value.message == f"wiki ops at {api.url} answered HTTP 404"


@pytest.mark.parametrize(
    ("answer", "match", "message"),
    [
        ({"login": {"result": "Failed", "reason": {"code": "wrongpassword"}}}, {"action": "login"},
         "login to wiki ops refused for user Reporter@incidentkit: wrongpassword"),
        ({"batchcomplete": True, "query": {"tokens": {}}}, {"action": "query", "meta": "tokens", "type": "login"},
         "wiki ops answered the login token in an unexpected shape (KeyError: 'logintoken')"),
        (Response("{}", status=404), {"action": "query", "meta": "tokens", "type": "login"}, "wiki ops at {url} answered HTTP 404"),
    ],
    ids=["refused", "token-shape", "token-404"],
)
def test_a_new_login_that_fails(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, answer: Any, match: dict, message: str) -> None:  # type: ignore[type-arg]
    saving(api, {"error": {"code": "assertuserfailed", "info": "You are no longer logged in."}})
    wiki = scripted_wiki(api, monkeypatch)
    wiki.check()
    api.on(answer, **match)
    with pytest.raises(PublishError) as refused:
        wiki.save("A", "new", summary="s", base=BASE)
    assert refused.value.message == message.format(url=api.url)


def test_the_secrets_given_stay_secret_after_the_password_is_read(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    other = "other-secret-" + "s" * 20
    monkeypatch.setenv("SCRIPTED_WIKI_PASSWORD", API_PASSWORD)
    wiki = MwclientWiki("ops", WikiSettings(url=api.url, user="R@x", password_env="SCRIPTED_WIKI_PASSWORD"), secrets=(other,))
    api.on({"error": {"code": "badvalue", "info": f"{other} {API_PASSWORD}"}}, action="parse")
    with pytest.raises(PublishError) as error:
        wiki.render_html("x", "A")
    assert error.value.message == "wiki ops refused parse: <redacted> <redacted> (badvalue)"


@pytest.mark.parametrize(
    ("answers", "requests_sent"),
    [
        # the first answer already brings nothing: three such answers in a row are refused
        ([{"continue": {"rvcontinue": str(n)}, "query": {"pages": []}} for n in range(5)], 3),
        # the same page with the same revisions again is nothing new
        ([{"continue": {"rvcontinue": str(n)}, "query": {"pages": [revision("A", 1, "a")]}} for n in range(6)], 4),
        # the same continuation written in another key order is the same continuation
        ([{"continue": {"rvcontinue": "1", "continue": "||"}, "query": {"pages": [{"title": "A", "ns": 0}]}},
          {"continue": {"continue": "||", "rvcontinue": "1"}, "query": {"pages": [revision("A", 1, "a")]}}], 2),
    ],
    ids=["idle-from-the-start", "same-revisions", "key-order"],
)
def test_more_continuation_without_progress(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch, answers: list, requests_sent: int) -> None:  # type: ignore[type-arg]
    api.on(answers, action="query", prop="revisions")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").read("A")
    assert error.value.message == "wiki ops keeps answering 'continue' for the pages without new results"
    assert len(api.sent(prop="revisions")) == requests_sent


def test_a_continuation_may_carry_no_query(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [
        {"continue": {"rvcontinue": "1"}, "query": {"pages": [{"title": "A", "ns": 0}]}},
        {"continue": {"rvcontinue": "2"}},
        {"continue": {"rvcontinue": "3"}, "query": {}},
        {"batchcomplete": True, "query": {"pages": [revision("A", 5, "a")]}},
    ]
    api.on(answers, action="query", prop="revisions")
    page = scripted_wiki(api, monkeypatch, user="").read("A")
    assert page is not None and page.revid == 5


def test_only_a_429_is_retried_after_its_delay(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.on(Response("{}", status=404, headers={"Retry-After": "0"}), list="allpages")
    with pytest.raises(SourceError) as error:
        scripted_wiki(api, monkeypatch, user="").list_prefix("A")
    assert error.value.message == f"wiki ops at {api.url} answered HTTP 404"
    assert len(api.sent(list="allpages")) == 1


def test_a_title_normalized_in_two_steps_is_followed_to_the_end(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    normalized = [{"from": "incidents/x", "to": "Incidents/x"}, {"from": "Incidents/x", "to": "Incidents/X"}]
    api.on({"batchcomplete": True, "query": {"normalized": normalized, "pages": [revision("Incidents/X", 3, "x")]}},
           action="query", prop="revisions")
    page = scripted_wiki(api, monkeypatch, user="").read("incidents/x")
    assert page is not None and page.title == "Incidents/X"
