"""Golden files of the SAL parse: every field of every event, the problems and the line count, for
each SAL fixture page and windows that cut it in different places.

Any change to what the parser returns shows as a diff under ``tests/golden/sal/``. Regenerate after
an intended change with ``INCIDENTKIT_UPDATE_GOLDEN=1 pytest tests/test_sal_golden.py`` and review
``git diff tests/golden/sal/``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.exports import load_export
from incidentkit.sources.sal import parse

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "sal"
GOLDEN = Path(__file__).parent / "golden" / "sal"
# read at import: the autouse fixture in conftest.py clears INCIDENTKIT_* variables before each test
UPDATE = os.environ.get("INCIDENTKIT_UPDATE_GOLDEN") == "1"

# (case, page file, page title, window start, window end); times UTC
CASES = [
    ("quirks-midnight", "constructed-quirks.wiki", "Server Admin Log/2023", "2023-03-06 23:30", "2023-03-07 00:06"),
    ("quirks-all", "constructed-quirks.wiki", "Server Admin Log/2023", "2023-03-03 00:00", "2023-03-09 00:00"),
    ("quirks-morning", "constructed-quirks.wiki", "Server Admin Log/2023", "2023-03-05 10:00", "2023-03-05 12:30"),
    ("quirks-markdown-day", "constructed-quirks.wiki", "Server Admin Log/2023", "2023-03-04 00:00", "2023-03-05 00:00"),
    ("miraheze-all", "miraheze-2016.md.txt", "Tech:Server admin log/2016", "2016-11-01 00:00", "2017-01-01 00:00"),
    ("miraheze-hand-edits", "miraheze-2016.md.txt", "Tech:Server admin log/2016", "2016-12-26 07:30", "2016-12-26 09:15"),
    ("archive-2010", "quoted-2010-archive17.wiki", "Server Admin Log/Archive 17", "2010-11-30 00:00", "2010-12-01 00:00"),
    ("morebots-days", "quoted-2016-morebots.wiki", "Server Admin Log", "2016-09-22 00:00", "2016-09-24 00:00"),
    ("morebots-hour", "quoted-2016-morebots.wiki", "Server Admin Log", "2016-09-23 09:00", "2016-09-23 10:03"),
    ("stashbot-year", "quoted-stashbot-2024.wiki", "Server Admin Log", "2024-01-01 00:00", "2024-12-12 00:00"),
    ("stashbot-started-inside", "quoted-stashbot-2024.wiki", "Server Admin Log", "2024-12-11 14:30", "2024-12-11 14:40"),
    ("example-incident", "example", "", "2023-02-14 18:00", "2023-02-14 19:45"),
    ("example-started-at-end", "example", "", "2023-02-14 19:00", "2023-02-14 19:20"),
    ("example-page", "example", "", "2023-02-13 00:00", "2023-02-16 00:00"),
]


def _export(name: str, title: str) -> Export:
    if name == "example":
        return load_export("sal", ROOT / "data" / "examples" / "backport-crash" / "sal")
    text = (FIXTURES / name).read_text(encoding="utf-8")
    if name.endswith(".md.txt"):
        text = text.split("\n---\n", 1)[1]  # the provenance header is not page text
    return Export("sal", ((title, text),))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+00:00")


@pytest.mark.parametrize(("case", "name", "title", "start", "end"), CASES, ids=[c[0] for c in CASES])
def test_sal_parse_matches_golden(case: str, name: str, title: str, start: str, end: str) -> None:
    result = parse(_export(name, title), Query(Window(_utc(start), _utc(end))))
    got = {
        "lines_read": result.lines_read,
        "problems": [[p.where, p.reason, p.text] for p in result.problems],
        "events": [event.to_dict() for event in result.events],
    }
    text = json.dumps(got, indent=1, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{case}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{case} differs from tests/golden/sal/{case}.json"
