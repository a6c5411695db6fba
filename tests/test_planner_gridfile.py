"""Grid boundary import/export (geodata.planner.gridfile); the GCJ-02 formula itself is tested in
test_planner_gcj02.

Fixture files are written inside each test with pyogrio into tmp_path; no binary fixtures."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from geodata.planner import gcj02
from geodata.planner.gridfile import (
    GridFileError,
    read_grid_file,
    sniff_grid_file,
    write_grid_file,
)

GEOD = pyproj.Geod(ellps="WGS84")

# Three grids in 汉滨区 (around 109.02E 32.68N): a plain square, one with a hole, one in two parts.
_SQUARE = shapely.Polygon([(109.0100001, 32.6800003), (109.0200007, 32.6800003), (109.0200007, 32.6900009), (109.0100001, 32.6900009)])
_HOLED = shapely.Polygon(
    [(109.02, 32.68), (109.03, 32.68), (109.03, 32.69), (109.02, 32.69)],
    [[(109.024, 32.684), (109.026, 32.684), (109.026, 32.686), (109.024, 32.686)]],
)
_TWO_PARTS = shapely.MultiPolygon([shapely.box(109.03, 32.68, 109.035, 32.685), shapely.box(109.036, 32.686, 109.04, 32.69)])

GRIDS = [
    {"code": "610902001001001", "name": "新城街道第一网格", "village_code": "610902001001", "households": 412, "residents": 1230, "geometry": _SQUARE},
    {"code": "610902001001002", "name": "张岭社区·二号网格", "village_code": "610902001001", "households": 380, "residents": None, "geometry": _HOLED},
    {"code": "610902001001003", "name": "汉江大道网格", "village_code": "610902001001", "households": None, "residents": 77, "geometry": _TWO_PARTS},
]


def _frame(geoms, crs="EPSG:4326", **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=crs)


def _grid_frame(crs="EPSG:4326") -> gpd.GeoDataFrame:
    return _frame([g["geometry"] for g in GRIDS], crs, code=[g["code"] for g in GRIDS], name=[g["name"] for g in GRIDS])


def _zip_dir(folder: Path, prefix: str = "", skip: tuple[str, ...] = (), extra: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in sorted(folder.iterdir()):
            if part.suffix.lower() not in skip:
                zf.write(part, prefix + part.name)
        for name, content in (extra or {}).items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _shapefile_zip(tmp_path: Path, frame, *, encoding="UTF-8", cpg=True, prj=True, prefix="", skip=()) -> bytes:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    pyogrio.write_dataframe(frame, folder / "网格.shp", encoding=encoding)
    if not cpg:
        (folder / "网格.cpg").unlink()
    if not prj:
        (folder / "网格.prj").unlink()
    return _zip_dir(folder, prefix, skip)


def _write(tmp_path: Path, frame, name: str, **kw) -> bytes:
    path = tmp_path / name
    pyogrio.write_dataframe(frame, path, **kw)
    return path.read_bytes()


def _rings(geom) -> list[int]:
    parts = geom.geoms if hasattr(geom, "geoms") else [geom]
    return [len(p.interiors) for p in parts]


def _same_shape(a, b, tol=1e-9) -> bool:
    """Same type, parts, holes and vertex count, and no vertex further than tol degrees from the other
    (ring start and orientation may differ: shapefiles reorient rings)."""
    return (
        a.geom_type == b.geom_type
        and _rings(a) == _rings(b)
        and shapely.get_num_coordinates(a) == shapely.get_num_coordinates(b)
        and shapely.hausdorff_distance(a, b) <= tol
    )


def _max_metres(a, b) -> float:
    """Largest vertex-to-vertex distance in metres between two geometries with the same vertex order."""
    pa, pb = shapely.get_coordinates(a), shapely.get_coordinates(b)
    assert pa.shape == pb.shape
    return float(np.max(GEOD.inv(pa[:, 0], pa[:, 1], pb[:, 0], pb[:, 1])[2]))


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["geojson", "shp", "gpkg"])
@pytest.mark.parametrize("crs", ["WGS84", "CGCS2000"])
def test_round_trip_every_format(fmt, crs):
    content, filename, mime = write_grid_file(GRIDS, fmt, crs=crs)
    assert filename == f"grids_{crs}" + {"geojson": ".geojson", "shp": ".zip", "gpkg": ".gpkg"}[fmt]
    assert mime in ("application/geo+json", "application/zip", "application/geopackage+sqlite3")
    result = read_grid_file(content, filename)
    assert result.crs_used == crs and result.format == fmt
    assert [g.code for g in result.grids] == [g["code"] for g in GRIDS]
    assert [g.name for g in result.grids] == [g["name"] for g in GRIDS]
    for got, want in zip(result.grids, GRIDS):
        assert got.geometry.geom_type == want["geometry"].geom_type
        assert _same_shape(got.geometry, want["geometry"])
        assert got.properties["households"] == want["households"]
        assert got.properties["residents"] == want["residents"]
        assert got.properties.get("village_code", got.properties.get("vill_code")) == want["village_code"]
    assert result.warnings == []


def test_shapefile_export_is_utf8_with_cpg_and_prj():
    content, _, _ = write_grid_file(GRIDS, "shp", layer="汉滨 网格")
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        names = sorted(zf.namelist())
        assert [Path(n).suffix for n in names] == [".cpg", ".dbf", ".prj", ".shp", ".shx"]
        assert zf.read(next(n for n in names if n.endswith(".cpg"))).decode().strip() == "UTF-8"
        prj = zf.read(next(n for n in names if n.endswith(".prj"))).decode()
    assert pyproj.CRS.from_wkt(prj).to_epsg() == 4326
    assert read_grid_file(content, "x.zip").encoding_used == "UTF-8"


@pytest.mark.parametrize("fmt", ["geojson", "shp", "gpkg"])
def test_gcj02_export_reads_back_with_gcj02(fmt):
    content, filename, _ = write_grid_file(GRIDS, fmt, crs="GCJ02")
    assert "GCJ02" in filename
    assert sniff_grid_file(content, filename).crs_hint == "GCJ02"
    as_wgs = read_grid_file(content, filename)  # labelled WGS84 inside: read as such it is off by hundreds of metres
    assert shapely.hausdorff_distance(as_wgs.grids[0].geometry, _SQUARE) > 0.003
    result = read_grid_file(content, filename, crs="GCJ02")
    assert result.crs_used == "GCJ02"
    for got, want in zip(result.grids, GRIDS):
        assert _same_shape(got.geometry, want["geometry"], tol=1e-8)


def test_write_refuses_unknown_format_crs_and_nothing():
    with pytest.raises(GridFileError, match="导出格式"):
        write_grid_file(GRIDS, "kml")
    with pytest.raises(GridFileError, match="坐标系"):
        write_grid_file(GRIDS, "geojson", crs="BD09")
    with pytest.raises(GridFileError, match="没有可导出"):
        write_grid_file([], "geojson")


# ---------------------------------------------------------------- CRS on import


def test_gcj02_file_lands_within_one_metre_of_wgs84_twin(tmp_path):
    twin = _grid_frame()
    gcj = twin.set_geometry(gcj02.transform_geometry(np.asarray(twin.geometry.values), gcj02.wgs84_to_gcj02))
    data = _write(tmp_path, gcj, "高德导出.geojson")
    result = read_grid_file(data, "高德导出.geojson", crs="GCJ02")
    for got, want in zip(result.grids, twin.geometry):
        assert _max_metres(got.geometry, want) < 1.0
        assert _max_metres(got.geometry, want) < 0.001  # in fact millimetre-exact
    assert _max_metres(gcj.geometry.iloc[0], twin.geometry.iloc[0]) > 100  # the file really was shifted


@pytest.mark.parametrize("epsg", [4545, 4524])
def test_projected_cgcs2000_gauss_kruger_zone(tmp_path, epsg):
    projected = _grid_frame().to_crs(epsg)
    assert projected.total_bounds[0] > 100_000  # metres, not degrees
    data = _shapefile_zip(tmp_path, projected)
    info = sniff_grid_file(data, "gk.zip")
    assert info.crs == f"EPSG:{epsg}" and not info.needs_crs
    result = read_grid_file(data, "gk.zip")
    assert result.crs_used == f"EPSG:{epsg}"
    for got, want in zip(result.grids, GRIDS):
        assert _same_shape(got.geometry, want["geometry"], tol=1e-8)


def test_projected_file_without_prj_needs_the_zone(tmp_path):
    data = _shapefile_zip(tmp_path, _grid_frame().to_crs(4545), prj=False)
    with pytest.raises(GridFileError, match="不是经纬度"):
        read_grid_file(data, "gk.zip", crs="WGS84")
    result = read_grid_file(data, "gk.zip", crs="EPSG:4545")
    assert _same_shape(result.grids[0].geometry, _SQUARE, tol=1e-8)


def test_shapefile_without_prj_asks_for_crs_then_uses_it(tmp_path):
    data = _shapefile_zip(tmp_path, _grid_frame(), prj=False)
    info = sniff_grid_file(data, "grids.zip")
    assert info.needs_crs and info.crs is None
    with pytest.raises(GridFileError, match="缺少 .prj.*请选择坐标系"):
        read_grid_file(data, "grids.zip")
    result = read_grid_file(data, "grids.zip", crs="CGCS2000")
    assert result.crs_used == "CGCS2000"
    assert _same_shape(result.grids[1].geometry, _HOLED)


def test_stated_crs_overrides_file_and_warns(tmp_path):
    data = _write(tmp_path, _grid_frame("EPSG:4490"), "g.gpkg")
    result = read_grid_file(data, "g.gpkg", crs="GCJ02")
    assert result.crs_used == "GCJ02"
    assert any("CGCS2000" in w for w in result.warnings)
    assert shapely.hausdorff_distance(result.grids[0].geometry, _SQUARE) > 0.003


def test_unknown_stated_crs(tmp_path):
    data = _write(tmp_path, _grid_frame(), "g.geojson")
    with pytest.raises(GridFileError, match="无法识别的坐标系"):
        read_grid_file(data, "g.geojson", crs="火星")


# ---------------------------------------------------------------- encodings


def test_gbk_shapefile_with_cpg_reads_right(tmp_path):
    data = _shapefile_zip(tmp_path, _grid_frame(), encoding="GBK")
    assert sniff_grid_file(data, "g.zip").encoding == "GBK"
    result = read_grid_file(data, "g.zip")
    assert result.encoding_used == "GBK"
    assert [g.name for g in result.grids] == [g["name"] for g in GRIDS]


def test_gbk_shapefile_without_cpg_asks_then_reads_with_gbk(tmp_path):
    data = _shapefile_zip(tmp_path, _grid_frame(), encoding="GBK", cpg=False)
    info = sniff_grid_file(data, "g.zip")
    assert info.needs_encoding and info.encoding is None
    with pytest.raises(GridFileError, match="请选择字符编码.*GBK"):
        read_grid_file(data, "g.zip")
    result = read_grid_file(data, "g.zip", encoding="GBK")
    assert result.encoding_used == "GBK"
    assert [g.name for g in result.grids] == [g["name"] for g in GRIDS]
    assert read_grid_file(data, "g.zip", encoding="GB18030").grids[2].name == "汉江大道网格"


def test_utf8_shapefile_without_cpg_is_read_as_utf8(tmp_path):
    data = _shapefile_zip(tmp_path, _grid_frame(), cpg=False)
    assert not sniff_grid_file(data, "g.zip").needs_encoding
    result = read_grid_file(data, "g.zip")
    assert result.encoding_used == "UTF-8" and result.grids[0].name == "新城街道第一网格"


def test_mojibake_without_cpg_is_refused(tmp_path):
    garbled = [g["name"].encode("gbk").decode("latin-1") for g in GRIDS]  # GBK bytes once misread as Latin-1
    frame = _frame([g["geometry"] for g in GRIDS], code=[g["code"] for g in GRIDS], name=garbled)
    data = _shapefile_zip(tmp_path, frame, encoding="UTF-8", cpg=False)
    with pytest.raises(GridFileError, match="请选择字符编码"):
        read_grid_file(data, "g.zip")


def test_user_encoding_overrides_wrong_cpg(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(_grid_frame(), folder / "g.shp", encoding="GBK")
    (folder / "g.cpg").write_text("UTF-8")  # the .cpg lies
    data = _zip_dir(folder)
    with pytest.raises(GridFileError, match="UTF-8.*与文字内容不符.*UTF-8：无法解码"):
        read_grid_file(data, "g.zip")
    assert read_grid_file(data, "g.zip", encoding="gbk").grids[0].name == "新城街道第一网格"
    with pytest.raises(GridFileError, match="无法识别的字符编码"):
        read_grid_file(data, "g.zip", encoding="klingon")


def test_legacy_gbk_geojson(tmp_path):
    text = _write(tmp_path, _grid_frame(), "g.geojson").decode("utf-8")
    data = text.encode("gbk")
    assert sniff_grid_file(data, "g.geojson").needs_encoding
    with pytest.raises(GridFileError, match="不是 UTF-8"):
        read_grid_file(data, "g.geojson")
    assert read_grid_file(data, "g.geojson", encoding="GBK").grids[1].name == "张岭社区·二号网格"


# ---------------------------------------------------------------- shapefile zips


def test_shapefile_in_subfolder_with_mac_junk(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(_grid_frame(), folder / "Grids.SHP", encoding="UTF-8")
    data = _zip_dir(folder, "导出/网格/", extra={"__MACOSX/导出/网格/._Grids.SHP": b"\0\5\26\7", "说明.txt": "x"})
    result = read_grid_file(data, "export.zip")
    assert len(result.grids) == 3 and result.grids[0].code == GRIDS[0]["code"]


@pytest.mark.parametrize("missing,word", [(".dbf", "缺少 .dbf"), (".shx", "缺少 .shx")])
def test_shapefile_missing_part(tmp_path, missing, word):
    data = _shapefile_zip(tmp_path, _grid_frame(), skip=(missing,))
    with pytest.raises(GridFileError, match=word):
        read_grid_file(data, "g.zip")


def test_zip_with_several_shapefiles(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    pyogrio.write_dataframe(_grid_frame(), folder / "甲.shp")
    pyogrio.write_dataframe(_grid_frame(), folder / "乙.shp")
    with pytest.raises(GridFileError, match="2 个 Shapefile.*甲.shp") as err:
        read_grid_file(_zip_dir(folder), "g.zip")
    assert "乙.shp" in str(err.value)


def test_zip_without_shapefile():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "no shapes here")
    with pytest.raises(GridFileError, match="没有 .shp"):
        read_grid_file(buffer.getvalue(), "g.zip")


# ---------------------------------------------------------------- bad files


def test_points_only_geojson(tmp_path):
    data = _write(tmp_path, _frame([shapely.Point(109.02, 32.68), shapely.Point(109.03, 32.69)], code=["a", "b"]), "p.geojson")
    with pytest.raises(GridFileError, match="没有面.*只有点"):
        read_grid_file(data, "p.geojson")


def test_mixed_geometries_are_refused_unless_partial(tmp_path):
    frame = _frame([shapely.Point(109.02, 32.68), _SQUARE, shapely.LineString([(109, 32.6), (109.1, 32.7)])], code=["p", "g", "l"])
    data = _write(tmp_path, frame, "m.geojson")
    with pytest.raises(GridFileError, match="第 1 个要素（p）是点.*第 3 个要素（l）是线.*部分导入"):
        read_grid_file(data, "m.geojson")
    result = read_grid_file(data, "m.geojson", partial=True)
    assert [g.code for g in result.grids] == ["g"]
    assert any("已跳过 2 个" in w for w in result.warnings)


@pytest.mark.parametrize(
    "filename,data",
    [
        ("g.gpkg", b"SQLite format 3\x00" + b"\x07" * 3000),
        ("g.zip", b"PK\x03\x04" + b"\x00" * 100),
        ("g.geojson", b'{"type": "FeatureCollection", "features": [ {"type": '),
        ("g.gpkg", b"this is not a database"),
    ],
)
def test_corrupt_files(filename, data):
    with pytest.raises(GridFileError, match="损坏"):
        read_grid_file(data, filename)
    with pytest.raises(GridFileError, match="损坏"):
        sniff_grid_file(data, filename)


def test_empty_unsupported_and_loose_shp():
    with pytest.raises(GridFileError, match="文件为空"):
        read_grid_file(b"", "g.geojson")
    with pytest.raises(GridFileError, match="不支持的文件格式"):
        read_grid_file(b"<kml/>", "g.kml")
    with pytest.raises(GridFileError, match="打包成 .zip"):
        read_grid_file(b"\x00\x00\x27\x0a", "g.shp")


def test_empty_layer(tmp_path):
    data = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    with pytest.raises(GridFileError, match="没有任何要素"):
        read_grid_file(data, "empty.geojson")


def test_file_over_size_limit():
    data = b"{" + b" " * (20 * 1024 * 1024)
    with pytest.raises(GridFileError, match="文件过大.*20 MB"):
        read_grid_file(data, "big.geojson")


def test_far_outside_ankang_reports_count_and_distance(tmp_path):
    beijing = shapely.box(116.39, 39.90, 116.40, 39.91)
    frame = _frame([_SQUARE, beijing, _HOLED])
    with pytest.raises(GridFileError) as err:
        read_grid_file(_write(tmp_path, frame, "f.geojson"), "f.geojson")
    message = str(err.value)
    assert "有 1 个要素（共 3 个；第 2 个）超出安康市范围" in message
    expected_km = GEOD.inv(110.5, 33.9, 116.40, 39.91)[2] / 1000  # farthest corner from the box's NE corner
    km = float(message.split("最远约 ")[1].split(" 公里")[0].replace(",", ""))
    assert km == pytest.approx(expected_km, abs=1)


def test_swapped_lon_lat_hint(tmp_path):
    swapped = gcj02.transform_geometry(_SQUARE, lambda x, y: (y, x))
    with pytest.raises(GridFileError, match="颠倒"):
        read_grid_file(_write(tmp_path, _frame([swapped]), "s.geojson"), "s.geojson")


def test_z_is_dropped(tmp_path):
    poly3d = shapely.Polygon([(x, y, 400.0) for x, y in _SQUARE.exterior.coords])
    result = read_grid_file(_write(tmp_path, _frame([poly3d]), "z.geojson"), "z.geojson")
    assert not result.grids[0].geometry.has_z and _same_shape(result.grids[0].geometry, _SQUARE)


# ---------------------------------------------------------------- GeoPackage layers and fields


def test_gpkg_layers(tmp_path):
    path = tmp_path / "multi.gpkg"
    pyogrio.write_dataframe(_frame([shapely.Point(109.02, 32.68)]), path, layer="cameras")
    pyogrio.write_dataframe(_grid_frame(), path, layer="网格", append=False)
    one_polygon = read_grid_file(path.read_bytes(), "multi.gpkg")
    assert one_polygon.layer == "网格" and len(one_polygon.grids) == 3 and one_polygon.encoding_used is None
    pyogrio.write_dataframe(_grid_frame(), path, layer="旧网格")
    info = sniff_grid_file(path.read_bytes(), "multi.gpkg")
    assert set(info.layers) == {"cameras", "网格", "旧网格"} and info.layer is None
    with pytest.raises(GridFileError, match="多个图层.*旧网格"):
        read_grid_file(path.read_bytes(), "multi.gpkg")
    assert read_grid_file(path.read_bytes(), "multi.gpkg", layer="旧网格").layer == "旧网格"


def test_chinese_and_upper_case_field_names(tmp_path):
    frame = _frame(
        [_SQUARE, _HOLED],
        村编码=["610902001001", "610902001001"],
        网格编码=[610902001001001, 610902001001002],
        网格名称=["一网格", "二网格"],
    )
    result = read_grid_file(_write(tmp_path, frame, "cn.gpkg"), "cn.gpkg")
    assert (result.code_field, result.name_field) == ("网格编码", "网格名称")
    assert [g.code for g in result.grids] == ["610902001001001", "610902001001002"]
    frame = _frame([_SQUARE], VILLAGE_CODE=["v"], GRID_CODE=["g1"], GRID_NAME=["甲"])
    result = read_grid_file(_write(tmp_path, frame, "up.geojson"), "up.geojson")
    assert (result.grids[0].code, result.grids[0].name) == ("g1", "甲")
    result = read_grid_file(_write(tmp_path, _frame([_SQUARE], village_code=["v"]), "nc.geojson"), "nc.geojson")
    assert result.grids[0].code is None and any("编码字段" in w for w in result.warnings)


def test_sniff_reports_what_the_ui_must_confirm(tmp_path):
    data = _shapefile_zip(tmp_path, _grid_frame("EPSG:4490"), encoding="GBK")
    info = sniff_grid_file(data, "g.zip")
    assert (info.format, info.feature_count, info.crs, info.encoding) == ("shp", 3, "EPSG:4490", "GBK")
    assert info.fields == ("code", "name") and (info.code_field, info.name_field) == ("code", "name")
    assert not info.needs_crs and not info.needs_encoding and info.crs_hint is None


def test_temporary_files_are_removed(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    data = _shapefile_zip(tmp_path, _grid_frame())
    no_prj = _shapefile_zip(tmp_path, _grid_frame(), prj=False)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    opened: list[str] = []
    real_read = pyogrio.read_dataframe
    monkeypatch.setattr(pyogrio, "read_dataframe", lambda path, **kw: opened.append(str(path)) or real_read(path, **kw))
    read_grid_file(data, "g.zip")
    assert opened and all(p.startswith(str(scratch)) for p in opened)  # the upload was unpacked there
    sniff_grid_file(data, "g.zip")
    with pytest.raises(GridFileError):
        read_grid_file(no_prj, "g.zip")
    write_grid_file(GRIDS, "shp")
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("cpg", [True, False])
def test_gbk_chinese_field_names(tmp_path, cpg):
    frame = _frame([_SQUARE, _HOLED], 网格编码=["g1", "g2"], 网格名称=["一网格", "二网格"])
    data = _shapefile_zip(tmp_path, frame, encoding="GBK", cpg=cpg)
    info = sniff_grid_file(data, "g.zip")
    assert info.needs_encoding is not cpg
    if not cpg:
        with pytest.raises(GridFileError, match="请选择字符编码"):
            read_grid_file(data, "g.zip")
    else:
        assert info.fields == ("网格编码", "网格名称") and info.code_field == "网格编码"
    result = read_grid_file(data, "g.zip", encoding=None if cpg else "GBK")
    assert (result.code_field, result.name_field) == ("网格编码", "网格名称")
    assert [(g.code, g.name) for g in result.grids] == [("g1", "一网格"), ("g2", "二网格")]


def test_geometry_kept_as_read(tmp_path):
    bow_tie = shapely.Polygon([(109.0, 32.6), (109.01, 32.61), (109.01, 32.6), (109.0, 32.61)])
    frame = _frame([bow_tie, _HOLED, _TWO_PARTS, shapely.Polygon()], code=["bow", "holed", "two", "empty"])
    result = read_grid_file(_write(tmp_path, frame, "k.gpkg"), "k.gpkg", partial=True)
    assert [g.code for g in result.grids] == ["bow", "holed", "two"]
    assert not result.grids[0].geometry.is_valid and _same_shape(result.grids[0].geometry, bow_tie)
    assert len(result.grids[1].geometry.interiors) == 1
    assert result.grids[2].geometry.geom_type == "MultiPolygon" and len(result.grids[2].geometry.geoms) == 2
    assert any("第 4 个要素（empty）的几何为空" in w for w in result.warnings)


def test_gpkg_without_polygon_layer(tmp_path):
    path = tmp_path / "pts.gpkg"
    pyogrio.write_dataframe(_frame([shapely.Point(109.02, 32.68)]), path, layer="cameras")
    pyogrio.write_dataframe(_frame([shapely.LineString([(109, 32.6), (109.1, 32.7)])]), path, layer="roads")
    with pytest.raises(GridFileError, match="没有面图层.*cameras"):
        read_grid_file(path.read_bytes(), "pts.gpkg")


def test_encrypted_zip_is_named(tmp_path):
    data = _shapefile_zip(tmp_path, _grid_frame())
    flagged = bytearray(data)
    # set the "encrypted" flag bit on every local and central header; zipfile then asks for a password
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := flagged.find(sig, start)) != -1:
            flagged[start + offset] |= 0x01
            start += 4
    with pytest.raises(GridFileError, match="设有密码"):
        read_grid_file(bytes(flagged), "g.zip")
