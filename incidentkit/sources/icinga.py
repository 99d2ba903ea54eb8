"""The ``icinga`` source: alert history from the Icinga 1.x / Nagios main log (``icinga.log`` and archives).

Every line is ``[<unix epoch>] <TEXT>``. Read (fields split on the first ``;`` separators only,
because plugin output may itself hold ``;``; long output after a literal ``\\n`` is dropped):

* ``SERVICE ALERT: host;service;STATE;SOFT|HARD;attempt;output`` and ``HOST ALERT: host;STATE;SOFT|HARD;attempt;output``:
  a HARD problem opens an alert, a HARD OK/UP closes it; SOFT states are ignored.
* ``CURRENT``/``INITIAL SERVICE|HOST STATE:`` (after a log rotation): a problem already open.
* ``SERVICE NOTIFICATION: contact;host;service;STATE;command;output`` and ``HOST NOTIFICATION``:
  notifications, counted once per alert and instant whatever the number of contacts; one sent to a
  pager contact (contact or command naming ``sms``, ``page``, ``pager``, ``pagerduty``,
  ``opsgenie``, ``victorops``, ``splunk``) marks the alert as paged. ``ACKNOWLEDGEMENT (...)``
  (``...;author;comment`` after the output), ``FLAPPING*`` and ``DOWNTIME*`` notifications
  become notes.
* ``SERVICE|HOST FLAPPING ALERT`` and ``SERVICE|HOST DOWNTIME ALERT``: notes.

Other ``[epoch]`` lines (``EXTERNAL COMMAND``, ``LOG ROTATION``, ``Auto-save``...) are not alerts
and are skipped silently; a line without the ``[epoch]`` prefix, or an alert line with missing or
invalid fields from the day before the window up to its end, is a problem. A host alert's ``alertname`` is ``Host down``; a service alert's is
the service description, with the host as its instance (the same identity icinga-wm IRC lines get).
"""

from __future__ import annotations

import heapq
import itertools
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..config import Settings
from ..model.alert import (
    HOST_STATES,
    NOTIFICATION_NOTES,
    SERVICE_STATES,
    alert_event,
    fingerprint,
    icinga_identity,
    plugin_summary,
    severity_of,
    split_links,
)
from ..model.event import Event, EventKind
from ..model.source import (
    Export,
    LineExport,
    LineFile,
    Problem,
    Query,
    SourceResult,
    SourceStream,
    SourceTally,
)
from ..model.tasks import find_tasks
from ..model.window import Window
from . import SourceSpec, register
from .logfiles import LogFileSource

__all__ = ["IcingaSource", "parse_icinga", "stream_icinga"]

NAME = "icinga"
OK_STATES = frozenset({"OK", "UP"})
PAGER_WORDS = re.compile(r"sms|page|pager|pagerduty|opsgenie|victorops|splunk", re.IGNORECASE)
RECENT = timedelta(minutes=5)  # a recovery notification this soon after a HARD OK is the same recovery

_LINE = re.compile(r"^\[(?P<epoch>\d{9,11})\]\s(?P<text>.*)$")
_Entry = tuple[datetime, str, int, str]  # (time, file name, line number, line)
_NOTE_TYPE = re.compile(r"^(?P<kind>ACKNOWLEDGEMENT|FLAPPINGSTART|FLAPPINGSTOP|FLAPPINGDISABLED|DOWNTIMESTART|DOWNTIMEEND|DOWNTIMECANCELLED|CUSTOM)\s*\((?P<state>[A-Z]+)\)$")






@dataclass
class _Open:
    """An alert open in the log: the fields of its firing event, still mutable."""

    fields: dict[str, Any]
    time: datetime | None  # None for a problem already open when the log starts: its start is unknown


class IcingaSource(LogFileSource):
    """Reads the Icinga main log (file or folder of archives) at ``[icinga] path``."""

    name = NAME
    what = "icinga.log or the archive folder"


class _Parser:
    """The state machine over one source's lines, in time order."""

    def __init__(self) -> None:
        self.fields: list[dict[str, Any]] = []
        self.open: dict[tuple[str, str | None], _Open] = {}
        self.closed: dict[tuple[str, str | None], dict[str, Any]] = {}

    def _base(self, when: datetime, host: str, service: str | None, state: str, output: str, raw: str) -> dict[str, Any]:
        alertname, labels = icinga_identity(host, service)
        text, runbook, dashboard = split_links(output.partition("\\n")[0])
        return {
            "source": NAME,
            "time": when,
            "alertname": alertname,
            "labels": labels,
            "raw": raw,
            "instance": host,
            "host": host,
            "service": service,
            "severity": severity_of(state),
            "state": state,
            "summary": plugin_summary(state, text),
            "runbook": runbook,
            "dashboard": dashboard,
        }

    def _key(self, when: datetime, labels: Mapping[str, str], what: str) -> str:
        return f"{NAME}:{labels['alertname']}:{fingerprint(labels)}:{int(when.timestamp())}:{what}"

    def _notified(self, fields: dict[str, Any], when: datetime, paged: bool = False) -> None:
        """Count a notification once per alert and instant, however many contacts got it; one
        sent to a pager marks the alert as paged."""
        if fields.get("_notified_at") != when:
            fields["notifications"] += 1
            fields["_notified_at"] = when
        fields["paged"] = fields["paged"] or paged
        self._amended(fields)

    def problem(self, when: datetime, host: str, service: str | None, state: str, output: str, raw: str, *, notified: bool, paged: bool) -> None:
        ident = (host, service)
        current = self.open.get(ident)
        if current is not None:
            if notified:
                self._notified(current.fields, when, paged)
            return
        fields = self._base(when, host, service, state, output, raw)
        where = f"{service} on {host}" if service else f"Host {host}"
        fields.update(
            kind=EventKind.ALERT_FIRING,
            key=self._key(when, fields["labels"], "firing"),
            text=f"{where} is {state}: {fields['summary'].partition(': ')[2] or state}",
            notifications=0,
            paged=paged,
        )
        if notified:
            self._notified(fields, when)
        self._emit(fields, ident)
        self.open[ident] = _Open(fields, when)

    def carried(self, host: str, service: str | None, state: str) -> None:
        """A CURRENT/INITIAL state line: the problem was open before the log; no firing event."""
        ident = (host, service)
        if state in OK_STATES or ident in self.open:
            return
        # notifications may follow (a page marks the alert's recovery); the counts of no event
        self.open[ident] = _Open({"notifications": 0, "paged": False}, None)

    def recovery(self, when: datetime, host: str, service: str | None, state: str, output: str, raw: str, *, notified: bool) -> None:
        ident = (host, service)
        previous = self.closed.get(ident)
        if ident not in self.open and previous is not None and when - previous["time"] <= RECENT:
            if notified:
                self._notified(previous, when)
            return
        current = self.open.pop(ident, None)
        fields = self._base(when, host, service, state, output, raw)
        where = f"{service} on {host}" if service else f"Host {host}"
        started = current.time if current is not None else None
        fields.update(
            kind=EventKind.ALERT_RESOLVED,
            key=self._key(when, fields["labels"], "resolved"),
            text=f"{where} is {state}: {fields['summary'].partition(': ')[2] or state}",
            started=started,
            notifications=0,
            paged=bool(current and current.fields.get("paged")),
        )
        if notified:
            self._notified(fields, when)
        self._emit(fields, ident)
        self.closed[ident] = fields

    def note(self, when: datetime, host: str, service: str | None, kind: str, state: str, detail: str, raw: str, *, actor: str | None = None) -> None:
        fields = self._base(when, host, service, state, "", raw)
        where = f"{service} on {host}" if service else f"host {host}"
        words = {
            "acknowledgement": f"{where} acknowledged" + (f" by {actor}" if actor else ""),
            "flapping-start": f"{where} started flapping",
            "flapping-stop": f"{where} stopped flapping",
            "flapping-disabled": f"flap detection disabled for {where}",
            "downtime-start": f"{where} entered scheduled downtime",
            "downtime-end": f"{where} left scheduled downtime",
            "downtime-cancelled": f"scheduled downtime cancelled for {where}",
            "custom": f"custom notification for {where}",
        }
        text = words[kind] + (f": {detail}" if detail else "")
        fields.update(
            kind=EventKind.ALERT_NOTE,
            key=self._key(when, fields["labels"], kind),
            text=text,
            note=kind,
            actor=actor,
            tasks=find_tasks(detail),
            summary=None,
        )
        self._emit(fields, None)

    def _emit(self, fields: dict[str, Any], ident: tuple[str, str | None] | None) -> None:
        """A new event; *ident* names the alert when later lines may still amend it."""
        self.fields.append(fields)

    def _amended(self, fields: dict[str, Any]) -> None:
        """A notification changed an event's ``notifications`` or ``paged``."""

    def events(self) -> list[Event]:
        return [_event(f) for f in self.fields]


def _event(fields: dict[str, Any]) -> Event:
    return alert_event(**{k: v for k, v in fields.items() if not k.startswith("_")})


_ALERT_NOTES = {("FLAPPING", "STARTED"): "flapping-start", ("FLAPPING", "STOPPED"): "flapping-stop",
                ("FLAPPING", "DISABLED"): "flapping-disabled", ("DOWNTIME", "STARTED"): "downtime-start",
                ("DOWNTIME", "STOPPED"): "downtime-end", ("DOWNTIME", "CANCELLED"): "downtime-cancelled"}


class _Bad(ValueError):
    """A recognised alert line with missing or invalid fields."""


def _state_fields(body: str, host_line: bool) -> tuple[str, str | None, str, str, str]:
    """``host;[service;]STATE;TYPE;attempt;output`` -> (host, service, state, type, output)."""
    parts = body.split(";", 4 if host_line else 5)
    if len(parts) != (5 if host_line else 6):
        raise _Bad(f"expected {5 if host_line else 6} ';'-separated fields, found {len(parts)}")
    if host_line:
        host, state, kind, attempt, output = parts
        service = None
    else:
        host, service, state, kind, attempt, output = parts
    if state not in (HOST_STATES if host_line else SERVICE_STATES):
        raise _Bad(f"unknown state {state!r}")
    if kind not in ("SOFT", "HARD") or not attempt.strip().isdigit():
        raise _Bad(f"bad state type/attempt {kind!r};{attempt!r}")
    if not host:
        raise _Bad("empty host name")
    return host, service, state, kind, output


def _handle(parser: _Parser, when: datetime, kind: str, body: str, raw: str) -> None:
    host_line = "HOST" in kind.split()
    if kind in ("SERVICE ALERT", "HOST ALERT"):
        host, service, state, state_type, output = _state_fields(body, host_line)
        if state_type != "HARD":
            return
        if state in OK_STATES:
            parser.recovery(when, host, service, state, output, raw, notified=False)
        else:
            parser.problem(when, host, service, state, output, raw, notified=False, paged=False)
    elif kind in ("CURRENT SERVICE STATE", "INITIAL SERVICE STATE", "CURRENT HOST STATE", "INITIAL HOST STATE"):
        host, service, state, state_type, output = _state_fields(body, host_line)
        if state_type == "HARD":
            parser.carried(host, service, state)
    elif kind in ("SERVICE NOTIFICATION", "HOST NOTIFICATION"):
        parts = body.split(";", 4 if host_line else 5)
        if len(parts) != (5 if host_line else 6):
            raise _Bad(f"expected {5 if host_line else 6} ';'-separated fields, found {len(parts)}")
        if host_line:
            contact, host, state, command, output = parts
            service = None
        else:
            contact, host, service, state, command, output = parts
        paged = bool(PAGER_WORDS.search(contact) or PAGER_WORDS.search(command))
        note = _NOTE_TYPE.match(state)
        if note:
            detail, actor = "", None
            if note.group("kind") == "ACKNOWLEDGEMENT":
                pieces = output.rsplit(";", 2)
                if len(pieces) == 3:
                    actor, detail = pieces[1] or None, pieces[2]
            parser.note(when, host, service, NOTIFICATION_NOTES[note.group("kind")], note.group("state"), detail, raw, actor=actor)
            return
        if state not in (HOST_STATES if host_line else SERVICE_STATES):
            raise _Bad(f"unknown notification state {state!r}")
        if state in OK_STATES:
            parser.recovery(when, host, service, state, output, raw, notified=True)
        else:
            parser.problem(when, host, service, state, output, raw, notified=True, paged=paged)
    elif kind in ("SERVICE FLAPPING ALERT", "HOST FLAPPING ALERT", "SERVICE DOWNTIME ALERT", "HOST DOWNTIME ALERT"):
        parts = body.split(";", 2 if host_line else 3)
        if len(parts) != (3 if host_line else 4):
            raise _Bad("too few ';'-separated fields")
        host, service = parts[0], (None if host_line else parts[1])
        what, detail = parts[-2], parts[-1].strip()
        note = _ALERT_NOTES.get(("FLAPPING" if "FLAPPING" in kind else "DOWNTIME", what))
        if note is None:
            raise _Bad(f"unknown {kind.lower()} state {what!r}")
        parser.note(when, host, service, note, "OK", detail, raw)


_KNOWN = re.compile(r"^(?P<kind>(?:CURRENT |INITIAL )?(?:SERVICE|HOST) (?:ALERT|STATE|NOTIFICATION|FLAPPING ALERT|DOWNTIME ALERT)):\s?(?P<body>.*)$")


def _entries(name: str, lines: Iterable[str], problems: list[Problem], tally: SourceTally) -> Iterator[_Entry]:
    """The ``[epoch]`` lines of one file as ``(time, file, line number, line)``; other lines are problems."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        tally.lines_read += 1
        match = _LINE.match(line)
        if match is None:
            problems.append(Problem(f"{name}:{number}", "not an Icinga log line ([epoch] TEXT)", line[:200]))
            continue
        yield datetime.fromtimestamp(int(match.group("epoch")), UTC), name, number, line


def _apply(parser: _Parser, entry: _Entry, window: Window, problems: list[Problem]) -> None:
    """Feed one line to the state machine; a malformed alert line near the window is a problem."""
    when, name, number, line = entry
    known = _KNOWN.match(_LINE.match(line).group("text"))  # type: ignore[union-attr]
    if known is None:
        return
    try:
        _handle(parser, when, known.group("kind"), known.group("body"), line)
    except _Bad as exc:
        if window.start - timedelta(days=1) <= when < window.end:
            problems.append(Problem(f"{name}:{number}", str(exc), line[:200]))


def _time(entry: _Entry) -> datetime:
    return entry[0]


def _notes(export: Export | LineExport) -> list[str]:
    skipped = export.meta.get("skipped_files")
    return [f"Icinga log files not read (compressed): {', '.join(skipped)}"] if skipped else []


def parse_icinga(export: Export, query: Query) -> SourceResult:
    """Alert events from Icinga main-log files. Pure; malformed alert lines become problems."""
    tally = SourceTally(NAME)
    lines: list[_Entry] = []
    for name, text in export.files:
        lines.extend(_entries(name, text.splitlines(), tally.problems, tally))
    lines.sort(key=_time)  # archives may be given in any order; a log is in time order
    parser = _Parser()
    for entry in lines:
        _apply(parser, entry, query.window, tally.problems)
    events = [e for e in parser.events() if e.within(query.window)]
    events.sort(key=lambda e: (e.time, e.key))
    return SourceResult(NAME, tuple(events), tuple(tally.problems), tally.lines_read, tuple(_notes(export)))


class _Finals(_Parser):
    """The first read of a streaming parse: the final ``notifications`` and ``paged`` of every
    event that later lines may amend (a firing event while its alert is open, a resolved one for
    ``RECENT``), by the order the events are created in: 5 bytes an event, nothing else kept."""

    def __init__(self) -> None:
        super().__init__()
        self.notifications = array("I")
        self.paged = bytearray()

    def _emit(self, fields: dict[str, Any], ident: tuple[str, str | None] | None) -> None:
        if ident is not None:
            fields["_order"] = len(self.paged)
            self.notifications.append(fields["notifications"])
            self.paged.append(fields["paged"])

    def _amended(self, fields: dict[str, Any]) -> None:
        order = fields.get("_order")
        if order is not None:
            self.notifications[order] = fields["notifications"]
            self.paged[order] = fields["paged"]


class _Releasing(_Parser):
    """The second read: the same state machine, releasing each event in ``(time, key)`` order
    once the log has moved past its second, with the final counts the first read found (later
    lines only create events at their own time or after; what they amend is already known)."""

    def __init__(self, finals: _Finals) -> None:
        super().__init__()
        self.finals = finals
        self.pending: list[tuple[datetime, str, int, dict[str, Any]]] = []  # heap: the events of the last second
        self.created = itertools.count()
        self.amendable = itertools.count()

    def _emit(self, fields: dict[str, Any], ident: tuple[str, str | None] | None) -> None:
        if ident is not None:
            fields["_order"] = next(self.amendable)
        heapq.heappush(self.pending, (fields["time"], fields["key"], next(self.created), fields))

    def release(self, now: datetime | None) -> Iterator[Event]:
        """The events before a line at *now* (every event when *now* is None: the log ended)."""
        while self.pending and (now is None or self.pending[0][0] < now):
            fields = heapq.heappop(self.pending)[3]
            order = fields.get("_order")
            if order is not None:
                fields["notifications"] = self.finals.notifications[order]
                fields["paged"] = bool(self.finals.paged[order])
            yield _event(fields)


def _in_time_order(file: LineFile) -> bool:
    """True when the file's ``[epoch]`` lines never go back in time (read once, nothing kept)."""
    last = 0
    for line in file.lines():
        match = _LINE.match(line)
        if match is not None:
            epoch = int(match.group("epoch"))
            if epoch < last:
                return False
            last = epoch
    return True


def stream_icinga(export: LineExport, query: Query) -> SourceStream:
    """:func:`parse_icinga` as the lines are read: the same events in the same order, in memory
    that does not grow with the log (5 bytes an alert event).

    Each file is assumed to be in time order, as Icinga writes it, and checked first (one read
    that keeps nothing); the files are merged by time. A file that is not in order is sorted in
    memory (with a note), never dropped. The merged lines are read twice: first for the final
    notification counts (a firing event is amended until its recovery), then to release the
    events. Counts and problems are complete once the events are.
    """
    tally = SourceTally(NAME, notes=_notes(export))
    unsorted = [file.name for file in export.files if not _in_time_order(file)]
    if unsorted:
        tally.notes.append(f"Icinga log files not in time order, sorted in memory: {', '.join(unsorted)}")
    finals = _Finals()
    for entry in _merged_entries(export, unsorted, [[] for _ in export.files], SourceTally(NAME)):
        _apply(finals, entry, query.window, [])
    found: list[list[Problem]] = [[] for _ in export.files]  # per file, reported in file order
    entries = _merged_entries(export, unsorted, found, tally)
    return SourceStream(tally, _released(entries, _Releasing(finals), query.window, tally, found))


def _merged_entries(export: LineExport, unsorted: list[str], found: list[list[Problem]], tally: SourceTally) -> Iterator[_Entry]:
    """The ``[epoch]`` lines of every file in time order (stable: file order, then line order)."""
    streams: list[Iterator[_Entry]] = []
    for file, problems in zip(export.files, found, strict=True):
        entries = _entries(file.name, file.lines(), problems, tally)
        streams.append(iter(sorted(entries, key=_time)) if file.name in unsorted else entries)
    return heapq.merge(*streams, key=_time)


def _released(
    entries: Iterable[_Entry], parser: _Releasing, window: Window, tally: SourceTally, found: list[list[Problem]]
) -> Iterator[Event]:
    bad: list[Problem] = []
    for entry in entries:
        for event in parser.release(entry[0]):
            if event.within(window):
                tally.events += 1
                yield event
        _apply(parser, entry, window, bad)
    for event in parser.release(None):
        if event.within(window):
            tally.events += 1
            yield event
    tally.problems.extend(problem for problems in found for problem in problems)
    tally.problems.extend(bad)


def _factory(settings: Settings) -> IcingaSource:
    return IcingaSource(settings.icinga)


SPEC = register(
    SourceSpec(
        name=NAME,
        help=(
            "Icinga 1.x / Nagios main log (icinga.log and icinga-MM-DD-YYYY-HH.log archives): SERVICE/HOST ALERT "
            "lines (HARD states), notifications (pager contacts mark a page), acknowledgements, flapping and "
            "downtime. Config: [icinga] path = a file or folder. --input icinga=FILE|DIR."
        ),
        factory=_factory,
        parse=parse_icinga,
        stream=stream_icinga,
        configured=lambda settings: bool(settings.icinga.path),
    )
)
