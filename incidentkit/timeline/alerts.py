"""Alert history as timeline rows: pairing, flapping, cross-source dedup, episodes, detection.

Every alert event carries the ``data`` of :func:`incidentkit.model.alert.alert_event`. Everything
here is pure. The steps, each a private function:

1. **Pairing** (per source and alert identity): a firing event opens an interval, repeats while it
   is open are absorbed (re-notifications), a resolved event closes it. A resolved event with no
   open interval uses ``Event.started`` when the source knew the start, else it stands alone.
   An interval still open at the end is *ongoing*, as is one closed by an ``ongoing`` note.
2. **Flapping**: intervals of one identity that re-fire within :data:`FLAP_GAP` of resolving
   collapse into one with a ``fires`` count.
3. **Dedup across sources**: intervals of the same ``alertname`` from different sources whose
   label sets are compatible (one is a subset of the other, ignoring :data:`IGNORED_LABELS`) and
   whose starts are within :data:`MATCH_TOLERANCE` are one interval. A bot line that only names
   the group (``{alertname}``) therefore joins the Prometheus series it announced.
4. **Rows**: intervals of one ``alertname`` starting within :data:`GROUP_GAP` of each other form
   one episode, shown as "X firing (3 instances: a, b, c)" at the start and "X resolved after
   42 min" at the end. Row keys are ``alert:<alertname>:<first start, UTC minute>`` (two episodes
   of one alert cannot start in the same minute, they would be one episode), so they survive
   re-pulls and curation overrides stay attached.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..model.alert import alertname_of, is_alert_end, labels_match, stream_key
from ..model.event import Event, EventKind
from ..model.incident import Detection
from ..model.row import Row, row_from_event
from ..model.time import format_duration, format_utc
from ..model.window import Window

__all__ = ["MATCH_TOLERANCE", "FLAP_GAP", "GROUP_GAP", "alert_rows", "detect"]

MATCH_TOLERANCE = timedelta(minutes=5)


FLAP_GAP = timedelta(minutes=10)


GROUP_GAP = timedelta(minutes=5)


MAX_LISTED = 5


MAX_SUMMARY = 160


@dataclass(slots=True)
class _Interval:
    """One alert identity firing from ``start`` to ``end`` (mutable while pairing and merging)."""

    alertname: str
    labels: dict[str, str]
    sources: list[str]
    start: datetime | None  # None: it started before the history we have
    seen_start: bool = True  # False when the start is only known from a resolved event's `started`
    end: datetime | None = None
    ongoing: bool = False
    fires: int = 1
    notifications: int = 0
    paged_by_state: bool = False  # paging labels / severity, no notification seen
    paged_notice: datetime | None = None  # the first paging notification
    count: int = 1
    instances: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    first: Event | None = None  # the earliest firing event
    first_notice: Event | None = None  # the earliest firing notification (a bot line...)
    attrs: dict[str, str] = field(default_factory=dict)  # severity, summary, runbook, dashboard
    flapping: bool = False

    @property
    def anchor(self) -> datetime:
        """The earliest time known: the start, else the end, else (a start-less flap that still fires) its first firing."""
        anchor = self.start or self.end or (self.first.time if self.first is not None else None)
        assert anchor is not None, "an interval is made from an event, so it has a time"
        return anchor

    @property
    def paged(self) -> bool:
        return self.paged_by_state or self.paged_notice is not None

    @classmethod
    def opened(cls, event: Event) -> _Interval:
        interval = cls(
            alertname=alertname_of(event),
            labels=dict(event.data.get("labels") or {}),
            sources=[event.source],
            start=event.time,
        )  # ongoing is decided when the stream ends: closed by a resolve, or still open
        interval.take(event)
        return interval

    @classmethod
    def from_end(cls, event: Event) -> _Interval:
        interval = cls(
            alertname=alertname_of(event),
            labels=dict(event.data.get("labels") or {}),
            sources=[event.source],
            start=event.started,
            seen_start=False,
            fires=1 if event.started is not None else 0,
        )
        interval.close(event)
        return interval

    def take(self, event: Event) -> None:
        """Absorb what one event says (notifications, paging, instances, annotations)."""
        data = event.data
        self.keys.append(event.key)
        notifications = int(data.get("notifications", 0) or 0)
        self.notifications += notifications
        firing = event.kind == EventKind.ALERT_FIRING
        if data.get("paged"):
            if firing and notifications:
                if self.paged_notice is None or event.time < self.paged_notice:
                    self.paged_notice = event.time
            elif not notifications:
                self.paged_by_state = True
        self.count = max(self.count, int(data.get("count", 1) or 1))
        instance = data.get("instance")
        if instance and str(instance) not in self.instances:
            self.instances.append(str(instance))
        for name in ("severity", "summary", "runbook", "dashboard"):
            if name not in self.attrs and data.get(name):
                self.attrs[name] = str(data[name])
        if firing and (self.first is None or event.time < self.first.time):
            self.first = event
        if firing and notifications and (self.first_notice is None or event.time < self.first_notice.time):
            self.first_notice = event

    def close(self, event: Event) -> None:
        self.take(event)
        self.end = event.time
        self.ongoing = bool(event.data.get("ongoing"))

    def absorb(self, other: _Interval) -> None:
        """Take over another observation's data (not its times; the callers decide those)."""
        self.notifications += other.notifications
        self.paged_by_state = self.paged_by_state or other.paged_by_state
        if other.paged_notice is not None and (self.paged_notice is None or other.paged_notice < self.paged_notice):
            self.paged_notice = other.paged_notice
        self.count = max(self.count, other.count)
        self.instances.extend(i for i in other.instances if i not in self.instances)
        self.keys.extend(other.keys)
        self.sources.extend(s for s in other.sources if s not in self.sources)
        if len(other.labels) > len(self.labels):
            self.labels = dict(other.labels)
        for name, value in other.attrs.items():
            self.attrs.setdefault(name, value)
        if other.first is not None and (self.first is None or other.first.time < self.first.time):
            self.first = other.first
        if other.first_notice is not None and (
            self.first_notice is None or other.first_notice.time < self.first_notice.time
        ):
            self.first_notice = other.first_notice


def _repeats(end: Event, previous_end: datetime) -> bool:
    """Whether an unmatched resolve repeats the previous one rather than closing an unseen alert."""
    if end.started is not None:
        return end.started <= previous_end
    return end.time - previous_end <= MATCH_TOLERANCE


def _pair(events: Sequence[Event]) -> list[_Interval]:
    """Step 1 and 2: intervals per (source, alertname, identity), flaps collapsed."""
    streams: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[Event]] = defaultdict(list)
    # at one time a firing goes before a resolve: a check that failed and recovered within a second
    for event in sorted(events, key=lambda e: (e.time, e.kind != EventKind.ALERT_FIRING, e.key)):
        streams[stream_key(event)].append(event)
    result: list[_Interval] = []
    for stream in streams.values():
        current: _Interval | None = None
        closed: list[_Interval] = []
        for event in stream:
            if event.kind == EventKind.ALERT_FIRING:
                if current is None:
                    current = _Interval.opened(event)
                else:
                    current.take(event)
                continue
            previous = closed[-1] if closed else None
            if current is not None:
                current.close(event)
                closed.append(current)
                current = None
            elif previous is not None and previous.end is not None and _repeats(event, previous.end):
                previous.take(event)  # a second notice of the same resolve (another contact, an HA replica)
                previous.end = max(previous.end, event.time)
            else:
                closed.append(_Interval.from_end(event))
        if current is not None:
            current.ongoing = True
            closed.append(current)
        result.extend(_collapse_flaps(closed))
    return result


def _collapse_flaps(intervals: list[_Interval]) -> list[_Interval]:
    merged: list[_Interval] = []
    for interval in sorted(intervals, key=lambda i: i.anchor):
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.end is not None
            and not previous.ongoing
            and interval.start is not None
            and interval.start - previous.end <= FLAP_GAP
        ):
            previous.absorb(interval)
            previous.fires += interval.fires
            previous.end = interval.end
            previous.ongoing = interval.ongoing
            continue
        merged.append(interval)
    return merged


def _dedup(intervals: list[_Interval]) -> list[_Interval]:
    """Step 3: the same alert seen by several sources becomes one interval."""
    merged: list[_Interval] = []
    by_name: dict[str, list[_Interval]] = defaultdict(list)
    # specific label sets first, so a group-level bot line joins the series it announced
    for interval in sorted(intervals, key=lambda i: (i.anchor, -len(i.labels), i.sources[0])):
        best: _Interval | None = None
        for candidate in by_name[interval.alertname]:
            if interval.sources[0] in candidate.sources:
                continue
            if candidate.start is None and interval.start is not None:
                continue  # a resolve of unknown start ended before this started (anchors sort): another firing
            if abs(candidate.anchor - interval.anchor) > MATCH_TOLERANCE:
                continue
            if not labels_match(candidate.labels, interval.labels):
                continue
            if best is None or abs(candidate.anchor - interval.anchor) < abs(best.anchor - interval.anchor):
                best = candidate
        if best is None:
            by_name[interval.alertname].append(interval)
            merged.append(interval)
        else:
            best.absorb(interval)
            best.fires = max(best.fires, interval.fires)
            # sorted by anchor, a later observation starts no earlier: only a start seen at the same time counts
            if interval.start is not None and interval.start == best.start:
                best.seen_start = best.seen_start or interval.seen_start
            best.ongoing = best.ongoing and interval.ongoing
            ends = [e for e in (best.end, interval.end) if e is not None]
            best.end = max(ends) if ends else None
    return merged


@dataclass(slots=True)
class _Episode:
    """Intervals of one alertname that started together: one "firing" row and one "resolved" row."""

    alertname: str
    members: list[_Interval]

    @property
    def start(self) -> datetime | None:
        starts = [m.start for m in self.members if m.start is not None]
        return min(starts) if starts else None

    @property
    def seen_start(self) -> bool:
        """True when the episode's first start was seen firing (not only inferred from a resolve)."""
        start = self.start
        return start is not None and any(m.seen_start and m.start == start for m in self.members)

    @property
    def anchor(self) -> datetime:
        return min(m.anchor for m in self.members)

    @property
    def last_time(self) -> datetime:
        return max(m.end or m.anchor for m in self.members)

    @property
    def ongoing(self) -> bool:
        return any(m.ongoing for m in self.members)

    @property
    def end(self) -> datetime | None:
        if self.ongoing:
            return None
        ends = [m.end for m in self.members if m.end is not None]
        return max(ends) if ends else None

    @property
    def paged(self) -> bool:
        return any(m.paged for m in self.members)

    @property
    def first_paged(self) -> datetime | None:
        """The first paging notification, else the start of the first member whose labels page."""
        notices = [m.paged_notice for m in self.members if m.paged_notice is not None]
        if notices:
            return min(notices)
        starts = [m.start for m in self.members if m.paged_by_state and m.start is not None]
        return min(starts) if starts else None

    @property
    def notifications(self) -> int:
        return sum(m.notifications for m in self.members)

    @property
    def fires(self) -> int:
        return max((m.fires for m in self.members), default=1)

    def first(self, attr: str) -> Event | None:
        """The earliest member event of kind *attr* (``first`` or ``first_notice``)."""
        found = [e for e in (getattr(m, attr) for m in self.members) if e is not None]
        return min(found, key=lambda e: (e.time, e.key)) if found else None

    def attr(self, name: str) -> str | None:
        for member in sorted(self.members, key=lambda m: m.anchor):
            if name in member.attrs:
                return member.attrs[name]
        return None

    def instances(self) -> tuple[list[str], int]:
        """Instance names to list, and how many instances fired (group counts included)."""
        names: list[str] = []
        for member in sorted(self.members, key=lambda m: m.anchor):
            names.extend(n for n in member.instances if n not in names)
        if not names:
            names = _distinguishing_names([m.labels for m in self.members if len(m.labels) > 1])
        specific = sum(1 for m in self.members if len(m.labels) > 1)
        counted = max([len(names), specific] + [m.count for m in self.members])
        return names, counted

    def sources(self) -> list[str]:
        seen: list[str] = []
        for member in sorted(self.members, key=lambda m: m.anchor):
            seen.extend(s for s in member.sources if s not in seen)
        return seen

    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for m in self.members for k in m.keys))


def _distinguishing_names(label_sets: list[dict[str, str]]) -> list[str]:
    """Names for label sets without an instance label: the values of the labels that differ."""
    if len(label_sets) < 2:
        return []
    keys = sorted({k for labels in label_sets for k in labels if k != "alertname"})
    differing = [k for k in keys if len({labels.get(k) for labels in label_sets}) > 1]
    names: list[str] = []
    for labels in label_sets:
        name = "/".join(labels[k] for k in differing if labels.get(k))
        if name and name not in names:
            names.append(name)
    return names


def _episodes(intervals: list[_Interval]) -> list[_Episode]:
    by_name: dict[str, list[_Interval]] = defaultdict(list)
    for interval in intervals:
        by_name[interval.alertname].append(interval)
    episodes: list[_Episode] = []
    for name, members in by_name.items():
        current: _Episode | None = None
        for interval in sorted(members, key=lambda i: i.anchor):
            if current is not None and interval.anchor - current.members[-1].anchor <= GROUP_GAP:
                current.members.append(interval)
            else:
                current = _Episode(name, [interval])
                episodes.append(current)
    return sorted(episodes, key=lambda e: (e.anchor, e.alertname))


def _shorten(text: str, limit: int = MAX_SUMMARY) -> str:
    text = " ".join(re.sub(r"\s*#page\b", "", text).split())  # "paged" is said once, by the row
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _row_key(alertname: str, when: datetime) -> str:
    name = re.sub(r"\s+", "_", alertname.strip())
    return f"alert:{name}:{when:%Y-%m-%dT%H:%MZ}"


def _episode_rows(episode: _Episode) -> list[Row]:
    names, counted = episode.instances()
    sources = episode.sources()
    start, end = episode.start, episode.end
    summary = episode.attr("summary")
    data: dict[str, Any] = {
        "alertname": episode.alertname,
        "paged": episode.paged,
        "instances": names,
        "instance_count": counted,
        "sources": sources,
        "severity": episode.attr("severity"),
        "summary": summary,
        "runbook": episode.attr("runbook"),
        "dashboard": episode.attr("dashboard"),
        "fires": episode.fires,
        "notifications": episode.notifications,
        "ongoing": episode.ongoing,
        "flapping": episode.fires > 1 or any(m.flapping for m in episode.members),
        "start": format_utc(start) if start is not None else None,
        "end": format_utc(end) if end is not None else None,
    }
    first = episode.first("first")
    source = first.source if first is not None else sources[0]
    url = data["runbook"] if data["runbook"] and str(data["runbook"]).startswith("http") else None
    keys = episode.keys()
    key = _row_key(episode.alertname, start or episode.anchor)
    since = f" (firing since {start:%Y-%m-%d %H:%M} UTC)" if start is not None else ""
    rows: list[Row] = []

    def row(suffix: str, when: datetime, text: str, kind: EventKind, until: datetime | None = None) -> Row:
        return Row(
            key=key + suffix,
            time=when,
            end=until,
            text=text,
            source=source,
            kind=kind,
            sources=tuple(sources) if len(sources) > 1 else (),
            url=url,
            events=keys,
            data=dict(data),
        )

    if start is not None and episode.seen_start:
        text = f"{episode.alertname} firing"
        if counted > 1 and names:
            listed = ", ".join(names[:MAX_LISTED]) + (", …" if len(names) > MAX_LISTED else "")
            text += f" ({counted} instances: {listed})"
        elif counted > 1:
            text += f" ({counted} instances)"
        elif names:
            text += f" ({names[0]})"
        if episode.paged:
            text += ", paged"
        if summary:
            text += f": {_shorten(summary)}"
        if episode.fires > 1:
            text += f" (flapping: fired {episode.fires} times)"
        elif data["flapping"]:
            text += " (flapping)"
        if episode.ongoing:
            text += "; still firing at window end"
        rows.append(row("", start, text, EventKind.ALERT_FIRING, end))
    elif episode.ongoing:
        where = f" on {', '.join(names[:MAX_LISTED])}" if names else ""
        text = f"{episode.alertname} still firing{where} at window end{since or ' (it started before the available history)'}"
        rows.append(row(":ongoing", episode.last_time, text, EventKind.ALERT_NOTE))
    if end is not None:
        where = ""
        if not episode.seen_start and names:  # no firing row named the instances
            where = " on " + ", ".join(names[:MAX_LISTED]) + (", …" if len(names) > MAX_LISTED else "")
        if start is None:
            text = f"{episode.alertname} resolved{where} (it started before the available history)"
        else:
            text = f"{episode.alertname} resolved{where} after {format_duration(end - start)}"
            if not episode.seen_start:
                text += since
        rows.append(row(":resolved", end, text, EventKind.ALERT_RESOLVED))
    return rows


def _analyse(events: Sequence[Event]) -> tuple[list[_Episode], list[Event], list[Event]]:
    """Episodes, plus the note and silence events that stand as rows of their own."""
    pairable = [e for e in events if e.kind in (EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED) or is_alert_end(e)]
    notes = [e for e in events if e.kind == EventKind.ALERT_NOTE and not is_alert_end(e)]
    silences = [e for e in events if e.kind == EventKind.SILENCE]
    episodes = _episodes(_dedup(_pair(pairable)))
    standalone: list[Event] = []
    for note in notes:
        if str(note.data.get("note", "")).startswith("flapping") and _attach_flapping(note, episodes):
            continue
        standalone.append(note)
    return episodes, standalone, silences


def _attach_flapping(note: Event, episodes: list[_Episode]) -> bool:
    labels = note.data.get("labels") or {}
    for episode in episodes:
        if episode.alertname != note.data.get("alertname"):
            continue
        begin = episode.anchor - MATCH_TOLERANCE
        finish = (episode.end or note.time) + MATCH_TOLERANCE
        if not begin <= note.time <= finish:
            continue
        for member in episode.members:
            if labels_match(member.labels, labels):
                member.flapping = True
                member.keys.append(note.key)
                return True
    return False


def alert_rows(events: Sequence[Event]) -> list[Row]:
    """Timeline rows for alert, alert-note and silence events: one firing/resolved pair per episode.

    Acknowledgements, downtimes and silences keep a row each; flapping notices fold into the
    episode they belong to.
    """
    episodes, notes, silences = _analyse(list(events))
    rows: list[Row] = []
    for episode in episodes:
        rows.extend(_episode_rows(episode))
    rows.extend(row_from_event(e) for e in notes)
    rows.extend(row_from_event(e) for e in silences)
    return sorted(rows, key=lambda r: (r.time, r.source, r.key))


def _without_links(text: str) -> str:
    """A bot line without its trailing links (runbook, dashboard, notes URLs): the words people quote."""
    parts = text.split(" - ")
    while len(parts) > 1 and (not parts[-1].strip() or parts[-1].strip().startswith(("http://", "https://"))):
        parts.pop()
    words = " - ".join(parts).split()
    while len(words) > 1 and words[-1].startswith(("http://", "https://")):
        words.pop()
    return " ".join(words)


def detect(events: Sequence[Event], window: Window) -> Detection:
    """What the alerts say about detection in *window*: the first alert, the first page, the volume.

    The first alert is the earliest episode that *started* inside the window (one already firing
    at the window start is not a detection). The first page is the earliest paging notification
    (an IRC ``#page`` line, a page-contact notification), else the start of the earliest episode
    whose labels page. ``notifications`` counts bot lines, notification log lines and webhook
    payloads; with only state history (Prometheus ``ALERTS``) it counts firing transitions.
    """
    episodes, _, _ = _analyse([e for e in events if e.kind != EventKind.SILENCE])
    visible = [
        e for e in episodes if e.anchor < window.end and (e.ongoing or e.end is None or e.end >= window.start)
    ]
    if not visible:
        return Detection()
    started = [e for e in visible if e.seen_start and e.start is not None and window.contains(e.start)]
    names = list(dict.fromkeys(e.alertname for e in sorted(visible, key=lambda e: e.anchor)))
    notifications = sum(e.notifications for e in visible) or sum(e.fires for e in visible)
    pages = [p for p in (e.first_paged for e in visible) if p is not None and window.contains(p)]
    first = min(started, key=lambda e: (e.anchor, e.alertname)) if started else None
    if first is None:
        return Detection(
            first_page_time=min(pages) if pages else None,
            distinct_alerts=len(names),
            notifications=notifications,
            alert_names=tuple(names),
        )
    first_event = first.first("first")
    notice = first.first("first_notice")
    return Detection(
        first_alert=_without_links(notice.text) if notice is not None else _episode_rows(first)[0].text,
        first_alert_time=first.start,
        first_alert_source=first_event.source if first_event is not None else first.sources()[0],
        first_alert_paged=first.paged,
        first_page_time=min(pages) if pages else None,
        distinct_alerts=len(names),
        notifications=notifications,
        alert_names=tuple(names),
    )
