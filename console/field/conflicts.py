"""Sync conflicts for the supervisor: both copies side by side; settled by keeping the server's copy or taking the
phone's (a new version, audited). Nothing is overwritten without this decision."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import FIELD_REVIEW
from console.store.field_models import FieldConflict, FieldRecord, FieldRecordVersion

from .validation import FieldError

KEEP_SERVER, TAKE_PHONE = "keep_server", "take_phone"


def open_conflicts(session: Session, viewer: Viewer, limit: int = 200) -> list[dict]:
    guard.require(viewer, FIELD_REVIEW, "field:conflicts", log_grant=False)
    rows = session.execute(
        select(FieldConflict, FieldRecord.uuid, FieldRecord.kind)
        .join(FieldRecord, FieldRecord.id == FieldConflict.record_id)
        .where(FieldConflict.status == "open", viewer.scope.clause(FieldConflict))
        .order_by(FieldConflict.received_at).limit(limit))
    return [{"id": c.id, "uuid": uuid, "kind": kind, "grid_code": c.grid_code, "author": c.author,
             "base_version": c.base_version, "server_version": c.server_version,
             "server": json.loads(c.server_payload), "phone": json.loads(c.client_payload),
             "received_at": c.received_at.isoformat(timespec="seconds")} for c, uuid, kind in rows]


def resolve(session: Session, viewer: Viewer, conflict_id: int, decision: str, now: datetime) -> dict:
    obj = f"field:conflict:{conflict_id}"
    guard.require(viewer, FIELD_REVIEW, obj, log_grant=False)
    conflict = session.get(FieldConflict, conflict_id)
    if conflict is None:
        raise FieldError("冲突记录不存在", 404, "conflict_unknown")
    guard.require_area(viewer, conflict.grid_code, obj)
    if conflict.status != "open":
        raise FieldError("该冲突已处理", 409, "conflict_closed")
    if decision not in (KEEP_SERVER, TAKE_PHONE):
        raise FieldError("处理方式应为「保留服务器版本」或「采用手机版本」")
    record = session.get(FieldRecord, conflict.record_id)
    if decision == TAKE_PHONE and record.kind == "task":  # the duty desk decides a task's worker and state
        raise FieldError("任务冲突只能保留值班台的处理；手机的操作和回报内容保存在冲突记录里，如需重新派单请在值班台操作",
                         409, "task_conflict")
    if decision == TAKE_PHONE:
        record.version += 1
        record.payload = conflict.client_payload
        record.updated_at, record.updated_by = now, viewer.username
        session.add(FieldRecordVersion(record_id=record.id, op_id=f"resolve-{conflict.id}", version=record.version,
                                       payload=record.payload, author=viewer.username, received_at=now))
    conflict.status, conflict.resolved_by, conflict.resolved_at = "resolved", viewer.username, now
    session.flush()
    record.has_conflict = session.scalar(select(FieldConflict.id).where(
        FieldConflict.record_id == record.id, FieldConflict.status == "open").limit(1)) is not None
    guard.audit(viewer, "field.conflict.resolve", obj, detail={"decision": decision, "version": record.version},
                session=session)
    return {"id": conflict.id, "decision": decision, "version": record.version}
