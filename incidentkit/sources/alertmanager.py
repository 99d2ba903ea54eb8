"""The ``alertmanager`` source: live alerts and silences from Alertmanager v2, and webhook payload logs.

Alertmanager keeps **no alert history**: ``GET /api/v2/alerts`` lists only what fires at the moment
of the pull (resolved alerts are never returned). Those alerts still help: their annotations
(summary, runbook, dashboard) enrich the Prometheus intervals with the same labels, and an alert
that started inside the window and still fires is shown as ongoing. Silences are history: expired
ones are kept for ``--data.retention``, so silences created or active in the window are read with
who created them and their comment (task ids in comments become the event's tasks).

For alert history through Alertmanager, point ``[alertmanager] path`` (or ``--input
alertmanager=FILE``) at a webhook log: JSON lines, each either a full webhook payload
(``{"version": "4", "status", "alerts": [...]}``) or one flattened alert as written by
alertmanager-webhook-logger (labels, annotations, ``status``, ``startsAt``, ``endsAt`` and
``timestamp`` in one object). Anything before the first ``{`` on a line (a syslog prefix) is ignored.

``parse`` recognises each export file by its content, so one export may mix ``alerts.json``,
``silences.json`` and webhook logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..clients.http import Session, get_json, make_session, mask_url
from ..config import AlertmanagerSettings, Settings, read_secret, secret_values
from ..errors import SourceError
from ..model.alert import DEFAULT_PAGING, alert_event, fingerprint, identity_labels, pages
from ..model.event import Event, EventKind
from ..model.source import REPLACED_CHARACTERS, Export, Problem, Query, SourceResult
from ..model.tasks import find_tasks
from . import SourceSpec, register
from .logfiles import describe_logs, read_log_files

__all__ = ["AlertmanagerSource", "parse_alertmanager", "NO_HISTORY_NOTE"]

NAME = "alertmanager"
NO_HISTORY_NOTE = (
    "Alertmanager keeps no alert history: it lists only the alerts firing when it was read, plus "
    "silences; past alerts come from Prometheus (ALERTS) and the IRC/Icinga logs."
)
ANNOTATION_KEYS = ("summary", "description", "message", "runbook", "runbook_url", "dashboard", "dashboard_url")
LOGGER_META_KEYS = frozenset(
    {"status", "startsAt", "endsAt", "generatorURL", "externalURL", "receiver", "timestamp", "fingerprint", "ts", "time", "level", "msg"}
)


class AlertmanagerSource:
    """Reads live alerts and silences over the v2 API, and the webhook log at ``path`` if configured."""

    name = NAME

    def __init__(
        self,
        settings: AlertmanagerSettings,
        *,
        paging_labels: Mapping[str, str] | None = None,
        session: Session | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.paging_labels = dict(paging_labels if paging_labels is not None else DEFAULT_PAGING)
        self.session = session or make_session(
            user=settings.user, password=read_secret(settings.password_env), token=read_secret(settings.token_env)
        )
        self.secrets = secrets

    def pull(self, query: Query) -> Export:
        """Fetch ``/api/v2/alerts`` and ``/api/v2/silences`` and read the webhook log. Raises SourceError."""
        settings = self.settings
        if not settings.url and not settings.path:
            raise SourceError(
                "alertmanager: neither url nor path is configured",
                hint="set url (the Alertmanager) or path (a webhook log) in [alertmanager], or give --input alertmanager=FILE",
            )
        files: list[tuple[str, str]] = []
        meta: dict[str, Any] = {"paging_labels": self.paging_labels}
        if settings.url:
            base = settings.url.rstrip("/") + "/api/v2"
            replaced = 0
            for name, endpoint in (("alerts.json", "/alerts"), ("silences.json", "/silences")):
                answer = get_json(
                    self.session, base + endpoint, source=NAME, timeout=settings.timeout,
                    setting="[alertmanager] url", secrets=self.secrets,
                )  # fmt: skip
                if not isinstance(answer.value, list) or not all(isinstance(item, dict) for item in answer.value):
                    raise SourceError(
                        f"alertmanager: {mask_url(base + endpoint)} answered JSON of an unexpected shape, "
                        "not the list of objects of the v2 API",
                        hint="[alertmanager] url should be the Alertmanager itself (its /api/v2 is appended)",
                    )
                files.append((name, answer.text))
                replaced += answer.replaced
            meta["url"] = mask_url(settings.url)
            if replaced:  # lone surrogates in the answers (counted as problems)
                meta[REPLACED_CHARACTERS] = replaced
        if settings.path:
            logs, skipped = read_log_files(settings.path, query.window, source=NAME, setting="[alertmanager] path")
            files.extend((f"webhook/{name}", text) for name, text in logs)
            meta["skipped_files"] = skipped
        return Export(NAME, tuple(files), meta)


    def check(self) -> str:
        """For ``sources check``: the server's version and cluster state, and the webhook log. Raises SourceError."""
        settings = self.settings
        if not settings.url and not settings.path:
            raise SourceError("alertmanager: neither url nor path is configured", hint="set url or path in [alertmanager]")
        parts = []
        if settings.url:
            status = get_json(
                self.session,
                settings.url.rstrip("/") + "/api/v2/status",
                source=NAME,
                timeout=settings.timeout,
                setting="[alertmanager] url",
                secrets=self.secrets,
            ).value
            status = status if isinstance(status, dict) else {}
            info = status.get("versionInfo")
            cluster_info = status.get("cluster")
            version = info.get("version", "?") if isinstance(info, dict) else "?"
            cluster = cluster_info.get("status", "?") if isinstance(cluster_info, dict) else "?"
            parts.append(f"Alertmanager {version} (cluster {cluster})")
        if settings.path:
            parts.append(describe_logs(settings.path, source=NAME, setting="[alertmanager] path"))
        return "; ".join(parts)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:  # Python 3.11 reads Go's "Z" and its 9 fractional digits (cut to 6)
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.year < 1970:  # Go's zero time: "0001-01-01T00:00:00Z" means unset
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Collector:
    """Accumulates events by key; repeated notifications of one alert add to its count."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[str, Any]] = {}

    def add(self, fields: dict[str, Any]) -> None:
        key = fields["key"]
        if key in self.fields:
            self.fields[key]["notifications"] += fields.get("notifications", 0)
            return
        self.fields[key] = fields

    def events(self) -> list[Event]:
        return [alert_event(**fields) for fields in self.fields.values()]


def _mapping(value: Any) -> Mapping[str, Any]:
    """*value* when it is a JSON object, else empty (a source may send anything)."""
    return value if isinstance(value, dict) else {}


def _annotations(annotations: Mapping[str, Any]) -> dict[str, str | None]:
    def pick(*names: str) -> str | None:
        return next((str(annotations[n]) for n in names if annotations.get(n)), None)

    return {
        "summary": pick("summary", "message", "description"),
        "runbook": pick("runbook", "runbook_url"),
        "dashboard": pick("dashboard", "dashboard_url"),
    }


def _alert_fields(
    labels: Mapping[str, Any],
    annotations: Mapping[str, Any],
    *,
    starts: datetime,
    resolved: bool = False,
    ends: datetime | None = None,
    print_id: str | None,
    paging_labels: Mapping[str, str],
    notifications: int,
    origin: str,
    raw: str,
    live: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    label_map = {str(k): str(v) for k, v in labels.items()}
    alertname = label_map["alertname"]  # the callers refuse an alert without one
    notes = _annotations(annotations)
    print_id = print_id or fingerprint(identity_labels(label_map))
    instance = label_map.get("instance") or label_map.get("host")
    summary, runbook = notes["summary"], notes["runbook"]
    paged = pages(label_map, paging_labels) or (summary is not None and "#page" in summary)
    where = f" on {instance}" if instance else ""
    verb = "resolved" if resolved else ("firing (live in Alertmanager)" if live else "firing")
    text = f"{alertname} {verb}{where}" + (f": {summary}" if summary else "")
    fields: dict[str, Any] = {
        "source": NAME,
        "kind": EventKind.ALERT_RESOLVED if resolved else EventKind.ALERT_FIRING,
        "time": ends if resolved and ends is not None else starts,
        "started": starts if resolved else None,
        "key": f"{NAME}:{'live:' if live else ''}{alertname}:{print_id}:{int(starts.timestamp())}:{'resolved' if resolved else 'firing'}",
        "text": text,
        "alertname": alertname,
        "labels": label_map,
        "raw": raw,
        "url": runbook if runbook and runbook.startswith("http") else None,
        "instance": instance,
        "severity": label_map.get("severity"),
        "paged": paged,
        "notifications": notifications,
        "ongoing": live,
        "extra": {"fingerprint": print_id, "origin": origin, **(extra or {})},
        **notes,
    }
    return fields


def _parse_live_alerts(items: list[Any], name: str, paging: Mapping[str, str], problems: list[Problem], out: _Collector) -> None:
    for position, item in enumerate(items, 1):
        where = f"{name} alert {position}"
        if not isinstance(item, dict) or not isinstance(item.get("labels"), dict):
            problems.append(Problem(where, "alert without labels", json.dumps(item)[:120]))
            continue
        starts = _when(item.get("startsAt"))
        if starts is None or not item["labels"].get("alertname"):
            problems.append(Problem(where, "alert without alertname or startsAt", json.dumps(item)[:120]))
            continue
        status = _mapping(item.get("status"))
        out.add(
            _alert_fields(
                item["labels"],
                _mapping(item.get("annotations")),
                starts=starts,
                print_id=item.get("fingerprint"),
                paging_labels=paging,
                notifications=0,
                origin="api",
                raw=json.dumps(item, sort_keys=True)[:2000],
                live=True,
                extra={"state": status.get("state"), "silenced_by": list(status.get("silencedBy") or [])},
            )
        )


def _matcher_text(matchers: list[Any]) -> str:
    parts = []
    for matcher in matchers:
        if not isinstance(matcher, dict):
            continue
        equal = matcher.get("isEqual", True)
        op = ("=~" if matcher.get("isRegex") else "=") if equal else ("!~" if matcher.get("isRegex") else "!=")
        parts.append(f"{matcher.get('name')}{op}{matcher.get('value')}")
    return ", ".join(parts)


def _parse_silences(items: list[Any], name: str, query: Query, problems: list[Problem]) -> list[Event]:
    events = []
    window = query.window
    for position, item in enumerate(items, 1):
        where = f"{name} silence {position}"
        starts = _when(item.get("startsAt")) if isinstance(item, dict) else None
        ends = _when(item.get("endsAt")) if isinstance(item, dict) else None
        if not isinstance(item, dict) or starts is None or ends is None or not isinstance(item.get("matchers"), list):
            problems.append(Problem(where, "silence without matchers, startsAt or endsAt", json.dumps(item)[:120]))
            continue
        if ends <= window.start:  # (one that starts after the window is left out with the other events)
            continue
        creator = str(item.get("createdBy") or "") or None
        comment = str(item.get("comment") or "")
        matchers = _matcher_text(item["matchers"])
        alertname = next(
            (
                str(m.get("value"))
                for m in item["matchers"]
                if isinstance(m, dict) and m.get("name") == "alertname" and not m.get("isRegex") and m.get("isEqual", True)
            ),
            None,
        )
        since = f" (active since {starts:%Y-%m-%d %H:%M} UTC)" if starts < window.start else ""
        text = f"Silence for {matchers} until {ends:%Y-%m-%d %H:%M} UTC{since}"
        if creator is None:
            text = f"Silence (creator unknown) for {matchers} until {ends:%Y-%m-%d %H:%M} UTC{since}"
        if comment:
            text += f": {comment}"
        state = _mapping(item.get("status")).get("state")
        events.append(
            Event(
                time=max(starts, window.start),
                source=NAME,
                kind=EventKind.SILENCE,
                key=f"{NAME}:silence:{item.get('id') or fingerprint({'m': matchers, 's': starts.isoformat()})}",
                text=text,
                actor=creator,
                tasks=find_tasks(comment),
                raw=json.dumps(item, sort_keys=True)[:2000],
                data={
                    "silence_id": item.get("id"),
                    "matchers": matchers,
                    "alertname": alertname,
                    "starts_at": starts.isoformat(),
                    "ends_at": ends.isoformat(),
                    "state": state,
                    "comment": comment,
                    "created_by": creator,
                },
            )
        )
    return events


def _webhook_record(record: dict[str, Any], stamp: datetime | None, where: str, paging: Mapping[str, str], problems: list[Problem], out: _Collector) -> None:
    """One webhook log record: a full payload (``alerts`` list) or one flattened logger alert."""
    if isinstance(record.get("alerts"), list):
        common = _mapping(record.get("commonAnnotations"))
        for position, alert in enumerate(record["alerts"], 1):
            if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
                problems.append(Problem(f"{where} alert {position}", "alert without labels", json.dumps(alert)[:120]))
                continue
            _webhook_alert(alert["labels"], {**common, **_mapping(alert.get("annotations"))}, alert, stamp, where, paging, problems, out)
        return
    if "status" in record and "startsAt" in record:
        labels = {k: v for k, v in record.items() if k not in LOGGER_META_KEYS and k not in ANNOTATION_KEYS and isinstance(v, str)}
        annotations = {k: record[k] for k in ANNOTATION_KEYS if k in record}
        _webhook_alert(labels, annotations, record, stamp, where, paging, problems, out)
        return
    problems.append(Problem(where, "neither a webhook payload nor a logged alert", json.dumps(record)[:120]))


def _webhook_alert(
    labels: Mapping[str, Any],
    annotations: Mapping[str, Any],
    alert: Mapping[str, Any],
    stamp: datetime | None,
    where: str,
    paging: Mapping[str, str],
    problems: list[Problem],
    out: _Collector,
) -> None:
    starts = _when(alert.get("startsAt"))
    status = str(alert.get("status", ""))
    if starts is None or status not in ("firing", "resolved") or not labels.get("alertname"):
        problems.append(Problem(where, "alert without alertname, status or startsAt", json.dumps(alert)[:120]))
        return
    ends = _when(alert.get("endsAt"))
    if status == "resolved" and ends is None:
        problems.append(Problem(where, "resolved alert without endsAt", json.dumps(alert)[:120]))
        return
    extra = {"notified_at": stamp.isoformat()} if stamp is not None else {}
    out.add(
        _alert_fields(
            labels,
            annotations,
            starts=starts,
            resolved=status == "resolved",
            ends=ends,
            print_id=alert.get("fingerprint") if isinstance(alert.get("fingerprint"), str) else None,
            paging_labels=paging,
            notifications=1,
            origin="webhook",
            raw=json.dumps(alert, sort_keys=True)[:2000],
            extra=extra,
        )
    )


def _parse_webhook_log(text: str, name: str, paging: Mapping[str, str], problems: list[Problem], out: _Collector) -> int:
    lines = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        lines += 1
        where = f"{name}:{number}"
        brace = line.find("{")
        if brace < 0:
            problems.append(Problem(where, "no JSON object on the line", line[:120]))
            continue
        try:
            record = json.loads(line[brace:])  # from a "{": an object, or no JSON at all
        except ValueError:
            problems.append(Problem(where, "not a JSON object", line[:120]))
            continue
        stamp = _when(record.get("timestamp") or record.get("time") or record.get("ts"))
        _webhook_record(record, stamp, where, paging, problems, out)
    return lines


def parse_alertmanager(export: Export, query: Query) -> SourceResult:
    """Events from saved Alertmanager answers and webhook logs. Pure; bad records become problems."""
    meta = export.meta or {}
    paging = meta.get("paging_labels") if isinstance(meta.get("paging_labels"), dict) else DEFAULT_PAGING
    problems: list[Problem] = []
    notes: list[str] = []
    collector = _Collector()
    silences: list[Event] = []
    records = 0
    for name, text in export.files:
        stripped = text.strip()
        if not stripped:
            continue
        if not stripped.startswith("["):
            records += _parse_webhook_log(text, name, paging, problems, collector)
            continue
        try:
            whole = json.loads(stripped)  # from a "[": a list, or no JSON at all
        except ValueError as exc:
            problems.append(Problem(name, f"not JSON: {exc}", stripped[:120]))
            continue
        records += len(whole)
        first = next((i for i in whole if isinstance(i, dict)), {})
        if "matchers" in first:
            silences.extend(_parse_silences(whole, name, query, problems))
        elif "alerts" in first and "receiver" in first:  # /api/v2/alerts/groups
            notes.append(NO_HISTORY_NOTE)
            for position, group in enumerate(whole, 1):
                alerts = _mapping(group).get("alerts")
                if not isinstance(alerts, list):
                    problems.append(Problem(f"{name} group {position}", "alert group without alerts", json.dumps(group)[:120]))
                    continue
                _parse_live_alerts(alerts, f"{name} group {position}", paging, problems, collector)
        else:
            notes.append(NO_HISTORY_NOTE)
            _parse_live_alerts(whole, name, paging, problems, collector)
    skipped = meta.get("skipped_files") or []
    if skipped:
        notes.append(f"Alertmanager webhook log files not read (compressed): {', '.join(skipped)}")
    events = [e for e in collector.events() + silences if e.within(query.window)]
    events.sort(key=lambda e: (e.time, e.key))
    return SourceResult(NAME, tuple(events), tuple(problems), records, tuple(dict.fromkeys(notes)))


def _factory(settings: Settings) -> AlertmanagerSource:
    return AlertmanagerSource(
        settings.alertmanager, paging_labels=settings.prometheus.paging_labels, secrets=secret_values(settings)
    )


SPEC = register(
    SourceSpec(
        name=NAME,
        help=(
            "Alertmanager v2: the alerts firing right now and the silences created or active in the window "
            "(who, when, comment; task ids in comments). Alertmanager keeps NO alert history, so it only "
            "enriches the Prometheus/IRC history (summary, runbook, dashboard) and shows live alerts. "
            "Config: [alertmanager] url; path = a webhook payload log (JSON lines) read as history. "
            "--input alertmanager=FILE|DIR reads saved alerts.json/silences.json or webhook logs."
        ),
        factory=_factory,
        parse=parse_alertmanager,
        configured=lambda settings: bool(settings.alertmanager.url or settings.alertmanager.path),
    )
)
