"""Tasks from the duty desk to a grid worker's phone (派单 → 接单 → 处置 → 回报), each step kept.

The duty desk picks the worker from the roster of the alert's grid: enabled `grid_worker` accounts whose scope
covers the grid, nearest on duty first (`roster.py`). The deadline comes from the duty rules' task-deadline table
(console/duty/rules.toml `[task_deadline]`), passed in by the caller (docs/field.md §6)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import ALERT_ACT, FIELD_SYNC
from console.store import Alert
from console.store.field_models import FieldTask, FieldTaskStep

from . import roster as _roster
from .validation import FieldError, Location

STATES = {"assigned": "已派单", "accepted": "已接单", "handling": "处置中", "reported": "已回报",
          "reassigned": "已改派", "cancelled": "已撤销"}
OPEN_STATES = ("assigned", "accepted", "handling")
# the duty desk takes a task back: the alert dispatched to someone else, or closed (办结 / 误报)
WITHDRAW = {"dispatch": ("reassign", "reassigned"), "resolve": ("cancel", "cancelled"),
            "false_alarm": ("cancel", "cancelled")}
# action: (label, from-states, to-state, text required)
ACTIONS = {
    "accept": ("接单", ("assigned",), "accepted", False),
    "handle": ("开始处置", ("accepted",), "handling", False),
    "report": ("回报", ("accepted", "handling"), "reported", True),
}
STEP_LABELS = {"dispatch": "派单", "escalate": "超期上报", "reassign": "改派", "cancel": "撤销",
               **{k: v[0] for k, v in ACTIONS.items()}}
DEFAULT_DUE_HOURS = 24.0  # when the caller names no deadline


def roster(session: Session, grid_code: str, now: datetime | None = None,
           point: tuple[float, float] | None = None) -> list[dict]:
    """The grid's workers, nearest on duty first (`now` and `point` given), else least busy first."""
    return _roster.roster(session, grid_code, now, point)


def dispatch(session: Session, viewer: Viewer, *, located: dict, assignee: str, title: str, note: str,
             now: datetime, alert_id: int | None = None, due_hours: float = DEFAULT_DUE_HOURS) -> FieldTask:
    """Create a task for `assignee` (must be on the grid's roster). `located`: the record's area codes and point."""
    grid = located.get("grid_code") or ""
    guard.require(viewer, ALERT_ACT, f"field:task:alert:{alert_id}", log_grant=False)
    guard.require_area(viewer, grid, f"field:task:alert:{alert_id}")
    if not grid:
        raise FieldError("该预警没有所属网格，不能派给网格员", 422, "no_grid")
    if assignee not in {w["username"] for w in roster(session, grid)}:
        raise FieldError(f"{assignee} 不是网格 {grid} 的网格员", 422, "not_on_roster")
    task = FieldTask(alert_id=alert_id, assignee=assignee, title=title[:128], note=note.strip(), state="assigned",
                     due_at=now + timedelta(hours=due_hours), created_by=viewer.username,
                     created_at=now, updated_at=now, report="", **located)
    session.add(task)
    session.flush()
    session.add(FieldTaskStep(task_id=task.id, at=now, actor=viewer.username, action="dispatch", from_state=None,
                              to_state="assigned", text=note.strip()))
    return task


def on_roster(session: Session, grid_code: str | None, username: str | None) -> bool:
    return bool(grid_code and username) and username.strip() in {w["username"] for w in roster(session, grid_code)}


def dispatch_alert(session: Session, viewer: Viewer, alert: Alert, assignee: str, note: str,
                   now: datetime, due_hours: float = DEFAULT_DUE_HOURS) -> FieldTask:
    """派单 of an alert to a worker's phone: the task carries the alert's place and the deadline of its type
    (`due_hours`, from the duty rules' task-deadline table). The caller moves the alert itself (duty actions)
    in the same transaction."""
    located = {k: getattr(alert, k) for k in ("lon", "lat", "county_code", "town_code", "village_code", "grid_code",
                                              "assign_generation")}
    return dispatch(session, viewer, located=located, assignee=assignee.strip(), title=alert.title, note=note,
                    now=now, alert_id=alert.id, due_hours=due_hours)


def follow_alert(session: Session, viewer: Viewer, alert_id: int, action: str, assignee: str | None,
                 now: datetime) -> list[int]:
    """The alert's open tasks after a duty action: dispatched to another worker → 已改派, closed → 已撤销 (a step
    each). A phone that acts on such a task while offline meets a conflict kept for the supervisor
    (`task_sync`), never a silent overwrite. Returns the task ids taken back."""
    if action not in WITHDRAW:
        return []
    step, target = WITHDRAW[action]
    guard.require(viewer, ALERT_ACT, f"field:tasks:alert:{alert_id}", log_grant=False)
    rows = session.scalars(select(FieldTask).where(FieldTask.alert_id == alert_id, FieldTask.state.in_(OPEN_STATES)))
    out = []
    for task in rows:
        if action == "dispatch" and task.assignee == (assignee or "").strip():
            continue
        session.add(FieldTaskStep(task_id=task.id, at=now, actor=viewer.username, action=step, from_state=task.state,
                                  to_state=target, text=f"改派给 {assignee}" if step == "reassign" else "预警已办结"))
        task.state, task.updated_at = target, now
        out.append(task.id)
    return out


def act(session: Session, viewer: Viewer, task_id: int, action: str, text: str = "",
        location: Location | None = None, now: datetime | None = None) -> FieldTask:
    """A worker's step on the own task."""
    guard.require(viewer, FIELD_SYNC, f"field:task:{task_id}", log_grant=False)
    task = session.get(FieldTask, task_id)
    if task is None or task.assignee != viewer.username:
        raise FieldError("任务不存在或不是派给您的", 404, "task_unknown")
    if action not in ACTIONS:
        raise FieldError("未知的任务操作")
    label, sources, target, needs_text = ACTIONS[action]
    if task.state not in sources:
        raise FieldError(f"任务当前为「{STATES[task.state]}」，不能{label}", 409, "task_state")
    text = (text or "").strip()[:2000]
    if needs_text and not text:
        raise FieldError(f"{label}需要填写处置情况")
    session.add(FieldTaskStep(task_id=task.id, at=now, actor=viewer.username, action=action, from_state=task.state,
                              to_state=target, text=text, lon=location.lon if location else None,
                              lat=location.lat if location else None,
                              accuracy_m=location.accuracy if location else None))
    task.state, task.updated_at = target, now
    if action == "report":
        task.report = text
    return task


def as_json(session: Session, task: FieldTask, now: datetime, steps: bool = False) -> dict:
    out = {"id": task.id, "alert_id": task.alert_id, "assignee": task.assignee, "title": task.title,
           "note": task.note, "state": task.state, "state_label": STATES[task.state],
           "due_at": task.due_at.isoformat(timespec="minutes"), "grid_code": task.grid_code,
           "overdue": task.state in OPEN_STATES and task.due_at < now, "report": task.report,
           "open": task.state in OPEN_STATES,
           "lon": task.lon, "lat": task.lat}
    if steps:
        out["steps"] = [{"at": st.at.isoformat(timespec="seconds"), "actor": st.actor, "action": st.action,
                         "action_label": STEP_LABELS.get(st.action, st.action),
                         "to_state": STATES[st.to_state], "text": st.text, "accuracy_m": st.accuracy_m}
                        for st in session.scalars(select(FieldTaskStep).where(FieldTaskStep.task_id == task.id)
                                                  .order_by(FieldTaskStep.id))]
    return out


def my_tasks(session: Session, viewer: Viewer, now: datetime) -> list[dict]:
    guard.require(viewer, FIELD_SYNC, "field:tasks", log_grant=False)
    rows = session.scalars(select(FieldTask).where(FieldTask.assignee == viewer.username)
                           .order_by(FieldTask.state == "reported", FieldTask.due_at).limit(200))
    return [as_json(session, t, now) for t in rows]


def for_alert(session: Session, viewer: Viewer, alert_id: int, now: datetime) -> list[dict]:
    """The duty desk's view of an alert's tasks, with every step (scope-checked per task)."""
    guard.require(viewer, ALERT_ACT, f"field:tasks:alert:{alert_id}", log_grant=False)
    rows = session.scalars(select(FieldTask).where(FieldTask.alert_id == alert_id, viewer.scope.clause(FieldTask))
                           .order_by(FieldTask.id))
    return [as_json(session, t, now, steps=True) for t in rows]
