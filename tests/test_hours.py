"""Opening hours in the location's timezone, including ranges past midnight."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hugo_pos.hours import is_open, parse_range

TZ = "America/Port_of_Spain"  # UTC-4, no DST
HOURS = {"mon": ("11:00-15:00", "17:00-22:00"), "fri": ("18:00-02:00",), "sun": ("10:00-24:00",)}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-11-23 is a Monday; return that week's day at local time, as UTC."""
    return datetime(2026, 11, 23 + day, hour + 4, minute, tzinfo=UTC) if hour + 4 < 24 else \
        datetime(2026, 11, 24 + day, hour + 4 - 24, minute, tzinfo=UTC)


@pytest.mark.parametrize(("when", "expected"), [
    (local(0, 11), True), (local(0, 14, 59), True), (local(0, 15), False), (local(0, 16), False),
    (local(0, 21, 59), True), (local(0, 22), False), (local(1, 12), False),
    (local(4, 17, 59), False), (local(4, 23), True), (local(5, 1, 59), True),
    (local(5, 2), False), (local(6, 23, 59), True),
])
def test_is_open(when, expected):
    assert is_open(HOURS, TZ, when) is expected


def test_no_hours_is_always_open_and_empty_is_never():
    assert is_open(None, TZ, local(1, 3)) is True
    assert is_open({}, TZ, local(0, 12)) is False


@pytest.mark.parametrize("text", ["11-15", "25:00-26:00", "10:00-10:00", "24:30-01:00",
                                  "10:00-24:30"])
def test_parse_range_refuses_bad_ranges(text):
    with pytest.raises(ValueError):
        parse_range(text)
