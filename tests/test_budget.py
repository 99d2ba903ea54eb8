"""The budget every request honours (incidentkit.clients.budget), against a small local HTTP server:
compressed answers are read decoded and capped after decoding (no decompression bomb), a declared
size over the cap is refused before reading, the deadline cuts reads and waits, and the budget of
one thread is not another's."""

from __future__ import annotations

import gzip
import inspect
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from incidentkit.clients import budget as budget_module
from incidentkit.clients.budget import (
    DEFAULT_MAX_BYTES,
    Budget,
    BudgetAdapter,
    OverBudget,
    budget,
    current_budget,
    wait,
)
from incidentkit.clients.http import make_session
from tests.servers._common import free_port

BODY = ('{"data": "' + "x" * 100_000 + '"}').encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return

    def _send(self, body: bytes, *, content_type: str = "text/plain", encoding: str = "") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("http://"):  # asked as a proxy: the absolute URL is the path
            self._send(b"proxied " + self.path.encode())
        elif self.path.startswith("/typed?"):  # an empty body with the Content-Type given in the query
            self._send(b"", content_type=parse_qs(urlsplit(self.path).query)["type"][0])
        elif self.path == "/bad-gzip":
            self._send(b"this is not gzip", content_type="application/json", encoding="gzip")
        elif self.path == "/gzip":
            body = gzip.compress(BODY)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/declared":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10**9))
            self.end_headers()  # and never sends the gigabyte
        elif self.path.startswith("/exact/"):  # a body of exactly N bytes, its length declared
            body = b"x" * int(self.path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/unsized/"):  # N bytes, no length: read until the server closes
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"x" * int(self.path.rsplit("/", 1)[1]))
            self.close_connection = True
        elif self.path == "/broken-chunks":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\nzz\r\n")  # "zz" is no chunk size
            self.close_connection = True
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                return


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_compressed_answer_is_read_decoded(server: str) -> None:
    response = make_session().get(f"{server}/gzip", timeout=5)
    assert response.content == BODY and response.json()["data"] == "x" * 100_000


def test_the_cap_counts_decoded_bytes(server: str) -> None:
    compressed = len(gzip.compress(BODY))
    assert compressed < 2_000 < len(BODY)
    with budget(None, max_bytes=50_000), pytest.raises(OverBudget) as caught:
        make_session().get(f"{server}/gzip", timeout=5)
    assert caught.value.kind == "size" and "max_response_mb" in caught.value.hint


def test_a_declared_size_over_the_cap_is_refused_before_reading(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(OverBudget, match="answered 953.674 MB, more than the 20 MB limit") as caught:
        make_session().get(f"{server}/declared", timeout=30)
    assert time.monotonic() - started < 2
    assert caught.value.kind == "size" and "max_response_mb" in caught.value.hint


@pytest.mark.parametrize("kind", ["exact", "unsized"])
def test_an_answer_of_exactly_the_cap_is_read_and_one_byte_more_is_not(server: str, kind: str) -> None:
    with budget(None, max_bytes=1000):
        assert make_session().get(f"{server}/{kind}/1000", timeout=5).content == b"x" * 1000
        with pytest.raises(OverBudget) as caught:
            make_session().get(f"{server}/{kind}/1001", timeout=5)
    said = {"exact": "answered 0.000954628 MB, more than the 0.000953674 MB limit",
            "unsized": "answered more than the 0.000953674 MB limit"}  # fmt: skip
    assert (caught.value.reason, caught.value.kind) == (said[kind], "size")


def test_the_deadline_cuts_a_slow_answer(server: str) -> None:
    started = time.monotonic()
    with budget(0.5), pytest.raises(OverBudget, match="did not finish within 0.5 s") as caught:
        make_session().get(f"{server}/slow", timeout=30)  # every read is quick: no read timeout helps
    assert caught.value.kind == "deadline" and time.monotonic() - started < 1.5


def test_a_spent_budget_sends_nothing(server: str) -> None:
    with budget(0.01):
        time.sleep(0.02)
        with pytest.raises(OverBudget):
            make_session().get(f"{server}/gzip", timeout=5)


def test_waits_past_the_deadline_are_refused_at_once() -> None:
    with budget(1.0):
        started = time.monotonic()
        with pytest.raises(OverBudget, match="rate limited: asked to wait 3600 s, past the 1 s deadline") as caught:
            wait(3600, "rate limited")
        assert caught.value.kind == "deadline"
        assert time.monotonic() - started < 0.1
        wait(0.01, "a short pause")  # fits: it is waited


def test_each_thread_has_its_own_budget() -> None:
    seen: list[float | None] = []
    with budget(5.0):
        thread = threading.Thread(target=lambda: seen.append(current_budget().deadline))
        thread.start()
        thread.join()
        assert current_budget().deadline is not None
    assert seen == [None] and current_budget().max_bytes == DEFAULT_MAX_BYTES


def test_a_timeout_inside_the_budget_is_still_a_timeout(server: str) -> None:
    with budget(30.0), pytest.raises(requests.ReadTimeout) as caught:
        make_session().get(f"{server}/slow", timeout=(5, 0.01))
    assert "Read timed out" in str(caught.value) and caught.value.request.url == f"{server}/slow"


def test_a_broken_chunked_answer_is_requests_own_error(server: str) -> None:
    with budget(30.0), pytest.raises(requests.exceptions.ChunkedEncodingError) as caught:
        make_session().get(f"{server}/broken-chunks", timeout=5)
    assert "Connection broken" in str(caught.value) and caught.value.request.url == f"{server}/broken-chunks"



def test_a_body_that_fails_to_decompress_is_requests_own_error(server: str) -> None:
    with pytest.raises(requests.exceptions.ContentDecodingError) as caught:
        make_session().get(f"{server}/bad-gzip", timeout=5)
    assert "Received response with content-encoding: gzip" in str(caught.value)
    assert caught.value.request.url == f"{server}/bad-gzip"


def test_a_body_read_within_the_budget_can_still_be_iterated(server: str) -> None:
    response = make_session().get(f"{server}/gzip", timeout=5)
    assert b"".join(response.iter_content(4096)) == BODY
    assert list(response.iter_lines()) == [BODY]


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("application/problem+json", "utf-8"),  # requests itself gives no charset to a +json type
        ("Application/Problem+JSON", "utf-8"),
        ("application/json; charset=iso-8859-1", "iso-8859-1"),  # a named charset is kept
        ("application/octet-stream", None),  # not JSON: left to the caller
        ("text/plain", "ISO-8859-1"),  # requests' own default for text
    ],
    ids=["plus-json", "upper-case", "named-charset", "not-json", "text"],
)
def test_json_without_a_charset_is_read_as_utf_8(server: str, content_type: str, encoding: str | None) -> None:
    response = make_session().get(f"{server}/typed?type={quote(content_type)}", timeout=5)
    assert response.headers["Content-Type"] == content_type
    assert response.encoding == encoding


def test_the_adapter_sends_through_the_configured_proxy(server: str) -> None:
    session = make_session()
    session.proxies = {"http": server}
    response = session.get("http://proxied.invalid/page?x=1", timeout=5)
    assert response.content == b"proxied http://proxied.invalid/page?x=1"


def test_the_adapter_passes_on_the_ca_bundle_and_the_client_certificate(server: str, tmp_path: Path) -> None:
    https = server.replace("http://", "https://")  # refused before connecting: no TLS server needed
    # per request: a session's verify gives way to REQUESTS_CA_BUNDLE from the environment
    missing_ca, missing_cert = str(tmp_path / "missing-ca.pem"), str(tmp_path / "missing-client.pem")
    with pytest.raises(OSError, match="Could not find a suitable TLS CA certificate bundle, invalid path: .*missing-ca"):
        make_session().get(f"{https}/gzip", timeout=5, verify=missing_ca)
    with pytest.raises(OSError, match="Could not find the TLS certificate file, invalid path: .*missing-client"):
        make_session().get(f"{server}/gzip", timeout=5, cert=missing_cert)


def test_the_adapter_keeps_the_defaults_of_requests_adapter() -> None:
    ours = inspect.signature(BudgetAdapter.send).parameters
    theirs = inspect.signature(HTTPAdapter.send).parameters
    assert list(ours) == list(theirs)
    assert {name: p.default for name, p in ours.items()} == {name: p.default for name, p in theirs.items()}


def test_the_adapter_called_alone_reads_the_body_within_the_cap(server: str) -> None:
    # not streamed unless asked: the body is read (and can be read again) and capped
    response = BudgetAdapter().send(requests.Request("GET", f"{server}/exact/1000").prepare(), timeout=5)
    assert b"".join(response.iter_content(300)) == response.content == b"x" * 1000
    request = requests.Request("GET", f"{server}/exact/1001").prepare()
    with budget(None, max_bytes=1000), pytest.raises(OverBudget) as caught:
        BudgetAdapter().send(request, timeout=5)
    assert caught.value.kind == "size"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same server behind TLS with a self-signed certificate no CA bundle trusts."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify=False, on purpose
def test_the_adapter_called_alone_verifies_certificates(tls_server: str) -> None:
    request = requests.Request("GET", f"{tls_server}/exact/10").prepare()
    assert BudgetAdapter().send(request, timeout=5, verify=False).content == b"x" * 10  # the server works
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        BudgetAdapter().send(request, timeout=5)  # verified unless told otherwise, as requests' adapter does


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify=False, on purpose
def test_a_session_keeps_https_requests_within_the_budget_too(tls_server: str) -> None:
    session = make_session()
    assert session.get(f"{tls_server}/exact/10", timeout=5, verify=False).content == b"x" * 10
    with budget(None, max_bytes=9), pytest.raises(OverBudget) as caught:
        session.get(f"{tls_server}/exact/10", timeout=5, verify=False)
    assert caught.value.kind == "size"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The budget module's clock and sleep, by hand: ``clock.now`` is the monotonic time, ``clock.slept``
    the waits asked for."""
    fake = SimpleNamespace(now=100.0, slept=[])
    fake.monotonic = lambda: fake.now
    fake.sleep = fake.slept.append
    monkeypatch.setattr(budget_module, "time", fake)
    return fake


def test_the_time_left_counts_down_to_zero_and_the_deadline_itself_is_past(clock: SimpleNamespace) -> None:
    ahead = Budget(seconds=2.0, deadline=102.0)
    assert Budget().remaining() is None and not Budget().expired()
    expected = [(100.0, 2.0, False), (101.5, 0.5, False), (102.0, 0.0, True), (103.0, 0.0, True)]
    seen = []
    for now, _, _ in expected:
        clock.now = now
        seen.append((now, ahead.remaining(), ahead.expired()))
    assert seen == expected
    with pytest.raises(OverBudget, match="did not finish within 2 s"):
        ahead.check()


def test_timeouts_are_capped_at_the_time_left(clock: SimpleNamespace) -> None:
    clock.now = 97.0
    ahead = Budget(seconds=10.0, deadline=100.0)  # 3 s left
    cases = [(None, 3.0), (1.5, 1.5), (30, 3.0), ((1.5, None), (1.5, 3.0)), ((30, 2.0), (3.0, 2.0)), ((None, None), (3.0, 3.0))]
    assert [(timeout, ahead.cap(timeout)) for timeout, _ in cases] == cases
    assert [Budget().cap(timeout) for timeout in (None, 30, (1, None))] == [None, 30, (1, None)]  # no deadline
    clock.now = 100.0
    with pytest.raises(OverBudget):
        ahead.cap(30)


def test_a_wait_sleeps_what_was_asked_and_never_less_than_nothing(clock: SimpleNamespace) -> None:
    wait(0.25, "backing off")
    wait(-1.0, "a clock skewed into the past")
    with budget(10.0):
        wait(9.5, "rate limited")  # fits before the deadline
    assert clock.slept == [0.25, 0.0, 9.5]
