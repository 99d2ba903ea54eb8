"""The alert vocabulary every alert source shares: identities, fingerprints, paging, the alert event.

Every alert source (``prometheus``, ``alertmanager``, ``icinga``, ``irc``) builds its events with
:func:`alert_event`, so they all carry the same ``data``: ``alertname``, ``labels`` (a dict that
identifies the alert: Prometheus labels, or ``host``/``service`` for Icinga, or just the
``alertname`` when a bot only names the alert group), ``instance``/``host``/``service``,
``severity``, ``paged``, ``count`` (instances in a group notification), ``notifications`` (how many
notifications the event stands for; 0 for state history such as ``ALERTS``), ``summary``,
``runbook``, ``dashboard``, ``state``, ``note`` and ``ongoing``.

Also the words Icinga checks speak (states, notification types, plugin output), shared by the
Icinga log and the icinga-wm IRC bot, and which labels make an alert a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from .event import Event, EventKind

__all__ = [
    "IGNORED_LABELS",
    "DEFAULT_PAGING",
    "HOST_ALERTNAME",
    "SERVICE_STATES",
    "HOST_STATES",
    "NOTIFICATION_NOTES",
    "fingerprint",
    "identity_labels",
    "labels_match",
    "alert_event",
    "alertname_of",
    "is_alert_end",
    "with_starts",
    "starts_given",
    "stream_key",
    "pages",
    "severity_of",
    "icinga_identity",
    "plugin_summary",
    "split_links",
]

IGNORED_LABELS = frozenset({"__name__", "alertstate", "replica", "prometheus_replica", "receive", "tenant_id"})


_FNV_OFFSET = 14695981039346656037


_FNV_PRIME = 1099511628211


_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """The 16-hex-digit fingerprint of a label set, computed as Prometheus/Alertmanager do (FNV-1a 64)."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), bytes([_SEPARATOR]), str(labels[name]).encode(), bytes([_SEPARATOR])):
            for byte in chunk:
                value ^= byte
                value = (value * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def identity_labels(labels: Mapping[str, Any]) -> dict[str, str]:
    """The labels that identify an alert: all but :data:`IGNORED_LABELS` (state, HA replica...)."""
    return {str(k): str(v) for k, v in labels.items() if k not in IGNORED_LABELS}


def labels_match(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """True when one identity is a subset of the other (a group-level ``{alertname}`` matches all)."""
    left, right = set(a.items()), set(b.items())
    return left <= right or right <= left


def alert_event(
    *,
    source: str,
    kind: EventKind,
    time: datetime,
    key: str,
    text: str,
    alertname: str,
    labels: Mapping[str, Any] | None = None,
    raw: str = "",
    started: datetime | None = None,
    actor: str | None = None,
    url: str | None = None,
    tasks: tuple[str, ...] = (),
    instance: str | None = None,
    host: str | None = None,
    service: str | None = None,
    severity: str | None = None,
    paged: bool = False,
    count: int = 1,
    notifications: int = 0,
    summary: str | None = None,
    runbook: str | None = None,
    dashboard: str | None = None,
    state: str | None = None,
    note: str | None = None,
    ongoing: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Event:
    """Build an alert event with the ``data`` every alert consumer expects (see the module docstring)."""
    ident = identity_labels(labels or {})
    ident.setdefault("alertname", alertname)
    data: dict[str, Any] = {
        "alertname": alertname,
        "labels": ident,
        "instance": instance,
        "host": host,
        "service": service,
        "severity": severity,
        "paged": paged,
        "count": max(1, count),
        "notifications": notifications,
        "summary": summary,
        "runbook": runbook,
        "dashboard": dashboard,
        "state": state,
        "note": note,
        "ongoing": ongoing,
    }
    if extra:
        data.update(extra)
    return Event(
        time=time,
        source=source,
        kind=kind,
        key=key,
        text=text,
        actor=actor,
        url=url,
        tasks=tasks,
        started=started,
        raw=raw,
        data={k: v for k, v in data.items() if v is not None},
    )


def alertname_of(event: Event) -> str:
    """The alert's name; an alert event built without :func:`alert_event` falls back on its text."""
    return str(event.data.get("alertname") or event.text)


def stream_key(event: Event) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What one alert of one source is: (source, alertname, identity labels)."""
    labels = event.data.get("labels") or {}
    return event.source, alertname_of(event), tuple(sorted(labels.items()))


def is_alert_end(event: Event) -> bool:
    return event.kind == EventKind.ALERT_RESOLVED or (
        event.kind == EventKind.ALERT_NOTE and bool(event.data.get("ongoing"))
    )


def with_starts(events: Iterable[Event]) -> list[Event]:
    """Give each resolved event of a log the time its alert started (``Event.started``), where the log shows it.

    Log sources call this before filtering to the window, so that a recovery inside the window
    whose problem line lies before it still says how long the alert fired.
    """
    return list(starts_given(sorted(events, key=lambda e: (e.time, e.key))))


def starts_given(ordered: Iterable[Event]) -> Iterator[Event]:
    """:func:`with_starts` as the events go by, for events already in ``(time, key)`` order;
    events that are no alert firing or ending pass unchanged."""
    open_since: dict[tuple[str, str, tuple[tuple[str, str], ...]], datetime] = {}
    for event in ordered:
        if event.kind == EventKind.ALERT_FIRING:
            open_since.setdefault(stream_key(event), event.time)
        elif is_alert_end(event):
            since = open_since.pop(stream_key(event), None)
            if since is not None and event.started is None:
                event = replace(event, started=since)
        yield event


# --- paging ---

DEFAULT_PAGING = {"severity": "page"}


def pages(labels: Mapping[str, str], paging_labels: Mapping[str, str]) -> bool:
    """True when every paging label matches (values are regular expressions, matched in full)."""
    if not paging_labels:
        return False
    for name, pattern in paging_labels.items():
        value = labels.get(name, "")
        try:
            if not re.fullmatch(pattern, value):
                return False
        except re.error:
            if value != pattern:
                return False
    return True


# --- Icinga ---

HOST_ALERTNAME = "Host down"


SERVICE_STATES = frozenset({"OK", "WARNING", "CRITICAL", "UNKNOWN"})


HOST_STATES = frozenset({"UP", "DOWN", "UNREACHABLE"})


NOTIFICATION_NOTES = {
    "ACKNOWLEDGEMENT": "acknowledgement",
    "FLAPPINGSTART": "flapping-start",
    "FLAPPINGSTOP": "flapping-stop",
    "FLAPPINGDISABLED": "flapping-disabled",
    "DOWNTIMESTART": "downtime-start",
    "DOWNTIMEEND": "downtime-end",
    "DOWNTIMECANCELLED": "downtime-cancelled",
    "CUSTOM": "custom",
}


_URL = re.compile(r"^https?://\S+$")


def severity_of(state: str) -> str | None:
    """A Prometheus-style severity for an Icinga problem state (None for OK/UP/PENDING)."""
    return {
        "CRITICAL": "critical",
        "DOWN": "critical",
        "UNREACHABLE": "critical",
        "WARNING": "warning",
        "UNKNOWN": "unknown",
    }.get(state)


def icinga_identity(host: str, service: str | None) -> tuple[str, dict[str, str]]:
    """The alertname and identity labels of an Icinga check (shared with icinga-wm IRC lines)."""
    if service is None:
        return HOST_ALERTNAME, {"alertname": HOST_ALERTNAME, "host": host}
    return service, {"alertname": service, "host": host, "service": service}


def plugin_summary(state: str, output: str) -> str:
    """``STATE: output`` without the plugin repeating the state (``CRITICAL: CRITICAL - x`` -> ``CRITICAL: x``)."""
    text = re.sub(rf"^{re.escape(state)}\s*(?:[:-]\s*)?", "", output.strip()) if output.strip().startswith(state) else output.strip()
    return f"{state}: {text}" if text else state


def split_links(output: str) -> tuple[str, str | None, str | None]:
    """Split trailing URLs (Icinga notes URLs) off plugin output: ``(text, runbook, dashboard)``."""
    words = output.split()
    links: list[str] = []
    while words and _URL.match(words[-1]):
        links.insert(0, words.pop())
    runbook = next((u for u in links if "grafana" not in u), None)
    dashboard = next((u for u in links if "grafana" in u), None)
    return " ".join(words), runbook, dashboard
