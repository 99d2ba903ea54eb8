"""The key-moment suggestions (incidentkit.timeline.moments), one rule at a time, at its boundaries.

Rows are written by hand; every expected moment is read off the rule as the docstring of
``_suggest`` states it (impact start <= 30 min before the first alert, a revert's deploy within
60 min, the first human action at or after detection, the last resolution unless one fires after).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from incidentkit.config import TimelineSettings
from incidentkit.errors import ConfigError
from incidentkit.model.curation import CurationState, MomentChoice, MomentSetting
from incidentkit.model.event import EventKind
from incidentkit.model.row import Row
from incidentkit.timeline.moments import choose_moments, moment_time
from incidentkit.timeline.rules import compile_rules, describe_rules

RULES = compile_rules(TimelineSettings())  # impact_deploy_minutes = 30


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2023-02-14T{hms}+00:00")


def row(hms: str, kind: EventKind, text: str = "x", *, key: str | None = None, end: str | None = None, **data: object) -> Row:
    return Row(key=key or f"{kind}:{hms}", time=at(hms), text=text, source="sal", kind=kind,
               end=at(end) if end else None, data=dict(data))  # fmt: skip


def alert(hms: str, end: str | None = None, **data: object) -> Row:
    return row(hms, EventKind.ALERT_FIRING, "X firing", key=f"alert:{hms}", end=end, **data)


def moments(rows: list[Row]) -> dict[str, MomentChoice]:
    choices, orphans = choose_moments(rows, CurationState(), RULES)
    assert orphans == []
    return {c.moment: c for c in choices}


# --- impact start ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deploy", "expected", "reason"),
    [
        ("18:00:00", "deploy", "the deploy 30 min before the first alert"),  # exactly the window: in
        ("17:59:59", "alert", "the first alert (no deploy just before it)"),  # a second more: out
        ("18:30:00", "deploy", "the deploy 0 min before the first alert"),  # at the alert itself: in
        ("18:30:01", "alert", "the first alert (no deploy just before it)"),  # after it: out
    ],
)
def test_impact_start_is_the_last_deploy_within_the_window_before_the_first_alert(deploy: str, expected: str, reason: str) -> None:
    rows = sorted([row(deploy, EventKind.SYNC, "Synchronized php", key="deploy"), alert("18:30:00")], key=lambda r: r.time)
    choice = moments(rows)["impact_start"]
    assert (choice.key, choice.reason) == ("deploy" if expected == "deploy" else "alert:18:30:00", reason)


def test_impact_start_skips_deploys_that_did_not_land_and_reverts() -> None:
    rows = [
        row("18:10:00", EventKind.SYNC, "Synchronized php", key="landed"),
        row("18:20:00", EventKind.BACKPORT, "Started scap: Backport", key="started", phase="start"),
        row("18:21:00", EventKind.BACKPORT, "Synced to the test servers", key="testservers", phase="testservers"),
        row("18:22:00", EventKind.SYNC, "Synchronized php: Revert the thing", key="revert"),
        row("18:23:00", EventKind.ABORT, "scap aborted", key="abort"),
        alert("18:30:00"),
    ]
    assert moments(rows)["impact_start"].key == "landed"


# --- detection and response ----------------------------------------------------------------------


def test_detected_is_the_first_alert_and_nothing_without_one() -> None:
    assert moments([alert("18:30:00"), alert("18:40:00")])["detected"].time == at("18:30:00")
    none = moments([row("18:30:00", EventKind.LOG, "looking")])
    assert (none["detected"].time, none["detected"].reason) == (None, "no alert in the timeline")
    assert (none["impact_start"].reason, none["responded"].reason) == ("no alert and no detection time", "no detection time")


def test_responded_is_a_human_ack_first_else_the_first_human_action_from_detection_on() -> None:
    base = [alert("18:30:00"), row("18:29:59", EventKind.LOG, "before", key="before")]
    assert moments(base)["responded"].reason == "no action after detection"
    same_second = moments([*base, row("18:30:00", EventKind.LOG, "on it", key="log")])["responded"]
    assert (same_second.key, same_second.reason) == ("log", "the first human action after detection")
    machine = [
        *base,
        row("18:31:00", EventKind.ALERT_RESOLVED, "X resolved", key="resolved"),
        row("18:32:00", EventKind.PAGE_ACK, "acked by the escalator", key="bot-ack"),
        row("18:33:00", EventKind.LOG, "on it", key="log"),
        row("18:34:00", EventKind.PAGE_ACK, "acked by cwhite", key="ack", human=True),
    ]
    chosen = moments(machine)["responded"]
    assert (chosen.key, chosen.reason) == ("ack", "the first acknowledgement of a page")
    without_ack = moments(machine[:-1])["responded"]
    assert without_ack.key == "log"


# --- mitigation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deploy", "key", "reason"),
    [
        ("19:10:00", "deploy", "the first deploy to land after the revert/rollback was announced"),  # 60 min: in
        ("19:10:01", "announce", "the revert/rollback, with no deploy landing after it"),  # a second later: out
    ],
)
def test_an_announced_revert_is_mitigated_by_the_deploy_landing_within_an_hour(deploy: str, key: str, reason: str) -> None:
    rows = [
        alert("18:05:00"),
        row("18:10:00", EventKind.LOG, "rolling back to wmf.26", key="announce"),
        row(deploy, EventKind.SYNC, "Synchronized php", key="deploy"),
    ]
    choice = moments(rows)["mitigated"]
    assert (choice.key, choice.reason) == (key, reason)


def test_without_a_revert_the_first_deploy_after_detection_mitigates() -> None:
    rows = [alert("18:05:00"), row("18:05:00", EventKind.SYNC, "Synchronized php", key="same-second"),
            row("18:06:00", EventKind.SYNC, "Synchronized php", key="after")]  # fmt: skip
    choice = moments(rows)["mitigated"]
    assert (choice.key, choice.reason) == ("after", "the first deploy after detection (no revert seen)")
    assert moments([alert("18:05:00")])["mitigated"].reason == "no revert/rollback and no deploy after detection"


def test_a_revert_flagged_by_the_source_or_worded_as_a_roll_back() -> None:
    for text, data in (("Synchronized php: undo", {"revert": True}), ("Synchronized php: roll back X", {}),
                       ("Synchronized php: rolled-back X", {})):  # fmt: skip
        rows = [alert("18:05:00"), row("18:10:00", EventKind.SYNC, text, key="revert", **data)]
        choice = moments(rows)["mitigated"]
        assert (choice.key, choice.reason) == ("revert", "the first revert/rollback deploy"), text


# --- resolution ----------------------------------------------------------------------------------


def test_resolved_is_the_last_resolution_unless_an_alert_fires_after_it_or_still_fires() -> None:
    closed = moments([alert("18:05:00", end="18:20:00"), alert("18:10:00", end="18:40:00")])["resolved"]
    assert (closed.time, closed.key, closed.reason) == (at("18:40:00"), "alert:18:10:00", "the last alert resolved")
    refired = moments([alert("18:05:00", end="18:20:00"), alert("18:30:00")])["resolved"]
    assert (refired.time, refired.reason) == (None, "an alert fired again after the last resolution")
    ongoing = moments([alert("18:05:00", end="18:20:00", ongoing=True)])["resolved"]
    assert (ongoing.time, ongoing.reason) == (None, "an alert was still firing at the window end")
    resolve_row = moments([alert("18:05:00"), row("18:50:00", EventKind.ALERT_RESOLVED, "X resolved", key="r")])
    assert resolve_row["resolved"].key == "r"
    assert moments([row("18:50:00", EventKind.LOG, "x")])["resolved"].reason == "no alert resolved"


def test_an_alert_row_resolves_at_its_end() -> None:
    firing = alert("18:05:00", end="18:20:00")
    assert (moment_time("resolved", firing), moment_time("detected", firing)) == (at("18:20:00"), at("18:05:00"))
    assert moment_time("resolved", alert("18:05:00")) == at("18:05:00")


def test_moments_out_of_order_say_so() -> None:
    state = CurationState(moments={"responded": MomentSetting(moment="responded", time=at("18:00:00"))})
    choices = {c.moment: c for c in choose_moments([alert("18:30:00", end="18:40:00")], state, RULES)[0]}
    assert choices["responded"].reason == "set by the owner; out of order: before detected (2023-02-14T18:30:00Z), check both"
    assert choices["resolved"].reason == "the last alert resolved"  # after detected: in order again


# --- the rules themselves ---------------------------------------------------------------------------


def test_rule_errors_say_what_to_fix() -> None:
    with pytest.raises(ConfigError, match=r"^config key timeline\.hide_matching holds an invalid regular expression '\(': ") as bad:
        compile_rules(TimelineSettings(hide_matching=["("]))
    assert bad.value.hint == "fix the pattern (Python regular expressions, matched case-insensitively anywhere in a row)"
    with pytest.raises(ConfigError, match=r"^config key timeline\.hide_kinds names unknown event kind 'deploys'$") as kind:
        compile_rules(TimelineSettings(hide_kinds=["deploys"]))
    assert kind.value.hint == "known kinds: " + ", ".join(k.value for k in EventKind)
    with pytest.raises(ConfigError, match=r"^config key timeline\.impact_deploy_minutes must be 0 or more, got -1$"):
        compile_rules(TimelineSettings(impact_deploy_minutes=-1))
    assert compile_rules(TimelineSettings(impact_deploy_minutes=0)).impact_deploy_window == timedelta(0)


def test_hide_patterns_match_case_insensitively_and_kinds_in_any_case() -> None:
    rules = compile_rules(TimelineSettings(hide_matching=["sre\\.hosts\\.downtime"], hide_kinds=[" Task-Comment "]))
    assert rules.hide_reason(row("18:00:00", EventKind.COOKBOOK, "END (PASS) - Cookbook SRE.HOSTS.DOWNTIME")) == (
        "rule: hide_matching (sre\\.hosts\\.downtime)"
    )
    assert rules.hide_reason(row("18:00:00", EventKind.TASK_COMMENT)) == "rule: hide_kinds (task-comment)"
    assert rules.hide_reason(row("18:00:00", EventKind.LOG, "restarted apache")) is None


def test_describe_rules_says_what_each_rule_does() -> None:
    assert [(r["rule"], r["effect"]) for r in describe_rules(TimelineSettings())] == [
        ("pin_kinds", "pin rows of these kinds"),
        ("pin_first_last_alert", "pin the first alert that fired and the last resolution"),
        ("hide_kinds", "hide rows of these kinds unless pinned"),
        ("hide_matching", "hide rows whose text matches one of these regular expressions (case-insensitive) unless pinned"),
        ("impact_deploy_minutes", "suggest a deploy this many minutes or less before the first alert as the impact start"),
        ("(always)", "the owner's hide/unhide/pin/unpin win over every rule; rows added by hand are never auto-hidden"),
    ]


# --- the owner's moments -------------------------------------------------------------------------


def test_the_impact_start_anchored_on_a_detection_the_owner_set_says_so() -> None:
    state = CurationState(moments={"detected": MomentSetting(moment="detected", time=at("18:10:00"))})
    rows = [row("18:00:00", EventKind.SYNC, "Synchronized php", key="deploy"), alert("18:30:00")]
    choices = {c.moment: c for c in choose_moments(rows, state, RULES)[0]}
    assert (choices["impact_start"].key, choices["impact_start"].reason) == ("deploy", "the deploy 10 min before detection")


def test_a_revert_before_the_impact_start_is_not_the_mitigation() -> None:
    rows = [row("17:00:00", EventKind.LOG, "reverted yesterday's change", key="old-revert"), alert("18:30:00"),
            row("18:40:00", EventKind.SYNC, "Synchronized php", key="fix")]  # fmt: skip
    choice = moments(rows)["mitigated"]
    assert (choice.key, choice.reason) == ("fix", "the first deploy after detection (no revert seen)")


def test_owner_moments_on_rows_on_gone_rows_and_out_of_order() -> None:
    rows = [alert("18:30:00", end="18:50:00"), row("18:35:00", EventKind.LOG, "on it", key="log")]
    state = CurationState(moments={
        "impact_start": MomentSetting(moment="impact_start", time=at("18:40:00")),
        "detected": MomentSetting(moment="detected", time=at("18:30:00"), key="alert:18:30:00"),
        "mitigated": MomentSetting(moment="mitigated", time=at("18:45:00"), key="gone"),
        "resolved": MomentSetting(moment="resolved", time=at("18:00:00"), key="alert:18:30:00"),
    })  # fmt: skip
    choices, orphans = choose_moments(rows, state, RULES)
    by_name = {c.moment: c for c in choices}
    assert [(c.origin, c.key) for c in choices] == [
        ("owner", None), ("owner", "alert:18:30:00"), ("suggested", "log"), ("owner", None), ("owner", "alert:18:30:00"),
    ]  # fmt: skip
    assert by_name["detected"].reason == "set by the owner; out of order: before impact start (2023-02-14T18:40:00Z), check both"
    assert by_name["mitigated"].reason == "set by the owner on a row that is gone; kept at 2023-02-14T18:45:00Z"
    assert by_name["resolved"].time == at("18:50:00")  # an alert row resolves at its end
    assert [(o.row_key, o.action) for o in orphans] == [("gone", "key moment mitigated")]


def test_without_alerts_the_owners_detection_is_the_impact_start() -> None:
    state = CurationState(moments={"detected": MomentSetting(moment="detected", time=at("18:10:00"))})
    choices = {c.moment: c for c in choose_moments([row("18:20:00", EventKind.LOG, "x")], state, RULES)[0]}
    impact = choices["impact_start"]
    assert (impact.moment, impact.time, impact.key, impact.origin, impact.reason) == (
        "impact_start", at("18:10:00"), None, "suggested", "the detection time",
    )  # fmt: skip


def test_same_second_boundaries_of_response_mitigation_and_resolution() -> None:
    # a person paging someone by hand is a response; the paging system alone is not
    paged = [alert("18:30:00"), row("18:31:00", EventKind.PAGE, "paged the DBAs", key="manual-page", human=True),
             row("18:32:00", EventKind.LOG, "on it", key="log")]  # fmt: skip
    assert moments(paged)["responded"].key == "manual-page"
    # a deploy landing in the very second the revert was announced ships it
    announced = [alert("18:30:00"), row("18:40:00", EventKind.LOG, "reverting", key="announce"),
                 row("18:40:00", EventKind.SYNC, "Synchronized php", key="deploy")]  # fmt: skip
    assert moments(announced)["mitigated"].key == "deploy"
    # a revert deploy in the second of the first alert counts from the impact start on
    same = [row("18:30:00", EventKind.SYNC, "Synchronized php: Revert X", key="revert"), alert("18:30:00")]
    assert moments(same)["mitigated"].key == "revert"
    # a firing in the second of the last resolution is not "after" it
    tie = [alert("18:00:00"), row("18:30:00", EventKind.ALERT_RESOLVED, "resolved", key="r"), alert("18:30:00")]
    assert moments(tie)["resolved"].key == "r"


def test_without_alerts_an_impact_start_at_the_owners_detection_row_points_at_that_row() -> None:
    state = CurationState(moments={"detected": MomentSetting(moment="detected", time=at("18:10:00"), key="log")})
    rows = [row("18:10:00", EventKind.LOG, "users report errors", key="log")]
    impact = {c.moment: c for c in choose_moments(rows, state, RULES)[0]}["impact_start"]
    assert (impact.time, impact.key, impact.reason) == (at("18:10:00"), "log", "the detection time")
