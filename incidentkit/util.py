"""Small helpers with no domain knowledge: the package version, batching, plurals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import TypeVar

__all__ = ["version", "chunks", "plural"]

T = TypeVar("T")


@cache
def version() -> str:
    """incidentkit's installed version (``0+unknown`` in a checkout that is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("incidentkit")
    except PackageNotFoundError:
        return "0+unknown"


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """*items* in consecutive slices of at most *size*."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 line``, ``2 lines`` (or *words* when the plural is not *word* + s)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"
