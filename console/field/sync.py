"""Applying a phone's queued change: idempotent by operation id, upsert by record UUID, conflicts kept.

Rules (docs/field.md):
- a change whose `op_id` was seen before is answered with what it got the first time (replays store nothing);
- a new UUID creates version 1; a change on the current version makes the next version;
- a change on an older version with the same content as the server's is a duplicate (acknowledged);
  with other content it becomes a `FieldConflict` holding both copies, and the server's copy stays as it was;
- the grid is the one named, else the one under a usable location fix; a coarse GPS fix (> 100 m) is stored and
  flagged, never used to pick a grid; a grid outside the worker's scope is refused (403, named);
- the phone's clock is measured against the server's at sending (`clock_skew_s`), both times stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import FIELD_SYNC
from console.store import Household
from console.store.field_models import FieldConflict, FieldRecord, FieldRecordVersion

from . import grids, patrols, task_sync
from .codes import ACCURACY_LIMIT_M, CLOCK_SKEW_LIMIT_S
from .validation import FieldError, Submission

CREATED, UPDATED, DUPLICATE, CONFLICT, REJECTED = "created", "updated", "duplicate", "conflict", "rejected"
CONFLICT_MESSAGE = "服务器上的记录已被他人修改，已提交主管处理"
PROJECTED = ("patrol", "checkin", "followup", "task")  # kinds that also write rows of their own (`_project`)
BUSY_RETRIES = 3  # a write that waited out the database's lock timeout is tried again, then answered 503


class Busy(RuntimeError):
    """The database stayed locked by other writers: nothing of this request was stored; the phone retries."""

    message = "服务器繁忙，本批记录未保存，请稍后重试（待上传记录会保留）"


def locked(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


@dataclass(frozen=True)
class Outcome:
    uuid: str
    status: str
    version: int = 0
    http: int = 200
    message: str = ""
    code: str = ""
    flags: tuple[str, ...] = ()

    def as_json(self) -> dict:
        out = {"uuid": self.uuid, "status": self.status, "version": self.version}
        if self.message:
            out.update(error=self.message, code=self.code)
        if self.flags:
            out["flags"] = list(self.flags)
        return out


def canonical(sub: Submission) -> str:
    """The stored payload: the form's fields, location and household reference, in one stable JSON text."""
    body = {"fields": sub.form().model_dump(mode="json"), "household_id": sub.household_id,
            "location": sub.location.model_dump() if sub.location else None}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _replayed(session: Session, op_id: str, uuid: str) -> Outcome | None:
    conflict = session.scalar(select(FieldConflict).where(FieldConflict.op_id == op_id))
    if conflict is not None:  # first: a task step kept as a conflict also has its version row
        return Outcome(uuid, CONFLICT, conflict.server_version, 409, CONFLICT_MESSAGE,
                       "conflict")
    row = session.scalar(select(FieldRecordVersion.version).where(FieldRecordVersion.op_id == op_id))
    if row is not None:
        return Outcome(uuid, DUPLICATE, row)
    return None


def _grid_for(session: Session, viewer: Viewer, sub: Submission, household: Household | None) -> grids.GridRef:
    if sub.grid_code:
        return grids.own_grid(session, viewer, sub.grid_code)
    if household is not None:
        return grids.own_grid(session, viewer, household.grid_code)
    if grids.usable_fix(sub.location):
        return grids.grid_at(session, viewer, sub.location)
    if sub.location is not None:
        acc = "未知" if sub.location.accuracy is None else f"{sub.location.accuracy:.0f} 米"
        raise FieldError(f"定位精度 {acc}，超过 {ACCURACY_LIMIT_M:.0f} 米，不能据此确定网格；请选择网格或在地图上选点",
                         422, "accuracy_too_coarse")
    raise FieldError("缺少网格：请选择网格或提供位置", 422, "grid_missing")


def _household(session: Session, viewer: Viewer, sub: Submission) -> Household | None:
    if sub.household_id is None:
        return None
    row = session.get(Household, sub.household_id)
    if row is None:
        raise FieldError(f"住户 {sub.household_id} 不存在", 422, "household_unknown")
    if not viewer.sees(row.grid_code):
        raise grids.refuse_grid(viewer, row.grid_code or "")
    return row


def stamped(sub: Submission, sent_at: datetime, now: datetime, place: grids.GridRef) -> tuple[dict, list[str]]:
    """The columns every accepted change sets (times, location, the grid's area codes) and its flags. Pure."""
    flags = []
    skew = round((now - sent_at).total_seconds())
    loc = sub.location
    cols = dict(client_time=sub.client_time, clock_skew_s=skew, clock_flag=abs(skew) > CLOCK_SKEW_LIMIT_S,
                lon=loc.lon if loc else None, lat=loc.lat if loc else None, accuracy_m=loc.accuracy if loc else None,
                location_source=loc.source if loc else None, accuracy_flag=grids.coarse(loc), **place.located())
    if cols["clock_flag"]:
        flags.append("clock")
    if cols["accuracy_flag"]:
        flags.append("accuracy")
    return cols, flags


def _stamp(row: FieldRecord, sub: Submission, sent_at: datetime, now: datetime, place: grids.GridRef) -> list[str]:
    cols, flags = stamped(sub, sent_at, now, place)
    for key, value in cols.items():
        setattr(row, key, value)
    return flags


def check(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord | None,
          now: datetime | None = None) -> grids.GridRef:
    """Everything that may refuse a change (permission, the record's and the target grid's scope, the household,
    the location): read-only, so that a refusal's audit row never waits on this request's own writes."""
    guard.require(viewer, FIELD_SYNC, f"field:{sub.uuid}", log_grant=False)
    if row is not None:
        if not viewer.sees(row.grid_code):
            raise grids.refuse_grid(viewer, row.grid_code or "")
        if row.kind != sub.kind:
            raise FieldError("记录类型与服务器上的不一致", 409, "kind_mismatch")
    if sub.kind == "followup":
        patrols.check_visit_date(sub.form().visited_on, now or datetime.utcnow())
    if sub.kind == "task":
        patrols.check(session, viewer, sub, row)  # write once
        return task_sync.check(session, viewer, sub)
    own = patrols.check(session, viewer, sub, row)
    if own is not None:
        return own
    return _grid_for(session, viewer, sub, _household(session, viewer, sub))


def write(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord | None, place: grids.GridRef,
          sent_at: datetime, now: datetime) -> tuple[Outcome, FieldRecord]:
    """The upsert itself (no queries: `row` is the server's current copy or None). The caller commits."""
    uuid, op_id = str(sub.uuid), str(sub.op_id)
    payload = canonical(sub)
    if row is None:
        row = FieldRecord(uuid=uuid, kind=sub.kind, version=1, payload=payload, household_id=sub.household_id,
                          received_at=now, updated_at=now, created_by=viewer.username, updated_by=viewer.username)
        flags = _stamp(row, sub, sent_at, now, place)
        session.add(row)
        session.add(FieldRecordVersion(record=row, op_id=op_id, version=1, payload=payload, author=viewer.username,
                                       received_at=now))
        server = _project(session, viewer, sub, row, place, now)
        if server is not None:  # a task step the duty desk overtook: kept beside the task for the supervisor
            session.add(FieldConflict(record=row, op_id=op_id, grid_code=row.grid_code or "", base_version=0,
                                      server_version=1, server_payload=server, client_payload=payload,
                                      author=viewer.username, received_at=now, status="open"))
            row.has_conflict = True
            return Outcome(uuid, CONFLICT, 1, 409, task_sync.CONFLICT_MESSAGE, "conflict"), row
        return Outcome(uuid, CREATED, 1, 201, flags=tuple(flags)), row
    if sub.base_version != row.version:
        if payload == row.payload:  # the same content again (sent twice, or two phones agreeing)
            return Outcome(uuid, DUPLICATE, row.version), row
        session.add(FieldConflict(record=row, op_id=op_id, grid_code=row.grid_code or "",
                                  base_version=sub.base_version, server_version=row.version,
                                  server_payload=row.payload, client_payload=payload, author=viewer.username,
                                  received_at=now, status="open"))
        row.has_conflict = True
        return Outcome(uuid, CONFLICT, row.version, 409, CONFLICT_MESSAGE, "conflict"), row
    row.version += 1
    row.payload = payload
    row.household_id = sub.household_id
    row.updated_at, row.updated_by = now, viewer.username
    flags = _stamp(row, sub, sent_at, now, place)
    session.add(FieldRecordVersion(record=row, op_id=op_id, version=row.version, payload=payload,
                                   author=viewer.username, received_at=now))
    _project(session, viewer, sub, row, place, now)
    return Outcome(uuid, UPDATED, row.version, flags=tuple(flags)), row


def _project(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord, place: grids.GridRef,
             now: datetime) -> str | None:
    """The kind's own rows; a task step the server's task no longer fits returns the server's copy (conflict)."""
    if sub.kind == "task":
        return task_sync.project(session, viewer, sub, row, now)
    patrols.project(session, viewer, sub, row, place, now)
    return None


def apply(session: Session, viewer: Viewer, sub: Submission, sent_at: datetime, now: datetime) -> Outcome:
    """Apply one change inside the caller's transaction (the caller commits). Raises FieldError on refusal."""
    guard.require(viewer, FIELD_SYNC, f"field:{sub.uuid}", log_grant=False)
    seen = _replayed(session, str(sub.op_id), str(sub.uuid))
    if seen is not None:
        return seen
    row = session.scalar(select(FieldRecord).where(FieldRecord.uuid == str(sub.uuid)))
    place = check(session, viewer, sub, row, now)
    return write(session, viewer, sub, row, place, sent_at, now)[0]


def _rejected(sub: Submission | None, exc: Exception) -> Outcome:
    if isinstance(exc, FieldError):
        return Outcome(str(sub.uuid) if sub else "", REJECTED, 0, exc.status, str(exc), exc.code)
    return Outcome(str(sub.uuid) if sub else "", REJECTED, 0, 403, str(exc), "denied")


def _replays(session: Session, subs: list[Submission]) -> dict[str, Outcome]:
    ops = [str(s.op_id) for s in subs]
    out: dict[str, Outcome] = {}
    uuid_of = {str(s.op_id): str(s.uuid) for s in subs}
    for op, version in session.execute(select(FieldRecordVersion.op_id, FieldRecordVersion.version)
                                       .where(FieldRecordVersion.op_id.in_(ops))):
        out[op] = Outcome(uuid_of[op], DUPLICATE, version)
    for op, version in session.execute(select(FieldConflict.op_id, FieldConflict.server_version)
                                       .where(FieldConflict.op_id.in_(ops))):
        out[op] = Outcome(uuid_of[op], CONFLICT, version, 409, CONFLICT_MESSAGE, "conflict")
    return out


def _rows(session: Session, subs: list[Submission]) -> dict[str, FieldRecord]:
    uuids = sorted({str(s.uuid) for s in subs})
    return {r.uuid: r for r in session.scalars(select(FieldRecord).where(FieldRecord.uuid.in_(uuids)))}


def _bulk_create(session: Session, viewer: Viewer, todo: list[tuple[int, Submission, grids.GridRef]],
                 sent_at: datetime, now: datetime) -> dict[int, Outcome]:
    """New records of the kinds without rows of their own, written with one multi-row INSERT per table (the ORM's
    unit of work costs about as much as everything else of a batch). Idempotent like `write`: a UUID or operation
    written meanwhile by another request trips the unique keys, and the caller redoes the batch one by one."""
    if not todo:
        return {}
    records, outcomes, payloads = [], {}, {}
    for n, sub, place in todo:
        uuid = str(sub.uuid)
        payloads[uuid] = canonical(sub)
        cols, flags = stamped(sub, sent_at, now, place)
        records.append(dict(uuid=uuid, kind=sub.kind, version=1, payload=payloads[uuid], household_id=sub.household_id,
                            received_at=now, updated_at=now, created_by=viewer.username, updated_by=viewer.username,
                            has_conflict=False, **cols))
        outcomes[n] = Outcome(uuid, CREATED, 1, 201, flags=tuple(flags))
    # Core statements on the tables (the column types still encrypt the payloads)
    ids = dict(session.connection().execute(insert(FieldRecord.__table__).returning(
        FieldRecord.__table__.c.uuid, FieldRecord.__table__.c.id), records).all())
    session.connection().execute(insert(FieldRecordVersion.__table__), [
        dict(record_id=ids[str(sub.uuid)], op_id=str(sub.op_id), version=1, payload=payloads[str(sub.uuid)],
             author=viewer.username, received_at=now) for _, sub, _ in todo])
    return outcomes


def _bulk(items: list, places: dict[int, grids.GridRef], rows: dict[str, FieldRecord]) -> set[int]:
    """The batch's new records that `_bulk_create` may write: no row yet, no projection, UUID once in the batch."""
    counts: dict[str, int] = {}
    for n in places:
        counts[str(items[n].uuid)] = counts.get(str(items[n].uuid), 0) + 1
    return {n for n in places if items[n].kind not in PROJECTED and str(items[n].uuid) not in rows
            and counts[str(items[n].uuid)] == 1}


def apply_many(sessions, viewer: Viewer, items: list[Submission | FieldError], sent_at: datetime,
               now: datetime) -> list[Outcome]:
    """A batch in one session and one transaction (one commit): first every check (reads only, so a refusal's
    audit row never waits on this request's writes; a refusal concerns only its record), then the writes. If
    another request wrote the same UUID or operation meanwhile (a unique key says so), the batch is redone
    record by record (`apply_one`), so the answer is the same as if it had been sent one at a time."""
    subs = [i for i in items if isinstance(i, Submission)]
    decided: dict[int, Outcome] = {}
    places: dict[int, grids.GridRef] = {}
    for attempt in range(BUSY_RETRIES + 1):
        try:
            with sessions() as s, s.begin():
                seen, rows = _replays(s, subs), _rows(s, subs)
                for n, item in enumerate(items):
                    if isinstance(item, FieldError):
                        decided[n] = _rejected(None, item)
                    elif str(item.op_id) in seen:
                        decided[n] = seen[str(item.op_id)]
                    else:
                        try:
                            places[n] = check(s, viewer, item, rows.get(str(item.uuid)), now)
                        except (FieldError, guard.AccessDenied) as exc:
                            decided[n] = _rejected(item, exc)
                bulk = _bulk(items, places, rows)
                for n, place in places.items():
                    if n in bulk:
                        continue
                    sub = items[n]
                    decided[n], rows[str(sub.uuid)] = write(s, viewer, sub, rows.get(str(sub.uuid)), place,
                                                            sent_at, now)
                decided.update(_bulk_create(s, viewer, [(n, items[n], places[n]) for n in sorted(bulk)], sent_at, now))
            break
        except IntegrityError:
            for n in places:
                decided[n] = apply_one(sessions, viewer, items[n], sent_at, now)
            break
        except OperationalError as exc:
            if not locked(exc):
                raise
            if attempt == BUSY_RETRIES:
                raise Busy() from exc
            decided.clear()
            places.clear()
    return [decided[n] for n in range(len(items))]


def apply_one(sessions, viewer: Viewer, sub: Submission, sent_at: datetime, now: datetime) -> Outcome:
    """One change in its own transaction. A race on a new UUID (two requests creating it at once) is retried once
    and then answered as the later request."""
    raced = busy = 0
    while True:
        try:
            with sessions() as s, s.begin():
                return apply(s, viewer, sub, sent_at, now)
        except (FieldError, guard.AccessDenied) as exc:
            return _rejected(sub, exc)
        except IntegrityError:
            raced += 1
            if raced > 1:
                raise
        except OperationalError as exc:
            busy += 1
            if not locked(exc):
                raise
            if busy > BUSY_RETRIES:
                raise Busy() from exc
