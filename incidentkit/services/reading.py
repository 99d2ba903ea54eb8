"""Reading report pages for an import, ahead of storing them: each page parsed
(:func:`~incidentkit.wikitext.reports.parse_report`) and the words and signals of its search
document taken from its text (:func:`~incidentkit.services.documents.page_facts`).

This is the pure and costly part of an import of new pages (about 40% of its work; the storing,
indexing and comparing are the rest). With many pages it runs in a worker process, one batch
ahead: the next batch is read on another core while this one is stored (the store's writes stay
in the importing process: SQLite has one writer). Nothing here touches the store or the network.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..model.scorecard import ScorecardDefinition
from ..wikitext.reports import Report, Unparsed, parse_report
from .documents import PageFacts, page_facts

__all__ = ["PARALLEL_FROM", "ReadPage", "read_page", "PageReader"]

# Pages to read before a worker process pays: starting one (a fresh interpreter importing the
# parser) costs about as much as reading a hundred pages here.
PARALLEL_FROM = 200

Key = TypeVar("Key")


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

    One batch at a time: the next is sent only once the last one's pages are back, so neither side
    ever waits to write while the other does (pipes hold 64 KiB, a batch much more). A fresh
    interpreter rather than multiprocessing: a fork would copy the locks the importing process's
    threads hold, and spawning runs the caller's main script again.
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
        self._send(sys.path)
        self._send((prefix, questions))

    def _send(self, message: object) -> None:
        assert self.process.stdin is not None
        pickle.dump(message, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.flush()

    def send(self, pages: Sequence[tuple[str, str]]) -> None:
        self._send(list(pages))

    def receive(self) -> list[ReadPage]:
        """The pages of the batch last sent, read; raises what reading them raised, or OSError/EOFError when the worker died."""
        assert self.process.stdout is not None
        outcome, value = pickle.load(self.process.stdout)
        if outcome == "error":
            raise value
        return value

    def close(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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
        worker) while the caller works on this one. A worker that dies leaves the rest to be read here."""
        previous: tuple[Key, Sequence[tuple[str, str]], bool] | None = None
        for key, pages in batches:
            done = self._collect(previous) if previous else None
            previous = (key, pages, self._sent(pages))
            if done is not None:
                yield done
        if previous:
            yield self._collect(previous)

    def _sent(self, pages: Sequence[tuple[str, str]]) -> bool:
        """Whether *pages* went to the worker (started on first use)."""
        if not self.parallel or not pages or not sys.executable:
            return False
        try:
            if self._worker is None:
                self._worker = _Worker(self.prefix, self.questions)
            self._worker.send(pages)
            return True
        except (OSError, ValueError):  # it cannot start, or has died
            self._give_up()
            return False

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
