"""The ``prometheus`` source: alert history from ``ALERTS`` on Prometheus or Thanos Query.

``pull`` runs ``/api/v1/query_range`` for the configured selector (default
``ALERTS{alertstate="firing"}``) over the window, padded before by ``padding_minutes`` so that
alerts which started just before the incident are caught, at the configured ``step``. Ranges
longer than 11,000 points per series (Prometheus' hard limit) are split into chunks on the same
step grid. When the selector is a plain ``ALERTS`` selector, the same range of
``ALERTS_FOR_STATE`` is fetched too: its value is the alert's ``ActiveAt`` time. With
``thanos = true`` the requests carry ``dedup=true`` and ``partial_response=true``; Thanos
warnings become notes. The export is the raw JSON responses plus the query in ``meta``.

``parse`` is pure. It splits each series into firing intervals wherever two samples are more than
one step apart; an interval starts at its first sample (or at ``ActiveAt`` when that lies within
the step before it, i.e. the rule has no ``for`` delay) and ends at its last sample, or is
*ongoing* when its last sample is the last point of the range. Backfilled or remote-read data
has no staleness markers, so ends may be late by up to the server's lookback delta.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..clients.http import Session, get_json, make_session, mask_url
from ..config import PrometheusSettings, Settings, read_secret, secret_values
from ..errors import SourceError
from ..model.alert import DEFAULT_PAGING, alert_event, fingerprint, identity_labels, pages
from ..model.event import EventKind
from ..model.source import REPLACED_CHARACTERS, Export, Problem, Query, SourceResult
from ..model.time import format_utc
from . import SourceSpec, register

__all__ = [
    "MAX_POINTS",
    "PrometheusSource",
    "plan_chunks",
    "for_state_selector",
    "parse_prometheus",
    "pages",
]

NAME = "prometheus"
MAX_POINTS = 11_000
DEFAULT_STEP = 60
FOR_STATE = "ALERTS_FOR_STATE"


def plan_chunks(start: datetime, end: datetime, step: int, max_points: int = MAX_POINTS) -> list[tuple[datetime, datetime]]:
    """Split ``[start, end]`` into ranges of at most *max_points* points, all on one step grid."""
    span = timedelta(seconds=step * (max_points - 1))
    chunks: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor <= end:
        chunk_end = min(cursor + span, end)
        chunks.append((cursor, chunk_end))
        cursor = chunk_end + timedelta(seconds=step)
    return chunks


_PLAIN_ALERTS = re.compile(r"^\s*ALERTS\s*(?:\{(?P<matchers>[^{}]*)\})?\s*$")
_ALERTSTATE = re.compile(r"^\s*alertstate\s*(?:=|!=|=~|!~)")


def for_state_selector(selector: str) -> str | None:
    """The ``ALERTS_FOR_STATE`` selector matching a plain ``ALERTS{...}`` selector, else None."""
    match = _PLAIN_ALERTS.match(selector)
    if match is None:
        return None
    matchers = [m.strip() for m in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", match.group("matchers") or "")]
    kept = [m for m in matchers if m and not _ALERTSTATE.match(m)]
    return FOR_STATE + ("{" + ", ".join(kept) + "}" if kept else "")



class PrometheusSource:
    """Reads ``ALERTS`` history through the Prometheus HTTP API (Prometheus or Thanos Query)."""

    name = NAME

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        session: Session | None = None,
        max_points: int = MAX_POINTS,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.session = session or make_session(
            user=settings.user, password=read_secret(settings.password_env), token=read_secret(settings.token_env)
        )
        self.max_points = max_points
        self.secrets = secrets

    def pull(self, query: Query) -> Export:
        """Fetch the raw query_range answers for the padded window. Raises SourceError."""
        settings = self.settings
        if not settings.url:
            raise SourceError(
                "prometheus: no url is configured",
                hint="set url in the [prometheus] config section, or give --input prometheus=FILE",
            )
        if settings.step <= 0:
            raise SourceError("prometheus: step must be a positive number of seconds", hint="fix [prometheus] step")
        start = query.window.start - timedelta(minutes=settings.padding_minutes)
        end = query.window.end
        endpoint = settings.url.rstrip("/") + "/api/v1/query_range"
        selectors = [("ALERTS", settings.selector)]
        for_state = for_state_selector(settings.selector)
        if for_state:
            selectors.append((FOR_STATE, for_state))
        chunks = plan_chunks(start, end, settings.step, self.max_points)
        files: list[tuple[str, str]] = []
        replaced = 0
        for label, selector in selectors:
            for index, (chunk_start, chunk_end) in enumerate(chunks, 1):
                params = [
                    ("query", selector),
                    ("start", f"{chunk_start.timestamp():.3f}"),
                    ("end", f"{chunk_end.timestamp():.3f}"),
                    ("step", f"{settings.step}s"),
                ]
                if settings.thanos:
                    params += [("dedup", "true"), ("partial_response", "true")]
                answer = get_json(
                    self.session, endpoint, params, source=NAME, timeout=settings.timeout,
                    setting="[prometheus] url", secrets=self.secrets,
                )  # fmt: skip
                _check_answer(answer.value, selector)
                files.append((f"{label}-{index:03d}.json", answer.text))
                replaced += answer.replaced
        meta = {
            "url": mask_url(settings.url),
            "selector": settings.selector,
            "for_state_selector": for_state,
            "step": settings.step,
            "start": format_utc(start),
            "end": format_utc(end),
            "thanos": settings.thanos,
            "paging_labels": dict(settings.paging_labels),
            "chunks": len(chunks),
        }
        if replaced:  # lone surrogates in the answers (counted as problems)
            meta[REPLACED_CHARACTERS] = replaced
        return Export(NAME, tuple(files), meta)


def _check_answer(body: Any, selector: str) -> None:
    """Raise SourceError unless *body* is a successful query_range answer holding a matrix."""
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise SourceError(
            f"prometheus: query {selector} failed: {str(error)[:200] if error else 'unexpected answer'}",
            hint="check [prometheus] selector (a PromQL selector such as ALERTS{alertstate=\"firing\"}) and url",
        )
    data = body.get("data")
    if not (isinstance(data, dict) and data.get("resultType") == "matrix" and isinstance(data.get("result"), list)):
        raise SourceError(
            f"prometheus: query {selector} answered in an unexpected shape (no matrix result)",
            hint="[prometheus] url should be a Prometheus or Thanos Query server",
        )


def _epoch(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _selector_text(labels: Mapping[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"ALERTS{{{inner}}}"


def _infer_step(series: Mapping[Any, list[tuple[float, str]]]) -> float:
    gaps = [b[0] - a[0] for samples in series.values() for a, b in zip(samples, samples[1:], strict=False) if b[0] > a[0]]
    return min(gaps) if gaps else float(DEFAULT_STEP)


def parse_prometheus(export: Export, query: Query) -> SourceResult:
    """Firing intervals from saved query_range answers, as alert events. Pure; bad records become problems."""
    meta = export.meta or {}
    problems: list[Problem] = []
    notes: list[str] = []
    series: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, str]]] = defaultdict(list)
    samples_read = 0
    for name, text in export.files:
        try:
            body = json.loads(text)
        except ValueError as exc:
            problems.append(Problem(name, f"not JSON: {exc}", text[:120]))
            continue
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            problems.append(Problem(name, f"not a successful query_range answer: {error or 'no status'}", text[:120]))
            continue
        for warning in body.get("warnings") or ():
            notes.append(f"Prometheus/Thanos warned: {warning}")
        data = body.get("data")
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list) or (isinstance(data, dict) and data.get("resultType") != "matrix"):
            problems.append(Problem(name, "the answer holds no range (matrix) result", text[:120]))
            continue
        for position, entry in enumerate(result):
            where = f"{name} series {position + 1}"
            metric = entry.get("metric") if isinstance(entry, dict) else None
            values = entry.get("values") if isinstance(entry, dict) else None
            if not isinstance(metric, dict) or not isinstance(values, list):
                problems.append(Problem(where, "series without metric/values", json.dumps(entry)[:120]))
                continue
            metric_name = str(metric.get("__name__", "ALERTS"))
            labels = tuple(sorted((str(k), str(v)) for k, v in metric.items() if k != "__name__"))
            for sample in values:
                samples_read += 1
                stamp = _epoch(sample[0]) if isinstance(sample, list) and len(sample) == 2 else None
                if stamp is None:
                    problems.append(Problem(where, "sample is not [time, value]", json.dumps(sample)[:120]))
                    continue
                series[(metric_name, labels)].append((stamp, str(sample[1])))
    for samples in series.values():
        samples.sort()
    step = float(meta.get("step") or _infer_step(series))
    range_end = _when(meta.get("end")) or query.window.end
    paging = meta.get("paging_labels")
    paging_labels = dict(paging) if isinstance(paging, dict) else dict(DEFAULT_PAGING)
    active_at: dict[tuple[tuple[str, str], ...], list[tuple[float, str]]] = {}
    for (metric_name, labels), samples in series.items():
        if metric_name == FOR_STATE:
            active_at[labels] = samples
    events = []
    for (metric_name, labels), samples in sorted(series.items()):
        if metric_name == FOR_STATE:
            continue
        label_map = dict(labels)
        if label_map.get("alertstate", "firing") != "firing":
            continue
        if "alertname" not in label_map:
            problems.append(Problem(_selector_text(label_map), "series has no alertname label"))
            continue
        for_state = active_at.get(tuple(sorted((k, v) for k, v in labels if k != "alertstate")), [])
        for first, last in _intervals(samples, step):
            events.extend(_interval_events(label_map, first, last, step, range_end, for_state, paging_labels))
    notes = list(dict.fromkeys(notes))
    return SourceResult(NAME, tuple(events), tuple(problems), samples_read, tuple(notes))


def _intervals(samples: list[tuple[float, str]], step: float) -> list[tuple[float, float]]:
    """(first, last) sample times of each run of samples no more than one step apart."""
    runs: list[tuple[float, float]] = []
    for stamp, _ in samples:
        if runs and stamp - runs[-1][1] <= step * 1.5:
            runs[-1] = (runs[-1][0], stamp)
        else:
            runs.append((stamp, stamp))
    return runs


def _interval_events(
    labels: dict[str, str],
    first: float,
    last: float,
    step: float,
    range_end: datetime,
    for_state: list[tuple[float, str]],
    paging_labels: Mapping[str, str],
) -> list[Any]:
    alertname = labels["alertname"]
    ident = identity_labels(labels)
    print_id = fingerprint(ident)
    start = first
    pending_since: float | None = None
    active = next((_epoch(v) for t, v in for_state if first <= t <= last), None)
    if active is not None:
        if first - step < active <= first:
            start = active
        elif active <= first - step:
            pending_since = active
    ongoing = last + step > range_end.timestamp() + 1e-6
    instance = labels.get("instance") or labels.get("host") or labels.get("hostname")
    common: dict[str, Any] = {
        "source": NAME,
        "alertname": alertname,
        "labels": ident,
        "raw": _selector_text(labels),
        "instance": instance,
        "severity": labels.get("severity"),
        "paged": pages(labels, paging_labels),
        "summary": None,
        "extra": {"fingerprint": print_id}
        | ({"pending_since": format_utc(_at(pending_since))} if pending_since is not None else {}),
    }
    where = f" on {instance}" if instance else ""
    key = f"prometheus:{alertname}:{print_id}:{int(start)}"
    events = [
        alert_event(
            kind=EventKind.ALERT_FIRING, time=_at(start), key=key, text=f"{alertname} firing{where}", **common
        )
    ]
    if ongoing:
        events.append(
            alert_event(
                kind=EventKind.ALERT_NOTE,
                time=_at(last),
                started=_at(start),
                key=f"{key}:ongoing",
                text=f"{alertname} still firing{where} at window end",
                note="ongoing",
                ongoing=True,
                **common,
            )
        )
    else:
        events.append(
            alert_event(
                kind=EventKind.ALERT_RESOLVED,
                time=_at(last),
                started=_at(start),
                key=f"{key}:resolved",
                text=f"{alertname} resolved{where}",
                **common,
            )
        )
    return events


def _factory(settings: Settings) -> PrometheusSource:
    return PrometheusSource(settings.prometheus, secrets=secret_values(settings))


SPEC = register(
    SourceSpec(
        name=NAME,
        help=(
            "Alert history from Prometheus or Thanos Query: firing intervals of ALERTS{alertstate=\"firing\"} "
            "(query_range over the window padded by padding_minutes; exact starts from ALERTS_FOR_STATE). "
            "Config: [prometheus] url, selector, step, padding_minutes, thanos, paging_labels. "
            "--input prometheus=FILE|DIR reads saved query_range JSON."
        ),
        factory=_factory,
        parse=parse_prometheus,
        configured=lambda settings: bool(settings.prometheus.url),
    )
)
