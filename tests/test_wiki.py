"""Tests of incidentkit.clients.mediawiki: pure helpers, then the client against the real throwaway MediaWiki."""

from __future__ import annotations

import socket
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from incidentkit.clients.mediawiki import MwclientWiki, PageText, connect_wiki, html_errors, split_wiki_url
from incidentkit.config import load_settings
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
    with pytest.raises(ConfigError, match="wikis.ops.url"):
        split_wiki_url(url, name="ops")


def test_connect_wiki_bad_url_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_URL", "wikitech.wikimedia.org")
    with pytest.raises(ConfigError, match="wikis.ops.url"):
        connect_wiki(load_settings())


def test_page_text_needs_aware_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
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
