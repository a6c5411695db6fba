"""Reference data an event points at (persons, cameras), held in memory per process and refreshed every `ttl` s.

Persons' special-population records (~20 k at full scale) and cameras' places (~38 k) change rarely (a
re-assessed risk level, a moved camera); reading them per event cost two ORM queries per request. Here both
tables are loaded at start and reloaded in the background every `ttl` seconds (default 60), so a change is
seen within that time. An id missing from the snapshot (an ordinary person, or one added since) is looked
up on its own and kept until the next reload; an unknown id is asked again every time. What changes with
every event — a camera's last heartbeat — is not cached: the writer reads it inside its transaction.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from sqlalchemy import Engine, select

from console.store import Camera, Person, SpecialPerson

CATEGORY_FOR = {"tag_position": "correction", "mental_incident": "mental", "missing_person": "mental"}
_SPECIAL_COLUMNS = (SpecialPerson.person_id, SpecialPerson.category, SpecialPerson.risk_level, SpecialPerson.county_code,
                    SpecialPerson.town_code, SpecialPerson.village_code, SpecialPerson.grid_code, SpecialPerson.details,
                    SpecialPerson.lon, SpecialPerson.lat)
log = logging.getLogger(__name__)


def _special(r) -> dict:
    return {"category": r.category, "risk_level": r.risk_level, "county": r.county_code, "town": r.town_code,
            "village": r.village_code, "grid": r.grid_code, "details": json.loads(r.details or "{}"),
            "lon": r.lon, "lat": r.lat}


def _camera(r) -> dict:
    return {"pk": r.id, "name": r.name, "lon": r.lon, "lat": r.lat}


class RefCache:
    def __init__(self, engine: Engine, ttl: float = 60.0):
        self.engine, self.ttl = engine, ttl
        self._specials: dict[int, list[dict]] = {}
        self._cameras: dict[str, dict] = {}
        self._extra_persons: dict[int, list[dict]] = {}
        self._extra_cameras: dict[str, dict] = {}
        self.misses = 0
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Reload both tables and swap them in (readers never see a half-built map)."""
        specials: dict[int, list[dict]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(select(*_SPECIAL_COLUMNS).order_by(SpecialPerson.id)):
                specials.setdefault(r.person_id, []).append(_special(r))
            cameras = {r.device_id: _camera(r) for r in conn.execute(
                select(Camera.id, Camera.device_id, Camera.name, Camera.lon, Camera.lat))}
        self._specials, self._cameras = specials, cameras
        self._extra_persons, self._extra_cameras = {}, {}

    def start(self) -> "RefCache":
        """First load now, then a daemon thread reloads every `ttl` seconds."""
        self.refresh()
        if self._thread is None and self.ttl > 0:
            def loop():
                while True:
                    time.sleep(self.ttl)
                    try:
                        self.refresh()
                    except Exception:  # noqa: BLE001 - keep serving the last snapshot; retry next round
                        log.exception("duty reference reload failed")
            self._thread = threading.Thread(target=loop, name="pingan-duty-refs", daemon=True)
            self._thread.start()
        return self

    def specials(self, person_id: int) -> list[dict] | None:
        """The person's special-population records ([] for an ordinary person), or None if no such person."""
        found = self._specials.get(person_id)
        if found is None:
            found = self._extra_persons.get(person_id)
        if found is not None:
            return found
        self.misses += 1
        with self.engine.connect() as conn:
            if conn.scalar(select(Person.id).where(Person.id == person_id)) is None:
                return None
            value = [_special(r) for r in conn.execute(select(*_SPECIAL_COLUMNS).where(
                SpecialPerson.person_id == person_id).order_by(SpecialPerson.id))]
        self._extra_persons[person_id] = value
        return value

    def camera(self, device_id: str) -> dict | None:
        """{pk, name, lon, lat} of a camera by its GB/T 28181 code, or None if unknown."""
        found = self._cameras.get(device_id) or self._extra_cameras.get(device_id)
        if found is not None:
            return found
        self.misses += 1
        with self.engine.connect() as conn:
            r = conn.execute(select(Camera.id, Camera.name, Camera.lon, Camera.lat)
                             .where(Camera.device_id == device_id)).first()
        if r is None:
            return None
        self._extra_cameras[device_id] = value = _camera(r)
        return value


def person_facts(specials: list[dict], kind: str) -> dict:
    """Pure: the facts the rules need about the person an event names (the record matching the event's kind)."""
    if not specials:
        return {}
    want = CATEGORY_FOR.get(kind)
    sp = next((x for x in specials if x["category"] == want), specials[0])
    return {"home": {"county": sp["county"], "town": sp["town"], "village": sp["village"], "grid": sp["grid"]},
            "person": {"category": sp["category"], "risk_level": sp["risk_level"], "county_code": sp["county"],
                       "fence": sp["details"].get("fence"), "tag": sp["details"].get("tag"),
                       "lon": sp["lon"], "lat": sp["lat"]}}
