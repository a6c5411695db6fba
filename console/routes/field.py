"""The phone app's sync API under /api/field/ (docs/field.md). Thin: the rules live in `console.field`.

GET  /api/field/grid                 the worker's grids and households (masked), for offline use
POST /api/field/sync                 {sent_at, records:[…]} → a result per record (created/updated/duplicate/
                                     conflict/rejected), each in its own transaction
PUT  /api/field/records/<uuid>       one record; the HTTP status is its outcome (201, 200, 409, 403, 422, 400)
POST /api/field/photos               declare a photo {uuid, record_uuid, sha256, size} → {offset}
GET  /api/field/photos/<uuid>        where an interrupted upload resumes
PUT  /api/field/photos/<uuid>?offset= one chunk (raw bytes); with X-Record-UUID, X-Photo-SHA256 and X-Photo-Size
                                     it also declares the photo (one request for a photo of one chunk)
GET  /api/field/conflicts            open conflicts in the scope (supervisors)
POST /api/field/conflicts/<id>       {decision: keep_server | take_phone}

The browser app authenticates like every page: the session cookie, and for writes the same-origin check plus the
CSRF token (header X-CSRFToken, read from the `_csrf_token` cookie) — the gate checks both before these run.
An app older than `MIN_APP_VERSION` (header X-Field-App) is told to reload (426) before it writes anything.
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, request
from sqlalchemy.exc import OperationalError

from console.field import conflicts, griddata, photos, sync
from console.field.codes import MAX_BATCH
from console.field.validation import FieldError, parse_batch, parse_record, parse_sent_at
from console.security.gate import Security
from console.security.guard import AccessDenied
from console.services.context import current_context
from console.services.viewer import current_viewer

APP_VERSION = 3  # the phone app's code version (also in console/field/static/app.js)
MIN_APP_VERSION = 3  # writes from an older app are refused with 426: it reloads first


blueprint = Blueprint("pingan_field", __name__)


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8", headers={"Cache-Control": "no-store"})


def _refuse(exc: FieldError) -> Response:
    return _json({"error": str(exc), "code": exc.code}, exc.status)


def _now():
    return current_context().security.settings.clock()


@blueprint.before_request
def _old_app():
    if request.method in ("POST", "PUT") and not request.path.startswith("/api/field/conflicts"):
        try:
            version = int(request.headers.get("X-Field-App", "0"))
        except ValueError:
            version = 0
        if version < MIN_APP_VERSION:
            return _json({"error": "手机应用版本过旧，请刷新页面更新后再上传（待上传记录会保留）", "code": "app_outdated",
                          "min_version": MIN_APP_VERSION}, 426)
    return None


def busy(_exc=None) -> Response:
    """503 + Retry-After: nothing of the request was stored; the phone's queue sends it again later."""
    resp = _json({"error": sync.Busy.message, "code": "busy"}, 503)
    resp.headers["Retry-After"] = "5"
    return resp


def locked(exc: OperationalError):
    """A write that waited out the database's lock timeout (photos, conflicts, tasks): 503, never a 500."""
    if sync.locked(exc):
        return busy()
    raise exc


blueprint.register_error_handler(sync.Busy, busy)
blueprint.register_error_handler(OperationalError, locked)


@blueprint.errorhandler(AccessDenied)
def _denied(exc):
    return _json({"error": str(exc), "code": "denied"}, 403)


@blueprint.get("/api/field/grid")
def grid_data():
    with current_context().session() as s:
        body = griddata.bundle(s, current_viewer())
    body["app_version"] = APP_VERSION
    return _json(body)


@blueprint.post("/api/field/sync")
def sync_batch():
    body = request.get_json(silent=True)
    try:
        sent_at, items = parse_batch(body)
    except FieldError as exc:
        return _refuse(exc)
    outcomes = sync.apply_many(current_context().sessions, current_viewer(), items, sent_at, _now())
    return _json({"results": [o.as_json() for o in outcomes], "max_batch": MAX_BATCH})


@blueprint.put("/api/field/records/<uuid>")
def put_record(uuid: str):
    body = request.get_json(silent=True)
    try:
        if not isinstance(body, dict):
            raise FieldError("请求格式错误：需要 JSON 对象")
        sent_at = parse_sent_at(body.pop("sent_at", None))
        sub = parse_record(body)
        if str(sub.uuid) != uuid.lower():
            raise FieldError("地址中的记录编号与内容不一致")
    except FieldError as exc:
        return _refuse(exc)
    outcome = sync.apply_one(current_context().sessions, current_viewer(), sub, sent_at, _now())
    return _json(outcome.as_json(), outcome.http)


@blueprint.post("/api/field/photos")
def declare_photo():
    try:
        with current_context().session() as s, s.begin():
            return _json(photos.declare(s, current_viewer(), request.get_json(silent=True), _now()))
    except FieldError as exc:
        return _refuse(exc)


@blueprint.get("/api/field/photos/<uuid>")
def photo_status(uuid: str):
    try:
        with current_context().session() as s:
            return _json(photos.status(photos.find(s, current_viewer(), uuid)))
    except FieldError as exc:
        return _refuse(exc)


@blueprint.put("/api/field/photos/<uuid>")
def photo_chunk(uuid: str):
    try:
        offset = int(request.args.get("offset", ""))
    except ValueError:
        return _refuse(FieldError("缺少续传位置 offset"))
    data = request.get_data(cache=False)
    try:
        with current_context().session() as s, s.begin():
            photo = None
            if "X-Photo-SHA256" in request.headers:  # declared with its first bytes: one request for a small photo
                photo = photos.declared(s, current_viewer(), photos.declaration(uuid, request.headers), _now())
            result = photos.append(s, current_viewer(), uuid, offset, data, _now(), photo)
    except FieldError as exc:
        return _refuse(exc)
    return _json(result, 422 if "error" in result else 200)


@blueprint.get("/api/field/conflicts")
def list_conflicts():
    with current_context().session() as s:
        return _json({"conflicts": conflicts.open_conflicts(s, current_viewer())})


@blueprint.post("/api/field/conflicts/<int:conflict_id>")
def settle_conflict(conflict_id: int):
    body = request.get_json(silent=True) or {}
    try:
        with current_context().session() as s, s.begin():
            return _json(conflicts.resolve(s, current_viewer(), conflict_id, str(body.get("decision", "")), _now()))
    except FieldError as exc:
        return _refuse(exc)


def register(server: Flask, security: Security) -> None:
    server.register_blueprint(blueprint)
