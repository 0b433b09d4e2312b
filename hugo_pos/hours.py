"""Opening hours: ``{mon: ["11:00-15:00", "17:00-22:00"], ...}`` in a location's timezone.

A range may end at ``24:00``; a range whose end is before its start runs past midnight into the
next day. A day left out is closed; no ``hours`` at all means always open; ``{}`` means never.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


def parse_range(text: str) -> tuple[int, int]:
    """Return ``(start, end)`` minutes after midnight of ``"HH:MM-HH:MM"``; end may exceed 1440.

    Raises ``ValueError`` with a readable message for anything else.
    """
    match = _RANGE.match(str(text).strip())
    if not match or (match.group(3) == "24" and match.group(4) != "00"):
        raise ValueError(f"expected a range such as \"11:00-22:00\", got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise ValueError(f"{text!r} is empty (start equals end)")
    return start, end if end > start else end + 1440


def is_open(hours: dict[str, tuple[str, ...]] | None, timezone: str, when: datetime) -> bool:
    """Return whether a location with ``hours`` is open at the aware datetime ``when``."""
    if hours is None:
        return True
    local = when.astimezone(ZoneInfo(timezone))
    minute = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local - timedelta(days=1)).weekday()]
    for text in hours.get(today, ()):
        start, end = parse_range(text)
        if start <= minute < end:
            return True
    for text in hours.get(yesterday, ()):
        start, end = parse_range(text)
        if end > 1440 and minute < end - 1440:
            return True
    return False
