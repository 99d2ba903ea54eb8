"""The text of a wikitable cell: the one reader shared by report metadata and scorecard tables."""

from __future__ import annotations

from typing import Any

from mwparserfromhell.nodes import Comment, ExternalLink, HTMLEntity, Tag, Template, Text, Wikilink

__all__ = ["cell_text"]

_ESCAPES = {"!": "|", "=": "=", "!!": "||"}  # {{!}} and friends stand for table syntax


def cell_text(code: Any, *, plain: bool = False) -> str:
    """The text of a parsed table cell: ``{{!}}`` back to ``|``, nowiki unwrapped, links as text.

    As written (the default), other templates and bracketed external links stay as wikitext, so
    a scorecard note keeps what a person typed; *plain* drops other templates and keeps only a
    link's label, for metadata values.
    """
    parts: list[str] = []
    for node in code.nodes:
        if isinstance(node, Text):
            parts.append(node.value)
        elif isinstance(node, Comment):
            continue
        elif isinstance(node, Template):
            name = str(node.name).strip()
            parts.append(_ESCAPES.get(name, "" if plain else str(node)))
        elif isinstance(node, HTMLEntity):
            parts.append(node.normalize())
        elif isinstance(node, Tag):
            tag = str(node.tag).lower()
            if tag == "nowiki":
                parts.append(str(node.contents) if node.contents is not None else "")
            elif tag == "br":
                parts.append("\n")
            elif node.contents is not None:
                parts.append(cell_text(node.contents, plain=plain))
        elif isinstance(node, Wikilink):
            parts.append(cell_text(node.text, plain=plain) if node.text is not None else str(node.title))
        elif isinstance(node, ExternalLink):
            if plain:
                parts.append(cell_text(node.title, plain=True) if node.title is not None else str(node.url))
            else:
                parts.append(str(node) if node.brackets else str(node.url))
        else:
            parts.append(str(node))
    return "".join(parts)
