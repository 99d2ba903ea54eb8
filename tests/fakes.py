"""In-memory fakes of incidentkit's boundaries, for unit tests of the paths above them.

:class:`MemoryWiki` keeps pages as revisions and answers as :class:`~incidentkit.clients.mediawiki.WikiClient`
promises: a save based on an older revision than the newest is a conflict, a create-only save of an
existing page too, an identical save changes nothing. The real MediaWiki of the test session checks
the real client; this fake lets services be tested without it (and with fault injection).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from incidentkit.clients.mediawiki import PageText
from incidentkit.errors import ConflictError

__all__ = ["MemoryWiki"]


@dataclass
class MemoryWiki:
    """A wiki in memory: ``pages`` maps a title to its revisions, oldest first."""

    name: str = "ops"
    url: str = "http://wiki.invalid/w/"
    request_count: int = 0
    pages: dict[str, list[PageText]] = field(default_factory=dict)
    clock: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    _next_revid: int = 100

    def _stamp(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def put(self, title: str, text: str) -> PageText:
        """Save *title* as somebody else would (no conflict checks): a test's colleague."""
        self._next_revid += 1
        page = PageText(title=title, text=text, revid=self._next_revid, timestamp=self._stamp())
        self.pages.setdefault(title, []).append(page)
        return page

    def check(self) -> str:
        self.request_count += 1
        return f"{self.name}: in memory, {len(self.pages)} pages"

    def read(self, title: str) -> PageText | None:
        self.request_count += 1
        revisions = self.pages.get(title)
        return revisions[-1] if revisions else None

    def read_many(self, titles: Iterable[str]) -> dict[str, PageText | None]:
        self.request_count += 1
        return {title: (self.pages[title][-1] if self.pages.get(title) else None) for title in titles}

    def list_prefix(self, prefix: str) -> list[str]:
        self.request_count += 1
        return sorted(title for title in self.pages if title.startswith(prefix))

    def list_category(self, name: str) -> list[str]:
        self.request_count += 1
        marker = f"[[Category:{name}]]"
        return sorted(title for title, revisions in self.pages.items() if marker in revisions[-1].text)

    def save(self, title: str, text: str, *, summary: str, base: PageText | None) -> PageText:
        self.request_count += 1
        current = self.pages.get(title, [None])[-1]
        if base is None and current is not None:
            raise ConflictError(f"{title!r} was created by someone else meanwhile", hint="publish again")
        if base is not None and (current is None or current.revid != base.revid):
            raise ConflictError(f"{title!r} changed since revision {base.revid}", hint="publish again")
        if current is not None and current.text == text:
            return current
        return self.put(title, text)

    def render_html(self, text: str, title: str) -> str:
        self.request_count += 1
        return text
