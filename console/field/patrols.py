"""Patrols, check-ins and follow-up visits from the phone: the checks that may refuse them and the rows they write
(`patrol`, `patrol_checkin`, `followup_visit`) beside the synced `field_record` (docs/field.md §7–8).

They travel through the same queue and sync as every record (idempotent by operation id and record UUID), so a
replay after a lost answer writes nothing twice. A check-in or a visit is written once; a patrol is updated as
the worker walks (start, then stop with the whole track)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import audit
from console.security.guard import Viewer
from console.store import Household, Organisation, SpecialPerson
from console.store.field_models import FieldRecord
from console.store.followup_models import FollowupVisit
from console.store.patrol_models import PLACE_CHECKINS, Patrol, PatrolCheckin
from console.store.safety_models import KeyPlace

from . import grids, track
from .codes import CLOCK_SKEW_LIMIT_S, WRITE_ONCE
from .validation import CheckinFields, FieldError, FollowupFields, PatrolFields, Submission

EARLIEST_VISIT_DAYS = 366  # a visit older than a year is not a follow-up any more


def beijing_today(utc_now: datetime) -> date:
    return (utc_now + timedelta(hours=8)).date()


def _scoped(session: Session, viewer: Viewer, code: str | None, what: str) -> grids.GridRef:
    """The record's grid, or the refusal naming it (403) when it is not the worker's."""
    if not code:
        raise FieldError(f"{what}没有所属网格，不能在手机端处理", 422, "grid_missing")
    grid = grids.current_grid(session, code)
    if not viewer.sees(code):
        raise grids.refuse_grid(viewer, code, grid.name if grid else "", what)
    return grids.own_grid(session, viewer, code)


def check(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord | None) -> grids.GridRef | None:
    """The kind's own checks (read-only); the grid the record belongs to, or None to let the general rule pick it."""
    if sub.kind in WRITE_ONCE and sub.base_version != 0:
        raise FieldError(f"{'随访' if sub.kind == 'followup' else '打卡'}记录上传后不能修改；如需更正请重新填写", 409,
                         "write_once")
    form = sub.form()
    if isinstance(form, CheckinFields):
        patrol = session.scalar(select(Patrol).where(Patrol.uuid == str(form.patrol_uuid)))
        if patrol is not None and patrol.worker != viewer.username:
            raise FieldError("该巡查不是您的，不能在其中打卡", 403, "patrol_not_yours")
        if form.kind == "household":
            hh = session.get(Household, sub.household_id)
            if hh is None:
                raise FieldError(f"住户 {sub.household_id} 不存在", 422, "household_unknown")
            return _scoped(session, viewer, hh.grid_code, f"住户（{hh.code}）")
        if form.kind == "safety_place":
            place = session.get(KeyPlace, form.place_id)
            if place is None:
                raise FieldError(f"公共安全重点场所 {form.place_id} 不存在", 422, "place_unknown")
            return _scoped(session, viewer, place.grid_code, f"公共安全重点场所「{place.name}」")
        org = session.get(Organisation, form.place_id)
        if org is None:
            raise FieldError(f"重点场所 {form.place_id} 不存在", 422, "place_unknown")
        return _scoped(session, viewer, org.grid_code, f"重点场所「{org.name}」")
    if isinstance(form, FollowupFields):
        sp = session.get(SpecialPerson, form.special_person_id)
        if sp is None:
            raise FieldError(f"特殊人群记录 {form.special_person_id} 不存在", 422, "special_unknown")
        return _scoped(session, viewer, sp.grid_code, "该特殊人群")
    return None


def check_visit_date(visited_on: date, now: datetime) -> None:
    today = beijing_today(now)
    if visited_on > today + timedelta(days=1):  # a day's grace: the phone's calendar may run ahead
        raise FieldError("随访日期不能晚于今天", 422, "visit_date")
    if visited_on < today - timedelta(days=EARLIEST_VISIT_DAYS):
        raise FieldError("随访日期不能早于一年前", 422, "visit_date")


def corrected(row: FieldRecord, phone_time: datetime) -> datetime:
    """A time the phone stamped, moved by the measured clock offset when that offset is beyond the limit (within
    it the difference is mostly network delay: the phone's own time is nearer the truth)."""
    skew = row.clock_skew_s or 0
    return phone_time + timedelta(seconds=skew) if abs(skew) > CLOCK_SKEW_LIMIT_S else phone_time


def _patrol(session: Session, uuid: str) -> Patrol | None:
    session.flush()  # a patrol added earlier in this batch
    return session.scalar(select(Patrol).where(Patrol.uuid == uuid))


def write_patrol(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord, place: grids.GridRef) -> None:
    form: PatrolFields = sub.form()  # type: ignore[assignment]
    summary = track.summarise(form.fixes)
    patrol = _patrol(session, str(sub.uuid))
    if patrol is None:
        patrol = Patrol(uuid=str(sub.uuid), worker=viewer.username)
        session.add(patrol)
    patrol.started_at = corrected(row, form.started_at)
    patrol.ended_at = corrected(row, form.ended_at) if form.ended_at else None
    patrol.distance_m, patrol.points, patrol.track = summary.distance_m, len(summary.coords), summary.geojson
    for key, value in place.located().items():
        setattr(patrol, key, value)
    last = summary.last or ((sub.location.lon, sub.location.lat) if track.usable(
        sub.location.accuracy if sub.location else None) or (sub.location and sub.location.source == "map")
        else None)
    if last:
        patrol.lon, patrol.lat = last


def write_checkin(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord, place: grids.GridRef) -> None:
    form: CheckinFields = sub.form()  # type: ignore[assignment]
    at = corrected(row, sub.client_time)
    patrol = _patrol(session, str(form.patrol_uuid))
    if patrol is None:  # the check-in arrived first: the patrol's own record fills this in
        patrol = Patrol(uuid=str(form.patrol_uuid), worker=viewer.username, started_at=at, distance_m=0.0, points=0,
                        track="", **place.located())
        session.add(patrol)
        session.flush()
    loc = sub.location
    session.add(PatrolCheckin(uuid=str(sub.uuid), patrol_id=patrol.id, kind=form.kind,
                              household_id=sub.household_id if form.kind == "household" else None,
                              place_id=form.place_id if form.kind in PLACE_CHECKINS else None, at=at,
                              lon=loc.lon if loc else None, lat=loc.lat if loc else None,
                              accuracy_m=loc.accuracy if loc else None))


def write_followup(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord, now: datetime) -> None:
    form: FollowupFields = sub.form()  # type: ignore[assignment]
    session.add(FollowupVisit(special_person_id=form.special_person_id, visited_on=form.visited_on,
                              method=form.method, worker=viewer.username, note=form.note, recorded_at=now))
    audit.append(session, viewer.username, "followup_visit", object=f"special_person:{form.special_person_id}",
                 detail={"visited_on": form.visited_on.isoformat(), "method": form.method, "via": "field"})


def project(session: Session, viewer: Viewer, sub: Submission, row: FieldRecord, place: grids.GridRef,
            now: datetime) -> None:
    """Write the kind's own rows for an accepted change (created or updated)."""
    if sub.kind == "patrol":
        write_patrol(session, viewer, sub, row, place)
    elif sub.kind == "checkin":
        write_checkin(session, viewer, sub, row, place)
    elif sub.kind == "followup":
        write_followup(session, viewer, sub, row, now)
