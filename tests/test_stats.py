"""``incidents stats``: every figure checked against values computed by hand for five incidents.

The fixture set (all in 2024):

====  =========================  ==========================================================
 A    2024-01-10, imported       Start 10:00, End 11:30: impact and resolve 90 min; detect and
                                 mitigate unknown; no pages known
 B    2024-02-05 (a Monday),     impact 08:00, detected 08:10, mitigated 08:40, resolved 09:00:
      drafted                    detect 10, mitigate 40, resolve 60, impact 60; pages at 08:10
                                 (before 09:00: after hours) and 12:00 (in hours) UTC
 C    2024-04-20 (a Saturday),   impact 14:00, detected 14:30, resolved 18:00, no mitigation:
      drafted                    detect 30, mitigate unknown, resolve and impact 240; one page
                                 at 14:30 (a Saturday: after hours)
 D    2024-05-01, imported       no Start, no End: everything unknown
 E    2024-05-02, drafted        impact 12:00, detected 12:05, resolved 11:00 (before the impact
                                 start: inconsistent): detect 5, the rest unknown; no pages
====  =========================  ==========================================================

By hand: detect = [10, 30, 5] -> N 3, unknown 2, median 10, p90 (nearest rank: the 3rd of 3) 30,
max 30; mitigate = [40] -> N 1, unknown 4; resolve = impact = [90, 60, 240] -> N 3, unknown 2,
median 90, p90 240, max 240. By quarter: Q1 {A, B}, Q2 {C, D, E}. Pages: 3, after hours 2.
A and B are both "Wdqs" outages sharing their text: B repeats A 25 days (and 22 hours) later.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from incidentkit.config import StatsSettings
from incidentkit.errors import ConfigError, InputError
from incidentkit.model.curation import KeyMoments
from incidentkit.model.event import EventKind
from incidentkit.model.incident import Incident, IncidentRecord
from incidentkit.model.row import Row
from incidentkit.model.window import Window
from incidentkit.services.search import index_draft, index_page
from incidentkit.services.stats import incident_stats
from incidentkit.store import Store
from tests.helpers import home_store, run


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00+00:00")


def page_row(when: datetime, name: str = "WdqsDown") -> Row:
    return Row(key=f"alert:{name}:{when:%H%M}", time=when, text=f"{name} firing, paged", source="prometheus",
               kind=EventKind.ALERT_FIRING, data={"alertname": name, "paged": True})  # fmt: skip


def draft(store: Store, slug: str, title: str, day: str, moments: KeyMoments, pages: tuple[datetime, ...] = ()) -> None:
    start = moments.impact_start or at(day, "00:00")
    store.save_incident(IncidentRecord(slug=slug, title=title, start=start.isoformat().replace("+00:00", "Z")))
    rows = (Row(key=f"log:{slug}", time=start, text=f"{title}: wdqs blazegraph overloaded, restarted", source="sal", kind=EventKind.LOG),)
    raw = rows + tuple(page_row(p) for p in pages)
    incident = Incident(
        slug=slug, title=title, window=Window(start, start.replace(hour=23)), generated_at=start,
        rows=rows, raw_rows=raw, key_moments=moments,
    )  # fmt: skip
    index_draft(store, incident, ())


def imported(store: Store, slug: str, title: str, start: str | None, end: str | None, text: str) -> None:
    store.save_incident(IncidentRecord(slug=slug, title=title, start=start, end=end, origin="import", status="final"))
    index_page(store, slug, text)


def seed_five(store: Store) -> Store:
    imported(store, "2024-01-10_wdqs-outage", "Wdqs outage", "2024-01-10T10:00:00Z", "2024-01-10T11:30:00Z",
             "== Summary ==\nThe wdqs blazegraph servers were overloaded and restarted.\n")
    draft(store, "2024-02-05_wdqs-outage-again", "Wdqs outage again", "2024-02-05",
          KeyMoments(impact_start=at("2024-02-05", "08:00"), detected=at("2024-02-05", "08:10"),
                     mitigated=at("2024-02-05", "08:40"), resolved=at("2024-02-05", "09:00")),
          pages=(at("2024-02-05", "08:10"), at("2024-02-05", "12:00")))
    draft(store, "2024-04-20_payments", "Payments queue stuck", "2024-04-20",
          KeyMoments(impact_start=at("2024-04-20", "14:00"), detected=at("2024-04-20", "14:30"), resolved=at("2024-04-20", "18:00")),
          pages=(at("2024-04-20", "14:30"),))
    imported(store, "2024-05-01_unknown-times", "Kafka lag", None, None, "== Summary ==\nKafka lagged.\n")
    draft(store, "2024-05-02_clock", "Clock skew", "2024-05-02",
          KeyMoments(impact_start=at("2024-05-02", "12:00"), detected=at("2024-05-02", "12:05"), resolved=at("2024-05-02", "11:00")))
    return store  # fmt: skip


@pytest.fixture
def five(store: Store) -> Store:
    return seed_five(store)


def metric(stats, key):  # type: ignore[no-untyped-def]
    return next(dist for name, _, _, dist in stats.metrics if name == key)


def test_durations_by_hand(five: Store) -> None:
    stats = incident_stats(five, StatsSettings())
    assert stats.incidents == 5
    detect = metric(stats, "time_to_detect")
    assert (detect.n, detect.unknown, detect.median, detect.p90, detect.max) == (3, 2, 10, 30, 30)
    mitigate = metric(stats, "time_to_mitigate")
    assert (mitigate.n, mitigate.unknown, mitigate.median, mitigate.p90, mitigate.max) == (1, 4, 40, 40, 40)
    for key in ("time_to_resolve", "impact_duration"):
        dist = metric(stats, key)
        assert (dist.n, dist.unknown, dist.median, dist.p90, dist.max) == (3, 2, 90, 240, 240)


def test_periods_pages_and_repeats_by_hand(five: Store) -> None:
    stats = incident_stats(five, StatsSettings(), by="quarter")
    assert [(p.period, p.incidents, p.pages, p.pages_outside) for p in stats.periods] == [
        ("2024-Q1", 2, 2, 1), ("2024-Q2", 3, 1, 1),
    ]  # fmt: skip
    assert (stats.pages, stats.pages_outside, stats.incidents_with_pages_known) == (3, 2, 3)
    assert [(r.slug, r.earlier, r.days) for r in stats.repeats] == [("2024-02-05_wdqs-outage-again", "2024-01-10_wdqs-outage", 25)]
    assert [p.repeats for p in stats.periods] == [1, 0]
    assert incident_stats(five, StatsSettings(), repeat_days=20).repeats == ()
    q1 = stats.periods[0].impact
    assert (q1.n, q1.unknown, q1.median) == (2, 0, 75)  # A 90 and B 60


def test_empty_months_are_listed(five: Store) -> None:
    stats = incident_stats(five, StatsSettings(), by="month")
    assert [(p.period, p.incidents) for p in stats.periods] == [
        ("2024-01", 1), ("2024-02", 1), ("2024-03", 0), ("2024-04", 1), ("2024-05", 2),
    ]  # fmt: skip
    assert [p.period for p in incident_stats(five, StatsSettings(), by="year").periods] == ["2024"]
    assert incident_stats(five, StatsSettings(), since=date(2024, 4, 1)).incidents == 3


def test_business_hours_follow_the_configured_time_zone(five: Store) -> None:
    # Tokyo is UTC+9: 08:10 UTC Monday is 17:10 there (after 17:00), 12:00 UTC is 21:00: all after hours
    tokyo = incident_stats(five, StatsSettings(timezone="Asia/Tokyo"))
    assert (tokyo.pages, tokyo.pages_outside) == (3, 3)
    # hours 08:00-13:00 every day in UTC: 08:10 Mon in, 12:00 Mon in, 14:30 Sat out
    wide = incident_stats(five, StatsSettings(business_hours="08:00-13:00", business_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
    assert wide.pages_outside == 1


@pytest.mark.parametrize(
    ("settings", "key"),
    [(StatsSettings(timezone="Mars/Olympus"), "stats.timezone"), (StatsSettings(business_hours="9-5"), "stats.business_hours"),
     (StatsSettings(business_days=["funday"]), "stats.business_days")],
)  # fmt: skip
def test_bad_stats_settings_name_the_key(store: Store, settings: StatsSettings, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        incident_stats(store, settings)


def test_an_unknown_period_is_refused(store: Store) -> None:
    with pytest.raises(InputError, match="unknown period"):
        incident_stats(store, StatsSettings(), by="week")


def test_the_command_prints_definitions_tables_and_json() -> None:
    with home_store() as store:
        seed_five(store)
    table = run("incidents", "stats", "--format", "table")
    assert table.exit_code == 0, table.output
    for definition in ("time to detect: impact start → detected", "impact duration: impact start → resolved, else → mitigated"):
        assert table.stdout.count(definition) == 1
    assert "Pages outside business hours: 2 of 3 (67%)" in table.stdout
    data = json.loads(run("incidents", "stats", "--by", "quarter", "--format", "json").stdout)
    detect = next(m for m in data["metrics"] if m["metric"] == "time_to_detect")
    assert detect == {"metric": "time_to_detect", "label": "time to detect", "definition": detect["definition"],
                      "n": 3, "unknown": 2, "median_minutes": 10, "p90_minutes": 30, "max_minutes": 30}  # fmt: skip
    assert data["pages"]["share_outside"] == round(2 / 3, 4) and data["repeats"]["count"] == 1
    csv = run("incidents", "stats", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("period,incidents,repeats,pages") and csv[1].startswith("2024-Q1,2,1,2,1")
