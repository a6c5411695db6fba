"""Time limits and overdue logic (docs/domain.md §4). The clock is always passed in (tests inject it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.store.codes import DISPUTE_DEADLINE_DAYS, OPEN_DISPUTE_STATES

from .workflow import COMPLEXITY, KEEP


@dataclass(frozen=True)
class DeadlinePolicy:
    """Days per complexity (configurable; defaults 1 / 7 / 20 / 30) and the warning margin."""

    days: Mapping[str, int] = field(default_factory=lambda: dict(DISPUTE_DEADLINE_DAYS))
    warn_hours: int = 24

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object] | None) -> DeadlinePolicy:
        """From a settings mapping like {"simple": 1, ...}; unknown or non-positive values raise ValueError."""
        days = dict(DISPUTE_DEADLINE_DAYS)
        for key, value in (raw or {}).items():
            if key not in DISPUTE_DEADLINE_DAYS:
                raise ValueError(f"未知的复杂程度：{key}")
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"时限天数应为正整数：{key}={value!r}")
            days[key] = value
        return cls(days=days)

    def limit(self, complexity: str) -> timedelta:
        if complexity not in self.days:
            raise ValueError(f"未知的复杂程度：{complexity}")
        return timedelta(days=self.days[complexity])


DEFAULT_POLICY = DeadlinePolicy()
ENV_VAR = "PINGAN_DISPUTE_DEADLINE_DAYS"  # e.g. {"simple": 1, "ordinary": 7, "complex": 20, "mediation": 30}


def configured(environ=None) -> DeadlinePolicy:
    """The policy from the environment (JSON object of days per complexity), else the defaults."""
    import json
    import os

    raw = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_POLICY
    try:
        return DeadlinePolicy.from_mapping(json.loads(raw))
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{ENV_VAR} 配置错误：{exc}") from exc


def next_deadline(kind: str | int, current: datetime | None, complexity: str, now: datetime,
                  policy: DeadlinePolicy = DEFAULT_POLICY) -> datetime | None:
    """The deadline after a transition whose table entry says `kind`."""
    if kind == KEEP:
        return current
    if kind == COMPLEXITY:
        return now + policy.limit(complexity)
    return now + timedelta(days=int(kind))


def is_overdue(state: str, deadline: datetime | None, now: datetime) -> bool:
    """An open case past its deadline."""
    return state in OPEN_DISPUTE_STATES and deadline is not None and now > deadline


def was_late(deadline: datetime | None, closed_at: datetime | None, now: datetime) -> bool:
    """Late at closing, or still open and past the deadline (for the overdue rate)."""
    if deadline is None:
        return False
    return (closed_at or now) > deadline


def status(state: str, deadline: datetime | None, now: datetime, policy: DeadlinePolicy = DEFAULT_POLICY) -> str:
    """'overdue' | 'due_soon' | 'ok' | 'closed' — the ledger's 时限 column."""
    if state not in OPEN_DISPUTE_STATES:
        return "closed"
    if deadline is None:
        return "ok"
    if now > deadline:
        return "overdue"
    if deadline - now <= timedelta(hours=policy.warn_hours):
        return "due_soon"
    return "ok"


STATUS_LABELS = {"overdue": "已超期", "due_soon": "即将到期", "ok": "正常", "closed": "已办结"}


def overdue_days(deadline: datetime | None, now: datetime) -> int:
    if deadline is None or now <= deadline:
        return 0
    return (now - deadline).days + 1


def supervision_list(cases: list[Mapping], now: datetime) -> list[dict]:
    """督办: overdue open cases, most overdue first, with who is late (level, department, handler)."""
    out = []
    for c in cases:
        if is_overdue(c["state"], c.get("deadline"), now):
            out.append({"code": c["code"], "title": c.get("title", ""), "state": c["state"],
                        "late_days": overdue_days(c["deadline"], now),
                        "responsible": " / ".join(x for x in (c.get("department"), c.get("handler")) if x) or "未交办"})
    return sorted(out, key=lambda r: (-r["late_days"], r["code"]))
