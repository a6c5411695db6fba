"""Per-account limits on reads that reveal hidden data (full values, duplicate checks), docs/security.md §2.

`check(viewer, name)` takes one token from the account's bucket for `name`; over the limit it raises
`Throttled` after writing a refusal and, once per account and minute, a `security.alert` row that the security
administrator sees (`admin.security_alerts`). The buckets live in the database (`rate_bucket`, one row per limit
and account, taken with one conditional UPDATE), so every server process of a deployment draws from the same
allowance: N workers allow the limit, not N times it. Limits come from the security settings (`web.install` calls
`configure`); the defaults hold when nothing was configured. A viewer without an audit sink (no database) falls
back to a bucket in this process.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError

from console.store.throttle_models import RateBucket

from . import guard
from .hardening import RateLimiter

DEFAULTS = {"unmask": 30.0, "duplicate_check": 30.0}  # per account and minute
LABELS = {"unmask": "查看完整信息", "duplicate_check": "登记查重"}
ALERT_EVERY_S = 60.0
_rates: dict[str, float] = dict(DEFAULTS)
_clock = [time.time]  # wall clock: shared by processes (a monotonic clock is not)
_local: dict[str, RateLimiter] = {}
_lock = threading.Lock()
_T = RateBucket.__table__


class Throttled(guard.AccessDenied):
    """Too many sensitive reads in a short time (refused and audited)."""


def configure(per_minute: dict[str, float], clock=time.time) -> None:
    with _lock:
        for name, default in DEFAULTS.items():
            _rates[name] = float(per_minute.get(name, default))
        _clock[0] = clock
        _local.clear()


def _take(session_factory, name: str, key: str, burst: float, per_s: float, now: float) -> bool:
    """One token from the shared bucket (name, key), or False when it is empty. Atomic on SQLite and PostgreSQL:
    the refill, the check and the take are one UPDATE … WHERE; a missing row is created full minus one."""
    fill = _T.c.tokens + (now - _T.c.stamp) * per_s
    level = case((fill > burst, burst), else_=fill)  # a lowered limit applies at once
    take = (update(_T).where(_T.c.name == name, _T.c.key == key, level >= 1)
            .values(tokens=level - 1, stamp=now))
    with session_factory() as s, s.begin():
        if s.execute(take).rowcount:
            return True
        if s.execute(select(_T.c.stamp).where(_T.c.name == name, _T.c.key == key)).first() is not None:
            return False
    try:
        with session_factory() as s, s.begin():
            s.execute(insert(_T).values(name=name, key=key, tokens=burst - 1, stamp=now))
        return True
    except IntegrityError:  # another process created it meanwhile: take from it like any other
        with session_factory() as s, s.begin():
            return bool(s.execute(take).rowcount)


def _first_alert(session_factory, name: str, key: str, now: float) -> bool:
    """True for the first burst alert of an account in a minute, across all processes."""
    alert = f"{name}:alert"
    due = update(_T).where(_T.c.name == alert, _T.c.key == key, _T.c.stamp <= now - ALERT_EVERY_S).values(stamp=now)
    with session_factory() as s, s.begin():
        if s.execute(due).rowcount:
            return True
        if s.execute(select(_T.c.stamp).where(_T.c.name == alert, _T.c.key == key)).first() is not None:
            return False
    try:
        with session_factory() as s, s.begin():
            s.execute(insert(_T).values(name=alert, key=key, tokens=0, stamp=now))
        return True
    except IntegrityError:
        return False


def _local_allow(name: str, key: str, rate: float) -> bool:
    with _lock:
        limiter = _local.setdefault(name, RateLimiter(max(1, int(rate)), rate, _clock[0]))
    return limiter.allow(key)


def check(viewer: guard.Viewer, name: str, obj: str = "") -> None:
    rate = _rates.get(name, DEFAULTS[name])
    burst = float(max(1, int(rate)))
    key = viewer.username
    auditor = viewer.auditor or guard.default_auditor()
    factory = getattr(auditor, "session_factory", None)
    now = _clock[0]()
    if factory is None:
        if _local_allow(name, key, rate):
            return
        fresh = True
    else:
        if _take(factory, name, key, burst, rate / 60.0, now):
            return
        fresh = None
    guard.audit(viewer, "access.denied", obj or name, guard.REFUSED, {"reason": "rate_limited", "limit": name})
    if fresh is None:
        fresh = _first_alert(factory, name, key, now)
    if fresh:  # one alert per account and minute of burst
        guard.audit(viewer, "security.alert", f"account:{key}", guard.REFUSED,
                    {"kind": f"{name}_burst", "label": f"{LABELS.get(name, name)}过于频繁", "per_minute": rate})
    raise Throttled(f"{LABELS.get(name, name)}过于频繁，请稍后再试（已记录并通知安全管理员）。",
                    permission=name, object=obj)
