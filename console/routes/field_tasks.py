"""Tasks between the duty desk and the phone (docs/field.md §6). Thin: rules in `console.field.tasks` and
`console.duty.actions`.

GET  /api/duty/roster?alert_id=     the alert's grid workers, nearest on duty first       (alert:act)
POST /api/duty/tasks                {alert_id, assignee, note}: 派单 = the alert's dispatch + a task, one transaction
GET  /api/duty/tasks?alert_id=      the alert's tasks with every step (the duty desk sees each state)
GET  /api/field/tasks               the worker's own tasks                                  (field:sync)
POST /api/field/tasks/<id>          {action: accept|handle|report, text, location}
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from console.duty import actions as duty_actions
from console.duty.rules import task_due_hours
from console.field import tasks
from console.field.validation import FieldError, Location, describe
from console.routes import field as field_routes
from console.security.gate import Security
from console.security.guard import AccessDenied
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store import Alert


blueprint = Blueprint("pingan_field_tasks", __name__)


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8", headers={"Cache-Control": "no-store"})


def _now():
    return current_context().security.settings.clock()


def _alert_id() -> int:
    raw = request.args.get("alert_id") if request.method == "GET" else (request.get_json(silent=True) or {}).get(
        "alert_id")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise FieldError("缺少预警编号 alert_id") from None


def _alert(s, alert_id: int) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None or not current_viewer().sees(alert.finest_area):
        raise FieldError("预警不存在或不在您的数据范围内", 404, "alert_unknown")
    return alert


@blueprint.errorhandler(FieldError)
def _refused(exc: FieldError):
    return _json({"error": str(exc), "code": exc.code}, exc.status)


@blueprint.errorhandler(AccessDenied)
def _denied(exc):
    return _json({"error": str(exc), "code": "denied"}, 403)


@blueprint.get("/api/duty/roster")
def roster():
    with current_context().session() as s:
        alert = _alert(s, _alert_id())
        point = (alert.lon, alert.lat) if alert.lon is not None else None
        return _json({"grid_code": alert.grid_code,
                      "workers": tasks.roster(s, alert.grid_code or "", _now(), point)})


@blueprint.post("/api/duty/tasks")
def dispatch():
    body = request.get_json(silent=True) or {}
    assignee, note = str(body.get("assignee", ""))[:64], str(body.get("note", ""))[:2000]
    viewer, now = current_viewer(), _now()
    with current_context().session() as s, s.begin():
        alert = _alert(s, _alert_id())
        tasks.follow_alert(s, viewer, alert.id, "dispatch", assignee, now)  # another worker's open task: 已改派
        task = tasks.dispatch_alert(s, viewer, alert, assignee, note, now, task_due_hours(alert.rule, alert.severity))
        try:
            duty_actions.act(s, viewer, alert.id, "dispatch", note or f"派单给网格员 {assignee}", assignee=assignee,
                             now=now)
        except duty_actions.ActionError as exc:
            raise FieldError(str(exc), 409, "alert_state") from None
        return _json(tasks.as_json(s, task, now), 201)


@blueprint.get("/api/duty/tasks")
def alert_tasks():
    with current_context().session() as s:
        alert = _alert(s, _alert_id())
        return _json({"alert_id": alert.id, "tasks": tasks.for_alert(s, current_viewer(), alert.id, _now())})


@blueprint.get("/api/field/tasks")
def my_tasks():
    with current_context().session() as s:
        return _json({"tasks": tasks.my_tasks(s, current_viewer(), _now()), "states": tasks.STATES})


@blueprint.post("/api/field/tasks/<int:task_id>")
def task_step(task_id: int):
    body = request.get_json(silent=True) or {}
    location = None
    if body.get("location") is not None:
        try:
            location = Location.model_validate(body["location"])
        except ValidationError as exc:
            raise FieldError(describe(exc)) from None
    now = _now()
    with current_context().session() as s, s.begin():
        task = tasks.act(s, current_viewer(), task_id, str(body.get("action", "")), str(body.get("text", "")),
                         location, now)
        return _json(tasks.as_json(s, task, now))


blueprint.register_error_handler(OperationalError, field_routes.locked)


def register(server: Flask, security: Security) -> None:
    server.register_blueprint(blueprint)
