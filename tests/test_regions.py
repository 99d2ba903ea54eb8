"""Generated regions: the marker format, splitting, and splicing a new draft into a page."""

from __future__ import annotations

import hashlib

import pytest

from incidentkit.wikitext.regions import (
    Region,
    Text,
    digest,
    marker_problems,
    regions,
    splice,
    split,
    wrap,
    wrap_lines,
)


def draft(timeline: str = "* 10:00 a", actionables: str = "* T1 fix") -> str:
    return (
        "{{irdoc|status=draft}}\n== Summary ==\nSummary text.\n\n== Timeline ==\n"
        + wrap("timeline", timeline)
        + "\n\n== Actionables ==\n"
        + wrap("actionables", actionables)
        + "\n\n[[Category:Incident documentation]]\n"
    )


def test_wrap_has_the_agreed_format_and_hash() -> None:
    content = "* 10:00 first line\n* 10:05 second — ünïcode"
    wrapped = wrap("timeline", content)
    expected = hashlib.sha1(content.encode("utf-8")).hexdigest()[:12]
    assert wrapped == (
        f"<!-- incidentkit:begin timeline hash={expected} -->\n{content}\n<!-- incidentkit:end timeline -->"
    )


def test_wrap_rejects_a_bad_name() -> None:
    with pytest.raises(ValueError):
        wrap("Time Line", "x")


@pytest.mark.parametrize("content", ["", "\n", "x\n", "\nx", "a\n\nb"])
def test_split_round_trips_and_recovers_exact_content(content: str) -> None:
    text = "before\n" + wrap("detection", content) + "\nafter"
    spans = split(text)
    assert "".join(map(str, spans)) == text
    (region,) = [s for s in spans if isinstance(s, Region)]
    assert region.content == content
    assert not region.edited


def test_split_finds_text_and_regions_in_order() -> None:
    spans = split(draft())
    kinds = [type(s).__name__ for s in spans]
    assert kinds == ["Text", "Region", "Text", "Region", "Text"]
    assert [s.name for s in spans if isinstance(s, Region)] == ["timeline", "actionables"]
    assert isinstance(spans[0], Text) and spans[0].start == 0


def test_a_changed_body_is_detected_as_edited() -> None:
    page = draft().replace("* 10:00 a", "* 10:00 a (corrected by hand)")
    assert regions(page)["timeline"].edited
    assert not regions(page)["actionables"].edited


def test_splice_replaces_only_regions_and_keeps_every_other_byte() -> None:
    page = draft()
    page = page.replace("Summary text.", "Summary text, rewritten by a colleague.\n\nWith a second paragraph.")
    page = page.replace("== Actionables ==\n", "== Actionables ==\nHuman intro line.\n")
    page += "Trailing human note."
    new = draft(timeline="* 10:00 a\n* 10:07 b", actionables="* T1 fix\n* T2 more")
    result = splice(page, new)
    assert set(result.replaced) == {"timeline", "actionables"}
    assert result.conflicts == ()
    assert regions(result.text)["timeline"].content == "* 10:00 a\n* 10:07 b"
    assert not regions(result.text)["timeline"].edited
    outside_old = [s.text for s in split(page) if isinstance(s, Text)]
    outside_new = [s.text for s in split(result.text) if isinstance(s, Text)]
    assert outside_old == outside_new


def test_splice_keeps_a_human_edit_inside_a_region_unless_forced() -> None:
    page = draft().replace("* 10:00 a", "* 10:00 a — hand-corrected")
    new = draft(timeline="* 10:00 a\n* 10:09 c", actionables="* T1 fix\n* T3")
    result = splice(page, new)
    assert result.conflicts == ("timeline",)
    assert "hand-corrected" in result.text
    assert "10:09 c" not in result.text
    assert result.replaced == ("actionables",)
    assert "edited on the wiki" in (result.reason("timeline") or "")
    # still recognised as edited on the next run, so the hand edit survives every republish
    assert splice(result.text, new).conflicts == ("timeline",)
    forced = splice(page, new, force=True)
    assert forced.forced == ("timeline",)
    assert "hand-corrected" not in forced.text
    assert "10:09 c" in forced.text


def test_splice_unchanged_region_is_left_identical() -> None:
    page = draft()
    result = splice(page, draft())
    assert result.text == page
    assert set(result.unchanged) == {"timeline", "actionables"}
    assert not result.changed


def test_regions_missing_from_the_draft_are_kept() -> None:
    page = draft() + "\n== Detection ==\n" + wrap("detection", "old detection") + "\n"
    result = splice(page, draft(timeline="* new"))
    assert "old detection" in result.text
    assert result.replaced == ("timeline",)


def test_broken_markers_are_never_touched_even_when_forced() -> None:
    page = draft().replace("<!-- incidentkit:end timeline -->", "")
    assert "timeline" in marker_problems(page)
    result = splice(page, draft(timeline="* new"), force=True)
    assert result.broken == ("timeline",)
    assert "* new" not in result.text
    assert "no end marker" in (result.reason("timeline") or "")


def test_duplicate_region_is_broken() -> None:
    page = draft() + wrap("timeline", "again")
    assert "appears 2 times" in marker_problems(page)["timeline"]
    assert "timeline" not in regions(page)


def test_a_new_region_goes_under_its_empty_heading() -> None:
    page = draft() + "\n== Detection ==\n\n== Conclusions ==\nHuman text.\n"
    new = draft().replace("== Actionables ==", "== Detection ==\n" + wrap("detection", "first alert") + "\n\n== Actionables ==")
    result = splice(page, new)
    assert result.added == ("detection",)
    assert regions(result.text)["detection"].content == "first alert"
    assert result.text.index("first alert") < result.text.index("== Conclusions ==")
    assert "Human text." in result.text


def test_a_new_region_is_not_inserted_over_human_text() -> None:
    page = draft() + "\n== Detection ==\nA person wrote this.\n"
    new = draft().replace("== Actionables ==", "== Detection ==\n" + wrap("detection", "first alert") + "\n\n== Actionables ==")
    result = splice(page, new)
    assert result.added == ()
    assert result.skipped == ("detection",)
    assert "first alert" not in result.text
    assert "has text of its own" in (result.reason("detection") or "")


def test_a_new_region_without_its_heading_on_the_page_is_skipped() -> None:
    new = draft().replace("== Actionables ==", "== Detection ==\n" + wrap("detection", "x") + "\n\n== Actionables ==")
    result = splice(draft(), new)
    assert result.skipped == ("detection",)
    assert "no heading" in (result.reason("detection") or "")


def test_digest_ignores_crlf_and_normalisation_form() -> None:
    assert digest("e\u0301\r\nx") == digest("\u00e9\nx")


@pytest.mark.parametrize("lines", [[], ["a"], ["* 10:00 e\u0301", "", "b"], ["ü", "x\u0308"]])
def test_wrap_lines_is_wrap_of_the_joined_lines(lines: list[str]) -> None:
    assert "".join(wrap_lines("timeline", lines)) == wrap("timeline", "\n".join(lines))


def test_wrap_lines_refuses_a_line_break_inside_a_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        "".join(wrap_lines("timeline", ["a", "b\nc"]))


# --- edges the mutation run and the issue found untested ----------------------------------------


def test_a_page_saved_with_crlf_line_ends_reads_back_unedited() -> None:
    page = draft().replace("\n", "\r\n")
    found = regions(page)
    assert found["timeline"].content == "* 10:00 a" and not found["timeline"].edited
    assert splice(page, draft(timeline="* 10:00 b")).replaced == ("timeline",)


def test_an_upper_case_hash_is_the_same_hash() -> None:
    wrapped = wrap("timeline", "* 10:00 a")
    shouted = wrapped.replace(f"hash={digest('* 10:00 a')}", f"hash={digest('* 10:00 a').upper()}")
    assert shouted != wrapped and not regions(shouted)["timeline"].edited
    assert regions(wrapped.replace(f"hash={digest('* 10:00 a')}", "hash="))["timeline"].edited  # no hash: a person's


def test_a_heading_twice_on_the_page_gets_no_insertion() -> None:
    page = draft() + "\n== Detection ==\n\n== Detection ==\n"
    new = draft().replace("== Actionables ==", "== Detection ==\n" + wrap("detection", "first alert") + "\n\n== Actionables ==")
    result = splice(page, new)
    assert (result.added, result.skipped) == ((), ("detection",))
    assert result.reason("detection") == "region 'detection' is not on the page and was not inserted: the page has the heading 'Detection' 2 times"
    assert result.text == page


def test_a_new_region_goes_under_a_heading_with_a_comment_and_before_the_next_section() -> None:
    page = draft() + "\n==Detection== <!-- filled by incidentkit -->\n\n=== Notes ===\nkept\n"
    new = draft().replace("== Actionables ==", "== Detection ==\n" + wrap("detection", "first alert") + "\n\n== Actionables ==")
    result = splice(page, new)
    assert result.skipped == ("detection",)  # the subsection's text belongs to the section
    assert result.reason("detection") == (
        "region 'detection' is not on the page and was not inserted: the section 'Detection' on the page has text of its own"
    )
    bare = draft() + "\n==Detection== <!-- filled by incidentkit -->\n\n== Conclusions ==\nkept\n"
    assert splice(bare, new).text.endswith(
        "==Detection== <!-- filled by incidentkit -->\n" + wrap("detection", "first alert") + "\n\n== Conclusions ==\nkept\n"
    )


def test_retired_regions_go_with_their_line_unless_someone_edited_them() -> None:
    page = draft() + "\n== Sources ==\n" + wrap("sources", "sal: 20 lines") + "\n\nAfter.\n"
    gone = splice(page, draft(), retired={"sources"})
    assert gone.removed == ("sources",) and gone.text == draft() + "\n== Sources ==\nAfter.\n"
    edited = page.replace("sal: 20 lines", "sal: 20 lines, checked by hand")
    kept = splice(edited, draft(), retired={"sources"})
    assert kept.removed == () and kept.text == edited
    assert splice(page, draft()).text == page  # not retired: kept as it is


def test_an_edit_the_draft_absorbs_is_merged_and_an_inline_region_is_never_inserted() -> None:
    page = draft().replace("* T1 fix", "* T1 fix (owner: alice)")
    new = draft(actionables="* T1 fix (owner: alice)\n* T2 more")
    seen = []

    def absorbs(name: str, theirs: str, ours: str) -> bool:
        seen.append((name, theirs, ours))
        return theirs in ours

    result = splice(page, new, absorbs=absorbs)
    assert (result.merged, result.conflicts) == (("actionables",), ())
    assert seen == [("actionables", "* T1 fix (owner: alice)", "* T1 fix (owner: alice)\n* T2 more")]
    assert regions(result.text)["actionables"].content == "* T1 fix (owner: alice)\n* T2 more"
    cell = draft() + "\n| Start || " + wrap("meta-start", "18:34", inline=True) + "\n"
    skipped = splice(draft(), cell)
    assert skipped.skipped == ("meta-start",)
    assert skipped.reason("meta-start") == "the page has no generated value 'meta-start' (written by hand, or an older page)"


@pytest.mark.parametrize(
    ("page", "problems"),
    [
        ("<!-- incidentkit:begin a hash=0 -->\nx\n", {"a": "region 'a' has no end marker"}),
        ("x\n<!-- incidentkit:end a -->\n", {"a": "region 'a' has an end marker without its begin marker"}),
        ("<!-- incidentkit:begin a hash=0 -->\n<!-- incidentkit:begin b hash=0 -->\n<!-- incidentkit:end b -->\n",
         {"a": "region 'a' has no end marker before 'b' begins"}),
        ("<!-- incidentkit:begin a hash=0 -->\n<!-- incidentkit:end b -->\n",
         {"b": "region 'b' has an end marker without its begin marker", "a": "region 'a' ends with the end marker of 'b'"}),
        (wrap("a", "x") + "\n" + wrap("a", "y"), {"a": "region 'a' appears 2 times"}),
    ],
)  # fmt: skip
def test_marker_problems_say_what_is_wrong(page: str, problems: dict[str, str]) -> None:
    assert marker_problems(page) == problems
    assert regions(page).keys().isdisjoint(problems)


def test_an_inline_region_must_stay_on_one_line() -> None:
    with pytest.raises(ValueError, match="^inline region 'meta-start' cannot hold a line break$"):
        wrap("meta-start", "a\nb", inline=True)
    with pytest.raises(ValueError, match=r"^bad region name 'Time Line': use lower-case letters"):
        wrap("Time Line", "x")


def test_split_makes_no_empty_text_spans_and_knows_where_each_starts() -> None:
    first, second = wrap("a", "x"), wrap("b", "y")
    spans = split(first + second + "\ntail")
    assert [type(s).__name__ for s in spans] == ["Region", "Region", "Text"]
    assert [s.start for s in spans] == [0, len(first), len(first + second)]
    assert [type(s).__name__ for s in split("head\n" + first)] == ["Text", "Region"]


def test_a_broken_region_does_not_hide_the_regions_after_it() -> None:
    page = "<!-- incidentkit:begin a hash=0 -->\n<!-- incidentkit:begin b hash=0 -->\n" + wrap("c", "z")
    assert marker_problems(page) == {"a": "region 'a' has no end marker before 'b' begins", "b": "region 'b' has no end marker before 'c' begins"}
    assert list(regions(page)) == ["c"]


def test_retired_regions_at_the_top_or_before_a_single_newline_go_cleanly() -> None:
    top = wrap("sources", "sal") + "\n\nAfter.\n"
    assert splice(top, "After.\n", retired={"sources"}).text == "After.\n"
    tight = "Before.\n" + wrap("sources", "sal") + "\nAfter.\n"
    assert splice(tight, "x", retired={"sources"}).text == "Before.\nAfter.\n"


def test_a_region_goes_into_an_empty_last_section_and_the_text_before_it_stays() -> None:
    page = "== Summary ==\nText.\n\n== Detection ==\n"
    new = "== Detection ==\n" + wrap("detection", "first alert") + "\n"
    assert splice(page, new).text == "== Summary ==\nText.\n\n== Detection ==\n" + wrap("detection", "first alert") + "\n"


def test_draft_regions_that_cannot_be_placed_do_not_stop_the_others() -> None:
    page = draft() + "\n== Detection ==\n"
    new = (
        wrap("preamble", "before any heading") + "\n" + draft() + "| Start || " + wrap("meta-start", "18:34", inline=True)
        + "\n== Detection ==\n" + wrap("detection", "first alert") + "\n"
    )  # fmt: skip
    result = splice(page, new)
    assert (result.added, result.skipped) == (("detection",), ("preamble", "meta-start"))
    assert result.reason("preamble") == "region 'preamble' has no heading in the draft to place it under"


def test_one_region_that_cannot_be_inserted_does_not_stop_the_next() -> None:
    page = draft() + "\n== Detection ==\n"
    new = draft() + "\n== Conclusions ==\n" + wrap("conclusions", "c") + "\n\n== Detection ==\n" + wrap("detection", "d") + "\n"
    result = splice(page, new)
    assert (result.skipped, result.added) == (("conclusions",), ("detection",))
    stray_end = "x\n<!-- incidentkit:end a -->\n" + wrap("c", "z")
    assert list(regions(stray_end)) == ["c"]
