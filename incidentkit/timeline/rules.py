"""The ``[timeline]`` auto-curation rules: validated and compiled, and described for ``timeline rules``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..config import TimelineSettings
from ..errors import ConfigError
from ..model.event import EventKind
from ..model.row import Row

__all__ = ["Rules", "compile_rules", "describe_rules"]


@dataclass(frozen=True, slots=True)
class Rules:
    pin_kinds: frozenset[EventKind]
    pin_first_last_alert: bool
    hide_kinds: frozenset[EventKind]
    hide_matching: tuple[re.Pattern[str], ...]
    impact_deploy_window: timedelta

    def hide_reason(self, row: Row) -> str | None:
        if row.kind in self.hide_kinds:
            return f"rule: hide_kinds ({row.kind})"
        for pattern in self.hide_matching:
            if pattern.search(row.text):
                return f"rule: hide_matching ({pattern.pattern})"
        return None


def _kinds(values: Iterable[str], key: str) -> frozenset[EventKind]:
    kinds = set()
    for value in values:
        try:
            kinds.add(EventKind(value.strip().lower()))
        except ValueError as exc:
            raise ConfigError(
                f"config key timeline.{key} names unknown event kind {value!r}",
                hint=f"known kinds: {', '.join(k.value for k in EventKind)}",
            ) from exc
    return frozenset(kinds)


def compile_rules(settings: TimelineSettings) -> Rules:
    patterns = []
    for text in settings.hide_matching:
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(
                f"config key timeline.hide_matching holds an invalid regular expression {text!r}: {exc}",
                hint="fix the pattern (Python regular expressions, matched case-insensitively anywhere in a row)",
            ) from exc
    if settings.impact_deploy_minutes < 0:
        raise ConfigError(
            f"config key timeline.impact_deploy_minutes must be 0 or more, got {settings.impact_deploy_minutes}",
            hint="set it to a number of minutes, 0 or more, in the [timeline] section",
        )
    return Rules(
        pin_kinds=_kinds(settings.pin_kinds, "pin_kinds"),
        pin_first_last_alert=settings.pin_first_last_alert,
        hide_kinds=_kinds(settings.hide_kinds, "hide_kinds"),
        hide_matching=tuple(patterns),
        impact_deploy_window=timedelta(minutes=settings.impact_deploy_minutes),
    )


def describe_rules(settings: TimelineSettings) -> list[dict[str, Any]]:
    """The effective auto-curation rules as records (rule, value, effect); validates them.

    Raises ConfigError for an unknown kind or an invalid pattern.
    """
    compile_rules(settings)
    return [
        {"rule": "pin_kinds", "value": list(settings.pin_kinds), "effect": "pin rows of these kinds"},
        {
            "rule": "pin_first_last_alert",
            "value": settings.pin_first_last_alert,
            "effect": "pin the first alert that fired and the last resolution",
        },
        {
            "rule": "hide_kinds",
            "value": list(settings.hide_kinds),
            "effect": "hide rows of these kinds unless pinned",
        },
        {
            "rule": "hide_matching",
            "value": list(settings.hide_matching),
            "effect": "hide rows whose text matches one of these regular expressions (case-insensitive) unless pinned",
        },
        {
            "rule": "impact_deploy_minutes",
            "value": settings.impact_deploy_minutes,
            "effect": "suggest a deploy this many minutes or less before the first alert as the impact start",
        },
        {
            "rule": "(always)",
            "value": None,
            "effect": "the owner's hide/unhide/pin/unpin win over every rule; rows added by hand are never auto-hidden",
        },
    ]
