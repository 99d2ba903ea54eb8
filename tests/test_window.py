"""Time windows: ISO and human input, naive means UTC, and the one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from incidentkit.errors import InputError
from incidentkit.model.window import Window, parse_when, parse_window

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-09-15 19:10", datetime(2016, 9, 15, 19, 10, tzinfo=UTC)),  # naive = UTC
        ("2016-09-15T19:10Z", datetime(2016, 9, 15, 19, 10, tzinfo=UTC)),
        ("2016-09-15T21:10+02:00", datetime(2016, 9, 15, 19, 10, tzinfo=UTC)),
        ("2016-09-15 9:05", datetime(2016, 9, 15, 9, 5, tzinfo=UTC)),
        ("2016-09-15", datetime(2016, 9, 15, tzinfo=UTC)),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("yesterday 18:00", datetime(2026, 11, 19, 18, 0, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    got = parse_when(text, now=NOW)
    assert got == expected and got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_window_defaults_to_now_and_rejects_bad_input() -> None:
    assert parse_window("2 hours ago", None, now=NOW) == Window(NOW - timedelta(hours=2), NOW)
    with pytest.raises(InputError, match="cannot read --from"):
        parse_window("the day after never", None, now=NOW)
    with pytest.raises(InputError, match="ends .* before it starts"):
        parse_window("2026-11-20 12:00", "2026-11-20 11:00", now=NOW)
    with pytest.raises(InputError, match="more than the maximum of 14 days"):
        parse_window("2026-10-01", "2026-11-01", now=NOW)


def test_window_is_utc_only_and_half_open() -> None:
    with pytest.raises(ValueError):
        Window(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))
    with pytest.raises(ValueError):
        Window(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))), datetime(2026, 1, 2, tzinfo=UTC))
    window = Window(datetime(2026, 1, 1, 23, tzinfo=UTC), datetime(2026, 1, 2, 1, tzinfo=UTC))
    assert window.contains(window.start) and not window.contains(window.end)
    assert [d.isoformat() for d in window.days()] == ["2026-01-01", "2026-01-02"]
