"""What an incident touched, as comparable signals: alert names, services (or clusters), hosts,
data centres, Phabricator projects and tasks; and the one place that reads them out of free text.

Similar incidents are found by shared signals (:mod:`incidentkit.model.similar`). A signal is a
``(kind, value)`` pair; values are normalised so that two reports writing the same thing match
(hosts and sites lower-cased, task ids as ``T123``). Text written by people and bots names hosts
in Wikimedia's naming scheme (``wdqs1006``, ``cp3050.esams.wmnet``, ``asw-b2-codfw``): the letters
are the service or cluster, the first digit of the number the data centre. Alert names come from the alert
sources' labels, and from the forms bots write them in (``FIRING: ATSBackendErrorsHigh``,
``PROBLEM - MediaWiki exceptions and fatals per minute on graphite1001 is CRITICAL``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .tasks import find_tasks

__all__ = ["SIGNAL_KINDS", "SIGNAL_LABELS", "Signals", "empty_signals", "merge_signals", "text_signals"]

SIGNAL_KINDS = ("alert", "task", "project", "service", "host", "site")

SIGNAL_LABELS = {
    "alert": "alert",
    "task": "Phabricator task",
    "project": "Phabricator project",
    "service": "service",
    "host": "host",
    "site": "data centre",
}

Signals = dict[str, set[str]]  # kind -> values

# Wikimedia data centres, and the first digit of a host number that places a host in one.
_SITES = ("eqiad", "codfw", "esams", "ulsfo", "eqsin", "drmrs", "magru", "knams")
_SITE_DIGIT = {"1": "eqiad", "2": "codfw", "3": "esams", "4": "ulsfo", "5": "eqsin", "6": "drmrs", "7": "magru"}
_SITE = re.compile(r"(?<![a-z0-9])(" + "|".join(_SITES) + r")(?![a-z0-9])", re.I)
# "wdqs1006", "ms-be1043", "an-worker1092", "cp3050.esams.wmnet" (a server: letters, then 4 digits)
_HOST = re.compile(r"(?<![\w.-])([a-z]+(?:-[a-z]+)*)([1-7]\d{3})(?![\w-])", re.I)
# network gear: "asw-c4-eqiad", "asw2-d2-eqiad", "cr1-eqiad"
_DEVICE = re.compile(r"(?<![\w.-])((asw|cr|mr|pfw|lsw|ssw)\d?)(-[a-z]\d{1,2})?-(" + "|".join(_SITES) + r")(?![\w-])", re.I)
# "wdqs.discovery.wmnet", "api-rw.discovery.wmnet", "restbase.svc.eqiad.wmnet"
_SERVICE_NAME = re.compile(r"(?<![\w.-])([a-z][a-z0-9-]*)\.(?:discovery|svc\.[a-z]+)\.wmnet\b", re.I)
_FIRING = re.compile(r"\b(?:FIRING|RESOLVED)(?:\s*:\s*\d+)?\]?\s*:?\s*\[?\s*([A-Z][A-Za-z0-9_]{3,})\b")
_ICINGA = re.compile(r"\b(?:PROBLEM|RECOVERY)\s+-\s+(.{4,80}?)\s+on\s+[\w.-]+\s+is\s+(?:CRITICAL|WARNING|UNKNOWN|OK)\b")
# hosts that run the tooling (checks, logs, shells) and so appear in every kind of incident
_TOOLING_CLUSTERS = {"icinga", "alert", "graphite", "prometheus", "logstash", "mwlog", "deploy", "bast", "cumin", "puppetmaster"}


def empty_signals() -> Signals:
    return {kind: set() for kind in SIGNAL_KINDS}


def merge_signals(*parts: Mapping[str, Iterable[str]]) -> Signals:
    """The union of several signal sets (unknown kinds are dropped)."""
    merged = empty_signals()
    for part in parts:
        for kind, values in part.items():
            if kind in merged:
                merged[kind].update(v for v in values if v)
    return merged


def _clean_alert(name: str) -> str:
    return " ".join(name.split()).strip(" -:")


def text_signals(text: str) -> Signals:
    """The signals free text names: hosts (with their cluster as a service, and their data centre),
    network devices, service DNS names, data centres, alert names in the bots' forms, task ids."""
    found = empty_signals()
    for match in _DEVICE.finditer(text):
        device = match.group(0).lower()
        found["host"].add(device)
        found["service"].add(match.group(2).lower())
        found["site"].add(match.group(4).lower())
    for match in _HOST.finditer(text):
        cluster, number = match.group(1).lower(), match.group(2)
        if cluster in _TOOLING_CLUSTERS or cluster in _SITES or len(cluster) < 2:
            continue
        found["host"].add(f"{cluster}{number}")
        found["service"].add(cluster)
        found["site"].add(_SITE_DIGIT[number[0]])
    for match in _SERVICE_NAME.finditer(text):
        found["service"].add(match.group(1).lower())
    found["site"].update(m.group(1).lower() for m in _SITE.finditer(text))
    found["alert"].update(_clean_alert(m.group(1)) for m in _FIRING.finditer(text))
    found["alert"].update(_clean_alert(m.group(1)) for m in _ICINGA.finditer(text))
    found["task"].update(find_tasks(text))
    return found
