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
# A data centre's name on its own, looked for in the folded, lowered text (see _FOLD): there a case-
# sensitive pattern finds what an IGNORECASE one finds in the text, at the same places, and one that
# starts with the names rather than a look-behind is scanned for their first letters, many times faster
# (the look-behind reaches back over the name: every name is five letters).
_SITE = re.compile(r"(?:" + "|".join(_SITES) + r")(?<![a-z0-9].{5})(?![a-z0-9])")
# "wdqs1006", "ms-be1043", "an-worker1092", "cp3050.esams.wmnet" (a server: letters, then 4 digits)
_HOST = re.compile(r"(?<![\w.-])([a-z]+(?:-[a-z]+)*)([1-7]\d{3})(?![\w-])", re.I)
# what every host name holds: a letter, then the number (looked for from the digit: a pattern that
# starts with digits is scanned for them, one that starts with a case-insensitive letter is tried everywhere)
_HOST_END = re.compile(r"[1-7](?<=[a-z][1-7])\d{3}", re.I)
# network gear: "asw-c4-eqiad", "asw2-d2-eqiad", "cr1-eqiad"
_DEVICE = re.compile(r"(?<![\w.-])((asw|cr|mr|pfw|lsw|ssw)\d?)(-[a-z]\d{1,2})?-(" + "|".join(_SITES) + r")(?![\w-])", re.I)
# "wdqs.discovery.wmnet", "api-rw.discovery.wmnet", "restbase.svc.eqiad.wmnet"
_SERVICE_NAME = re.compile(r"(?<![\w.-])([a-z][a-z0-9-]*)\.(?:discovery|svc\.[a-z]+)\.wmnet\b", re.I)
_FIRING = re.compile(r"\b(?:FIRING|RESOLVED)(?:\s*:\s*\d+)?\]?\s*:?\s*\[?\s*([A-Z][A-Za-z0-9_]{3,})\b")
_ICINGA = re.compile(r"\b(?:PROBLEM|RECOVERY)\s+-\s+(.{4,80}?)\s+on\s+[\w.-]+\s+is\s+(?:CRITICAL|WARNING|UNKNOWN|OK)\b")
# The letters that case-insensitive patterns match to an ASCII letter though lower() does not make
# them one (see the re module's IGNORECASE): folded first, a substring test finds what a pattern would.
# Each is one letter, as is the lower case of every other (U+0130, folded, is the one exception), so
# the folded, lowered text lines up with the text letter for letter.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_FOLDED = tuple(chr(letter) for letter in _FOLD)  # looked for first: a translation is slow
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


def _lines_at(text: str, positions: Iterable[int]) -> list[str]:
    """The lines of *text* holding the *positions*, each once.

    A name that never spans a line is found in these lines alone as in the whole text (a line's
    ends bound it as the newlines around it do), without a costly look-behind at every character
    of the others.
    """
    lines: dict[int, str] = {}
    for position in positions:
        start = text.rfind("\n", 0, position) + 1
        if start not in lines:
            end = text.find("\n", position)
            lines[start] = text[start : end if end >= 0 else len(text)]
    return list(lines.values())


def _host_lines(text: str) -> list[str]:
    """The lines of *text* that may name a host: those holding what every host name holds, a letter
    and its number."""
    return _lines_at(text, (match.start() for match in _HOST_END.finditer(text)))


def text_signals(text: str) -> Signals:
    """The signals free text names: hosts (with their cluster as a service, and their data centre),
    network devices, service DNS names, data centres, alert names in the bots' forms, task ids.

    A pattern with a look-behind at its start runs only where the text holds what it cannot match
    without (a ``.wmnet`` name, a bot's ``FIRING``; the lines of a data centre's name after a ``-``,
    of a letter and four digits): a substring test, or a scan for a pattern that starts with text,
    is far cheaper than a look-behind at every character, and most reports name few of these things.
    """
    found = empty_signals()
    folds = any(letter in text for letter in _FOLDED)
    lowered = (text.translate(_FOLD) if folds else text).lower()
    # what a pattern matched, as a value: "eſams" is "esams", as the pattern read it
    value = (lambda matched: matched.translate(_FOLD).lower()) if folds else str.lower
    sites = list(_SITE.finditer(lowered))
    # a device's name ends with its data centre's, after a "-"
    devices = _lines_at(text, (m.start() for m in sites if lowered[m.start() - 1 : m.start()] == "-"))
    for match in (m for line in devices for m in _DEVICE.finditer(line)):
        found["host"].add(value(match.group(0)))
        found["service"].add(value(match.group(2)))
        found["site"].add(value(match.group(4)))
    for match in (m for line in _host_lines(text) for m in _HOST.finditer(line)):
        cluster, number = value(match.group(1)), match.group(2)
        if cluster in _TOOLING_CLUSTERS or cluster in _SITES or len(cluster) < 2:
            continue
        found["host"].add(f"{cluster}{number}")
        found["service"].add(cluster)
        found["site"].add(_SITE_DIGIT[number[0]])
    if ".wmnet" in lowered:
        found["service"].update(value(m.group(1)) for m in _SERVICE_NAME.finditer(text))
    found["site"].update(m.group() for m in sites)
    if "FIRING" in text or "RESOLVED" in text:
        found["alert"].update(_clean_alert(m.group(1)) for m in _FIRING.finditer(text))
    if "PROBLEM" in text or "RECOVERY" in text:
        found["alert"].update(_clean_alert(m.group(1)) for m in _ICINGA.finditer(text))
    found["task"].update(find_tasks(text))
    return found
