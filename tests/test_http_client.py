"""The shared JSON client (incidentkit.clients.http) against a local HTTP server: what each failure
says and which config key its hint names, the server's own error message, Retry-After values,
lone surrogates. Expected texts are written out by hand."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Response

from incidentkit.clients.budget import budget
from incidentkit.clients.http import USER_AGENT, get_json, loads, make_session, redact, retry_after
from incidentkit.errors import SourceError
from tests.servers._common import Stalled, free_port

SETTING = "[prometheus] url"


def refused(url: str, **kwargs: object) -> SourceError:
    with pytest.raises(SourceError) as caught:
        get_json(make_session(), url, source="prometheus", timeout=5, setting=SETTING, **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "the server refused access; check [prometheus] url and its credentials (user, password_env, token_env)"),
        (403, "the server refused access; check [prometheus] url and its credentials (user, password_env, token_env)"),
        (404, "[prometheus] url should be the server's base URL (e.g. http://host:9090), not an API path"),
        (429, "the server is rate limiting incidentkit; try again later"),
        (502, "the server is overloaded or restarting; try again, or narrow the window"),
        (503, "the server is overloaded or restarting; try again, or narrow the window"),
        (504, "the server is overloaded or restarting; try again, or narrow the window"),
        (400, "check [prometheus] url"),
        (402, "check [prometheus] url"),
        (405, "check [prometheus] url"),
        (430, "check [prometheus] url"),
        (500, "check [prometheus] url"),
        (505, "check [prometheus] url"),
    ],
)
def test_each_http_error_has_its_hint(httpserver: HTTPServer, status: int, hint: str) -> None:
    httpserver.expect_request("/api").respond_with_data("nope", status=status)
    error = refused(httpserver.url_for("/api"))
    assert error.message == f"prometheus: HTTP {status} from {httpserver.url_for('/api')}: nope"
    assert error.hint == hint


def test_the_servers_own_error_message_is_shown_on_one_line_without_secrets(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_request("/api").respond_with_json({"status": "error", "error": "bad\n  query   s3cret-token"}, status=400)
    assert refused(url, secrets=["s3cret-token"]).message == f"prometheus: HTTP 400 from {url}: bad query <redacted>"
    httpserver.clear()
    # JSON without an "error" is shown as it came; so is text that is not UTF-8, its bad bytes replaced
    httpserver.expect_request("/api").respond_with_data('{"status": "error"}', status=422)
    assert refused(url).message == f'prometheus: HTTP 422 from {url}: {{"status": "error"}}'
    httpserver.clear()
    httpserver.expect_request("/api").respond_with_data(b"caf\xe9 down", status=500)
    assert refused(url).message == f"prometheus: HTTP 500 from {url}: caf\ufffd down"


def test_an_error_with_an_empty_body_ends_at_the_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api").respond_with_data("", status=404)
    assert refused(httpserver.url_for("/api")).message == f"prometheus: HTTP 404 from {httpserver.url_for('/api')}"


def test_only_the_first_4096_bytes_of_an_error_body_are_read(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    body = '{"error": "' + "x" * (4097 - len('{"error": ""}')) + '"}'
    assert len(body) == 4097  # cut at 4096 bytes it is no JSON any more: shown as text, 200 characters of it
    httpserver.expect_request("/api").respond_with_data(body, status=400)
    assert refused(url).message == f"prometheus: HTTP 400 from {url}: " + body[:200]


def test_the_query_parameters_reach_the_server(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api", query_string={"query": "up"}).respond_with_data('{"ok": 1}')
    answer = get_json(make_session(), httpserver.url_for("/api"), {"query": "up"}, source="prometheus", timeout=5, setting=SETTING)
    assert (answer.value, answer.text, answer.replaced) == ({"ok": 1}, '{"ok": 1}', 0)


def test_a_server_that_does_not_answer_in_time(httpserver: HTTPServer, stalled: Stalled) -> None:
    httpserver.expect_request("/api").respond_with_handler(stalled("{}"))
    with pytest.raises(SourceError) as caught:
        get_json(make_session(), httpserver.url_for("/api"), source="prometheus", timeout=0.2, setting=SETTING)
    assert caught.value.message == f"prometheus: {httpserver.url_for('/api')} did not answer within 0.2 s"
    assert caught.value.hint == "raise the timeout in [prometheus] or narrow the window"


def test_a_redirect_loop_and_a_closed_port(httpserver: HTTPServer) -> None:
    loop = httpserver.url_for("/loop")
    httpserver.expect_request("/loop").respond_with_response(Response(status=302, headers={"Location": loop}))
    error = refused(loop)
    assert (error.message, error.hint) == (
        f"prometheus: {loop} redirects in a loop", "[prometheus] url should point at the API server itself"
    )  # fmt: skip
    port = free_port()
    error = refused(f"http://user:pw@127.0.0.1:{port}/api")
    assert (error.message, error.hint) == (
        f"prometheus: cannot connect to http://user:****@127.0.0.1:{port}/api",
        "is the server up and reachable? check [prometheus] url",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), (" 0.5 ", 0.5), ("-3", 0.0), ("nan", None), ("Wed, 21 Oct 2015 07:28:00 GMT", None), (None, None)],
)
def test_retry_after_values(header: str | None, seconds: float | None) -> None:
    response = requests.Response()
    if header is not None:
        response.headers["Retry-After"] = header
    assert retry_after(response) == seconds


def test_loads_replaces_lone_surrogates_and_counts_them() -> None:
    assert loads('{"a": "x\\ud800y"}') == ({"a": "x\ufffdy"}, 1)
    assert loads('{"a": "\\u00e9"}') == ({"a": "\u00e9"}, 0)
    assert loads(json.dumps(["plain"])) == (["plain"], 0)


def test_a_throttled_request_is_sent_again_once_after_the_wait_it_asked_for(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_ordered_request("/api", query_string={"query": "up"}).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request("/api", query_string={"query": "up"}).respond_with_data('{"ok": 2}')
    answer = get_json(make_session(), url, {"query": "up"}, source="prometheus", timeout=5, setting=SETTING)
    assert answer.value == {"ok": 2} and len(httpserver.log) == 2
    httpserver.check_assertions()


def test_a_request_throttled_again_after_the_wait_fails_with_what_the_server_asked(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_ordered_request("/api").respond_with_data("slow down", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request("/api").respond_with_data("still busy", status=503, headers={"Retry-After": "7"})
    error = refused(url)
    assert error.message == f"prometheus: HTTP 503 from {url} (it asked to wait 7 s): still busy"
    assert error.hint == "the server is rate limiting incidentkit; try again later"
    assert len(httpserver.log) == 2


def test_a_wait_longer_than_allowed_fails_at_once(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_request("/api").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    error = refused(url)
    assert error.message == f"prometheus: HTTP 429 from {url} (it asked to wait 3600 s)"
    assert error.hint == "the server is rate limiting incidentkit; try again later"
    assert len(httpserver.log) == 1


def test_the_session_says_who_it_is_what_it_accepts_and_its_credentials(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_request("/api").respond_with_data("{}")
    basic = "Basic " + base64.b64encode(b"alice:pw").decode()
    sessions = {
        "none": make_session(),
        "token": make_session(token="tok", user="alice", password="pw"),  # the token wins
        "basic": make_session(user="alice", password="pw"),
        "password alone": make_session(password="pw"),  # basic auth needs both
        "user alone": make_session(user="alice"),
    }
    sent = {}
    for name, session in sessions.items():
        get_json(session, url, source="prometheus", timeout=5, setting=SETTING)
        request = httpserver.log[-1][0]
        assert (request.headers["User-Agent"], request.headers["Accept"]) == (USER_AGENT, "application/json")
        sent[name] = request.headers.get("Authorization")
    assert sent == {"none": None, "token": "Bearer tok", "basic": basic, "password alone": None, "user alone": None}


SECRET = 'to ken/"<&>'  # a space, a slash and what HTML and JSON escape: each form differs


@pytest.mark.parametrize(
    "echoed",
    [
        pytest.param('to ken/"<&>', id="as-given"),
        pytest.param("to%20ken%2F%22%3C%26%3E", id="url-quoted"),
        pytest.param("to+ken%2F%22%3C%26%3E", id="form-quoted"),
        pytest.param("to ken/&quot;&lt;&amp;&gt;", id="html-escaped"),
        pytest.param('to ken/\\"<&>', id="json-escaped"),
    ],
)
def test_each_form_of_a_secret_a_server_echoes_is_redacted_whole(httpserver: HTTPServer, echoed: str) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_request("/api").respond_with_data(f"denied [{echoed}] for you", status=401)
    assert refused(url, secrets=[SECRET]).message == f"prometheus: HTTP 401 from {url}: denied [<redacted>] for you"


def test_an_echoed_authorization_value_is_redacted(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    basic = base64.b64encode(b"alice:hunter22").decode()
    httpserver.expect_request("/api").respond_with_data(f"bad header Basic {basic} here", status=401)
    assert refused(url).message == f"prometheus: HTTP 401 from {url}: bad header Basic <redacted> here"


def test_a_secret_inside_a_longer_secret_leaves_nothing_of_the_longer_one() -> None:
    # the shorter secret sorts after the longer one by text too: only the longest-first order redacts both whole
    secrets = ["s3cret-pass", "my-s3cret-pass-word"]
    assert redact("token my-s3cret-pass-word, password s3cret-pass", secrets) == "token <redacted>, password <redacted>"
    assert redact("token my-s3cret-pass-word", reversed(secrets)) == "token <redacted>"


def test_secrets_of_four_characters_are_redacted_shorter_ones_are_not() -> None:
    assert redact("pin 7f3k, code 9z1", ["7f3k", "9z1", None, ""]) == "pin <redacted>, code 9z1"


def test_a_request_over_the_size_cap_says_so_and_how_to_raise_it(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_request("/api").respond_with_data("x" * 1024 * 1024)
    with budget(None, max_bytes=512 * 1024):
        error = refused(url)
    assert error.message == f"prometheus: {url} answered 1 MB, more than the 0.5 MB limit"
    assert error.hint == "raise [draft] max_response_mb if the answer is legitimate, or narrow the window"


def test_a_throttle_wait_past_the_deadline_fails_at_once_saying_so(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api")
    # 60 s is the longest wait allowed: waited for when the deadline allows, here it does not
    httpserver.expect_request("/api").respond_with_data("busy", status=429, headers={"Retry-After": "60"})
    started = time.monotonic()
    with budget(2.0):
        error = refused(url)
    assert time.monotonic() - started < 1.5
    assert error.message == f"prometheus: {url} HTTP 429: asked to wait 60 s, past the 2 s deadline"
    assert error.hint == "the server is rate limiting incidentkit; try again later"
    assert len(httpserver.log) == 1


def test_the_request_after_a_throttle_has_the_same_timeout_source_and_setting(
    httpserver: HTTPServer, stalled: Stalled
) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_oneshot_request("/api").respond_with_data("", status=503, headers={"Retry-After": "0"})
    httpserver.expect_request("/api").respond_with_handler(stalled("{}"))
    with pytest.raises(SourceError) as caught:
        get_json(make_session(), url, source="alertmanager", timeout=0.2, setting="[alertmanager] url")
    assert caught.value.message == f"alertmanager: {url} did not answer within 0.2 s"
    assert caught.value.hint == "raise the timeout in [alertmanager] or narrow the window"


@pytest.mark.parametrize("status", [200, 500])
def test_retry_after_on_an_answer_that_is_no_throttle_is_not_waited_for(httpserver: HTTPServer, status: int) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_oneshot_request("/api").respond_with_data('"first"', status=status, headers={"Retry-After": "0"})
    httpserver.expect_request("/api").respond_with_data('"second"')
    if status == 200:
        answer = get_json(make_session(), url, source="prometheus", timeout=5, setting=SETTING)
        assert answer.value == "first"
    else:
        error = refused(url)
        assert (error.message, error.hint) == (f'prometheus: HTTP 500 from {url}: "first"', "check [prometheus] url")
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    "body", [pytest.param(b"<html>Sign in</html>", id="login-page"), pytest.param(b'{"a": "caf\xe9"}', id="not-utf8")]
)
def test_an_answer_that_is_not_json_names_the_setting_to_check(httpserver: HTTPServer, body: bytes) -> None:
    url = httpserver.url_for("/api")
    httpserver.expect_request("/api").respond_with_data(body)
    error = refused(url)
    assert error.message == f"prometheus: {url} did not return JSON"
    assert error.hint == "[prometheus] url should point at the API server itself, not a login page or proxy"


def test_a_url_without_a_scheme_fails_naming_what_went_wrong() -> None:
    error = refused("prometheus.example.org/api")
    assert error.message == "prometheus: request to prometheus.example.org/api failed: MissingSchema"
    assert error.hint == "check [prometheus] url"
