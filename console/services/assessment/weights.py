"""The administrator's indicator weights: stored overrides of the registry's defaults, every change audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.permissions import CONFIG_MANAGE
from console.store.patrol_models import AssessmentWeight

from .indicators import BY_KEY, INDICATORS

MAX_WEIGHT = 100.0


class WeightError(ValueError):
    """A weight that cannot be stored; the message names the indicator and what is wrong."""


def current(s: Session) -> dict[str, float]:
    stored = dict(s.execute(select(AssessmentWeight.indicator, AssessmentWeight.weight)).all())
    return {i.key: float(stored.get(i.key, i.weight)) for i in INDICATORS}


def parse(values: dict) -> dict[str, float]:
    """Weights as a form sends them (text or numbers), checked: every indicator known, 0–100, not all zero."""
    out = {}
    for key, raw in (values or {}).items():
        if key not in BY_KEY:
            raise WeightError(f"没有名为“{key}”的考评指标")
        name = BY_KEY[key].name
        try:
            w = float(str(raw).strip())
        except ValueError:
            raise WeightError(f"“{name}”的权重应为数字，收到“{raw}”") from None
        if not (0 <= w <= MAX_WEIGHT) or w != w:
            raise WeightError(f"“{name}”的权重应在 0 到 {MAX_WEIGHT:g} 之间，收到 {raw}")
        out[key] = w
    if out and not any(out.values()):
        raise WeightError("权重不能全部为 0")
    return out


def save(s: Session, viewer: guard.Viewer, values: dict, now: datetime | None = None) -> dict[str, float]:
    """Store the changed weights (config:manage) in the caller's transaction, audited with before and after."""
    guard.require(viewer, CONFIG_MANAGE, "assessment:weights", log_grant=False)
    new = parse(values)
    before = current(s)
    changed = {k: (before[k], w) for k, w in new.items() if w != before[k]}
    now = now or datetime.utcnow()
    for key, (_old, w) in changed.items():
        row = s.get(AssessmentWeight, key)
        if row is None:
            s.add(AssessmentWeight(indicator=key, weight=w, updated_by=viewer.username, updated_at=now))
        else:
            row.weight, row.updated_by, row.updated_at = w, viewer.username, now
    guard.audit(viewer, "config.change", "assessment:weights", guard.GRANTED,
                {k: {"from": a, "to": b} for k, (a, b) in changed.items()}, session=s)
    return {**before, **new}
