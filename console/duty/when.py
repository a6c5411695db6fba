"""Times in event bodies (docs/duty.md, "时间"): ISO 8601 text → naive UTC, the form the event table stores.

A time without an offset is Beijing time (+08:00): the sources are local systems whose clocks show 北京时间.
China has no daylight saving time, so a fixed offset is exact. `Window` is the accepted range of an event's
`occurred_at` around the server's clock (rules.toml `[ingest]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "北京时间")
MAX_LEN = 40


def utc_naive(value) -> datetime:
    """The instant `value` names, as a naive UTC datetime; ValueError (Chinese reason) when it is not a time."""
    if not isinstance(value, str):
        raise ValueError("必须是 ISO 8601 时间字符串，如 2026-11-26T09:15:00+08:00")
    if not value.isascii() or not 10 <= len(value) <= MAX_LEN:
        raise ValueError(f"不是合法的 ISO 8601 时间：{value[:MAX_LEN]!r}")
    try:
        t = datetime.fromisoformat(value)
        if t.tzinfo is None:
            t = t.replace(tzinfo=BEIJING)
        return t.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight by the offset
        raise ValueError(f"不是合法的 ISO 8601 时间：{value[:MAX_LEN]!r}") from None


def show(t: datetime) -> str:
    """A stored (naive UTC) time as Beijing time, for messages."""
    return t.replace(tzinfo=timezone.utc).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Window:
    ahead: timedelta = timedelta(minutes=5)   # clock skew allowed into the future
    behind: timedelta = timedelta(days=30)    # how old an event may still be

    @classmethod
    def from_config(cls, config: dict) -> "Window":
        section = config.get("ingest") or {}
        ahead = section.get("future_skew_minutes", 5)
        behind = section.get("max_age_days", 30)
        for name, v in (("future_skew_minutes", ahead), ("max_age_days", behind)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ValueError(f"[ingest] {name} 必须是非负数，而不是 {v!r}")
        return cls(timedelta(minutes=ahead), timedelta(days=behind))

    def problem(self, t: datetime, now: datetime) -> tuple[str, str] | None:
        """(code, reason) when `t` (naive UTC) is outside the window around `now` (naive UTC), else None."""
        if t > now + self.ahead:
            return "future_time", (f"时间 {show(t)}（北京时间）晚于服务器当前时间 {show(now)}，"
                                   f"最多允许超前 {_span(self.ahead)}")
        if t < now - self.behind:
            return "stale_time", f"时间 {show(t)}（北京时间）早于 {_span(self.behind)}之前，不再接收"
        return None


def _span(d: timedelta) -> str:
    if d >= timedelta(days=1) and d % timedelta(days=1) == timedelta(0):
        return f"{d.days} 天"
    return f"{d.total_seconds() / 60:g} 分钟"
