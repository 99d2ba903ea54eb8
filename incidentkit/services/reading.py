"""Reading report pages for an import, ahead of storing them: each page parsed
(:func:`~incidentkit.wikitext.reports.parse_report`) and the words and signals of its search
document taken from its text (:func:`page_facts`).

This is the pure and costly part of an import of new pages (about 40% of its work; the storing,
indexing and comparing are the rest). With many pages it runs in a worker process, ahead of the
importing one: the worker reads the next batch, with the one after it already sent, on another
core while this one is stored (the store's writes stay in the importing process: SQLite has one
writer); the first batch is read here while the worker starts. Nothing here touches the store or
the network.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..model.scorecard import ScorecardDefinition
from ..model.signals import Signals, text_signals
from ..wikitext.reports import Report, Unparsed, parse_report
from ..wikitext.searchtext import ReportText, report_text

__all__ = ["PARALLEL_FROM", "WORKER_NICENESS", "PageFacts", "page_facts", "ReadPage", "read_page", "PageReader"]

# Pages to read before a worker process pays: starting one (a fresh interpreter importing the
# parser) costs about as much as reading a hundred pages here.
PARALLEL_FROM = 200
# Added to the worker's niceness: when it, the importing process (which every page waits for, and
# which compares them all at the end) and a wiki on the same machine want more than the cores, the
# worker yields. It reads ahead, so it rarely makes the others wait.
WORKER_NICENESS = 10

Key = TypeVar("Key")


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What a page's text gives its incident's document: its words by field, and the signals it and
    the incident's *title* name (read together, as :func:`~.documents.build_document` reads them)."""

    title: str
    text: ReportText
    signals: Signals


def page_facts(title: str, page_text: str, outline: Sequence[tuple[int, int, str]] | None = None) -> PageFacts:
    """The facts of *page_text* for an incident called *title* (*outline*: the page's headings, when
    it has just been parsed). Pure: an import reads them in a worker process."""
    return PageFacts(title, report_text(page_text, outline), text_signals("\n".join([title, page_text])))


@dataclass(frozen=True, slots=True)
class ReadPage:
    """One page as read: its report (or why it is not one) and, for a report, its text's facts."""

    report: Report | Unparsed
    facts: PageFacts | None = None


def read_page(title: str, text: str, *, prefix: str, questions: ScorecardDefinition | None) -> ReadPage:
    """Parse the page *title* and read the facts its search document takes from *text*."""
    report = parse_report(title, text, prefix=prefix, scorecard=questions)
    if isinstance(report, Unparsed):
        return ReadPage(report)
    return ReadPage(report, page_facts(report.incident_title, text, report.headings))


class _Worker:
    """A worker process (a Python running :func:`_serve`) reading batches of pages sent over its stdin.

    Batches are written by a thread of their own, so the importing process never waits to write
    while the worker waits to write back (pipes hold 64 KiB, a batch much more): the next batch can
    be on its way while this one's pages come back. A fresh interpreter rather than
    multiprocessing: a fork would copy the locks the importing process's threads hold, and spawning
    runs the caller's main script again.
    """

    def __init__(self, prefix: str, questions: ScorecardDefinition | None) -> None:
        self.process = subprocess.Popen(
            # the importing process's own import path first, so the worker runs this very incidentkit;
            # then this module by name (not as __main__: the pages it sends back are of its classes)
            [sys.executable, "-c", f"import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
             f"from {__name__} import _serve; _serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a worker that fails is replaced by reading here
        )  # fmt: skip
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, name="incidentkit-page-writer", daemon=True)
        self._writer.start()
        self._outbox.put(sys.path)
        self._outbox.put((prefix, questions))

    def _write(self) -> None:
        """Send what is put in the outbox, until None (then close the worker's stdin) or the worker dies."""
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(OSError, ValueError):  # it died: receive() tells
            with stdin:
                while (message := self._outbox.get()) is not None:
                    pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    stdin.flush()

    def send(self, pages: Sequence[tuple[str, str]]) -> None:
        self._outbox.put(list(pages))

    def receive(self) -> list[ReadPage]:
        """The pages of the oldest batch sent and not received yet, read; raises what reading them
        raised, or OSError/EOFError when the worker died."""
        assert self.process.stdout is not None
        outcome, value = pickle.load(self.process.stdout)
        if outcome == "error":
            raise value
        return value

    def close(self) -> None:
        self._outbox.put(None)
        if self.process.stdout is not None:
            with contextlib.suppress(OSError):
                self.process.stdout.close()  # a worker still writing gets EPIPE and ends
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._writer.join(timeout=5)


class PageReader:
    """Reads batches of pages: here, or (:meth:`ahead` with many pages) in a worker process."""

    def __init__(self, *, prefix: str, questions: ScorecardDefinition | None, parallel: bool) -> None:
        self.prefix = prefix
        self.questions = questions
        # one worker: the importing process keeps the other core busy storing, and a wiki on the
        # same machine needs a share too
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self._worker: _Worker | None = None

    def __enter__(self) -> PageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def read(self, pages: Sequence[tuple[str, str]]) -> list[ReadPage]:
        """The pages (title, text) read here."""
        return [read_page(title, text, prefix=self.prefix, questions=self.questions) for title, text in pages]

    def ahead(self, batches: Iterable[tuple[Key, Sequence[tuple[str, str]]]]) -> Iterator[tuple[Key, list[ReadPage]]]:
        """Each (key, pages) of *batches* with its pages read, the next batch's being read (in the
        worker) while the caller works on this one, and the one after it already on its way there.
        The first pages are read here while the worker starts (starting takes about as long); a
        worker that dies leaves the rest to be read here."""
        started = False
        waiting: deque[tuple[Key, Sequence[tuple[str, str]], bool]] = deque()  # read, or being read
        for key, pages in batches:
            if pages and not started:
                started = True
                self._start()
                waiting.append((key, pages, False))
            else:
                waiting.append((key, pages, self._sent(pages)))
            if len(waiting) > 1:
                yield self._collect(waiting.popleft())
        while waiting:
            yield self._collect(waiting.popleft())

    def _start(self) -> None:
        if not self.parallel or not sys.executable or self._worker is not None:
            return
        try:
            self._worker = _Worker(self.prefix, self.questions)
        except (OSError, ValueError):  # it cannot start
            self._give_up()

    def _sent(self, pages: Sequence[tuple[str, str]]) -> bool:
        """Whether *pages* went to the worker."""
        if self._worker is None or not pages:
            return False
        self._worker.send(pages)
        return True

    def _collect(self, batch: tuple[Key, Sequence[tuple[str, str]], bool]) -> tuple[Key, list[ReadPage]]:
        key, pages, sent = batch
        if sent and self._worker is not None:
            try:
                return key, self._worker.receive()
            except (OSError, EOFError, pickle.UnpicklingError):  # it died (out of memory, say)
                self._give_up()
        return key, self.read(pages)

    def _give_up(self) -> None:
        """Read the rest here."""
        self.parallel = False
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _serve() -> None:
    """The worker's loop: read (prefix, questions), then answer each batch of pages with them read."""
    # Ctrl-C is the importing process's to handle (it keeps what it stored)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    prefix, questions = pickle.load(source)
    while True:
        try:
            pages = pickle.load(source)
        except EOFError:
            return
        try:
            answer: tuple[str, object] = ("ok", [read_page(t, x, prefix=prefix, questions=questions) for t, x in pages])
        except Exception as exc:  # noqa: BLE001 - the importing process raises it, as it would reading here
            answer = ("error", exc)
        pickle.dump(answer, sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()
