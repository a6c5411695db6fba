"""Validate → durable, idempotent insert of the Event → rules → Alerts, in ONE transaction.

`Ingestor.ingest(source, body)` commits before it returns, so a 2xx sent after it survives a kill -9
(SQLite WAL: the commit is in the log before the call returns). The same (source, event_id) again returns
the stored answer and raises nothing twice: the event row is unique and its alerts are written with it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.store import Alert, Camera, Event, Person, SpecialPerson
from console.store.duty_models import AlertChange, AlertHistory, AlertInfo

from . import rules
from .geo import locator, near_city

KINDS = {
    "tag_position": "电子定位", "mental_incident": "精神障碍患者异常", "missing_person": "人员走失",
    "dispute_report": "矛盾纠纷上报", "case_update": "案件进展", "camera_heartbeat": "摄像机心跳",
    "grid_report": "网格员上报",
}
NEEDS = {"tag_position": ("person_id", "location"), "mental_incident": ("person_id",),
         "camera_heartbeat": ("camera_id",), "case_update": ("payload",), "dispute_report": ("payload",)}
CATEGORY_FOR = {"tag_position": "correction", "mental_incident": "mental", "missing_person": "mental"}
FIELDS = {"event_id", "type", "occurred_at", "location", "grid_code", "person_id", "camera_id", "payload"}
MAX_PAYLOAD = 16_000
EVENT = Event.__table__


class IngestError(Exception):
    """A 4xx with a machine code and a human reason."""

    def __init__(self, status: int, code: str, reason: str):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason

    def body(self) -> dict:
        return {"error": self.code, "reason": self.reason}


def _bad(code: str, reason: str, status: int = 422) -> IngestError:
    return IngestError(status, code, reason)


def _time(value) -> datetime:
    if not isinstance(value, str):
        raise _bad("wrong_type", "occurred_at 必须是 ISO 8601 字符串")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad("bad_time", f"occurred_at 不是合法的 ISO 8601 时间: {value[:40]!r}") from None
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def validate(body) -> dict:
    """Shape and types only (pure). Returns the normalised event; raises IngestError."""
    if not isinstance(body, dict):
        raise _bad("wrong_type", "请求体必须是 JSON 对象", 400)
    unknown = set(body) - FIELDS
    if unknown:
        raise _bad("unknown_field", f"未知字段: {', '.join(sorted(unknown))}")
    for name in ("event_id", "type", "occurred_at"):
        if name not in body or body[name] in (None, ""):
            raise _bad("missing_field", f"缺少必填字段 {name}")
    eid, kind = body["event_id"], body["type"]
    if not isinstance(eid, str) or not 1 <= len(eid) <= 64:
        raise _bad("wrong_type", "event_id 必须是 1–64 个字符的字符串")
    if kind not in KINDS:
        raise _bad("unknown_type", f"type 必须是: {', '.join(KINDS)}")
    ev = {"event_id": eid, "kind": kind, "occurred_at": _time(body["occurred_at"]), "lon": None, "lat": None,
          "grid_code": None, "person_id": None, "camera_id": None, "payload": {}}
    loc = body.get("location")
    if loc is not None:
        if not isinstance(loc, dict) or set(loc) - {"lon", "lat"}:
            raise _bad("wrong_type", "location 必须是 {\"lon\": 数字, \"lat\": 数字}")
        for axis, lim in (("lon", 180), ("lat", 90)):
            v = loc.get(axis)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not -lim <= v <= lim:
                raise _bad("wrong_type", f"location.{axis} 必须是 ±{lim} 以内的数字")
        ev["lon"], ev["lat"] = float(loc["lon"]), float(loc["lat"])
    if body.get("grid_code") is not None:
        g = body["grid_code"]
        if not isinstance(g, str) or len(g) != 15 or not g.isdigit():
            raise _bad("wrong_type", "grid_code 必须是 15 位数字字符串")
        ev["grid_code"] = g
    if body.get("person_id") is not None:
        if isinstance(body["person_id"], bool) or not isinstance(body["person_id"], int):
            raise _bad("wrong_type", "person_id 必须是整数")
        ev["person_id"] = body["person_id"]
    if body.get("camera_id") is not None:
        c = body["camera_id"]
        if not isinstance(c, str) or len(c) != 20 or not c.isdigit():
            raise _bad("wrong_type", "camera_id 必须是 20 位 GB/T 28181 设备编码")
        ev["camera_id"] = c
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        raise _bad("wrong_type", "payload 必须是 JSON 对象")
    ev["payload"] = payload
    for need in NEEDS.get(kind, ()):
        if need == "location" and ev["lon"] is None or need != "location" and not ev.get(need):
            raise _bad("missing_field", f"type={kind} 需要字段 {need}")
    if kind == "dispute_report":
        scale = payload.get("scale")
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 0:
            raise _bad("wrong_type", "payload.scale 必须是非负整数")
    if kind == "camera_heartbeat" and payload.get("status") not in ("online", "offline"):
        raise _bad("wrong_type", "payload.status 必须是 online 或 offline")
    if kind == "case_update" and payload.get("deadline") is not None:
        _time(payload["deadline"])
    ev["payload_text"] = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    if len(ev["payload_text"]) > MAX_PAYLOAD:
        raise _bad("too_large", f"payload 超过 {MAX_PAYLOAD} 字符", 413)
    return ev


@dataclass
class Ingestor:
    engine: Engine
    sessions: sessionmaker[Session]
    config: dict
    # One writer at a time inside the process: waiters wake at once instead of in SQLite's busy-sleep steps.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, engine: Engine, config: dict | None = None) -> "Ingestor":
        return cls(engine, sessionmaker(engine, expire_on_commit=False), config or rules.load_config())

    def ingest(self, source: str, body, now: datetime | None = None) -> tuple[int, dict]:
        """(http status, response body). Raises IngestError for a 4xx; nothing is written then."""
        ev = validate(body)
        now = now or datetime.utcnow()
        with self.sessions() as s:  # 1: reads only (replay check, references, areas), then end the snapshot
            existing = self._existing(s, source, ev)
            if existing is not None:
                return 200, existing
            facts = self._facts(s, ev)
            s.rollback()
            try:  # 2: the write transaction starts with the INSERT, so SQLite takes the write lock first
                with self.write_lock, s.begin():
                    out = self._write(s, source, ev, facts, now)
            except IntegrityError:  # a concurrent retry of the same event won the race
                existing = self._existing(s, source, ev)
                s.rollback()
                if existing is None:
                    raise
                return 200, existing
        return 201, out

    def _existing(self, s: Session, source: str, ev: dict) -> dict | None:
        row = s.execute(select(EVENT.c.id, EVENT.c.kind, EVENT.c.payload).where(
            EVENT.c.source == source, EVENT.c.source_event_id == ev["event_id"])).first()
        if row is None:
            return None
        if row.kind != ev["kind"] or row.payload != ev["payload_text"]:
            raise _bad("conflict", f"event_id {ev['event_id']} 已用于内容不同的事件", 409)
        alerts = s.scalars(select(Alert.__table__.c.id).where(Alert.__table__.c.event_id == row.id)
                           .order_by(Alert.__table__.c.id)).all()
        return _answer(row.id, ev["event_id"], list(alerts))

    def _write(self, s: Session, source: str, ev: dict, facts: dict, now: datetime) -> dict:
        # SQLAlchemy Core on the hot path: the ORM unit of work costs more than the SQL here.
        event_id = s.execute(insert(EVENT).values(
            source=source, source_event_id=ev["event_id"], kind=ev["kind"], occurred_at=ev["occurred_at"],
            received_at=now, person_id=ev["person_id"], camera_id=facts.get("camera_pk"), payload=ev["payload_text"],
            lon=ev["lon"], lat=ev["lat"], **_located(ev["areas"]))).inserted_primary_key[0]
        # that INSERT took SQLite's write lock: the counts and dedup checks below are serialised
        if ev["kind"] == "camera_heartbeat":
            _heartbeat(s, facts["camera_pk"], ev)
        if ev["areas"].get("grid") and ev["kind"] in (self.config.get("repeated_in_grid") or {}).get("kinds", ()):
            facts["grid_recent"] = s.scalar(select(func.count()).select_from(EVENT).where(
                EVENT.c.grid_code == ev["areas"]["grid"], EVENT.c.kind == ev["kind"],
                EVENT.c.occurred_at > ev["occurred_at"] - rules.window(self.config),
                EVENT.c.occurred_at <= ev["occurred_at"]))
        ids = []
        for spec in rules.evaluate(self.config, ev, facts):
            alert_id = raise_alert(s, self.config, spec, now, event_id=event_id, lon=ev["lon"], lat=ev["lat"],
                                   areas=ev["areas"] if ev["areas"].get("county") else facts.get("home", {}),
                                   person_id=ev["person_id"], camera_id=facts.get("camera_pk"))
            if alert_id is not None:
                ids.append(alert_id)
        return _answer(event_id, ev["event_id"], ids)

    def _facts(self, s: Session, ev: dict) -> dict:
        facts: dict = {}
        if ev["person_id"] is not None:
            if s.get(Person, ev["person_id"]) is None:
                raise _bad("unknown_person", f"person_id {ev['person_id']} 不存在")
            specials = s.scalars(select(SpecialPerson).where(SpecialPerson.person_id == ev["person_id"])).all()
            want = CATEGORY_FOR.get(ev["kind"])
            sp = next((x for x in specials if x.category == want), specials[0] if specials else None)
            if sp is not None:
                details = json.loads(sp.details or "{}")
                facts["home"] = {"county": sp.county_code, "town": sp.town_code, "village": sp.village_code,
                                 "grid": sp.grid_code}
                facts["person"] = {"category": sp.category, "risk_level": sp.risk_level, "county_code": sp.county_code,
                                   "fence": details.get("fence"), "tag": details.get("tag"), "lon": sp.lon, "lat": sp.lat}
        if ev["camera_id"] is not None:
            cam = s.scalar(select(Camera).where(Camera.device_id == ev["camera_id"]))
            if cam is None:
                raise _bad("unknown_camera", f"camera_id {ev['camera_id']} 不存在")
            facts["camera_pk"] = cam.id
            facts["camera"] = camera_facts(cam)
        ev["areas"] = self._areas(s, ev, facts)
        return facts

    def _areas(self, s: Session, ev: dict, facts: dict) -> dict:
        if ev["lon"] is None:  # locate by reference: the camera's or the person's recorded place
            ref = facts.get("camera") or facts.get("person") or {}
            if ref.get("lon") is not None:
                ev["lon"], ev["lat"] = ref["lon"], ref["lat"]
        if ev["lon"] is not None:
            areas = locator(self.engine).areas(ev["lon"], ev["lat"])
            if areas is None and ev["kind"] == "tag_position" and facts.get("person") and near_city(ev["lon"], ev["lat"]):
                return {"county": None, "town": None, "village": None, "grid": None}  # left the city: a fence exit
            if areas is None:
                raise _bad("outside_ankang", f"坐标 ({ev['lon']}, {ev['lat']}) 不在安康市范围内")
            return areas
        g = ev["grid_code"]
        if g is not None:
            if g not in locator(self.engine).villages:
                raise _bad("unknown_grid", f"grid_code {g} 不是现行网格")
            return {"county": g[:6], "town": g[:9], "village": locator(self.engine).villages[g], "grid": g}
        raise _bad("missing_field", "需要 location、grid_code、person_id 或 camera_id 之一来确定位置")


def camera_facts(cam: Camera) -> dict:
    return {"id": cam.id, "name": cam.name, "lon": cam.lon, "lat": cam.lat,
            "last_seen": cam.last_heartbeat.isoformat(timespec="seconds") if cam.last_heartbeat else ""}


def _heartbeat(s: Session, camera_pk: int, ev: dict) -> None:
    if ev["payload"].get("status") == "online":
        values = {"status": "online", "last_heartbeat": ev["occurred_at"]}
    else:
        values = {"status": "offline"}
    s.execute(update(Camera.__table__).where(Camera.__table__.c.id == camera_pk).values(**values))


def _located(areas: dict) -> dict:
    return {"county_code": areas.get("county"), "town_code": areas.get("town"),
            "village_code": areas.get("village"), "grid_code": areas.get("grid")}


def _answer(event_pk: int, event_id: str, alerts: list[int]) -> dict:
    return {"id": event_pk, "event_id": event_id, "alerts": alerts}


def raise_alert(s: Session, config: dict, spec: rules.AlertSpec, now: datetime, *, event_id=None, lon=None,
                lat=None, areas=None, person_id=None, camera_id=None, dispute_id=None) -> Alert | None:
    """Insert one alert with its info, history and feed rows; its id, or None when its dedup key was already raised."""
    if spec.dedup_key and s.scalar(select(AlertInfo.alert_id).where(AlertInfo.dedup_key == spec.dedup_key)):
        return None
    alert_id = s.execute(insert(Alert.__table__).values(
        event_id=event_id, rule=spec.rule, kind=spec.kind, severity=spec.severity, state="new", title=spec.title[:128],
        raised_at=now, updated_at=now, lon=lon, lat=lat, **_located(areas or {}))).inserted_primary_key[0]
    s.execute(insert(AlertInfo.__table__).values(
        alert_id=alert_id, dedup_key=spec.dedup_key, person_id=person_id, camera_id=camera_id, dispute_id=dispute_id,
        detail=json.dumps(spec.detail, ensure_ascii=False), ack_due_at=now + rules.escalate_after(config)))
    s.execute(insert(AlertHistory.__table__).values(
        alert_id=alert_id, at=now, actor="system", action="raise", from_state=None, to_state="new",
        note=rules.RULE_LABELS.get(spec.rule, spec.rule)))
    s.execute(insert(AlertChange.__table__).values(alert_id=alert_id, at=now))
    return alert_id


def offline_sweep(s: Session, config: dict, now: datetime) -> list[int]:
    """Cameras silent longer than the configured T: mark offline and alert once per silent spell."""
    rule = config.get("camera_offline") or {}
    if not rule.get("enabled"):
        return []
    limit = now - timedelta(minutes=rule.get("minutes", 30))
    oldest = now - timedelta(hours=rule.get("max_silence_hours", 24))
    ids = []
    for cam in s.scalars(select(Camera).where(Camera.last_heartbeat < limit, Camera.last_heartbeat > oldest,
                                              Camera.status == "online")).all():
        minutes = (now - cam.last_heartbeat).total_seconds() / 60
        spec = rules.offline_spec(config, camera_facts(cam), minutes)
        cam.status = "offline"
        alert_id = raise_alert(s, config, spec, now, lon=cam.lon, lat=cam.lat, camera_id=cam.id,
                               areas={"county": cam.county_code, "town": cam.town_code,
                                      "village": cam.village_code, "grid": cam.grid_code})
        if alert_id is not None:
            ids.append(alert_id)
    return ids
