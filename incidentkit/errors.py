"""The one error hierarchy of incidentkit.

Every error the library raises on purpose is an :class:`IncidentKitError` with a one-line
``message`` (what failed) and a ``hint`` (what to do). Only ``cli.main()`` prints them and picks
the exit code; third-party exceptions are translated at the boundary with ``raise ... from exc``.
:func:`require_between` is the one check of a number the user gave (a limit, a count of months or
days): numbers out of its range are an :class:`InputError`, before they reach a loop, a date or SQLite.
"""

from __future__ import annotations

__all__ = [
    "IncidentKitError",
    "ConfigError",
    "InputError",
    "SourceError",
    "StoreError",
    "RenderError",
    "PublishError",
    "ConflictError",
    "MAX_LIMIT",
    "require_between",
]

MAX_LIMIT = 1_000_000  # the largest --limit: more rows than any store holds, and an integer SQLite can bind


class IncidentKitError(Exception):
    """An error that is shown to the user as ``Error: message`` plus ``Hint: hint``."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(IncidentKitError):
    """The configuration file or an environment override is invalid."""

    exit_code = 2


class InputError(IncidentKitError):
    """A command-line value or an input file cannot be used (bad window, unreadable file...)."""

    exit_code = 2


class SourceError(IncidentKitError):
    """A source (SAL wiki, Phabricator, Prometheus, ...) could not be read."""


class StoreError(IncidentKitError):
    """The local SQLite index cannot be opened, migrated or written."""


class RenderError(IncidentKitError):
    """A template could not be rendered."""


class PublishError(IncidentKitError):
    """A page could not be written to the wiki."""


class ConflictError(PublishError):
    """Someone else edited the page (or a generated region) since we read it."""

    exit_code = 3


def require_between(name: str, value: int, low: int, high: int, hint: str | None = None) -> None:
    """Raise an :class:`InputError` unless ``low <= value <= high``; *name* is what the user set (``--limit``)."""
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low:,} and {high:,}", hint=hint)
