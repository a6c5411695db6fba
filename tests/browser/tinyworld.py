"""A tiny, deterministic world for console tests: 2 real counties, each split into 2 towns → 2 villages
→ 2 grids (boxes clipped to the real county outline), with a few records of every located kind."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import shapely
from shapely.geometry import shape

from console.store import (
    Area, Building, Camera, Dispute, Generation, Grid, GridWorker, Household, KeyYouth, Organisation, Person,
    SpecialPerson, Survey, make_engine, make_session_factory, upgrade_schema,
)
from console.store.codes import CITY_CODE, CITY_NAME, OPEN_DISPUTE_STATES
from world.names import name_for

DATA = Path(__file__).resolve().parents[2] / "geodata" / "data"
COUNTIES = {"610924": "紫阳县", "610925": "岚皋县"}
NOW = datetime(2026, 11, 20, 12, 0)


def _halves(geom):
    x0, y0, x1, y1 = geom.bounds
    cut = (x0 + x1) / 2
    parts = [shapely.clip_by_rect(geom, x0, y0, cut, y1), shapely.clip_by_rect(geom, cut, y0, x1, y1)]
    return [p.buffer(0) for p in parts]


def _area_row(cls, geom, **kw):
    x0, y0, x1, y1 = geom.bounds
    pt = geom.representative_point()
    return cls(geom_wkb=shapely.to_wkb(geom), min_lon=x0, min_lat=y0, max_lon=x1, max_lat=y1,
               label_lon=pt.x, label_lat=pt.y, area_km2=geom.area * 10000, **kw)


def _points_in(geom, n, rng):
    x0, y0, x1, y1 = geom.bounds
    out = []
    while len(out) < n:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if geom.contains(shapely.Point(x, y)):
            out.append((x, y))
    return out


def build(path: str | Path, seed: int = 7) -> str:
    rng = random.Random(seed)
    engine = make_engine(str(path))
    upgrade_schema(engine)
    raw = json.loads((DATA / "ankang_counties_tianditu_cgcs2000.geojson").read_text(encoding="utf-8"))
    city = shape(json.loads((DATA / "ankang_city_tianditu_cgcs2000.geojson").read_text())["features"][0]["geometry"])
    with make_session_factory(engine)() as s:
        s.add(Generation(id=1, scope_code=CITY_CODE, created_at=NOW, created_by="test", reason="tiny"))
        s.add(_area_row(Area, city, code=CITY_CODE, name=CITY_NAME, level="city", parent_code=None))
        s.flush()
        ids = iter(range(1, 10**6))
        for f in raw["features"]:
            ccode = str(f["properties"]["code"])
            if ccode not in COUNTIES:
                continue
            cgeom = shape(f["geometry"])
            s.add(_area_row(Area, cgeom, code=ccode, name=COUNTIES[ccode], level="county", parent_code=CITY_CODE))
            s.flush()
            for ti, tgeom in enumerate(_halves(cgeom)):
                tcode = f"{ccode}{100 + ti:03d}"
                s.add(_area_row(Area, tgeom, code=tcode, name=f"{COUNTIES[ccode][:2]}第{ti + 1}镇", level="town",
                                parent_code=ccode, kind="town", synthetic=True))
                s.flush()
                for vi, vgeom in enumerate(_halves(tgeom.envelope.intersection(tgeom))):
                    vcode = f"{tcode}{200 + vi:03d}"
                    s.add(_area_row(Area, vgeom, code=vcode, name=f"{tcode[-3:]}号镇第{vi + 1}村", level="village",
                                    parent_code=tcode, kind="village", synthetic=True))
                    s.flush()
                    for gi, ggeom in enumerate(_halves(vgeom)):
                        gcode = f"{vcode}{gi + 1:03d}"
                        s.add(_area_row(Grid, ggeom, code=gcode, name=f"第{gi + 1}网格", village_code=vcode,
                                        generation_low=1, households=3, residents=0))
                        s.add(GridWorker(grid_code=gcode, role="worker", name=name_for(f"roster:{gcode}"),
                                         phone="13900000000"))  # a synthetic name per grid
                        _fill(s, rng, ids, ggeom, dict(county_code=ccode, town_code=tcode, village_code=vcode,
                                                       grid_code=gcode, assign_generation=1))
            for ind, rate in (("awareness", 0.97), ("participation", 0.91), ("security", 0.985),
                              ("satisfaction", 0.982)):
                s.add(Survey(county_code=ccode, year=2025, indicator=ind, rate=rate, synthetic=True))
        s.commit()
    engine.dispose()
    return str(path)


def _fill(s, rng, ids, geom, codes):
    """Per grid: 3 households (1 building), 2–4 persons each, 1–2 special persons, disputes, cameras, orgs."""
    pts = iter(_points_in(geom, 20, rng))
    bid = next(ids)
    x, y = next(pts)
    s.add(Building(id=bid, code=f"B{bid}", address=f"测试路{bid}号", kind="house", floors=2, dwellings=3,
                   lon=x, lat=y, **codes))
    s.flush()
    for h in range(3):
        hid = next(ids)
        size = rng.randint(2, 4)
        s.add(Household(id=hid, code=f"H{hid:08d}", building_id=bid, address=f"紫阳县测试镇测试路{bid}号{h + 1}室",
                        kind="rental" if h == 2 else "registered", size=size, is_rental=h == 2,
                        landlord_name="李房东" if h == 2 else None, lon=x, lat=y, **codes))
        s.flush()
        for p in range(size):
            pid = next(ids)
            kind = ("registered", "floating", "foreign")[0 if p < 2 else rng.randint(1, 2)]
            s.add(Person(id=pid, id_number=f"61092419800101{pid % 10000:04d}", name=f"张{pid}", sex="M",
                         birth_date=date(1980, 1, 1), ethnicity="汉", native_place="610924", marital="married",
                         education="junior", occupation="农民", phone="13812345678", residence_type=kind,
                         household_id=hid, relation_to_head="head" if p == 0 else "child", registered_here=True,
                         lon=x, lat=y, **codes))
            s.flush()
            if p == 0 and h < 2:
                cat = ("mental", "released")[h]
                s.add(SpecialPerson(person_id=pid, category=cat, since=date(2024, 5, 1), status="在管",
                                    risk_level=rng.choice((1, 3, 4)) if cat == "mental" else None,
                                    risk_grade=rng.choice(("low", "medium", "high")), lon=x, lat=y, **codes))
            if p == 1 and h == 0:
                s.add(KeyYouth(person_id=pid, youth_type="left_behind", concern_level="normal", guardian_name="张某",
                               guardian_phone="13800000000", helper_name="李某", lon=x, lat=y, **codes))
    for d in range(3):
        x, y = next(pts)
        did = next(ids)
        state = rng.choice(OPEN_DISPUTE_STATES + ("resolved", "archived"))
        closed = None if state in OPEN_DISPUTE_STATES else NOW - timedelta(days=rng.randint(0, 60))
        reg = NOW - timedelta(days=rng.randint(1, 300))
        s.add(Dispute(id=did, code=f"JF{did:010d}", title=f"<b>邻里纠纷{did}</b>", category="neighbour",
                      occurred_on=reg.date(), registered_at=reg, place="某村", scale=2, description="测试",
                      risk_grade="low", complexity="ordinary", state=state, deadline=reg + timedelta(days=7),
                      success=True if closed else None, closed_at=closed, lon=x, lat=y, **codes))
    for c in range(2):
        x, y = next(pts)
        cid = next(ids)
        s.add(Camera(id=cid, device_id=f"{cid:020d}", name=f"摄像机{cid}", kind="dome", direction=90,
                     status="online" if c == 0 else "offline", lon=x, lat=y, **codes))
    x, y = next(pts)
    oid = next(ids)
    s.add(Organisation(id=oid, credit_code=f"91610924{oid:010d}", name=f"测试企业{oid}", kind="enterprise",
                       org_type="private", registration_authority="紫阳县市场监督管理局", legal_rep="赵法人",
                       address="测试路1号", status="active", security_head="钱", concern_level="normal",
                       has_party_org=False, foreign_background=False, employees=5, lon=x, lat=y, **codes))


if __name__ == "__main__":
    import sys

    print(build(sys.argv[1]))
