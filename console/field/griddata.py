"""What the phone keeps offline: the worker's grids (outline, name) and their households with persons, masked;
the organisations and the 公共安全 key places of those grids (check-in targets).

Every household carries the record UUID and version the phone must edit against, so two workers editing the same
household offline send the same UUID and the later one becomes a conflict instead of a silent overwrite."""

from __future__ import annotations

import json
import uuid as uuidlib

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import FIELD_SYNC
from console.store import Household, Organisation, Person
from console.store.patrol_models import CHECKIN_KINDS
from console.store.codes import KEY_PLACE_KINDS, RISK_LEVELS
from console.store.field_models import FieldRecord
from console.store.masking import mask_address, mask_id, mask_name, mask_phone
from console.store.safety_models import KeyPlace

from . import grids
from .codes import EVENT_TYPES, HOUSEHOLD_KINDS

# Stable record UUIDs for households first edited on a phone (uuid5 of the household id in this namespace).
HOUSEHOLD_NAMESPACE = uuidlib.UUID("6f1c2b9e-5d3a-4c1e-9a7b-0f8e2d4c6a10")
SIMPLIFY_DEG = 0.0001  # ≈ 10 m: the outline is for orientation on a phone, not for assignment


def household_uuid(household_id: int) -> str:
    return str(uuidlib.uuid5(HOUSEHOLD_NAMESPACE, f"household:{household_id}"))


def bundle(session: Session, viewer: Viewer) -> dict:
    """The worker's offline data set (JSON-ready); names, identity numbers, phones and addresses masked."""
    guard.require(viewer, FIELD_SYNC, "field:grid-data", log_grant=False)
    own = grids.worker_grids(session, viewer)
    codes = [g.code for g in own]
    out_grids = [{"code": g.code, "name": g.name, "village_code": g.village_code,
                  "bbox": [g.min_lon, g.min_lat, g.max_lon, g.max_lat],
                  "center": [g.label_lon, g.label_lat],
                  "geometry": json.loads(shapely.to_geojson(
                      shapely.from_wkb(g.geom_wkb).simplify(SIMPLIFY_DEG, preserve_topology=True)))}
                 for g in own]
    households = list(session.scalars(select(Household).where(Household.grid_code.in_(codes))
                                      .order_by(Household.grid_code, Household.id))) if codes else []
    ids = [h.id for h in households]
    persons: dict[int, list[dict]] = {}
    edited: dict[int, tuple[str, int]] = {}
    if ids:
        for p in session.scalars(select(Person).where(Person.household_id.in_(ids)).order_by(Person.id)):
            persons.setdefault(p.household_id, []).append({
                "name": mask_name(p.name), "id_number": mask_id(p.id_number), "phone": mask_phone(p.phone),
                "relation": p.relation_to_head, "sex": p.sex})
        for rec in session.execute(select(FieldRecord.household_id, FieldRecord.uuid, FieldRecord.version)
                                   .where(FieldRecord.household_id.in_(ids))):
            edited[rec.household_id] = (rec.uuid, rec.version)
    out_households = []
    for h in households:
        rec_uuid, version = edited.get(h.id, (household_uuid(h.id), 0))
        out_households.append({
            "id": h.id, "code": h.code, "grid_code": h.grid_code, "address": mask_address(h.address),
            "kind": h.kind, "size": h.size, "record_uuid": rec_uuid, "version": version,
            "lon": h.lon, "lat": h.lat, "persons": persons.get(h.id, [])})
    places = [{"id": o.id, "name": o.name, "grid_code": o.grid_code, "lon": o.lon, "lat": o.lat}
              for o in session.scalars(select(Organisation).where(Organisation.grid_code.in_(codes))
                                       .order_by(Organisation.grid_code, Organisation.id))] if codes else []
    # 公共安全 key places of the own grids: check-in targets beside households and organisations
    safety = [{"id": k.id, "name": k.name, "kind": KEY_PLACE_KINDS.get(k.kind, k.kind),
               "risk": RISK_LEVELS.get(k.risk_level, k.risk_level), "grid_code": k.grid_code, "lon": k.lon,
               "lat": k.lat}
              for k in session.scalars(select(KeyPlace).where(KeyPlace.grid_code.in_(codes))
                                       .order_by(KeyPlace.grid_code, KeyPlace.risk_level != "high", KeyPlace.id))
              ] if codes else []
    return {"worker": viewer.display_name, "username": viewer.username, "grids": out_grids,
            "households": out_households, "places": places, "safety_places": safety, "event_types": EVENT_TYPES,
            "household_kinds": HOUSEHOLD_KINDS, "checkin_kinds": CHECKIN_KINDS}
