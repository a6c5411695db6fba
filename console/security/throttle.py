"""Per-account limits on reads that reveal hidden data (full values, duplicate checks), docs/security.md §2.

`check(viewer, name)` takes one token from the account's bucket for `name`; over the limit it raises
`Throttled` after writing a refusal and, once per account and minute, a `security.alert` row that the security
administrator sees (`admin.security_alerts`). Limits come from the security settings (`web.install` calls
`configure`); the defaults hold when nothing was configured (services used without the web layer).
"""

from __future__ import annotations

import threading
import time

from . import guard
from .hardening import RateLimiter

DEFAULTS = {"unmask": 30.0, "duplicate_check": 30.0}  # per account and minute
LABELS = {"unmask": "查看完整信息", "duplicate_check": "登记查重"}
_limiters: dict[str, RateLimiter] = {}
_alerted: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


class Throttled(guard.AccessDenied):
    """Too many sensitive reads in a short time (refused and audited)."""


def configure(per_minute: dict[str, float], clock=time.monotonic) -> None:
    with _lock:
        for name, default in DEFAULTS.items():
            rate = float(per_minute.get(name, default))
            _limiters[name] = RateLimiter(max(1, int(rate)), rate, clock)
        _alerted.clear()


def _limiter(name: str) -> RateLimiter:
    with _lock:
        if name not in _limiters:
            rate = DEFAULTS[name]
            _limiters[name] = RateLimiter(int(rate), rate)
        return _limiters[name]


def check(viewer: guard.Viewer, name: str, obj: str = "") -> None:
    limiter = _limiter(name)
    key = viewer.username
    if limiter.allow(key):
        return
    guard.audit(viewer, "access.denied", obj or name, guard.REFUSED, {"reason": "rate_limited", "limit": name})
    now = limiter.clock()
    with _lock:
        last = _alerted.get((name, key))
        fresh = last is None or now - last >= 60
        if fresh:
            _alerted[(name, key)] = now
    if fresh:  # one alert per account and minute of burst
        guard.audit(viewer, "security.alert", f"account:{key}", guard.REFUSED,
                    {"kind": f"{name}_burst", "label": f"{LABELS.get(name, name)}过于频繁",
                     "per_minute": limiter.rate * 60})
    raise Throttled(f"{LABELS.get(name, name)}过于频繁，请稍后再试（已记录并通知安全管理员）。",
                    permission=name, object=obj)
