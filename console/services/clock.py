"""Times as the console shows them: stored times are UTC (naive), every page shows Beijing time (UTC+8)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

BEIJING = timedelta(hours=8)


def beijing(t: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (naive UTC, or aware in any zone) in Beijing time; "" for none."""
    if t is None:
        return ""
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    return (t + BEIJING).strftime(fmt)
