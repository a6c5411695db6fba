"""Ledgers as GIS point layers (console/ledgers/geofile.py, docs/import.md): files written the way QGIS and ArcGIS
write them — a GeoPackage in CGCS2000 with a boundary layer beside the points, a zipped Shapefile in a Gauss-Krüger
projection with its attribute table in GBK (with a .cpg, or without one), GCJ-02 points from an online map — read
into the one import pipeline on a copy of the small world; the wrong ones refused naming what is wrong."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import select

from console.ledger_import.commit import commit_import
from console.ledger_import.kinds import KINDS
from console.ledger_import.plan import file_hash, plan_import
from console.ledgers.reader import LedgerError, read_ledger
from console.store import AreaScope, Camera
from console.store.safety_models import KeyPlace
from geodata.planner.gcj02 import wgs84_to_gcj02
from tests.test_ledger_import import ZIYANG, _points

SCOPE = AreaScope.of([ZIYANG])
GK_108 = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E: what a county's surveying office uses


def _places(points, crs="EPSG:4490") -> gpd.GeoDataFrame:
    n = len(points)
    frame = gpd.GeoDataFrame({
        "场所编号": [f"GIS-ZY-{i:03d}" for i in range(n)],
        "场所名称": [f"紫阳县测试场所{i}" for i in range(n)],
        "场所类别": (["学校", "加油站", "医院"] * n)[:n],
        "风险等级": (["高", "一般", "较高"] * n)[:n],
        "备注": ["QGIS导出"] * n,
    }, geometry=[shapely.Point(x, y) for x, y in points], crs="EPSG:4326")
    return frame.to_crs(crs)


def _zip(folder: Path, stem: str, drop: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.glob(stem + ".*")):
            if f.suffix.lower() not in drop:
                z.write(f, f"{stem}/{f.name}")  # ArcGIS users zip the folder
    return buf.getvalue()


def _shapefile(frame, tmp_path: Path, stem="摄像机", encoding="GBK", drop=()) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    frame.to_file(folder / f"{stem}.shp", encoding=encoding, engine="pyogrio")
    return _zip(folder, stem, drop)


def _import(sessions, kind, data, name, crs="wgs84"):
    ledger = read_ledger(data, name, KINDS[kind].spec)
    return ledger, commit_import(sessions, ledger, kind_key=kind, data_hash=file_hash(data), filename=name,
                                 scope=SCOPE, actor="clerk", crs=crs)


def test_a_geopackage_of_key_places_in_cgcs2000_imports_its_point_layer(world_sessions, tmp_path):
    points = _points(world_sessions, ZIYANG, 3)
    path = tmp_path / "重点场所.gpkg"
    _places(points).to_file(path, layer="重点场所", engine="pyogrio")
    boundary = gpd.GeoDataFrame({"名称": ["紫阳县"]}, geometry=[shapely.box(108.3, 32.3, 108.7, 32.7)], crs="EPSG:4490")
    boundary.to_file(path, layer="辖区范围", engine="pyogrio")  # a polygon layer beside it: not a ledger
    ledger, plan = _import(world_sessions, "key_place", path.read_bytes(), path.name)
    assert ledger.sheet == "重点场所" and "备注" in ledger.ignored
    assert "经纬度取自图层的点几何（CGCS2000，已转换为WGS84经纬度）" in plan.notices
    assert plan.count("new") == 3 and plan.count("error") == 0, [r.problems for r in plan.rows]
    with world_sessions() as s:
        stored = {p.code: p for p in s.scalars(select(KeyPlace).where(KeyPlace.code.like("GIS-ZY-%")))}
    assert sorted(stored) == ["GIS-ZY-000", "GIS-ZY-001", "GIS-ZY-002"]
    for i, (x, y) in enumerate(points):
        p = stored[f"GIS-ZY-{i:03d}"]
        assert abs(p.lon - x) < 1e-6 and abs(p.lat - y) < 1e-6 and p.grid_code.startswith(ZIYANG)
    assert stored["GIS-ZY-000"].kind == "school" and stored["GIS-ZY-000"].risk_level == "high"
    _, again = _import(world_sessions, "key_place", path.read_bytes(), path.name)
    assert again.count("unchanged") == 3  # the same layer twice changes nothing


def _cameras(points, crs) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame({
        "设备编码": [f"6109240000132{i:07d}" for i in range(n)],
        "设备名称": [f"城关镇测试点位{i}" for i in range(n)],
        "设备类型": ["球机"] * n,
    }, geometry=[shapely.Point(x, y) for x, y in points], crs="EPSG:4326").to_crs(crs)


@pytest.mark.parametrize("drop, gbk_notice", [((), False), ((".cpg",), True)])
def test_a_zipped_shapefile_in_gauss_kruger_with_a_gbk_table_imports_cameras(world_sessions, tmp_path, drop,
                                                                               gbk_notice):
    points = _points(world_sessions, ZIYANG, 4)
    data = _shapefile(_cameras(points, GK_108), tmp_path, drop=drop)
    ledger, plan = _import(world_sessions, "camera", data, "摄像机点位.zip")
    assert plan.count("new") == 4, [r.problems for r in plan.rows]
    assert ("文件按GBK（GB18030）编码读取" in plan.notices) == gbk_notice
    assert "经纬度取自图层的点几何（CGCS2000 3度带高斯-克吕格投影（中央经线108°E），已转换为WGS84经纬度）" in plan.notices
    with world_sessions() as s:
        cams = {c.device_id: c for c in s.scalars(select(Camera).where(Camera.name.like("城关镇测试点位%")))}
    for i, (x, y) in enumerate(points):
        c = cams[f"6109240000132{i:07d}"]
        assert abs(c.lon - x) < 1e-6 and abs(c.lat - y) < 1e-6 and c.kind == "dome"


def test_gcj02_points_are_converted_when_the_clerk_says_so(world_sessions, tmp_path):
    points = _points(world_sessions, ZIYANG, 2)
    gx, gy = wgs84_to_gcj02(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    path = tmp_path / "高德.gpkg"
    _places(list(zip(gx.tolist(), gy.tolist())), crs="EPSG:4326").to_file(path, layer="场所", engine="pyogrio")
    ledger = read_ledger(path.read_bytes(), path.name, KINDS["key_place"].spec)
    with world_sessions() as s:
        plan = plan_import(s, KINDS["key_place"], ledger, data_hash="x", filename=path.name, scope=SCOPE, crs="gcj02")
    for r, (x, y) in zip(plan.rows, points):
        assert abs(r.record["lon"] - x) < 1e-5 and abs(r.record["lat"] - y) < 1e-5


def test_wrong_layers_are_refused_naming_what_is_wrong(world_sessions, tmp_path):
    points = _points(world_sessions, ZIYANG, 2)
    spec = KINDS["key_place"].spec
    # no .prj: the coordinate system is unknown
    data = _shapefile(_places(points), tmp_path, stem="场所", drop=(".prj",))
    with pytest.raises(LedgerError, match=r"缺少 \.prj 文件，无法确定坐标系"):
        read_ledger(data, "场所.zip", spec)
    # no .dbf
    with pytest.raises(LedgerError, match=r"缺少 \.dbf"):
        read_ledger(_zip(tmp_path / "shp", "场所", (".dbf",)), "场所.zip", spec)
    # polygons, not points
    area = gpd.GeoDataFrame({"场所编号": ["A"], "场所名称": ["范围"], "场所类别": ["学校"]},
                            geometry=[shapely.box(108.4, 32.4, 108.5, 32.5)], crs="EPSG:4490")
    with pytest.raises(LedgerError, match="几何类型为面，台账只能导入点图层"):
        read_ledger(_shapefile(area, tmp_path, stem="面"), "面.zip", spec)
    path = tmp_path / "only-polygons.gpkg"
    area.to_file(path, layer="辖区", engine="pyogrio")
    with pytest.raises(LedgerError, match="没有点图层：“辖区”（面）"):
        read_ledger(path.read_bytes(), path.name, spec)
    # two point layers: the clerk chooses (the CLI's --sheet, the layer's name)
    two = tmp_path / "two.gpkg"
    _places(points).to_file(two, layer="学校", engine="pyogrio")
    _places(points).to_file(two, layer="医院", engine="pyogrio")
    with pytest.raises(LedgerError, match="多个点图层") as err:
        read_ledger(two.read_bytes(), two.name, spec)
    assert sorted(err.value.sheets) == ["医院", "学校"]
    assert read_ledger(two.read_bytes(), two.name, spec, sheet="医院").sheet == "医院"
    # a zip without a Shapefile, a multipoint of two points, a kind without coordinates
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(LedgerError, match="没有 Shapefile"):
        read_ledger(buf.getvalue(), "x.zip", spec)
    multi = _places(points).copy()
    multi.geometry = [shapely.MultiPoint(points), shapely.MultiPoint(points[:1])]
    with pytest.raises(LedgerError, match="第1个要素是含多个点的多点要素"):
        read_ledger(_shapefile(multi, tmp_path, stem="多点"), "多点.zip", spec)
    with pytest.raises(LedgerError, match="没有经纬度列"):
        read_ledger(two.read_bytes(), two.name, KINDS["grid_worker"].spec)
    # a required column missing is named, like a sheet's
    bare = _places(points).drop(columns=["场所类别"])
    with pytest.raises(LedgerError, match="缺少必填列：场所类别"):
        read_ledger(_shapefile(bare, tmp_path, stem="缺列"), "缺列.zip", spec)
