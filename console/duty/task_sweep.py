"""Overdue phone tasks escalate: a task from the duty desk still open past its deadline raises one alert for the
duty desk (rule `task_overdue`, rules.toml) and gets an `escalate` step, so the worker's and the desk's views show
it (docs/field.md §6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from console.store.field_models import FieldTask, FieldTaskStep
from console.store.security_models import Account

from . import rules
from .ingest import raise_alert

OPEN_STATES = ("assigned", "accepted", "handling")  # console/field/tasks.py STATES (features do not import each other)
SYSTEM_ACTOR = "system"


def task_sweep(s: Session, config: dict, now: datetime, limit: int | None = None) -> list[int]:
    """Escalate open tasks past their deadline that were not escalated yet (at most `limit`); the alert ids."""
    if not (config.get("task_overdue") or {}).get("enabled"):
        return []
    escalated = exists().where(FieldTaskStep.task_id == FieldTask.id, FieldTaskStep.action == "escalate")
    rows = s.scalars(select(FieldTask).where(FieldTask.state.in_(OPEN_STATES), FieldTask.due_at < now, ~escalated)
                     .order_by(FieldTask.due_at, FieldTask.id).limit(limit)).all()
    names = dict(s.execute(select(Account.username, Account.display_name)
                           .where(Account.username.in_({t.assignee for t in rows}))).all()) if rows else {}
    raised = []
    for task in rows:
        facts = {"id": task.id, "title": task.title, "assignee": task.assignee, "due_at": task.due_at,
                 "alert_id": task.alert_id, "assignee_name": names.get(task.assignee) or task.assignee}
        alert_id = raise_alert(s, config, rules.task_overdue_spec(config, facts, now), now, lon=task.lon,
                               lat=task.lat, areas={"county": task.county_code, "town": task.town_code,
                                                    "village": task.village_code, "grid": task.grid_code})
        s.add(FieldTaskStep(task_id=task.id, at=now, actor=SYSTEM_ACTOR, action="escalate", from_state=task.state,
                            to_state=task.state, text=f"超过期限未回报，已向值班台报警（预警 {alert_id or '已存在'}）"))
        if alert_id is not None:
            raised.append(alert_id)
    return raised
