"""Who to send: the grid's workers, nearest on duty first (docs/field.md §6).

A worker is **on duty** with a patrol open (started within PATROL_MAX_HOURS and not stopped) or a usable GPS fix
in the last ON_DUTY_MINUTES (from a synced record or a task step). Their position is the newest such fix (an
open patrol's last point counts); the distance is to the alert's point. Workers off duty follow, least busy
first."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.store import GridWorker
from console.store.field_models import FieldRecord, FieldTask, FieldTaskStep
from console.store.masking import mask_phone
from console.store.patrol_models import Patrol
from console.store.security_models import Account, AccountRole, AccountScope

from . import track
from .codes import CLOCK_SKEW_LIMIT_S, ON_DUTY_MINUTES, PATROL_MAX_HOURS

OPEN_STATES = ("assigned", "accepted", "handling")
WORKER_ROLE = "grid_worker"


def workers(session: Session, grid_code: str) -> list[dict]:
    """Enabled grid_worker accounts whose scope covers the grid, with their open task counts and their phone
    (masked) from the grid's roster of workers (`grid_worker` table, matched by name)."""
    prefixes = {grid_code[:n] for n in (4, 6, 9, 12, 15)}
    busy = (select(FieldTask.assignee, func.count().label("n")).where(FieldTask.state.in_(OPEN_STATES))
            .group_by(FieldTask.assignee).subquery())
    rows = session.execute(
        select(Account.username, Account.display_name, func.coalesce(busy.c.n, 0))
        .join(AccountRole, AccountRole.account_id == Account.id)
        .join(AccountScope, AccountScope.account_id == Account.id)
        .outerjoin(busy, busy.c.assignee == Account.username)
        .where(AccountRole.role == WORKER_ROLE, AccountScope.area_code.in_(prefixes), Account.enabled.is_(True))
        .distinct())
    phones = {w.name: mask_phone(w.phone) for w in session.scalars(select(GridWorker)
                                                                    .where(GridWorker.grid_code == grid_code))}
    return [{"username": u, "name": d or u, "phone": phones.get(d or u, ""), "open_tasks": n} for u, d, n in rows]


def positions(session: Session, names: list[str], now: datetime) -> dict[str, dict]:
    """{username: {on_duty, why, lon, lat, at}} for the workers with an open patrol or a recent usable fix."""
    if not names:
        return {}
    recent = now - timedelta(minutes=ON_DUTY_MINUTES)
    out: dict[str, dict] = {}

    def seen(name, why, lon, lat, at):
        cur = out.get(name)
        if cur is None or (at and (cur["at"] is None or at > cur["at"]) and lon is not None):
            out[name] = {"on_duty": True, "why": why if cur is None else cur["why"], "lon": lon, "lat": lat, "at": at}

    for p in session.scalars(select(Patrol).where(Patrol.worker.in_(names), Patrol.ended_at.is_(None),
                                                  Patrol.started_at >= now - timedelta(hours=PATROL_MAX_HOURS))):
        seen(p.worker, "巡查中", p.lon, p.lat, p.started_at)
    for r in session.execute(select(FieldRecord.created_by, FieldRecord.lon, FieldRecord.lat, FieldRecord.client_time,
                                    FieldRecord.clock_skew_s)
                             .where(FieldRecord.created_by.in_(names), FieldRecord.received_at >= recent,
                                    FieldRecord.lon.is_not(None), FieldRecord.accuracy_flag.is_(False))):
        at = r.client_time + timedelta(seconds=r.clock_skew_s) if abs(r.clock_skew_s or 0) > CLOCK_SKEW_LIMIT_S \
            else r.client_time
        if at and at >= recent:
            seen(r.created_by, f"{ON_DUTY_MINUTES} 分钟内有定位", r.lon, r.lat, at)
    for st in session.execute(select(FieldTaskStep.actor, FieldTaskStep.lon, FieldTaskStep.lat, FieldTaskStep.at,
                                     FieldTaskStep.accuracy_m)
                              .where(FieldTaskStep.actor.in_(names), FieldTaskStep.at >= recent,
                                     FieldTaskStep.lon.is_not(None))):
        if track.usable(st.accuracy_m):
            seen(st.actor, f"{ON_DUTY_MINUTES} 分钟内有定位", st.lon, st.lat, st.at)
    return out


def ranked(rows: list[dict], where: dict[str, dict], point: tuple[float, float] | None) -> list[dict]:
    """On duty first, nearest first among them (unknown position after known), then least busy. Pure."""
    out = []
    for w in rows:
        pos = where.get(w["username"])
        dist = (round(track.haversine_m(point, (pos["lon"], pos["lat"])))
                if pos and point and pos["lon"] is not None else None)
        out.append(dict(w, on_duty=bool(pos), duty_reason=pos["why"] if pos else "",
                        distance_m=dist))
    return sorted(out, key=lambda w: (not w["on_duty"], w["distance_m"] is None,
                                      w["distance_m"] or 0, w["open_tasks"], w["username"]))


def roster(session: Session, grid_code: str, now: datetime | None = None,
           point: tuple[float, float] | None = None) -> list[dict]:
    rows = workers(session, grid_code)
    where = positions(session, [w["username"] for w in rows], now) if now else {}
    return ranked(rows, where, point)


def label(w: dict) -> str:
    """One worker of the roster as the duty officer reads it: the name (not the account), the phone masked."""
    parts = [w["name"], w.get("phone") or "电话未登记"]
    parts.append(f"在岗·{w['duty_reason']}" if w.get("on_duty") else "不在岗")
    if w.get("distance_m") is not None:
        d = w["distance_m"]
        parts.append(f"距 {d / 1000:.1f} 公里" if d >= 1000 else f"距 {d} 米")
    parts.append(f"待办 {w['open_tasks']}")
    return " · ".join(parts)
