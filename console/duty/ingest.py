"""Validate → locate → hand to the group-commit writer → event + rules + alerts in ONE transaction → answer.

`Ingestor.ingest(source, body)` returns only after the writer has committed the batch holding the event, so a
2xx sent after it survives a kill -9 (SQLite WAL: the commit is in the log before the call returns), and the
event's alerts are in the same transaction: raised exactly once, never without their event. The same
(source, event_id) again returns the stored answer and raises nothing twice (unique row, INSERT … ON CONFLICT
DO NOTHING, then read back). Validation, reference lookups (cached, `refdata.py`) and locating run on the
request's own thread; only the SQL runs on the writer (`writer.py`, statements in `rawsql.py`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from console.store import Camera
from console.store.codes import area_codes_of

from . import rules
from .geo import locator, near_city
from .rawsql import Raw
from .refdata import RefCache, person_facts
from .writer import GroupWriter

KINDS = {
    "tag_position": "电子定位", "mental_incident": "精神障碍患者异常", "missing_person": "人员走失",
    "dispute_report": "矛盾纠纷上报", "case_update": "案件进展", "camera_heartbeat": "摄像机心跳",
    "grid_report": "网格员上报",
}
NEEDS = {"tag_position": ("person_id", "location"), "mental_incident": ("person_id",),
         "camera_heartbeat": ("camera_id",), "case_update": ("payload",), "dispute_report": ("payload",)}
FIELDS = {"event_id", "type", "occurred_at", "location", "grid_code", "person_id", "camera_id", "payload"}
MAX_PAYLOAD = 16_000
log = logging.getLogger(__name__)


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
    refs: RefCache = None
    writer: GroupWriter = None

    @classmethod
    def create(cls, engine: Engine, config: dict | None = None, ref_ttl: float = 60.0) -> "Ingestor":
        return cls(engine, sessionmaker(engine, expire_on_commit=False), config or rules.load_config(),
                   RefCache(engine, ttl=ref_ttl).start(), GroupWriter(engine, expected=(IngestError,)))

    def close(self) -> None:
        self.writer.close()

    def ingest(self, source: str, body, now: datetime | None = None) -> tuple[int, dict]:
        """(http status, response body). Raises IngestError for a 4xx; nothing is written then."""
        ev = validate(body)
        facts = self._facts(ev)
        return self.writer.submit(lambda raw, at: self._write(raw, source, ev, facts, now or at))

    def ingest_many(self, source: str, bodies: list, now: datetime | None = None) -> list[tuple[int, dict]]:
        """`ingest` for each body, answered together: a (status, body) per item in order. Items that pass
        validation go to the writer at once (each its own job: idempotent and isolated as a single event);
        the call returns after every one of them is committed. A refused item's body is the error."""
        out: list = [None] * len(bodies)
        jobs, where = [], []
        for i, body in enumerate(bodies):
            try:
                ev = validate(body)
                facts = self._facts(ev)
            except IngestError as exc:
                out[i] = (exc.status, exc.body())
                continue
            jobs.append(lambda raw, at, ev=ev, facts=facts: self._write(raw, source, ev, facts, now or at))
            where.append(i)
        for i, (ok, value) in zip(where, self.writer.submit_many(jobs) if jobs else ()):
            if ok:
                out[i] = value
            elif isinstance(value, IngestError):
                out[i] = (value.status, value.body())
            elif isinstance(value, TimeoutError):  # stored or not: a retry with the same event_id is safe
                out[i] = (503, {"error": "busy", "reason": "写入繁忙，请稍后用同一 event_id 重试"})
            else:  # a bug, not the source's fault: this item only (the others are committed and say so)
                log.error("duty ingest: batch item failed", exc_info=value)
                out[i] = (500, {"error": "internal", "reason": "服务器内部错误，可用同一 event_id 重试"})
        return out

    def _write(self, raw: Raw, source: str, ev: dict, facts: dict, now: datetime) -> tuple[int, dict]:
        """On the writer thread, inside its batch transaction."""
        event_id = raw.insert_event(source, ev, facts.get("camera_pk"), now)
        if event_id is None:  # a replay (or a retry racing its original): answer what is stored
            row = raw.stored_event(source, ev["event_id"])
            if row[1] != ev["kind"] or row[2] != ev["payload_text"]:
                raise _bad("conflict", f"event_id {ev['event_id']} 已用于内容不同的事件", 409)
            return 200, _answer(row[0], ev["event_id"], raw.alerts_of(row[0]))
        # the batch holds SQLite's write lock: the counts and dedup checks below are serialised
        if ev["kind"] == "camera_heartbeat":
            facts = {**facts, "camera": raw.camera(facts["camera_pk"])}  # last_seen as stored before this beat
            raw.heartbeat(facts["camera_pk"], ev["payload"].get("status") == "online", ev["occurred_at"])
        elif "camera_pk" in facts:
            facts = {**facts, "camera": raw.camera(facts["camera_pk"])}
        grid = ev["areas"].get("grid")
        if grid and ev["kind"] in (self.config.get("repeated_in_grid") or {}).get("kinds", ()):
            since = ev["occurred_at"] - rules.window(self.config)
            facts = {**facts, "grid_recent": raw.grid_count(grid, ev["kind"], since, ev["occurred_at"])}
        ids = []
        for spec in rules.evaluate(self.config, ev, facts):
            alert_id = raw.raise_alert(spec, now, now + rules.escalate_after(self.config),
                                       rules.RULE_LABELS.get(spec.rule, spec.rule), event_id=event_id,
                                       lon=ev["lon"], lat=ev["lat"],
                                       areas=ev["areas"] if ev["areas"].get("county") else facts.get("home", {}),
                                       person_id=ev["person_id"], camera_id=facts.get("camera_pk"))
            if alert_id is not None:
                ids.append(alert_id)
        return 201, _answer(event_id, ev["event_id"], ids)

    def _facts(self, ev: dict) -> dict:
        """On the request thread: references (cached) and areas; raises the 4xx for unknown ones."""
        facts: dict = {}
        if ev["person_id"] is not None:
            specials = self.refs.specials(ev["person_id"])
            if specials is None:
                raise _bad("unknown_person", f"person_id {ev['person_id']} 不存在")
            facts.update(person_facts(specials, ev["kind"]))
        if ev["camera_id"] is not None:
            cam = self.refs.camera(ev["camera_id"])
            if cam is None:
                raise _bad("unknown_camera", f"camera_id {ev['camera_id']} 不存在")
            facts["camera_pk"] = cam["pk"]
            facts["camera_place"] = cam
        ev["areas"] = self._areas(ev, facts)
        return facts

    def _areas(self, ev: dict, facts: dict) -> dict:
        if ev["lon"] is None:  # locate by reference: the camera's or the person's recorded place
            ref = facts.get("camera_place") or facts.get("person") or {}
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
            return {**area_codes_of(locator(self.engine).villages[g]), "grid": g}
        raise _bad("missing_field", "需要 location、grid_code、person_id 或 camera_id 之一来确定位置")


def camera_facts(cam: Camera) -> dict:
    return {"id": cam.id, "name": cam.name, "lon": cam.lon, "lat": cam.lat,
            "last_seen": cam.last_heartbeat.isoformat(timespec="seconds") if cam.last_heartbeat else ""}


def _located(areas: dict) -> dict:
    return {"county_code": areas.get("county"), "town_code": areas.get("town"),
            "village_code": areas.get("village"), "grid_code": areas.get("grid")}


def _answer(event_pk: int, event_id: str, alerts: list[int]) -> dict:
    return {"id": event_pk, "event_id": event_id, "alerts": alerts}


def raise_alert(s: Session, config: dict, spec: rules.AlertSpec, now: datetime, *, event_id=None, lon=None,
                lat=None, areas=None, person_id=None, camera_id=None, dispute_id=None) -> int | None:
    """Insert one alert with its info, history and feed rows in the session's transaction; its id, or None when
    its dedup key was already raised. The same statements as the ingest writer (`rawsql.Raw.raise_alert`)."""
    conn = s.connection()
    raw = Raw(conn.connection.dbapi_connection, conn.dialect.name)
    return raw.raise_alert(spec, now, now + rules.escalate_after(config), rules.RULE_LABELS.get(spec.rule, spec.rule),
                           event_id=event_id, lon=lon, lat=lat, areas=areas, person_id=person_id,
                           camera_id=camera_id, dispute_id=dispute_id)


def offline_sweep(s: Session, config: dict, now: datetime, limit: int | None = None) -> list[int]:
    """Cameras silent longer than the configured T (at most `limit` of them): mark offline and alert once per
    silent spell."""
    rule = config.get("camera_offline") or {}
    if not rule.get("enabled"):
        return []
    silent = now - timedelta(minutes=rule.get("minutes", 30))
    oldest = now - timedelta(hours=rule.get("max_silence_hours", 24))
    ids = []
    for cam in s.scalars(select(Camera).where(Camera.last_heartbeat < silent, Camera.last_heartbeat > oldest,
                                              Camera.status == "online").order_by(Camera.id).limit(limit)).all():
        minutes = (now - cam.last_heartbeat).total_seconds() / 60
        spec = rules.offline_spec(config, camera_facts(cam), minutes)
        cam.status = "offline"
        alert_id = raise_alert(s, config, spec, now, lon=cam.lon, lat=cam.lat, camera_id=cam.id,
                               areas={"county": cam.county_code, "town": cam.town_code,
                                      "village": cam.village_code, "grid": cam.grid_code})
        if alert_id is not None:
            ids.append(alert_id)
    return ids
