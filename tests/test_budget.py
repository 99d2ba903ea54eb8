"""The budget every request honours (incidentkit.clients.budget), against a small local HTTP server:
compressed answers are read decoded and capped after decoding (no decompression bomb), a declared
size over the cap is refused before reading, the deadline cuts reads and waits, and the budget of
one thread is not another's."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from incidentkit.clients.budget import DEFAULT_MAX_BYTES, OverBudget, budget, current_budget, wait
from incidentkit.clients.http import make_session
from tests.servers._common import free_port

BODY = ('{"data": "' + "x" * 100_000 + '"}').encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return

    def do_GET(self) -> None:
        if self.path == "/gzip":
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
