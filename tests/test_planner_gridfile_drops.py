"""No feature is dropped in silence: a feature without a grid code, or with a null, empty or unparsable
geometry, is named by its number and the file refused unless the planner asks for a partial import.
GeoPackages with several layers list each layer with its feature count. Files written as other tools
write them: hand-made GeoJSON text, pyogrio shapefiles with null shapes, two-layer GeoPackages."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geodata.planner.gridfile import GridFileError, read_grid_file, sniff_grid_file


def _square(i: int) -> list:
    x = 109.01 + i * 0.01
    return [[[x, 32.68], [x + 0.01, 32.68], [x + 0.01, 32.69], [x, 32.69], [x, 32.68]]]


def _feature(code, name, geometry) -> dict:
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry}


def _geojson(features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


BAD_FILE = _geojson([
    _feature("610902001001001", "一号网格", {"type": "Polygon", "coordinates": _square(0)}),
    _feature("610902001001002", "二号网格", None),                                                   # null
    _feature("610902001001003", "三号网格", {"type": "Polygon", "coordinates": []}),                # empty
    _feature("610902001001004", "四号网格", {"type": "Polygon", "coordinates": "abc"}),             # not parsable by GDAL
    _feature("610902001001005", "五号网格", {"type": "Polygon", "coordinates": [_square(4)[0][:2]]}),  # 2-point ring
    _feature("", "六号网格", {"type": "Polygon", "coordinates": _square(5)}),                        # no code
    _feature(None, "七号网格", {"type": "Polygon", "coordinates": _square(6)}),                      # null code
    _feature("610902001001008", "八号网格", {"type": "Polygon", "coordinates": _square(7)}),
])


def test_each_bad_feature_is_named_and_the_file_refused():
    with pytest.raises(GridFileError) as caught:
        read_grid_file(BAD_FILE, "grids.geojson")
    message = str(caught.value)
    for expected in [
        "有 6 个要素无法作为网格导入",
        "第 2 个要素（二号网格）没有几何（空值，或文件中的几何无法解析）",
        "第 3 个要素（三号网格）的几何为空",
        "第 4 个要素（四号网格）没有几何",
        "第 5 个要素（五号网格）的几何无法解析：边界环的点数不足",
        "第 6 个要素（六号网格）没有网格编码（字段“code”为空）",
        "第 7 个要素（七号网格）没有网格编码",
        "勾选“部分导入”，只导入其余 2 个要素",
    ]:
        assert expected in message, (expected, message)


def test_partial_import_keeps_the_good_features_and_says_what_was_skipped():
    result = read_grid_file(BAD_FILE, "grids.geojson", partial=True)
    assert [g.name for g in result.grids] == ["一号网格", "八号网格"]
    (note,) = [w for w in result.warnings if w.startswith("部分导入")]
    assert "已跳过 6 个要素" in note and "第 5 个要素（五号网格）" in note and "导入其余 2 个" in note
    # a file with no code field at all drops nothing: its grids are coded at commit
    data = _geojson([{"type": "Feature", "properties": {"name": "一号网格"},
                      "geometry": {"type": "Polygon", "coordinates": _square(0)}}])
    result = read_grid_file(data, "g.geojson")
    assert result.grids[0].code is None and any("未找到网格编码字段" in w for w in result.warnings)


def test_nothing_left_is_refused_even_when_partial():
    data = _geojson([_feature("610902001001001", "一号网格", None)])
    with pytest.raises(GridFileError, match="没有面（多边形）要素"):
        read_grid_file(data, "g.geojson", partial=True)
    data = _geojson([_feature("610902001001001", "一号网格", {"type": "Point", "coordinates": [109.0, 32.6]}),
                     _feature("", "二号网格", {"type": "Polygon", "coordinates": _square(1)})])
    with pytest.raises(GridFileError, match="没有可导入的网格：第 1 个要素（一号网格）是点.*第 2 个要素（二号网格）没有网格编码"):
        read_grid_file(data, "g.geojson", partial=True)


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
    return buffer.getvalue()


def test_shapefile_with_null_shape_and_blank_code(tmp_path):
    frame = gpd.GeoDataFrame({"GRID_CODE": ["610902001001001", "610902001001002", " "], "GRID_NAME": ["甲", "乙", "丙"]},
                             geometry=[shapely.box(109.01, 32.68, 109.02, 32.69), None,
                                       shapely.box(109.03, 32.68, 109.04, 32.69)], crs="EPSG:4490")
    pyogrio.write_dataframe(frame, tmp_path / "g.shp", encoding="UTF-8")
    data = _zip(tmp_path)
    with pytest.raises(GridFileError, match="第 2 个要素（乙）没有几何.*第 3 个要素（丙）没有网格编码（字段“GRID_CODE”为空）"):
        read_grid_file(data, "g.zip")
    assert [g.code for g in read_grid_file(data, "g.zip", partial=True).grids] == ["610902001001001"]


def test_gpkg_null_geometry_is_named(tmp_path):
    path = tmp_path / "g.gpkg"
    frame = gpd.GeoDataFrame({"code": ["610902001001001", "610902001001002"], "name": ["甲", "乙"]},
                             geometry=[None, shapely.box(109.01, 32.68, 109.02, 32.69)], crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path, layer="grids")
    with pytest.raises(GridFileError, match="第 1 个要素（甲）没有几何"):
        read_grid_file(path.read_bytes(), "g.gpkg")


def test_two_layer_geopackage_lists_layers_with_feature_counts(tmp_path):
    path = tmp_path / "two.gpkg"
    old = gpd.GeoDataFrame({"code": ["610902001001001"], "name": ["旧一号"]},
                           geometry=[shapely.box(109.01, 32.68, 109.03, 32.69)], crs="EPSG:4326")
    new = gpd.GeoDataFrame({"code": ["610902001001001", "610902001001002"], "name": ["新一号", "新二号"]},
                           geometry=[shapely.box(109.01, 32.68, 109.02, 32.69), shapely.box(109.02, 32.68, 109.03, 32.69)],
                           crs="EPSG:4326")
    pyogrio.write_dataframe(old, path, layer="网格_2024")
    pyogrio.write_dataframe(new, path, layer="网格_2025", append=True)
    info = sniff_grid_file(path.read_bytes(), "two.gpkg")
    assert info.layer is None
    assert set(info.layer_details) == {("网格_2024", "Polygon", 1), ("网格_2025", "Polygon", 2)}
    with pytest.raises(GridFileError, match="多个图层"):
        read_grid_file(path.read_bytes(), "two.gpkg")
    assert [g.name for g in read_grid_file(path.read_bytes(), "two.gpkg", layer="网格_2025").grids] == ["新一号", "新二号"]


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # making the NaN fixture
def test_nan_coordinates_and_features_outside_ankang_are_named_by_their_number_in_the_file(tmp_path):
    nan_ring = shapely.Polygon([(109.01, 32.68), (float("nan"), 32.68), (109.02, 32.69), (109.01, 32.68)])
    far = shapely.box(116.39, 39.90, 116.40, 39.91)  # Beijing
    frame = gpd.GeoDataFrame({"code": ["610902001001001", "610902001001002", "610902001001003", "610902001001004"],
                              "name": ["甲", "乙", "丙", "丁"]},
                             geometry=[None, nan_ring, shapely.box(109.01, 32.68, 109.02, 32.69), far], crs="EPSG:4326")
    path = tmp_path / "g.gpkg"
    pyogrio.write_dataframe(frame, path, layer="grids")
    with pytest.raises(GridFileError, match="第 2 个要素（乙）的坐标含有无效数值"):
        read_grid_file(path.read_bytes(), "g.gpkg")
    # the good and the far one are left; the far one keeps its number in the file (4), not its place (2)
    with pytest.raises(GridFileError, match="有 1 个要素（共 2 个；第 4 个）超出安康市范围"):
        read_grid_file(path.read_bytes(), "g.gpkg", partial=True)
