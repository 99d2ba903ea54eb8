"""Timeline curation: overrides survive re-pulls, rules, key-moment suggestions, refs and filters."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from incidentkit.config import TimelineSettings
from incidentkit.errors import ConfigError, InputError, StoreError
from incidentkit.model.alert import alert_event
from incidentkit.model.curation import (
    OWNER,
    CurationResult,
    CurationState,
    ManualRow,
    MomentSetting,
    Override,
    RowCuration,
    moment_name,
)
from incidentkit.model.event import Event, EventKind
from incidentkit.model.incident import IncidentRecord
from incidentkit.model.row import Row
from incidentkit.store import Store
from incidentkit.timeline.curate import curate, sort_key
from incidentkit.timeline.refs import (
    RowFilter,
    parse_between,
    parse_row_time,
    resolve_keys,
    resolve_moment_target,
    row_at,
    row_records,
    row_ref,
    select_keys,
    short_refs,
)
from incidentkit.timeline.rows import build_rows
from incidentkit.timeline.rules import describe_rules

SLUG = "2018-03-27_train-rollback"
RULES = TimelineSettings()


def at(hhmm: str, day: int = 27) -> datetime:
    hour, minute = hhmm.split(":")
    return datetime(2018, 3, day, int(hour), int(minute), tzinfo=UTC)


def sal(hhmm: str, kind: EventKind, text: str, key: str | None = None) -> Event:
    return Event(
        time=at(hhmm), source="sal", kind=kind, key=key or f"sal:{hhmm}", text=text, actor="twentyafterfour"
    )


def alert(name: str, fired: str, resolved: str | None = None) -> list[Event]:
    events = [
        alert_event(
            source="prometheus",
            kind=EventKind.ALERT_FIRING,
            time=at(fired),
            key=f"prometheus:{name}:{fired}",
            text=f"{name} firing",
            alertname=name,
        )
    ]
    if resolved:
        events.append(
            alert_event(
                source="prometheus",
                kind=EventKind.ALERT_RESOLVED,
                time=at(resolved),
                key=f"prometheus:{name}:{resolved}:resolved",
                text=f"{name} resolved",
                alertname=name,
            )
        )
    return events


FIRING = "alert:MediaWikiFatals:2018-03-27T19:18Z"
RESOLVED = FIRING + ":resolved"


def story() -> list[Event]:
    """A train deploy goes bad, an alert fires, the train is rolled back, the alert resolves."""
    return sorted(
        [
            sal(
                "19:05",
                EventKind.TRAIN,
                "rebuilt and synchronized wikiversions files: group1 wikis to 1.31.0-wmf.27",
            ),
            sal(
                "19:06", EventKind.SYNC, "Synchronized php: group1 wikis to 1.31.0-wmf.27 (duration: 01m 17s)"
            ),
            sal(
                "19:10",
                EventKind.COOKBOOK,
                "END (PASS) - Cookbook sre.hosts.downtime (exit_code=0) for mw1290",
            ),
            sal("19:17", EventKind.LOG, "seeing quite a few Replication wait failed errors"),
            *alert("MediaWikiFatals", "19:18", "19:30"),
            sal("19:19", EventKind.LOG, "rolling back to wmf.26"),
            sal(
                "19:22",
                EventKind.TRAIN,
                "rebuilt and synchronized wikiversions files: group1 wikis to 1.31.0-wmf.26",
            ),
            sal("19:40", EventKind.LOG, "filed T190960 for the incident"),
        ],
        key=lambda e: (e.time, e.source, e.key),
    )


def by_key(result: CurationResult) -> dict[str, Row]:
    return {r.key: r for r in result.rows}


@pytest.fixture
def store(store: Store) -> Store:
    store.save_incident(IncidentRecord(slug=SLUG, title="Train rollback", start="2018-03-27T19:00:00Z"))
    return store


def draft(store: Store, events: list[Event]) -> CurationResult:
    """What the draft pipeline does: save the events, curate, record the keys as seen."""
    store.save_events(SLUG, events)
    rows = build_rows(store.load_events(SLUG))
    result = curate(rows, store.curation_state(SLUG), RULES)
    store.mark_rows_seen(SLUG, [r.key for r in rows])
    return result


# --- the whole loop: pull -> curate -> pull again ------------------------------------------


def test_repull_keeps_the_owners_curation_and_flags_only_new_rows(store: Store) -> None:
    first = draft(store, story())
    assert first.new_keys == () and first.orphans == ()

    # the owner curates
    store.hide_rows(SLUG, ["sal:19:17"])
    store.pin_rows(SLUG, ["sal:19:19"])
    store.edit_row(SLUG, "sal:19:40", text="Incident task T190960 filed")
    store.edit_row(SLUG, "sal:19:05", time=at("19:04"))
    store.note_row(SLUG, "sal:19:22", "this fixed it")
    store.unhide_rows(SLUG, ["sal:19:10"])  # the downtime cookbook a rule hides
    manual = store.add_manual_row(SLUG, time=at("19:16"), text="Users report errors on IRC")
    store.set_key_moment(SLUG, "detected", time=at("19:16"), key=manual)

    # the sources change: one new line, one line edited at the source, one line gone
    second_events = [e for e in story() if e.key != "sal:19:17"]
    second_events = [
        replace(e, text=e.text + " (wmf.26)") if e.key == "sal:19:19" else e for e in second_events
    ]
    second_events.append(sal("19:25", EventKind.LOG, "fatals back to normal"))
    second = draft(store, second_events)

    got = [
        (r.key, r.time, r.text, r.hidden, r.pinned, r.edited, r.new, r.note, r.marker) for r in second.rows
    ]
    assert got == [
        ("sal:19:05", at("19:04"), "rebuilt and synchronized wikiversions files: group1 wikis to 1.31.0-wmf.27",
         False, True, True, False, None, None),
        ("sal:19:06", at("19:06"), "Synchronized php: group1 wikis to 1.31.0-wmf.27 (duration: 01m 17s)",
         False, True, False, False, None, "OUTAGE BEGINS"),
        ("sal:19:10", at("19:10"), "END (PASS) - Cookbook sre.hosts.downtime (exit_code=0) for mw1290",
         False, False, False, False, None, None),
        (manual, at("19:16"), "Users report errors on IRC", False, False, False, False, None, None),
        (FIRING, at("19:18"), "MediaWikiFatals firing", False, True, False, False, None, None),
        ("sal:19:19", at("19:19"), "rolling back to wmf.26 (wmf.26)", False, True, False, False, None, None),
        ("sal:19:22", at("19:22"), "rebuilt and synchronized wikiversions files: group1 wikis to 1.31.0-wmf.26",
         False, True, False, False, "this fixed it", None),
        ("sal:19:25", at("19:25"), "fatals back to normal", False, False, False, True, None, None),
        (RESOLVED, at("19:30"), "MediaWikiFatals resolved after 12 min", False, True, False, False, None, "OUTAGE ENDS"),
        ("sal:19:40", at("19:40"), "Incident task T190960 filed", False, False, True, False, None, None),
    ]  # fmt: skip
    assert second.new_keys == ("sal:19:25",)
    assert [(o.row_key, o.action) for o in second.orphans] == [("sal:19:17", "hidden")]
    assert second.moments.detected == at("19:16")  # the owner's, on the manual row
    assert second.curation["sal:19:40"].original_text == "filed T190960 for the incident"
    assert second.curation["sal:19:05"].original_time == at("19:05")


def test_show_sees_the_new_rows_of_the_latest_draft_and_a_third_draft_none(store: Store) -> None:
    draft(store, story())
    draft(store, [*story(), sal("19:25", EventKind.LOG, "fatals back to normal")])
    rows = build_rows(store.load_events(SLUG))
    shown = curate(rows, store.curation_state(SLUG, as_drafted=True), RULES)
    assert shown.new_keys == ("sal:19:25",)

    third = draft(store, [*story(), sal("19:25", EventKind.LOG, "fatals back to normal")])
    assert third.new_keys == ()
    assert curate(rows, store.curation_state(SLUG, as_drafted=True), RULES).new_keys == ()


def test_a_first_draft_as_seen_by_show_has_nothing_new(store: Store) -> None:
    draft(store, story())
    state = store.curation_state(SLUG, as_drafted=True)
    assert not state.drafted
    assert curate(build_rows(story()), state, RULES).new_keys == ()


# --- rules and precedence -------------------------------------------------------------------


def test_rules_pin_deploys_and_first_last_alert_and_hide_downtime_cookbooks() -> None:
    result = curate(build_rows(story()), CurationState(), RULES)
    rows = by_key(result)
    pinned = {k for k, r in rows.items() if r.pinned}
    assert pinned == {"sal:19:05", "sal:19:06", "sal:19:22", FIRING, RESOLVED}
    assert [k for k, r in rows.items() if r.hidden] == ["sal:19:10"]
    assert result.curation["sal:19:10"].hidden_by.startswith("rule: hide_matching")
    assert result.curation[FIRING].pinned_by == "rule: pin_first_last_alert (first alert)"
    assert not any(r.new or r.edited for r in result.rows)
    assert "sal:19:10" in {r.key for r in result.rows} and "sal:19:10" not in {r.key for r in result.visible}


def test_explicit_overrides_win_over_rules() -> None:
    rules = TimelineSettings(hide_kinds=["log", "train"])
    state = CurationState(
        overrides={
            "sal:19:10": Override(key="sal:19:10", hidden=False),  # a rule hides it
            "sal:19:06": Override(key="sal:19:06", pinned=False),  # a rule pins it
            "sal:19:17": Override(key="sal:19:17", pinned=True),  # hide_kinds would hide it
            "sal:19:22": Override(key="sal:19:22", hidden=True),  # a rule pins it
        }
    )
    rows = by_key(curate(build_rows(story()), state, rules))
    assert not rows["sal:19:10"].hidden
    assert not rows["sal:19:06"].pinned and not rows["sal:19:06"].hidden  # train rule does not cover sync
    assert rows["sal:19:17"].pinned and not rows["sal:19:17"].hidden
    assert rows["sal:19:22"].hidden and rows["sal:19:22"].pinned
    assert rows["sal:19:19"].hidden  # log, not pinned: hide_kinds applies
    assert not rows["sal:19:05"].hidden  # pinned by the deploy rule, so not hidden by hide_kinds


def test_edits_replace_text_and_time_and_resort() -> None:
    state = CurationState(
        overrides={"sal:19:40": Override(key="sal:19:40", time=at("19:00"), text="earlier")}
    )
    result = curate(build_rows(story()), state, RULES)
    assert result.rows[0].key == "sal:19:40"
    assert (result.rows[0].text, result.rows[0].edited) == ("earlier", True)
    same = CurationState(
        overrides={"sal:19:40": Override(key="sal:19:40", text="filed T190960 for the incident")}
    )
    assert not by_key(curate(build_rows(story()), same, RULES))["sal:19:40"].edited


def test_manual_rows_are_merged_in_order_and_never_auto_hidden_nor_new() -> None:
    rules = TimelineSettings(hide_kinds=["manual"], hide_matching=["users"])
    state = CurationState(
        manual=(ManualRow(key="manual:1", time=at("19:16"), text="Users report errors"),), drafted=True
    )
    result = curate(build_rows(story()), state, rules)
    manual = by_key(result)["manual:1"]
    assert (manual.source, manual.kind, manual.hidden, manual.new) == (
        "manual",
        EventKind.MANUAL,
        False,
        False,
    )
    keys = [r.key for r in result.rows]
    assert keys.index("sal:19:10") < keys.index("manual:1") < keys.index("sal:19:17")


def test_bad_rules_are_config_errors_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="timeline.hide_matching"):
        curate([], CurationState(), TimelineSettings(hide_matching=["("]))
    with pytest.raises(ConfigError, match="timeline.pin_kinds.*'deploys'"):
        curate([], CurationState(), TimelineSettings(pin_kinds=["deploys"]))
    with pytest.raises(ConfigError, match="impact_deploy_minutes"):
        describe_rules(TimelineSettings(impact_deploy_minutes=-1))


def test_describe_rules_lists_every_rule_with_its_value() -> None:
    records = {r["rule"]: r["value"] for r in describe_rules(TimelineSettings(hide_kinds=["task-comment"]))}
    assert records["hide_kinds"] == ["task-comment"]
    assert records["pin_first_last_alert"] is True
    assert records["impact_deploy_minutes"] == 30


# --- key moments ----------------------------------------------------------------------------


def test_suggested_moments_on_the_train_rollback() -> None:
    result = curate(build_rows(story()), CurationState(), RULES)
    choices = {c.moment: c for c in result.choices}
    assert choices["impact_start"].key == "sal:19:06"  # the deploy 12 min before the first alert
    assert choices["detected"].key == FIRING
    assert choices["responded"].key == "sal:19:19"
    assert choices["mitigated"].key == "sal:19:22"  # the deploy that shipped the announced rollback
    assert choices["resolved"].key == RESOLVED
    assert {c.origin for c in result.choices} == {"suggested"}
    assert result.moments.durations() == {
        "time_to_detect": 12.0,
        "time_to_mitigate": 16.0,
        "time_to_resolve": 24.0,
        "impact_duration": 24.0,
    }
    markers = {r.key: r.marker for r in result.rows if r.marker}
    assert markers == {"sal:19:06": "OUTAGE BEGINS", RESOLVED: "OUTAGE ENDS"}


def test_impact_start_is_the_first_alert_when_no_deploy_is_close_before() -> None:
    rules = TimelineSettings(impact_deploy_minutes=10)
    result = curate(build_rows(story()), CurationState(), rules)
    assert (result.moments.impact_start, result.moments.detected) == (at("19:18"), at("19:18"))
    assert by_key(result)[FIRING].marker == "OUTAGE BEGINS"


def test_a_revert_deploy_is_the_mitigation_else_the_first_deploy_after_the_alert() -> None:
    revert = sal(
        "19:27", EventKind.BACKPORT, 'Backport for [[gerrit:1|Revert "Enable the thing"]]', key="sal:b"
    )
    events = [*story(), revert]
    choices = {c.moment: c for c in curate(build_rows(events), CurationState(), RULES).choices}
    assert choices["mitigated"].key == "sal:19:22"  # the announced rollback still came first

    announced_by_deploy_only = [e for e in events if e.key != "sal:19:19"]
    choices = {
        c.moment: c for c in curate(build_rows(announced_by_deploy_only), CurationState(), RULES).choices
    }
    assert (choices["mitigated"].key, choices["mitigated"].reason) == (
        "sal:b",
        "the first revert/rollback deploy",
    )

    no_revert = [e for e in story() if e.key != "sal:19:19"]
    choices = {c.moment: c for c in curate(build_rows(no_revert), CurationState(), RULES).choices}
    assert (choices["mitigated"].key, choices["mitigated"].reason) == (
        "sal:19:22",
        "the first deploy after detection (no revert seen)",
    )
    # a human noticed at 19:10 (before the alert): the deploy after that is the candidate
    early = CurationState(moments={"detected": MomentSetting(moment="detected", time=at("19:10"))})
    without_later_deploys = [e for e in no_revert if e.key != "sal:19:22"]
    fix = sal("19:12", EventKind.SYNC, "Synchronized wmf-config: (no message) (duration: 00m 19s)")
    choices = {c.moment: c for c in curate(build_rows([*without_later_deploys, fix]), early, RULES).choices}
    assert (choices["impact_start"].key, choices["mitigated"].key) == ("sal:19:06", "sal:19:12")

    nothing = [e for e in no_revert if e.key != "sal:19:22"]
    assert curate(build_rows(nothing), CurationState(), RULES).moments.mitigated is None


def test_deploys_count_when_they_land_not_when_they_start() -> None:
    """The SAL source's phase/revert data: a revert's "Started scap" is not the mitigation, its finish is."""

    def scap(hhmm: str, phase: str, text: str, revert: bool = False) -> Event:
        data = {"phase": phase, **({"revert": True} if revert else {})}
        return replace(sal(hhmm, EventKind.BACKPORT, text, key=f"scap:{hhmm}"), data=data)

    events = [
        scap("19:00", "start", "Started scap: Backport for [[gerrit:1|Enable X]]"),
        scap("19:08", "finish", "Finished scap: Backport for [[gerrit:1|Enable X]] (duration: 08m 00s)"),
        scap("19:16", "start", "Started scap: Backport for [[gerrit:2|Undo X]]", revert=True),
        *alert("MediaWikiFatals", "19:18", "19:30"),
        scap(
            "19:24",
            "finish",
            "Finished scap: Backport for [[gerrit:2|Undo X]] (duration: 08m 00s)",
            revert=True,
        ),
    ]
    choices = {c.moment: c for c in curate(build_rows(events), CurationState(), RULES).choices}
    assert (choices["impact_start"].key, choices["impact_start"].reason) == (
        "scap:19:08",
        "the deploy 10 min before the first alert",
    )
    assert (choices["mitigated"].key, choices["mitigated"].reason) == (
        "scap:19:24",
        "the first deploy to land after the revert/rollback was started",
    )


def test_nothing_is_resolved_while_an_alert_is_still_firing() -> None:
    events = [*story(), *alert("ReplicationLag", "19:35")]
    result = curate(build_rows(events), CurationState(), RULES)
    assert result.moments.resolved is None
    assert not any(r.marker == "OUTAGE ENDS" for r in result.rows)


def test_without_alerts_only_the_owner_sets_moments() -> None:
    events = [e for e in story() if e.source == "sal" and e.kind is EventKind.LOG and e.key != "sal:19:19"]
    result = curate(build_rows(events), CurationState(), RULES)
    assert result.moments == type(result.moments)()
    assert {c.origin for c in result.choices} == {"none"}
    assert not any(r.marker for r in result.rows)


def test_hiding_the_first_alert_moves_detection() -> None:
    events = [*story(), *alert("FlakyProbe", "19:12", "19:13")]
    flaky = "alert:FlakyProbe:2018-03-27T19:12Z"
    assert curate(build_rows(events), CurationState(), RULES).moments.detected == at("19:12")
    state = CurationState(overrides={flaky: Override(key=flaky, hidden=True)})
    result = curate(build_rows(events), state, RULES)
    assert result.moments.detected == at("19:18")
    assert by_key(result)[FIRING].pinned  # the first visible alert gets the first-alert pin


def test_owner_moments_win_and_a_bare_time_marks_the_row_there_else_a_marker_row() -> None:
    state = CurationState(
        moments={
            "impact_start": MomentSetting(moment="impact_start", time=at("19:04")),
            "resolved": MomentSetting(moment="resolved", time=at("19:22"), key="sal:19:22"),
        }
    )
    result = curate(build_rows(story()), state, RULES)
    assert (result.moments.impact_start, result.moments.resolved) == (at("19:04"), at("19:22"))
    keys = [r.key for r in result.rows]
    assert keys.index("moment:impact_start") == 0  # no row at 19:04: a marker row, first
    marker_row = by_key(result)["moment:impact_start"]
    assert (marker_row.marker, marker_row.text) == ("OUTAGE BEGINS", "")
    assert by_key(result)["sal:19:22"].marker == "OUTAGE ENDS"
    assert by_key(result)["sal:19:05"].marker is None and by_key(result)[RESOLVED].marker is None
    assert {c.moment: c.origin for c in result.choices}["resolved"] == "owner"

    at_a_row = CurationState(moments={"impact_start": MomentSetting(moment="impact_start", time=at("19:06"))})
    result = curate(build_rows(story()), at_a_row, RULES)
    assert by_key(result)["sal:19:06"].marker == "OUTAGE BEGINS"
    assert "moment:impact_start" not in by_key(result)  # no second "OUTAGE BEGINS" row


def test_a_moment_on_a_vanished_row_is_an_orphan_and_keeps_its_time() -> None:
    state = CurationState(
        moments={"mitigated": MomentSetting(moment="mitigated", time=at("19:20"), key="sal:gone")}
    )
    result = curate(build_rows(story()), state, RULES)
    assert result.moments.mitigated == at("19:20")
    assert [(o.row_key, o.action) for o in result.orphans] == [("sal:gone", "key moment mitigated")]


def test_hiding_the_marked_row_keeps_the_marker_visible() -> None:
    state = CurationState(
        overrides={"sal:19:06": Override(key="sal:19:06", hidden=True)},
        moments={"impact_start": MomentSetting(moment="impact_start", time=at("19:06"), key="sal:19:06")},
    )
    result = curate(build_rows(story()), state, RULES)
    assert by_key(result)["sal:19:06"].marker is None
    assert [r.key for r in result.visible if r.marker == "OUTAGE BEGINS"] == ["moment:impact_start"]


def test_resolved_on_an_alert_interval_row_means_its_end() -> None:
    state = CurationState(
        moments={"resolved": MomentSetting(moment="resolved", time=at("19:18"), key=FIRING)}
    )
    assert curate(build_rows(story()), state, RULES).moments.resolved == at("19:30")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("detected", "detected"),
        ("Impact-Start", "impact_start"),
        ("mitigation", "mitigated"),
        ("end", "resolved"),
    ],
)
def test_moment_names_and_aliases(text: str, name: str) -> None:
    assert moment_name(text) == name


def test_unknown_moment_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown key moment 'lunch'"):
        moment_name("lunch")


# --- refs, keys, filters, times -------------------------------------------------------------


def _colliding_keys() -> tuple[str, str]:
    seen: dict[str, str] = {}
    for i in itertools.count():
        key = f"k{i}"
        prefix = row_ref(key)[:4]
        if prefix in seen:
            return seen[prefix], key
        seen[prefix] = key
    raise AssertionError("unreachable")


def test_short_refs_are_unique_prefixes_of_seven_or_more() -> None:
    keys = [f"k{i}" for i in range(2000)]
    refs = short_refs(keys)
    assert len(set(refs.values())) == 2000
    assert all(len(r) >= 7 and row_ref(k).startswith(r) for k, r in refs.items())


def test_resolve_keys_by_exact_key_ref_prefix_or_key_prefix() -> None:
    keys = ["sal:19:05", "sal:19:06", "manual:abc123"]
    assert resolve_keys(["sal:19:06"], keys, incident=SLUG) == ("sal:19:06",)
    assert resolve_keys([row_ref("sal:19:05")[:5]], keys, incident=SLUG) == ("sal:19:05",)
    assert resolve_keys(["manual:a"], keys, incident=SLUG) == ("manual:abc123",)
    with pytest.raises(InputError, match="no row 'zzzzzz'"):
        resolve_keys(["zzzzzz"], keys, incident=SLUG)
    with pytest.raises(InputError, match="no row"):
        resolve_keys([row_ref("sal:19:05")[:3]], keys, incident=SLUG)  # too short to be a prefix
    with pytest.raises(InputError, match="ambiguous.*matches 2 rows"):
        resolve_keys(["sal:19:0"], keys, incident=SLUG)
    a, b = _colliding_keys()
    with pytest.raises(InputError, match="ambiguous"):
        resolve_keys([row_ref(a)[:4]], [a, b], incident=SLUG)


def test_filters_combine_and_select_keys_adds_named_rows() -> None:
    result = curate(build_rows(story()), CurationState(), RULES)
    logs = RowFilter(sources=("SAL",), kinds=("log",))
    assert select_keys(result.rows, [], logs, incident=SLUG) == ("sal:19:17", "sal:19:19", "sal:19:40")
    rolling = RowFilter(match="ROLLING")
    assert select_keys(result.rows, ["sal:19:05"], rolling, incident=SLUG) == ("sal:19:05", "sal:19:19")
    window = RowFilter(start=at("19:17"), end=at("19:19"))
    assert select_keys(result.rows, [], window, incident=SLUG) == ("sal:19:17", FIRING, "sal:19:19")
    unpinned = select_keys(result.rows, [], RowFilter(unpinned=True), incident=SLUG)
    assert unpinned == ("sal:19:10", "sal:19:17", "sal:19:19", "sal:19:40")
    assert select_keys(result.rows, [], RowFilter(), incident=SLUG) == ()
    with pytest.raises(InputError, match="--kind 'deploys'"):
        RowFilter(kinds=("deploys",))


def test_select_keys_can_name_orphans_only_when_asked() -> None:
    rows = build_rows(story())
    with pytest.raises(InputError):
        select_keys(rows, ["sal:gone"], RowFilter(), incident=SLUG)
    assert select_keys(rows, ["sal:gone"], RowFilter(), incident=SLUG, also=["sal:gone"]) == ("sal:gone",)


def test_times_relative_to_the_incident_day() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    day = date(2018, 3, 27)
    assert parse_row_time("19:10", day=day, now=now) == at("19:10")
    assert parse_row_time("2018-03-28T01:02Z", day=day, now=now) == datetime(2018, 3, 28, 1, 2, tzinfo=UTC)
    with pytest.raises(InputError, match="no date"):
        parse_row_time("19:10", day=None, now=now)
    with pytest.raises(InputError, match="not a time of day"):
        parse_row_time("25:10", day=day, now=now)
    assert parse_between("19:10..19:40", day=day, now=now) == (at("19:10"), at("19:40"))
    assert parse_between("..19:40", day=day, now=now) == (None, at("19:40"))
    for bad, message in [("19:10", "not FROM..TO"), ("..", "not FROM..TO"), ("19:40..19:10", "ends before")]:
        with pytest.raises(InputError, match=message):
            parse_between(bad, day=day, now=now)


def test_moment_target_is_a_row_or_a_time() -> None:
    rows = curate(build_rows(story()), CurationState(), RULES).rows
    now = datetime(2018, 3, 28, tzinfo=UTC)
    kwargs = {"incident": SLUG, "day": date(2018, 3, 27), "now": now}
    assert resolve_moment_target("sal:19:19", rows, "mitigated", **kwargs) == ("sal:19:19", at("19:19"))
    assert resolve_moment_target(row_ref(FIRING)[:6], rows, "resolved", **kwargs) == (FIRING, at("19:30"))
    assert resolve_moment_target("19:21", rows, "mitigated", **kwargs) == (None, at("19:21"))
    assert resolve_moment_target("1 hour ago", rows, "mitigated", **kwargs) == (
        None,
        now - timedelta(hours=1),
    )
    with pytest.raises(InputError, match="neither a row"):
        resolve_moment_target("not a row nor a time", rows, "mitigated", **kwargs)


def test_row_records_spell_out_flags_and_who_set_them() -> None:
    state = CurationState(
        overrides={
            "sal:19:17": Override(key="sal:19:17", hidden=True, text="edited"),
            "sal:19:19": Override(key="sal:19:19", pinned=True),
        },
        drafted=True,
        seen=frozenset(r.key for r in build_rows(story()) if r.key != "sal:19:40"),
    )
    result = curate(build_rows(story()), state, RULES)
    flags = {r["key"]: r["flags"] for r in row_records(result, include_hidden=True)}
    assert flags["sal:19:17"] == "HE"
    assert flags["sal:19:10"] == "h"
    assert flags["sal:19:19"] == "P"
    assert flags["sal:19:06"] == "p"
    assert flags["sal:19:40"] == "N"
    visible = [r["key"] for r in row_records(result, include_hidden=False)]
    assert "sal:19:17" not in visible and "sal:19:10" not in visible


def _error(call, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        call(*args, **kwargs)
    return caught.value


# two keys whose SHA-1 share their first 7 hex digits, and the digests (hashlib, checked by hand)
K247, K13116 = "k247", "k13116"
SHA_K247 = "acfd0f2e516a321c08e9fc102a972f41aa084211"
SHA_K13116 = "acfd0f29aa4571e4c8f653dd958c5dc0321b6c5a"


def test_short_refs_grow_one_digit_past_a_shared_prefix_and_never_below_seven() -> None:
    assert row_ref(K247) == SHA_K247
    assert short_refs([K247]) == {K247: SHA_K247[:7]}
    assert short_refs([K247, K13116, K247]) == {K247: SHA_K247[:8], K13116: SHA_K13116[:8]}
    assert short_refs([K247], minimum=4) == {K247: SHA_K247[:4]}


def test_row_key_errors_say_what_to_give() -> None:
    keys = [f"sal:19:0{i}" for i in range(1, 8)]
    missing = _error(resolve_keys, ["zzzzzz"], keys, incident=SLUG)
    assert missing.message == f"no row 'zzzzzz' in {SLUG}"
    assert missing.hint == f"`incidentkit timeline show {SLUG} --all` lists every row with its ref (give at least 4 characters)"
    refs = [hashlib.sha1(k.encode()).hexdigest()[:7] for k in keys]
    many = _error(resolve_keys, ["sal:19:0"], keys, incident=SLUG)
    assert many.message == f"row 'sal:19:0' is ambiguous in {SLUG}: it matches 7 rows ({', '.join(refs[:5])}, ...)"
    assert many.hint == "give more characters of the ref"
    six = _error(resolve_keys, ["sal:19:0"], keys[:6], incident=SLUG)
    assert six.message.endswith(f"matches 6 rows ({', '.join(refs[:5])}, ...)")
    five = _error(resolve_keys, ["sal:19:0"], keys[:5], incident=SLUG)
    assert five.message.endswith(f"matches 5 rows ({', '.join(refs[:5])})")


def test_row_times_on_the_day_to_the_second_and_no_further() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    day = date(2018, 3, 27)
    assert parse_row_time("23:59:59", day=day, now=now) == datetime(2018, 3, 27, 23, 59, 59, tzinfo=UTC)
    assert parse_row_time(" 7:05:09 ", day=day, now=now) == datetime(2018, 3, 27, 7, 5, 9, tzinfo=UTC)
    for bad in ("24:00", "23:60", "19:10:60", "19:60:00"):
        error = _error(parse_row_time, bad, day=day, now=now)
        assert (error.message, error.hint) == (f"--time {bad!r} is not a time of day", "use HH:MM in UTC, e.g. 19:10")
    no_day = _error(parse_row_time, "19:10", day=None, now=now)
    assert no_day.message == "--time '19:10' has no date and the incident has no rows to take one from"
    assert no_day.hint == "give a full time such as 2016-09-15T19:10Z"
    assert _error(parse_row_time, "whenever", day=day, now=now).message == "cannot read --time 'whenever' as a time"
    assert _error(parse_row_time, "whenever", day=day, now=now, option="--at").message.startswith("cannot read --at ")


def test_between_reads_each_side_like_a_row_time() -> None:
    now = datetime(2018, 3, 28, 12, 0, tzinfo=UTC)
    day = date(2018, 3, 27)
    assert parse_between("19:10..19:10", day=day, now=now) == (at("19:10"), at("19:10"))
    assert parse_between("2 hours ago..", day=day, now=now) == (datetime(2018, 3, 28, 10, 0, tzinfo=UTC), None)
    assert parse_between("..1 hour ago", day=day, now=now) == (None, datetime(2018, 3, 28, 11, 0, tzinfo=UTC))
    not_range = _error(parse_between, "19:10", day=day, now=now)
    assert not_range.hint == "e.g. --between 19:10..19:40, --between 2016-09-15T19:10Z.., --between ..19:40"
    backwards = _error(parse_between, "19:40..19:10", day=day, now=now)
    assert (backwards.message, backwards.hint) == ("--between '19:40..19:10' ends before it starts", "put the earlier time first")
    assert _error(parse_between, "24:00..", day=day, now=now).message == "--between '24:00' is not a time of day"
    assert _error(parse_between, "..24:00", day=day, now=now).message == "--between '24:00' is not a time of day"
    # the first ".." splits: what is before it is the start, read (and refused) on its own
    assert _error(parse_between, "nonsense..19:20..", day=day, now=now).message == "cannot read --between 'nonsense' as a time"


def test_source_filter_keeps_only_rows_a_named_source_reported() -> None:
    result = curate(build_rows(story()), CurationState(), RULES)
    alerts = select_keys(result.rows, [], RowFilter(sources=("Prometheus",)), incident=SLUG)
    assert alerts == (FIRING, RESOLVED)
    error = _error(RowFilter, kinds=("deploys",))
    known = sorted(k.value for k in EventKind)
    assert error.hint == f"known kinds: {', '.join(known)}"


def test_moment_target_by_key_time_or_prefix_puts_resolved_at_the_alert_end() -> None:
    rows = curate(build_rows(story()), CurationState(), RULES).rows
    kwargs = {"incident": SLUG, "day": date(2018, 3, 27), "now": datetime(2018, 3, 28, tzinfo=UTC)}
    assert resolve_moment_target(FIRING, rows, "resolved", **kwargs) == (FIRING, at("19:30"))
    assert resolve_moment_target("19:18", rows, "resolved", **kwargs) == (FIRING, at("19:30"))
    assert resolve_moment_target("2018-03-27T19:19Z", rows, "mitigated", **kwargs) == ("sal:19:19", at("19:19"))
    assert resolve_moment_target("2018-03-27 7:19pm", rows, "mitigated", **kwargs) == ("sal:19:19", at("19:19"))
    late = _error(resolve_moment_target, "24:00", rows, "mitigated", **kwargs)
    assert late.message == "the time '24:00' is not a time of day"
    for prefix, count in (("sal:19:1", 3), ("sal:19:0", 2)):
        error = _error(resolve_moment_target, prefix, rows, "mitigated", **kwargs)
        assert error.message.startswith(f"row {prefix!r} is ambiguous in {SLUG}: it matches {count} rows (")
    neither = _error(resolve_moment_target, "not a row nor a time", rows, "mitigated", **kwargs)
    assert neither.hint == (
        f"give a ref from `incidentkit timeline show {SLUG} --all`, or a time such as 19:10 or 2016-09-15T19:10Z"
    )
    assert str(neither.__cause__) == "cannot read the time 'not a row nor a time' as a time"


def test_moment_target_clock_time_names_the_row_in_that_minute_or_second() -> None:
    half = Row(key="sal:half", time=at("19:19") + timedelta(seconds=30), text="x", source="sal", kind=EventKind.LOG)
    kwargs = {"incident": SLUG, "day": date(2018, 3, 27), "now": datetime(2018, 3, 28, tzinfo=UTC)}
    assert resolve_moment_target("19:19", [half], "mitigated", **kwargs) == ("sal:half", half.time)
    assert resolve_moment_target("19:19:30", [half], "mitigated", **kwargs) == ("sal:half", half.time)
    assert resolve_moment_target("19:19:15", [half], "mitigated", **kwargs) == (None, at("19:19") + timedelta(seconds=15))


def test_row_at_prefers_the_exact_time_then_the_one_added_by_hand() -> None:
    def row(key: str, seconds: float, kind: EventKind = EventKind.LOG, **flags: bool) -> Row:
        return Row(key=key, time=at("19:19") + timedelta(seconds=seconds), text=key, source="sal", kind=kind, **flags)

    when = at("19:19") + timedelta(seconds=20)
    late = row("late", 50.5)
    assert row_at([late], when, to_the_minute=True) == late
    assert row_at([late], when, to_the_minute=False) is None
    assert row_at([late], late.time, to_the_minute=False) == late
    assert row_at([late], late.time.replace(second=0, microsecond=0) + timedelta(microseconds=1), to_the_minute=True) == late
    assert row_at([row("hidden", 5, hidden=True)], when, to_the_minute=True) is None
    assert row_at([row("moment:detected", 5)], when, to_the_minute=True) is None
    assert row_at([row("next", 65)], when, to_the_minute=True) is None
    exact, other = row("exact", 20), row("other", 40)
    assert row_at([other, exact], when, to_the_minute=True) == exact
    manual = row("manual", 40, EventKind.MANUAL)
    assert row_at([other, manual, row("third", 10)], when, to_the_minute=True) == manual
    assert row_at([other, row("third", 10)], when, to_the_minute=True) is None


def test_row_records_hold_every_field_and_marker_rows_have_no_ref() -> None:
    rows = (
        Row(
            key="sal:19:17", time=at("19:17"), end=at("19:25"), text="restarted", source="sal",
            sources=("sal", "irc"), kind=EventKind.LOG, actor="jo", marker="OUTAGE BEGINS",
            pinned=True, hidden=True, edited=True, new=True, note="why",
        ),
        Row(key="moment:detected", time=at("19:20"), text="", source="incidentkit", kind=EventKind.MANUAL, new=True),
    )
    why = RowCuration(pinned_by="rule: deploys", hidden_by=OWNER, original_text="was", original_time=at("19:16"))
    result = CurationResult(rows=rows, curation={"sal:19:17": why})
    records = row_records(result, include_hidden=True)
    assert records[0] == {
        "ref": hashlib.sha1(b"sal:19:17").hexdigest()[:7],
        "time": "2018-03-27T19:17:00Z",
        "end": "2018-03-27T19:25:00Z",
        "flags": "pHEN",
        "marker": "OUTAGE BEGINS",
        "source": "sal",
        "sources": ["sal", "irc"],
        "kind": "log",
        "actor": "jo",
        "text": "restarted",
        "note": "why",
        "key": "sal:19:17",
        "pinned": True,
        "hidden": True,
        "edited": True,
        "new": True,
        "pinned_by": "rule: deploys",
        "hidden_by": "owner",
        "original_text": "was",
        "original_time": "2018-03-27T19:16:00Z",
    }
    assert (records[1]["ref"], records[1]["end"], records[1]["flags"], records[1]["original_time"]) == ("", None, "N", None)
    assert [r["key"] for r in row_records(result, include_hidden=False)] == ["moment:detected"]


# --- the store ------------------------------------------------------------------------------


def test_events_round_trip_and_saving_replaces(store: Store) -> None:
    events = story()
    started = replace(events[1], started=at("19:05"), data={"duration": 77}, tasks=("T1",), url="https://x/")
    events[1] = started
    store.save_events(SLUG, events)
    assert store.load_events(SLUG) == events
    store.save_events(SLUG, events[:2])
    assert store.load_events(SLUG) == events[:2]
    assert store.load_events("other") == []


def test_saving_events_of_an_unknown_incident_fails(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown incident 'nope'") as refused:
        store.save_events("nope", story())
    assert refused.value.hint == "record the incident first"


def test_of_two_saved_events_with_one_key_the_later_is_kept(store: Store) -> None:
    first = sal("19:05", EventKind.LOG, "first word", key="same")
    later = sal("19:06", EventKind.LOG, "second word", key="same")
    store.save_events(SLUG, [first, later])
    assert store.load_events(SLUG) == [later]


def test_override_commands_in_the_store(store: Store) -> None:
    store.hide_rows(SLUG, ["a", "b"])
    store.pin_rows(SLUG, ["a"])  # pinning a hidden row shows it
    store.unpin_rows(SLUG, ["c"])
    overrides = store.curation_state(SLUG).overrides
    assert overrides["a"] == Override(key="a", pinned=True)
    assert overrides["b"] == Override(key="b", hidden=True)
    assert overrides["c"] == Override(key="c", pinned=False)
    store.unhide_rows(SLUG, ["b"])
    assert store.curation_state(SLUG).overrides["b"].hidden is False
    store.note_row(SLUG, "d", "a note")
    store.note_row(SLUG, "d", None)
    assert "d" not in store.curation_state(SLUG).overrides  # an empty override is dropped
    with pytest.raises(StoreError, match="unknown incident"):
        store.hide_rows("nope", ["a"])


def test_reset_drops_overrides_and_manual_rows(store: Store) -> None:
    store.edit_row(SLUG, "a", text="x", time=at("19:00"))
    manual = store.add_manual_row(SLUG, time=at("19:01"), text="by hand")
    assert store.curation_state(SLUG).manual[0].key == manual
    assert store.reset_rows(SLUG, ["a", manual, "never-set"]) == 2
    state = store.curation_state(SLUG)
    assert state.overrides == {} and state.manual == ()


def test_key_moments_in_the_store(store: Store) -> None:
    store.set_key_moment(SLUG, "detected", time=at("19:16"), key="manual:1")
    store.set_key_moment(SLUG, "detected", time=at("19:17"))
    assert store.curation_state(SLUG).moments == {
        "detected": MomentSetting(moment="detected", time=at("19:17"))
    }
    assert store.clear_key_moment(SLUG, "detected") is True
    assert store.clear_key_moment(SLUG, "detected") is False
    with pytest.raises(ValueError, match="unknown key moment"):
        store.set_key_moment(SLUG, "lunch", time=at("19:17"))


def test_seen_rows_count_drafts(store: Store) -> None:
    assert store.curation_state(SLUG) == CurationState()
    assert store.mark_rows_seen(SLUG, ["a", "b"]) == 2
    assert store.curation_state(SLUG).drafted and store.curation_state(SLUG).seen == {"a", "b"}
    assert store.mark_rows_seen(SLUG, ["a", "b", "c"]) == 1
    assert store.curation_state(SLUG, as_drafted=True).seen == {"a", "b"}


def test_curation_survives_reopening_a_database_file(tmp_path) -> None:
    path = tmp_path / "ik.db"
    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug=SLUG, title="Train rollback"))
        store.save_events(SLUG, story())
        store.hide_rows(SLUG, ["sal:19:17"])
    with Store.open(path) as store:
        assert store.load_events(SLUG) == story()
        assert store.curation_state(SLUG).overrides["sal:19:17"].hidden is True


def test_saved_events_fill_the_columns_the_schema_documents(store: Store) -> None:
    first = sal("19:05", EventKind.TRAIN, "déploiement du train", key="z-first")
    second = replace(sal("19:06", EventKind.SYNC, "sync"), key="a-second", data={"zeta": 1, "alpha": 2})
    store.save_events(SLUG, [first, second])
    columns = "position, time, source, kind, text"
    assert store.db.execute(f"SELECT key, {columns} FROM timeline_events ORDER BY position").fetchall() == [
        ("z-first", 0, "2018-03-27T19:05:00Z", "sal", "train", "déploiement du train"),
        ("a-second", 1, "2018-03-27T19:06:00Z", "sal", "sync", "sync"),
    ]
    assert store.load_events(SLUG) == [first, second]  # in saved order, not in key order
    # the whole event is JSON that SQL can search as written, and the same event is the same text
    assert store.db.execute("SELECT key FROM timeline_events WHERE event LIKE '%déploiement%'").fetchall() == [
        ("z-first",)
    ]
    stored = store.db.execute("SELECT event FROM timeline_events WHERE key = 'a-second'").fetchone()[0]
    store.save_events(SLUG, [first, replace(second, data={"alpha": 2, "zeta": 1})])
    assert store.db.execute("SELECT event FROM timeline_events WHERE key = 'a-second'").fetchone()[0] == stored


def test_override_flags_are_stored_as_the_schema_documents(store: Store) -> None:
    store.pin_rows(SLUG, ["p"])
    store.unpin_rows(SLUG, ["u"])
    store.hide_rows(SLUG, ["h"])
    store.unhide_rows(SLUG, ["s"])
    rows = store.db.execute("SELECT key, hidden, pinned FROM timeline_overrides ORDER BY key").fetchall()
    assert rows == [("h", 1, None), ("p", None, 1), ("s", 0, None), ("u", None, 0)]


def test_each_override_keeps_what_was_set_before_it(store: Store) -> None:
    store.edit_row(SLUG, "a", text="reworded")
    store.hide_rows(SLUG, ["a"])
    store.note_row(SLUG, "a", "why")
    store.edit_row(SLUG, "a", time=at("19:02"))
    assert store.curation_state(SLUG).overrides["a"] == Override(
        key="a", hidden=True, text="reworded", time=at("19:02"), note="why"
    )


def test_manual_rows_come_in_time_order_then_by_key(store: Store) -> None:
    times = [at("19:50"), at("19:40"), at("19:30"), at("19:20"), at("19:10"), at("19:20")]
    keys = [store.add_manual_row(SLUG, time=time, text=f"row {n}") for n, time in enumerate(times)]
    assert all(re.fullmatch(r"manual:[0-9a-f]{16}", key) for key in keys) and len(set(keys)) == len(keys)
    expected = sorted(zip(times, keys, strict=True))
    assert [(row.time, row.key) for row in store.curation_state(SLUG).manual] == expected


def test_resetting_a_manual_row_with_an_override_counts_it_once(store: Store) -> None:
    manual = store.add_manual_row(SLUG, time=at("19:01"), text="by hand")
    store.hide_rows(SLUG, [manual])
    assert store.reset_rows(SLUG, [manual]) == 1
    assert store.curation_state(SLUG).manual == () and store.curation_state(SLUG).overrides == {}


def test_the_first_response_never_comes_before_detection() -> None:
    """The seed's case: a report on IRC at 18:34:51, four seconds before the first alert."""
    firing = alert("MediaWikiFatals", "19:18")[0]
    events = [replace(firing, time=firing.time + timedelta(seconds=55)), sal("19:19", EventKind.LOG, "rolling back")]
    state = CurationState(manual=(ManualRow(key="manual:report", time=at("19:18") + timedelta(seconds=51), text="First user report on IRC"),))
    choices = {c.moment: c for c in curate(build_rows(events), state, RULES).choices}
    assert choices["detected"].time == at("19:18") + timedelta(seconds=55)
    assert choices["responded"].key == "sal:19:19"  # not the report, which came before the alert
    assert all("out of order" not in c.reason for c in choices.values())


def test_moments_out_of_order_say_so() -> None:
    late = CurationState(moments={"detected": MomentSetting(moment="detected", time=at("19:25"))})
    choices = {c.moment: c for c in curate(build_rows(story()), late, RULES).choices}
    assert choices["detected"].origin == "owner"
    assert choices["responded"].time == at("19:40")  # the first action after the (late) detection
    assert (choices["mitigated"].time, choices["resolved"].time) == (at("19:22"), at("19:30"))
    for name in ("mitigated", "resolved"):
        assert "; out of order: before responded (2018-03-27T19:40:00Z), check both" in choices[name].reason
    assert "out of order" not in choices["impact_start"].reason + choices["responded"].reason
    ordered = {c.moment: c for c in curate(build_rows(story()), CurationState(), RULES).choices}
    times = [ordered[m].time for m in ("impact_start", "detected", "responded", "mitigated", "resolved")]
    assert times == sorted(times) and not any("out of order" in c.reason for c in ordered.values())


# --- the curation values: hand-written tables ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "moment"),
    [("Impact start", "impact_start"), ("impact_start", "impact_start"), (" DETECTION ", "detected"),
     ("first response", "responded"), ("mitigation", "mitigated")],
)  # fmt: skip
def test_moment_names_as_people_write_them(text: str, moment: str) -> None:
    assert moment_name(text) == moment


def test_an_unknown_moment_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"^unknown key moment 'lunch'$") as refused:
        moment_name("lunch")
    assert refused.value.hint == "use one of: impact_start, detected, responded, mitigated, resolved"


@pytest.mark.parametrize(
    ("override", "text"),
    [
        (Override(key="k"), ""),
        (Override(key="k", hidden=True), "hidden"),
        (Override(key="k", hidden=False), "unhidden"),
        (Override(key="k", pinned=True), "pinned"),
        (Override(key="k", pinned=False), "unpinned"),
        (Override(key="k", hidden=False, pinned=False, text="t", time=datetime(2023, 2, 14, tzinfo=UTC), note="n"),
         "unhidden, unpinned, text edited, time edited, note"),
    ],
)  # fmt: skip
def test_an_override_says_what_it_does(override: Override, text: str) -> None:
    assert override.describe() == text


def test_a_manual_row_is_a_row_of_its_own() -> None:
    when = datetime(2023, 2, 14, 18, 40, tzinfo=UTC)
    assert ManualRow(key="manual:1", time=when, text="Called the DC").to_row() == Row(
        key="manual:1", time=when, text="Called the DC", source="manual", kind=EventKind.MANUAL
    )
    assert ManualRow(key="manual:1", time=when, text="x").to_row().events == ()


# --- curation at its edges: marker rows, the last-alert pin, what an edit records ------------------------


def test_marker_only_rows_sort_around_the_rows_of_their_second() -> None:
    when = at("19:20")
    plain = Row(key="sal:x", time=when, text="x", source="sal", kind=EventKind.LOG)
    begins = Row(key="moment:impact_start", time=when, text="", source="manual", kind=EventKind.MANUAL, marker="OUTAGE BEGINS")
    ends = Row(key="moment:resolved", time=when, text="", source="manual", kind=EventKind.MANUAL, marker="OUTAGE ENDS")
    assert [r.key for r in sorted([ends, plain, begins], key=sort_key)] == ["moment:impact_start", "sal:x", "moment:resolved"]


def test_with_no_resolution_the_last_firing_alert_is_pinned_and_pins_are_not_hides() -> None:
    events = [*alert("First", "19:18"), *alert("Second", "19:25"), *alert("Third", "19:27")]
    result = curate(build_rows(events), CurationState(), RULES)
    pinned = {key: why.pinned_by for key, why in result.curation.items() if why.pinned_by}
    assert pinned == {
        "alert:First:2018-03-27T19:18Z": "rule: pin_first_last_alert (first alert)",
        "alert:Third:2018-03-27T19:27Z": "rule: pin_first_last_alert (last alert)",
    }
    assert all(result.curation[key].hidden_by is None for key in pinned)


def test_a_moment_on_no_row_gets_a_marker_row_of_its_own() -> None:
    state = CurationState(moments={"impact_start": MomentSetting(moment="impact_start", time=at("19:01"))})
    result = curate(build_rows(story()), state, RULES)
    (marker,) = [r for r in result.rows if r.key == "moment:impact_start"]
    assert (marker.time, marker.source, marker.kind, marker.marker, marker.text) == (
        at("19:01"), "manual", EventKind.MANUAL, "OUTAGE BEGINS", "",
    )  # fmt: skip


def test_an_edit_that_changes_nothing_records_no_original() -> None:
    key = "sal:19:17"
    same = CurationState(overrides={key: Override(key=key, text="seeing quite a few Replication wait failed errors", time=at("19:17"))})
    result = curate(build_rows(story()), same, RULES)
    assert (result.curation[key].original_text, result.curation[key].original_time) == (None, None)
    assert not by_key(result)[key].edited
    changed = CurationState(overrides={key: Override(key=key, text="fatals", time=at("19:16"))})
    result = curate(build_rows(story()), changed, RULES)
    assert (result.curation[key].original_text, result.curation[key].original_time) == (
        "seeing quite a few Replication wait failed errors", at("19:17"),
    )  # fmt: skip
    assert by_key(result)[key].edited
