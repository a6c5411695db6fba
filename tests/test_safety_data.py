"""公共安全 data (docs/safety.md): the demo world's key places and 护路护线 sections, the key-place ledger as a county
office writes it (WPS/Excel, Chinese headers, its own spellings) with bad coordinates named row by row, and the
key places' camera coverage checked against an independent sector test."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import openpyxl
import pytest
import shapely
from pyproj import Geod
from sqlalchemy import func, select, text

from console.ledger_import.commit import commit_import
from console.ledger_import.kinds import KINDS
from console.ledger_import.plan import file_hash, plan_import
from console.ledgers.reader import read_ledger
from console.store import AreaScope, Grid
from console.store.safety_models import KeyPlace, SafetyLine
from console.video.coverage import DEFAULT_RANGE_M
from console.video.coverage_service import scoped_coverage
from console.video.nearest import DEFAULT_FOV
from tests.ledger_files import wps_like_tail

ZIYANG = "610924"
GEOD = Geod(ellps="WGS84")


@pytest.fixture()
def store(world_sessions):
    return world_sessions


def test_demo_key_places_and_lines_sit_in_current_grids_and_say_they_are_synthetic(store):
    with store() as s:
        places = s.scalars(select(KeyPlace)).all()
        current = set(s.scalars(select(Grid.code).where(Grid.generation_high.is_(None))))
        lines = s.scalars(select(SafetyLine)).all()
    assert {p.kind for p in places} == {"school", "hospital", "hazard", "petrol", "logistics", "market"}
    assert all(p.synthetic and p.grid_code in current and p.name and p.address for p in places)
    assert len({p.code for p in places}) == len(places)
    assert {p.risk_level for p in places if p.kind == "hazard"} <= {"high", "medium", "low"}
    assert {ln.name.split("铁路")[0] for ln in lines if ln.kind == "railway"} == {"襄渝", "阳安"}
    for ln in lines:
        geom = shapely.from_geojson(ln.geometry)
        assert geom.geom_type == "LineString" and geom.is_valid and ln.length_m >= 200
        grids = ln.grids.split(",")
        assert grids[0] == ln.grid_code and set(grids) <= current
        x0, y0, x1, y1 = geom.bounds
        assert ln.min_lon <= x0 and x1 <= ln.max_lon + 1e-9 and 108 < x0 < 110.6 and 31.4 < y0 < 33.9


def _office_xlsx(rows: list[list]) -> bytes:
    """As a county 综治中心 fills the template in WPS: a front sheet, a merged title, a note, 序号 and 备注, its own
    header spellings, then WPS's formatted empty tail."""
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active["A1"] = "重点场所按类别填写，风险等级填 高/较高/一般"
    ws = wb.create_sheet("重点场所")
    header = ["场所编码", "单位名称", "场所类型", "风险级别", "详细地址", "治安负责人", "经度", "纬度"]
    ws["A1"] = "紫阳县公共安全重点场所排查台账"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header) + 2)
    ws["A2"] = "填报单位：紫阳县综治中心（盖章）    填报日期：2026年11月"
    ws.append(["序号", *header, "备注"])
    for i, row in enumerate(rows, 1):
        ws.append([i, *row, ""])
    buf = io.BytesIO()
    wb.save(buf)
    return wps_like_tail(buf.getvalue(), 60)


def _points(store, n: int) -> list[tuple[float, float]]:
    with store() as s:
        wkbs = s.scalars(select(Grid.geom_wkb).where(Grid.generation_high.is_(None), Grid.code.like(f"{ZIYANG}%"))
                         .order_by(Grid.code).limit(n)).all()
    return [(round(p.x, 6), round(p.y, 6)) for p in shapely.point_on_surface(shapely.from_wkb(wkbs))]


def _plan(store, data, name="紫阳县重点场所台账.xlsx"):
    ledger = read_ledger(data, name, KINDS["key_place"].spec)
    with store() as s:
        return plan_import(s, KINDS["key_place"], ledger, data_hash=file_hash(data), filename=name,
                           scope=AreaScope.of([ZIYANG]))


def _save(store, data, name="紫阳县重点场所台账.xlsx"):
    ledger = read_ledger(data, name, KINDS["key_place"].spec)
    return commit_import(store, ledger, kind_key="key_place", data_hash=file_hash(data), filename=name,
                         scope=AreaScope.of([ZIYANG]), actor="ziyang_clerk")


def test_a_county_office_key_place_ledger_imports_once(store):
    pts = _points(store, 3)
    rows = [["ZY-XY-001", "紫阳县城关小学", "校园周边", "较高", "城关镇新民街1号", "王某", *pts[0]],
            ["ZY-JY-002", "中国石化紫阳加油站", "加油加气站", "高", "城关镇滨江路8号", "李某", *pts[1]],
            ["ZY-WX-003", "紫阳县液化气储配站", "危化品", "", "", "", *pts[2]]]
    data = _office_xlsx(rows)
    plan = _plan(store, data)
    assert [r.status for r in plan.rows] == ["new"] * 3, [r.problems for r in plan.rows]
    saved = _save(store, data)
    assert saved.count("new") == 3
    with store() as s:
        got = {p.code: p for p in s.scalars(select(KeyPlace).where(KeyPlace.code.like("ZY-%")))}
        assert (got["ZY-XY-001"].kind, got["ZY-XY-001"].risk_level) == ("school", "medium")
        assert (got["ZY-JY-002"].kind, got["ZY-WX-003"].kind, got["ZY-WX-003"].risk_level) == ("petrol", "hazard", "low")
        assert all(p.grid_code.startswith(ZIYANG) and not p.synthetic for p in got.values())
    again = _save(store, data)
    assert again.count("unchanged") == 3 and not again.accepted


def test_bad_coordinates_and_codes_are_named_per_row_and_only_good_rows_saved(store):
    (lon, lat), = _points(store, 1)
    rows = [["ZY-1", "甲小学", "学校", "高", "", "", lat, lon],  # swapped
            ["ZY-2", "乙医院", "医院", "高", "", "", "东经108度", lat],  # text
            ["ZY-3", "丙市场", "集贸市场", "一般", "", "", 116.39, 39.9],  # Beijing
            ["ZY-4", "丁网吧", "网吧", "一般", "", "", lon, lat],  # not a key-place kind
            ["ZY-5", "戊快递", "快递", "极高", "", "", lon, lat],  # not a risk level
            ["ZY-6", "己物流", "寄递物流", "一般", "无此地址", "", None, None],  # no coordinate, unknown address
            ["ZY-7", "庚幼儿园", "幼儿园", "较高", "", "", lon, lat]]  # the one good row
    data = _office_xlsx(rows)
    plan = _plan(store, data)
    problems = {r.key: " ".join(r.problems) for r in plan.rows}
    assert "填反" in problems["ZY-1"] and "应为数字" in problems["ZY-2"] and "不在安康市范围内" in problems["ZY-3"]
    assert "场所类别“网吧”不在代码表中" in problems["ZY-4"] and "风险等级“极高”" in problems["ZY-5"]
    assert "无法定位" in problems["ZY-6"] and problems["ZY-7"] == ""
    with store() as s:
        before = s.scalar(select(func.count()).select_from(KeyPlace))
    saved = _save(store, data)
    assert saved.count("new") == 1 and saved.count("error") == 6
    with store() as s:
        assert s.scalar(select(func.count()).select_from(KeyPlace)) == before + 1
        assert s.scalar(select(KeyPlace.kind).where(KeyPlace.code == "ZY-7")) == "school"


def _covered_independently(place, cams) -> bool:
    for c in cams:
        az, _, d = GEOD.inv(c.lon, c.lat, place.lon, place.lat)
        if d > DEFAULT_RANGE_M.get(c.kind, 50.0):
            continue
        fov = DEFAULT_FOV.get(c.kind, 60.0)
        off = abs((az - c.direction + 180) % 360 - 180)
        if fov >= 360 or off <= fov / 2 - 0.5:
            return True
    return False


def test_key_place_coverage_per_grid_against_an_independent_sector_test(store):
    # put a few key places right in front of online cameras, so the answer is not trivially "none covered"
    with store() as s, s.begin():
        cams = s.execute(text("SELECT id, lon, lat, kind, direction, grid_code FROM camera WHERE status = 'online' "
                              "AND grid_code LIKE :p ORDER BY id LIMIT 6"), {"p": f"{ZIYANG}%"}).all()
        for c in cams:
            lon, lat, _ = GEOD.fwd(c.lon, c.lat, c.direction, 8)
            s.add(KeyPlace(code=f"COV{c.id}", name="测试场所", kind="market", risk_level="low", address="", contact="",
                           synthetic=True, lon=lon, lat=lat, county_code=c.grid_code[:6], town_code=c.grid_code[:9],
                           village_code=c.grid_code[:12], grid_code=c.grid_code, assign_generation=1))
    with store() as s:
        result = scoped_coverage(s, AreaScope.of([ZIYANG]), ZIYANG, top=500)
        places = s.execute(text("SELECT id, lon, lat, grid_code FROM key_place WHERE grid_code LIKE :p"),
                           {"p": f"{ZIYANG}%"}).all()
        online = s.execute(text("SELECT lon, lat, kind, direction FROM camera WHERE status = 'online' "
                                "AND grid_code LIKE :p"), {"p": f"{ZIYANG}%"}).all()
    truth = {p.id: _covered_independently(p, online) for p in places}
    assert sum(truth.values()) >= len(cams)
    per_grid: dict[str, list[int]] = {}
    for p in places:
        per_grid.setdefault(p.grid_code, [0, 0])
        per_grid[p.grid_code][0] += 1
        per_grid[p.grid_code][1] += truth[p.id]
    got = {g["grid_code"]: [g["key_places"], g["key_places_covered"]] for g in result["grids"] if g["key_places"]}
    assert got == per_grid
    assert result["key_places"] == len(places) and result["key_places_covered"] == sum(truth.values())
    uncovered = [p["id"] for p in result["uncovered_places"]]
    assert sorted(uncovered) == sorted(i for i, ok in truth.items() if not ok)
    risks = [p["risk_level"] for p in result["uncovered_places"]]
    assert risks == sorted(risks, key=["high", "medium", "low"].index)
