"""The template filters (incidentkit.wikitext.render) and table cell text (incidentkit.wikitext.cells),
against hand-written tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import mwparserfromhell
import pytest

from incidentkit.model.actionable import Dashboard
from incidentkit.model.event import EventKind
from incidentkit.model.incident import Incident
from incidentkit.model.row import Row
from incidentkit.model.window import Window
from incidentkit.wikitext import render as render_module
from incidentkit.wikitext.cells import cell_text
from incidentkit.wikitext.render import render_incident


def test_time_filters() -> None:
    when = datetime(2023, 2, 14, 18, 34, 55, tzinfo=UTC)
    assert (render_module.utc(when), render_module.utc(when, "%H:%M:%S"), render_module.utc(None)) == ("2023-02-14 18:34", "18:34:55", "")
    assert (render_module.hhmm(when), render_module.hhmm(None)) == ("18:34", "")
    assert render_module.clock(when, date(2023, 2, 14)) == "18:34"
    assert render_module.clock(when, date(2023, 2, 13)) == "2023-02-14 18:34"
    assert render_module.clock(None, date(2023, 2, 14)) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (0, "0 min"), (0.4, "less than a minute"), (59, "59 min"), (60, "1 h"), (61, "1 h 1 min"), (125, "2 h 5 min")],
)
def test_minutes_filter(value: float | None, text: str) -> None:
    assert render_module.minutes(value) == text


@pytest.mark.parametrize(
    ("wikitext", "as_written", "plain"),
    [
        ("a {{!}} b {{=}} c {{!!}} d", "a | b = c || d", "a | b = c || d"),
        ("<!-- hidden -->x", "x", "x"),
        ("{{done}} ok", "{{done}} ok", " ok"),
        ("AT&amp;T &nbsp;", "AT&T \xa0", "AT&T \xa0"),
        ("<nowiki>[[x]]</nowiki><nowiki/>", "[[x]]", "[[x]]"),
        ("<nowiki>{{!}} &amp;</nowiki>", "{{!}} &amp;", "{{!}} &amp;"),  # kept as written, entity and all
        ("<span>{{done}} ok</span> [[P|{{x}}y]] [https://x.org {{x}}lbl]", "{{done}} ok {{x}}y [https://x.org {{x}}lbl]",
         " ok y lbl"),
        ("{{{1|default}}} and == not a heading ==", "{{{1|default}}} and == not a heading ==",
         "{{{1|default}}} and == not a heading =="),
        ("a<br>b<br/>c", "a\nb\nc", "a\nb\nc"),
        ("<b>bold</b> and <span>[[P|in]]</span>", "bold and in", "bold and in"),
        ("[[Page|label]] [[Page]]", "label Page", "label Page"),
        ("[https://x.org label] [https://y.org] https://z.org", "[https://x.org label] [https://y.org] https://z.org",
         "label https://y.org https://z.org"),
    ],
)  # fmt: skip
def test_cell_text(wikitext: str, as_written: str, plain: str) -> None:
    code = mwparserfromhell.parse(wikitext)
    assert (cell_text(code), cell_text(code, plain=True)) == (as_written, plain)


# --- which template, which days, the dashboard's sync line --------------------------------------------


def _incident(*times: datetime, lightweight: bool = False) -> Incident:
    rows = tuple(Row(key=f"k{i}", time=t, text=f"row {i}", source="sal", kind=EventKind.LOG) for i, t in enumerate(times))
    return Incident(slug="s", title="T", window=Window(times[0], times[-1] + timedelta(hours=1)), generated_at=times[-1],
                    rows=rows, lightweight=lightweight)  # fmt: skip


def test_a_timeline_over_several_days_gets_a_heading_per_day() -> None:
    one_day = render_incident(_incident(datetime(2023, 2, 14, 18, tzinfo=UTC), datetime(2023, 2, 14, 19, tzinfo=UTC)))
    assert "==== 2023-02-14 ====" not in one_day
    two_days = render_incident(_incident(datetime(2023, 2, 14, 23, tzinfo=UTC), datetime(2023, 2, 15, 1, tzinfo=UTC)))
    assert two_days.index("==== 2023-02-14 ====") < two_days.index("row 0") < two_days.index("==== 2023-02-15 ====") < two_days.index("row 1")


def test_the_lightweight_report_has_its_own_template() -> None:
    when = datetime(2023, 2, 14, 18, tzinfo=UTC)
    full, light = render_incident(_incident(when)), render_incident(_incident(when, lightweight=True))
    assert "== Timeline ==" in full and "'''Documentation:'''" not in full
    assert "== Timeline ==" not in light and "'''Documentation:'''" in light


def test_the_dashboard_counts_tasks_never_synced_only_when_there_are_some() -> None:
    board = Dashboard(generated_at=datetime(2024, 6, 10, 12, tzinfo=UTC), open=0, overdue=0)
    synced = datetime(2024, 6, 10, 11, tzinfo=UTC)
    assert "not synced yet" not in render_module.render_dashboard(board, {}, last_synced=synced)
    assert "; 2 tasks not synced yet show the status the report gives" in render_module.render_dashboard(
        board, {}, last_synced=synced, never_synced=2
    )
