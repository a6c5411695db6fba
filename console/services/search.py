"""The map's search box (docs/console.md, 搜索): an area name, a person (by name or identity number), an address,
a case code or a camera id → places the map can fly to.

Each kind of hit needs its own permission and every hit is inside the viewer's scope; people come back masked
(name 张**, no number), and a search that may touch people is audited with the query's kind and the hits'
areas (never the typed identity number itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.permissions import LAYER_AREAS, LAYER_CAMERAS, VIEW_CASES, VIEW_PERSONS
from console.store import Area, Building, Camera, Dispute, Household, Person
from console.store.masking import mask_address, mask_name
from console.store.sensitive import id_number_index

from .areas import grid_labels
from .viewer import Viewer

LIMIT = 8
MIN_TEXT = 2
MAX_TEXT = 40
CASE_CODE = re.compile(r"^[A-Z]{2}\d{6,22}$")
CAMERA_ID = re.compile(r"^\d{20}$")
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
ADDRESS_HINT = re.compile(r"[路街巷号栋楼单元室组]|\d+号")


class SearchError(ValueError):
    """The query cannot be searched; the message says why (in Chinese)."""


@dataclass(frozen=True)
class Hit:
    kind: str  # area / grid / person / address / case / camera
    label: str  # what the list shows (masked where it names a person)
    area: str  # the area or grid code the map drills to
    lon: float | None = None
    lat: float | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "area": self.area, "lon": self.lon, "lat": self.lat}


KIND_LABELS = {"area": "区划", "grid": "网格", "person": "人员", "address": "地址", "case": "纠纷", "camera": "摄像头"}


def classify(text: str) -> str:
    """What the typed text most likely is: case / camera / id_number / address / name (areas are always tried)."""
    t = text.strip().upper()
    if CASE_CODE.match(t):
        return "case"
    if CAMERA_ID.match(t):
        return "camera"
    if ID_NUMBER.match(t):
        return "id_number"
    if ADDRESS_HINT.search(t):
        return "address"
    return "name"


def clean(text: str | None) -> str:
    t = re.sub(r"\s+", "", str(text or ""))
    if len(t) < MIN_TEXT:
        raise SearchError(f"请至少输入 {MIN_TEXT} 个字")
    if len(t) > MAX_TEXT:
        raise SearchError(f"搜索内容过长（最多 {MAX_TEXT} 个字）")
    if "%" in t or "_" in t:
        raise SearchError("搜索内容不能含有 % 或 _")
    return t


def _areas(session: Session, viewer: Viewer, text: str) -> list[Hit]:
    rows = session.execute(select(Area.code, Area.name, Area.label_lon, Area.label_lat, Area.parent_code)
                           .where(Area.name.contains(text)).order_by(Area.code).limit(LIMIT * 4)).all()
    parents = dict(session.execute(select(Area.code, Area.name).where(
        Area.code.in_({r.parent_code for r in rows if r.parent_code}))).all())
    hits = [Hit("area", f"{parents.get(r.parent_code, '')} {r.name}".strip(), r.code, r.label_lon, r.label_lat)
            for r in rows if viewer.scope.overlaps(r.code) or viewer.sees(r.code)]
    return hits[:LIMIT]


def _persons(session: Session, viewer: Viewer, text: str, kind: str) -> list[Hit]:
    if kind == "id_number":
        where = Person.id_number_bidx == id_number_index(text)
    else:
        where = Person.name == text  # whole names only: a fragment would list strangers
    rows = session.execute(select(Person.name, Person.grid_code, Person.lon, Person.lat)
                           .where(where, viewer.scope.clause(Person)).limit(LIMIT)).all()
    return [Hit("person", f"{mask_name(r.name)}（{r.grid_code or ''}）", r.grid_code, r.lon, r.lat)
            for r in rows if r.grid_code and viewer.sees(r.grid_code)]


def _addresses(session: Session, viewer: Viewer, text: str) -> list[Hit]:
    rows = session.execute(select(Building.address, Building.grid_code, Building.lon, Building.lat)
                           .where(Building.address.contains(text), viewer.scope.clause(Building))
                           .order_by(Building.address).limit(LIMIT)).all()
    if not rows:
        rows = session.execute(select(Household.address, Household.grid_code, Household.lon, Household.lat)
                               .where(Household.address.contains(text), viewer.scope.clause(Household))
                               .order_by(Household.address).limit(LIMIT)).all()
    return [Hit("address", mask_address(r.address, keep=max(8, len(text) + 4)), r.grid_code, r.lon, r.lat)
            for r in rows if r.grid_code and viewer.sees(r.grid_code)]


def _case(session: Session, viewer: Viewer, text: str) -> list[Hit]:
    row = session.execute(select(Dispute.code, Dispute.title, Dispute.grid_code, Dispute.village_code,
                                 Dispute.lon, Dispute.lat).where(Dispute.code == text.upper())).first()
    area = row and (row.grid_code or row.village_code)
    if row is None or not viewer.sees(area):  # a case outside the scope is answered like a missing one
        return []
    return [Hit("case", f"{row.code} {row.title}", area, row.lon, row.lat)]


def _camera(session: Session, viewer: Viewer, text: str) -> list[Hit]:
    row = session.execute(select(Camera.device_id, Camera.name, Camera.grid_code, Camera.village_code,
                                 Camera.lon, Camera.lat).where(Camera.device_id == text)).first()
    area = row and (row.grid_code or row.village_code)
    if row is None or not viewer.sees(area):
        return []
    return [Hit("camera", f"{row.name}（{row.device_id}）", area, row.lon, row.lat)]


def _grids(session: Session, viewer: Viewer, labels: dict[str, str], hits: list[Hit]) -> list[Hit]:
    """Person/address hits name their grid by village and grid name, not by its 15-digit code."""
    return [Hit(h.kind, h.label.replace(f"（{h.area}）", f"（{labels.get(h.area, h.area)}）"), h.area, h.lon, h.lat)
            for h in hits]


def search(session: Session, viewer: Viewer, text: str | None) -> list[Hit]:
    """Hits for `text` the viewer may see, best first. Raises SearchError for text that cannot be searched."""
    t = clean(text)
    kind = classify(t)
    hits: list[Hit] = []
    if kind == "case":
        if viewer.can(VIEW_CASES):
            hits = _case(session, viewer, t)
    elif kind == "camera":
        if viewer.can(LAYER_CAMERAS):
            hits = _camera(session, viewer, t)
    else:
        if viewer.can(LAYER_AREAS) and kind != "id_number":
            hits += _areas(session, viewer, t)
        if viewer.can(VIEW_PERSONS) and kind in ("name", "id_number"):
            hits += _persons(session, viewer, t, kind)
        if viewer.can(VIEW_PERSONS) and kind in ("address", "name"):
            hits += _addresses(session, viewer, t)
    if any(h.kind in ("person", "address") for h in hits) or kind == "id_number":
        # a search that can reach people is itself a read of personal data: audited (the text only by kind)
        guard.audit(viewer, "record.search", f"search:{kind}",
                    detail={"kind": kind, "hits": len(hits), "areas": sorted({h.area for h in hits})[:LIMIT]})
    labels = grid_labels(session, {h.area for h in hits if h.kind in ("person", "address")})
    return _grids(session, viewer, labels, hits)[:LIMIT * 2]
