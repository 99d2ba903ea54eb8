"""The template filters (incidentkit.wikitext.render) and table cell text (incidentkit.wikitext.cells),
against hand-written tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

import mwparserfromhell
import pytest

from incidentkit.wikitext import render as render_module
from incidentkit.wikitext.cells import cell_text


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
