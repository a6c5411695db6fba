"""Overdue follow-ups of special-population records become duty alerts (rule `followup_overdue`, rules.toml): due =
the last visit (or, never visited, the day the person was listed) + the category's cycle. One alert per missed
due date; a later visit moves the due date, so the next miss raises a new one."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.store import SpecialPerson
from console.store.codes import SPECIAL_CATEGORIES
from console.store.followup_models import FollowupVisit

from . import rules
from .ingest import raise_alert


def last_visits():
    """(special_person_id, last visit date) as a subquery."""
    return (select(FollowupVisit.special_person_id.label("sp"), func.max(FollowupVisit.visited_on).label("last"))
            .group_by(FollowupVisit.special_person_id).subquery())


def overdue(s: Session, config: dict, today: date, limit: int | None = None) -> list[tuple[SpecialPerson, date]]:
    """Special-population records whose follow-up is past due today, with the date it fell due."""
    last = last_visits()
    anchor = func.coalesce(last.c.last, SpecialPerson.since)
    out: list[tuple[SpecialPerson, date]] = []
    for category in SPECIAL_CATEGORIES:
        levels = range(6) if category == "mental" else [None]
        for level in levels:
            days = rules.followup_cycle_days(config, category, level)
            if not days:
                continue
            cond = [SpecialPerson.category == category, anchor < today - timedelta(days=days)]
            if level is not None:
                cond.append(func.coalesce(SpecialPerson.risk_level, 0) == level)
            rows = s.execute(select(SpecialPerson, anchor).outerjoin(last, last.c.sp == SpecialPerson.id)
                             .where(*cond).order_by(SpecialPerson.id).limit(limit)).all()
            out += [(sp, (a if isinstance(a, date) else date.fromisoformat(str(a))) + timedelta(days=days))
                    for sp, a in rows]
    return out


def followup_sweep(s: Session, config: dict, today: date, limit: int | None = None) -> list[int]:
    """Raise the alerts for overdue follow-ups (at most `limit` new ones a round); their ids."""
    if not (config.get("followup_overdue") or {}).get("enabled"):
        return []
    raised = []
    for sp, due in overdue(s, config, today):
        facts = {"id": sp.id, "category": sp.category, "risk_level": sp.risk_level,
                 "category_label": SPECIAL_CATEGORIES.get(sp.category, "")}
        alert_id = raise_alert(s, config, rules.followup_overdue_spec(config, facts, due, today), _now(today),
                               lon=sp.lon, lat=sp.lat, person_id=sp.person_id,
                               areas={"county": sp.county_code, "town": sp.town_code, "village": sp.village_code,
                                      "grid": sp.grid_code})
        if alert_id is not None:
            raised.append(alert_id)
            if limit is not None and len(raised) >= limit:
                break
    return raised


def _now(today: date):
    from datetime import datetime

    return datetime(today.year, today.month, today.day, 8, 0)
