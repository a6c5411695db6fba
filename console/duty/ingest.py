"""Validate → locate → hand to the group-commit writer → event + rules + alerts in ONE transaction → answer.

`Ingestor.ingest(source, body)` returns only after the writer has committed the batch holding the event, so a
2xx sent after it survives a kill -9 (SQLite WAL: the commit is in the log before the call returns), and the
event's alerts are in the same transaction: raised exactly once, never without their event. The same
(source, event_id) again returns the stored answer and raises nothing twice (unique row, INSERT … ON CONFLICT
DO NOTHING, then read back); if it would store any field differently it is a 409 naming those fields.
Validation (`validate.py`, every problem at once), reference lookups (cached, `refdata.py`) and locating run on
the request's own thread; only the SQL runs on the writer (`writer.py`, statements in `rawsql.py`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from console.store import Camera
from console.store.codes import area_codes_of

from . import rules
from .geo import locator, near_city
from .rawsql import Raw, parse_ts
from .refdata import RefCache, person_facts
from .validate import IngestError, Problem, check, refuse
from .when import Window, show
from .writer import GroupWriter

log = logging.getLogger(__name__)
BAD_KEY = "缺少或无效的接口密钥（X-API-Key）"
_PLACE_FIELDS = {"location", "location.lon", "location.lat", "grid_code", "person_id", "camera_id"}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class Ingestor:
    engine: Engine
    sessions: sessionmaker[Session]
    config: dict
    refs: RefCache = None
    writer: GroupWriter = None
    clock: Callable[[], datetime] = _utcnow  # naive UTC; the accepted window of occurred_at is around it
    window: Window = field(default_factory=Window)

    @classmethod
    def create(cls, engine: Engine, config: dict | None = None, ref_ttl: float = 60.0,
               clock: Callable[[], datetime] | None = None) -> "Ingestor":
        config = config or rules.load_config()
        window = Window.from_config(config)  # a bad [ingest] section stops the start, not the first event
        return cls(engine, sessionmaker(engine, expire_on_commit=False), config,
                   RefCache(engine, ttl=ref_ttl).start(), GroupWriter(engine, expected=(IngestError,)),
                   clock or _utcnow, window)

    def close(self) -> None:
        self.writer.close()

    def ingest(self, source: str, body, now: datetime | None = None, key: tuple[str, str] | None = None
               ) -> tuple[int, dict]:
        """(http status, response body). Raises IngestError for a 4xx; nothing is written then. `key`: the source
        key's (prefix, stored hash) as the request verified it (`SourceKeys.verify`); the write re-checks it."""
        ev, facts = self.prepare(body, now)
        return self.writer.submit(lambda raw, at: self._write(raw, source, ev, facts, now or at, key))

    def ingest_many(self, source: str, bodies: list, now: datetime | None = None, key: tuple[str, str] | None = None
                    ) -> list[tuple[int, dict]]:
        """`ingest` for each body, answered together: a (status, body) per item in order. Items that pass
        validation go to the writer at once (each its own job: idempotent and isolated as a single event);
        the call returns after every one of them is committed. A refused item's body is the error."""
        out: list = [None] * len(bodies)
        jobs, where = [], []
        for i, body in enumerate(bodies):
            try:
                ev, facts = self.prepare(body, now)
            except IngestError as exc:
                out[i] = (exc.status, exc.body())
                continue
            jobs.append(lambda raw, at, ev=ev, facts=facts: self._write(raw, source, ev, facts, now or at, key))
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

    def prepare(self, body, now: datetime | None = None) -> tuple[dict, dict]:
        """On the request thread: the checked event and its facts (references, areas); raises IngestError
        naming every problem, of the body and of its references, at once."""
        ev, problems = check(body, now or self.clock(), self.window)
        facts = self._facts(ev, problems)
        if problems:
            raise refuse(problems)
        return ev, facts

    def _write(self, raw: Raw, source: str, ev: dict, facts: dict, now: datetime, key: tuple[str, str] | None = None
               ) -> tuple[int, dict]:
        """On the writer thread, inside its batch transaction."""
        if key is not None and not raw.key_current(*key):  # rotated or disabled since the request's cached check
            raise IngestError(401, "bad_key", BAD_KEY)
        event_id = raw.insert_event(source, ev, facts.get("camera_pk"), now)
        if event_id is None:  # a replay (or a retry racing its original): answer what is stored
            row = raw.stored_event(source, ev["event_id"])
            differ = differences(row, ev, facts.get("camera_pk"))
            if differ:
                names = "、".join(f for f, _r in differ)
                raise IngestError(409, "conflict", f"event_id {ev['event_id']!r} 已用于内容不同的事件：{names} 与已存的不同",
                                  [{"field": f, "error": "conflict", "reason": r} for f, r in differ])
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

    def _facts(self, ev: dict, problems: list[Problem]) -> dict:
        """References (cached) and areas, for the fields that passed `check`; their problems join `problems`."""
        facts: dict = {}
        if ev["person_id"] is not None:
            specials = self.refs.specials(ev["person_id"])
            if specials is None:
                problems.append(("person_id", "unknown_person", f"person_id {ev['person_id']} 不存在"))
            else:
                facts.update(person_facts(specials, ev["kind"]))
        if ev["camera_id"] is not None:
            cam = self.refs.camera(ev["camera_id"])
            if cam is None:
                problems.append(("camera_id", "unknown_camera", f"camera_id {ev['camera_id']} 不存在"))
            else:
                facts["camera_pk"] = cam["pk"]
                facts["camera_place"] = cam
        if ev["kind"] and not _PLACE_FIELDS & {f for f, _c, _r in problems}:
            ev["areas"], problem = self._areas(ev, facts)
            if problem:
                problems.append(problem)
        return facts

    def _areas(self, ev: dict, facts: dict) -> tuple[dict | None, Problem | None]:
        if ev["lon"] is None:  # locate by reference: the camera's or the person's recorded place
            ref = facts.get("camera_place") or facts.get("person") or {}
            if ref.get("lon") is not None:
                ev["lon"], ev["lat"] = ref["lon"], ref["lat"]
        if ev["lon"] is not None:
            areas = locator(self.engine).areas(ev["lon"], ev["lat"])
            if areas is None and ev["kind"] == "tag_position" and facts.get("person") and near_city(ev["lon"], ev["lat"]):
                return dict.fromkeys(("county", "town", "village", "grid")), None  # left the city: a fence exit
            if areas is None:
                return None, ("location", "outside_ankang", f"location 坐标 ({ev['lon']}, {ev['lat']}) 不在安康市范围内")
            return areas, None
        g = ev["grid_code"]
        if g is not None:
            if g not in locator(self.engine).villages:
                return None, ("grid_code", "unknown_grid", f"grid_code {g} 不是现行网格")
            return {**area_codes_of(locator(self.engine).villages[g]), "grid": g}, None
        return None, ("location", "missing_field", "location 缺少：需要 location、grid_code、person_id 或 camera_id 之一来确定位置")


def differences(row, ev: dict, camera_pk) -> list[tuple[str, str]]:
    """(field, reason) for every stored field of `row` (`Raw.stored_event`) that the event `ev` would store
    differently. The areas a point falls in are not compared again (a regrid in between must not turn a retry
    into a conflict); the grid is, when it alone placed the event."""
    _pk, kind, payload, occurred, person, camera, lon, lat, grid = row
    out = []
    if kind != ev["kind"]:
        out.append(("type", f"type 与已存的不同（已存 {kind}，本次 {ev['kind']}）"))
    occurred = parse_ts(occurred)
    if occurred != ev["occurred_at"]:
        out.append(("occurred_at", f"occurred_at 与已存的不同（已存 {show(occurred)}，本次 {show(ev['occurred_at'])}，北京时间）"))
    if (lon, lat) != (ev["lon"], ev["lat"]):
        out.append(("location", f"location 与已存的不同（已存 {lon}, {lat}，本次 {ev['lon']}, {ev['lat']}）"))
    elif lon is None and grid != ev["areas"].get("grid"):
        out.append(("grid_code", f"grid_code 与已存的不同（已存 {grid}，本次 {ev['areas'].get('grid')}）"))
    if person != ev["person_id"]:
        out.append(("person_id", f"person_id 与已存的不同（已存 {person}，本次 {ev['person_id']}）"))
    if camera != camera_pk:
        out.append(("camera_id", "camera_id 与已存的不同"))
    if payload != ev["payload_text"]:
        out.append(("payload", "payload 与已存的不同"))
    return out


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
