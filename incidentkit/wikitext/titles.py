"""Page titles: whether MediaWiki would accept a text as a page title, and why not.

The rules are MediaWiki's own (``$wgLegalTitleChars`` and ``Title::newFromText``): no
``# < > [ ] | { }``, no control characters, no ``~~~`` (signatures), no ``.``/``..`` path parts (``./x``, ``a/./b``, ``a/..``),
at most 255 bytes. Checking them before any network call gives a clear error for a mistyped
``--page`` instead of the wiki's generic one.
"""

from __future__ import annotations

__all__ = ["title_problem"]

_ILLEGAL = "#<>[]|{}"


def title_problem(title: str) -> str | None:
    """Why *title* cannot be a page title (one short phrase), or None when it can."""
    text = title.replace("_", " ").strip()
    if not text:
        return "it is empty"
    bad = next((char for char in text if char in _ILLEGAL), None)
    if bad is not None:
        return f"{bad!r} is not allowed in page titles (nor any of {' '.join(_ILLEGAL)})"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return "it contains a control character"
    if "~~~" in text:
        return "'~~~' is not allowed in page titles (it is a signature)"
    if any(part in (".", "..") for part in text.split("/")):
        return "'.' and '..' path parts are not allowed in page titles"
    if len(text.encode("utf-8")) > 255:
        return "it is longer than 255 bytes"
    return None
