"""Small helpers with no domain knowledge: the package version, batching, plurals, lone surrogates,
a call run in the background."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from types import TracebackType
from typing import Any, Generic, TypeVar

__all__ = ["version", "chunks", "plural", "replace_surrogates", "replace_surrogate_escapes", "Background"]

T = TypeVar("T")

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON \\uXXXX escape of half a surrogate pair without its other half. The escape is real only
# after an even number of backslashes (an odd one is an escaped backslash followed by text).
_LONE_ESCAPE = re.compile(
    r"(?<!\\)((?:\\\\)*)"
    r"(\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)


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


def replace_surrogates(value: T) -> tuple[T, int]:
    """*value* with every lone surrogate in its strings replaced by U+FFFD, and how many there were.

    JSON may escape half of a surrogate pair (``"\\ud800"``); Python decodes it into a string that
    cannot be encoded as UTF-8, so it could be neither printed, saved nor stored. Walks strings,
    lists, tuples, dicts (keys too) and dataclass instances; unchanged parts are returned as they are.
    """
    if isinstance(value, str):
        fixed, count = _SURROGATE.subn("\ufffd", value)
        return (fixed if count else value), count  # type: ignore[return-value]
    if isinstance(value, dict):
        items = [(replace_surrogates(k), replace_surrogates(v)) for k, v in value.items()]
        count = sum(k[1] + v[1] for k, v in items)
        return (value if not count else type(value)((k[0], v[0]) for k, v in items)), count  # type: ignore[return-value]
    if isinstance(value, (list, tuple)):
        parts = [replace_surrogates(item) for item in value]
        count = sum(part[1] for part in parts)
        return (value if not count else type(value)(part[0] for part in parts)), count  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        count = 0
        for field in dataclasses.fields(value):
            if field.init:
                fixed, found = replace_surrogates(getattr(value, field.name))
                if found:
                    changes[field.name] = fixed
                    count += found
        return (dataclasses.replace(value, **changes) if changes else value), count
    return value, 0


def replace_surrogate_escapes(text: str) -> tuple[str, int]:
    """JSON *text* with every escape of a lone surrogate (``\\ud800`` without its pair) written as
    ``\\ufffd`` instead, and how many there were. Valid pairs and escaped backslashes are left
    alone, so decoding the result gives U+FFFD where the original would give an unencodable string."""
    if "\\u" not in text:
        return text, 0
    return _LONE_ESCAPE.subn(lambda m: m.group(1) + "\\ufffd", text)


class Background(Generic[T]):
    """``fn(*args)`` run in a thread while the caller goes on: a wait on the network overlapped with
    the caller's own work. :meth:`result` waits for it and returns its value or raises what it
    raised. Used as a context manager it is also waited for when the block ends, so nothing is
    left running when the caller fails first (its own error is the one that propagates)."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), name="incidentkit-background", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._thread.join()
