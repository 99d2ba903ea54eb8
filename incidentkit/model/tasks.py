"""Phabricator task references: the one parser of task ids, given on their own or mentioned in text.

A task is always carried as its monogram, ``"T123"``. :func:`parse_task` reads one given on purpose
(``T123``, ``t123``, ``123`` or a task URL); :func:`find_tasks` finds the ones a text mentions.
"""

from __future__ import annotations

import re

from ..errors import InputError

__all__ = ["TASK_MENTION", "parse_task", "task_or_none", "task_number", "find_tasks"]

# A mention in free text: "T123" not glued to a word, a path or an anchor ("/T1", "#T1", "xT1"). The
# look-behind comes after the "T" (and reaches back over it): a pattern that starts with a letter is
# scanned for it, many times faster than one tried at every character.
TASK_MENTION = re.compile(r"T(?<![\w/#-]T)([1-9]\d{0,7})\b")
_GIVEN = re.compile(r"^(?:https?://[^/\s]+/)?[Tt]?([1-9]\d{0,9})$")


def task_or_none(text: object) -> str | None:
    """``"T123"`` from ``T123``, ``t123``, ``123``, ``https://phabricator.example.org/T123``; else None."""
    match = _GIVEN.match(str(text).strip())
    return f"T{match.group(1)}" if match else None


def parse_task(text: object, *, what: str = "") -> str:
    """As :func:`task_or_none`, but an InputError (naming *what*, e.g. ``--task``) for anything else."""
    task = task_or_none(text)
    if task is None:
        where = f"{what} " if what else ""
        raise InputError(f"{where}{text!r} is not a Phabricator task id", hint="give a task as T123")
    return task


def task_number(task: str) -> int:
    """``123`` from a monogram ``"T123"``."""
    return int(task[1:])


def find_tasks(text: str) -> tuple[str, ...]:
    """Task ids (``T123``) mentioned in *text*, in order of first mention, without duplicates."""
    seen: dict[str, None] = {}
    for match in TASK_MENTION.finditer(text):
        seen.setdefault(f"T{match.group(1)}", None)
    return tuple(seen)
