"""Task steps from the offline queue (docs/field.md §6): 接单 / 开始处置 / 回报 made while the phone had no signal
travel as write-once `task` records through the same sync as every record (client UUID, operation id), so a
replay stores nothing twice.

The phone sends the task's state as it last saw it (`seen_state`). When the server's task is still in that state
the step is applied (at the phone's time, corrected for a wrong clock); when the duty desk moved it meanwhile
(改派 to another worker, 撤销 when the alert closed, or another step) nothing of the task changes: the step is
kept as a conflict beside the server's task, for the supervisor (the phone's report text and place are not
lost), and the phone is told 409."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from console.security.guard import Viewer
from console.store.field_models import FieldRecord, FieldTask

from . import grids, tasks
from .patrols import corrected
from .validation import FieldError, Submission, TaskFields

CONFLICT_MESSAGE = "值班台已改动该任务（改派、撤销或已处理），本次操作未生效，已提交主管处理"


def check(session: Session, viewer: Viewer, sub: Submission) -> grids.GridRef:
    """Read-only: the task must be (or have been) the worker's own; the step must suit the state the phone saw."""
    form: TaskFields = sub.form()  # type: ignore[assignment]
    task = session.get(FieldTask, form.task_id)
    if task is None or task.assignee != viewer.username:
        raise FieldError("任务不存在或不是派给您的", 404, "task_unknown")
    label, sources, _target, needs_text = tasks.ACTIONS[form.action]
    if form.seen_state not in sources:
        raise FieldError(f"任务为「{tasks.STATES[form.seen_state]}」时不能{label}", 422, "task_state")
    if needs_text and not form.text:
        raise FieldError(f"{label}需要填写处置情况")
    return grids.own_grid(session, viewer, task.grid_code or "")


def server_copy(task: FieldTask) -> str:
    """The duty desk's side of a conflict: the task as the server has it."""
    return json.dumps({"task_id": task.id, "state": task.state, "state_label": tasks.STATES[task.state],
                       "assignee": task.assignee, "updated_at": task.updated_at.isoformat(timespec="seconds")},
                      ensure_ascii=False, sort_keys=True)


def project(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord, now: datetime) -> str | None:
    """Apply the step, or return the server's copy of the task when it moved since the phone saw it (conflict)."""
    form: TaskFields = sub.form()  # type: ignore[assignment]
    task = session.get(FieldTask, form.task_id)
    if task.state != form.seen_state:
        return server_copy(task)
    tasks.act(session, viewer, task.id, form.action, form.text, sub.location, corrected(row, sub.client_time))
    return None
