"""The planner's import service on a hand-made village: a 高德-style GCJ-02 file with a neutral name that says
WGS84, the upload description (GeoPackage layers, encoding samples), partial imports, and gap messages
that name the neighbouring grids."""

from __future__ import annotations

import base64
import json

import numpy as np
import pyogrio
import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box

from console.planner import importing
from console.planner.importing import imported_state
from console.planner.village import VillageData
from console.security.guard import AccessDenied, Viewer
from geodata.planner import gcj02, validity
from geodata.planner.draft import DraftGrid, EditError
from geodata.planner.gridfile import write_grid_file

VCODE = "610902001001"
X0, Y0, S = 109.02, 32.68, 0.012          # a ~1.1 x 1.3 km community in 汉滨区
OUTLINE = box(X0, Y0, X0 + S, Y0 + S)
CELLS = [box(X0, Y0, X0 + S / 2, Y0 + S), box(X0 + S / 2, Y0, X0 + S, Y0 + S)]
NAMES = ["东关网格", "西关网格"]
GRIDS = tuple(DraftGrid(f"{VCODE}{i + 1:03d}", c, NAMES[i]) for i, c in enumerate(CELLS))


def _village() -> VillageData:
    empty = np.zeros(0)
    return VillageData(VCODE, "东关社区", "community", VCODE[:9], OUTLINE, 1, GRIDS, empty, empty, empty)


def _gaode_export(grids) -> bytes:
    """What a 高德 (GCJ-02) export of the grids looks like: GeoJSON with no CRS and no hint in its name."""
    features = [{"type": "Feature", "properties": {"code": g.code, "name": g.name},
                 "geometry": shapely.geometry.mapping(gcj02.transform_geometry(g.geometry, gcj02.wgs84_to_gcj02))}
                for g in grids]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def _far(a, b) -> float:
    return shapely.hausdorff_distance(a, b) * 111_000


# ---------------------------------------------------------------- GCJ-02 without a hint


def test_gcj02_file_saying_wgs84_is_refused_with_the_offer_to_convert():
    data = _gaode_export(GRIDS)
    with pytest.raises(importing.GCJ02Suspected) as caught:
        imported_state(data, "网格边界.geojson", _village())
    message = str(caught.value)
    assert "WGS84" in message and "GCJ-02" in message and "预选“GCJ-02（高德/腾讯）”" in message
    metres = int(message.split("约 ")[1].split(" 米")[0])
    assert 300 <= metres <= 600
    state, warnings = imported_state(data, "网格边界.geojson", _village(), crs="GCJ02")
    assert all(_far(s.geometry, g.geometry) < 1 for s, g in zip(state, GRIDS))
    assert not any("GCJ-02" in w for w in warnings)


def test_explicit_wgs84_choice_imports_the_gcj02_file_with_a_warning():
    state, warnings = imported_state(_gaode_export(GRIDS), "export.geojson", _village(), crs="WGS84")
    assert len(state) == 2 and any("GCJ-02" in w and "未做转换" in w for w in warnings)


def test_gcj02_shapefile_labelled_cgcs2000_is_caught(tmp_path):
    content, _, _ = write_grid_file([{"code": g.code, "name": g.name, "geometry": g.geometry} for g in GRIDS],
                                    "shp", crs="GCJ02")
    # a GCJ-02 export relabelled CGCS2000 (EPSG:4490), as some tools do when "converting" to 国家2000
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename.endswith(".prj"):
                body = __import__("pyproj").CRS.from_epsg(4490).to_wkt("WKT1_ESRI").encode()
            zout.writestr(info.filename.replace("GCJ02", "grids"), body)
    with pytest.raises(EditError, match="坐标系为 CGCS2000.*GCJ-02"):
        imported_state(out.getvalue(), "grids.zip", _village())


def test_a_true_wgs84_file_and_a_file_off_by_another_shift_are_not_flagged():
    from geodata.planner.gcj02_suspect import gcj02_shift

    assert gcj02_shift([g.geometry for g in GRIDS], OUTLINE) is None
    # the same size of shift but pointing the other way: converting makes it worse
    wrong_way = [gcj02.transform_geometry(g.geometry, lambda x, y: (2 * x - gcj02.wgs84_to_gcj02(x, y)[0],
                                                                       2 * y - gcj02.wgs84_to_gcj02(x, y)[1]))
                 for g in GRIDS]
    assert gcj02_shift(wrong_way, OUTLINE) is None
    shifted = [gcj02.transform_geometry(g.geometry, gcj02.wgs84_to_gcj02) for g in GRIDS]
    assert 300 < gcj02_shift(shifted, OUTLINE) < 600
    state, warnings = imported_state(write_grid_file([{"code": g.code, "name": g.name, "geometry": g.geometry}
                                                      for g in GRIDS], "geojson")[0], "g.geojson", _village())
    assert len(state) == 2 and not any("GCJ-02" in w for w in warnings)


# ---------------------------------------------------------------- the upload description


def _upload(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


PLANNER = Viewer.build("planner1", ["grid_planner"], ["610902"])


def test_two_layer_geopackage_offers_each_layer_with_its_feature_count(tmp_path):
    path = tmp_path / "two.gpkg"
    frame = gpd.GeoDataFrame({"code": [g.code for g in GRIDS], "name": NAMES}, geometry=list(CELLS), crs="EPSG:4326")
    pyogrio.write_dataframe(frame.iloc[:1], path, layer="网格_旧")
    pyogrio.write_dataframe(frame, path, layer="网格_新", append=True)
    form = importing.describe_upload(PLANNER, _upload(path.read_bytes()), "two.gpkg")
    assert form.tone == "info" and form.layer is None and "共 2 个图层，请在“图层”中选择" in form.message
    assert form.layer_options == [{"label": "网格_旧（面，1 个要素）", "value": "网格_旧"},
                                  {"label": "网格_新（面，2 个要素）", "value": "网格_新"}]
    state, _ = imported_state(path.read_bytes(), "two.gpkg", _village(), layer="网格_新")
    assert [g.name for g in state] == NAMES


def test_encoding_question_offers_decoded_samples(tmp_path):
    frame = gpd.GeoDataFrame({"code": [g.code for g in GRIDS], "name": NAMES}, geometry=list(CELLS), crs="EPSG:4326")
    pyogrio.write_dataframe(frame, tmp_path / "g.shp", encoding="UTF-8")
    (tmp_path / "g.cpg").write_text("GBK")
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in sorted(tmp_path.iterdir()):
            zf.write(part, part.name)
    form = importing.describe_upload(PLANNER, _upload(buffer.getvalue()), "g.zip")
    labels = {o["value"]: o["label"] for o in form.encoding_options}
    assert labels["UTF-8"] == "UTF-8：“东关网格”、“西关网格”" and labels["GBK"].endswith("（乱码）")
    assert form.encoding == "" and "与文字内容不符" in form.message


class _Recorder:
    def __init__(self):
        self.rows = []

    def record(self, username, action, **kw):
        self.rows.append((username, action, kw.get("result")))


def test_upload_description_needs_the_permission_and_reads_bad_data_url():
    recorder = _Recorder()
    with pytest.raises(AccessDenied):
        importing.describe_upload(Viewer.build("viewer1", [], ["610902"], auditor=recorder), _upload(b"{}"), "g.geojson")
    assert recorder.rows and recorder.rows[0][1] == "access.denied"
    assert importing.describe_upload(PLANNER, "data:;base64,@@@", "g.geojson").tone == "error"


def test_partial_import_through_the_service():
    features = [{"type": "Feature", "properties": {"code": g.code, "name": g.name},
                 "geometry": shapely.geometry.mapping(g.geometry)} for g in GRIDS]
    features.append({"type": "Feature", "properties": {"code": f"{VCODE}003", "name": "南关网格"}, "geometry": None})
    data = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
    with pytest.raises(EditError, match="第 3 个要素（南关网格）没有几何"):
        imported_state(data, "g.geojson", _village())
    state, warnings = imported_state(data, "g.geojson", _village(), partial=True)
    assert [g.name for g in state] == NAMES and any("已跳过 1 个要素" in w for w in warnings)


# ---------------------------------------------------------------- gap messages


def test_gap_message_names_the_neighbouring_grids():
    shrunk = (DraftGrid(GRIDS[0].code, box(X0, Y0, X0 + S / 2 - 0.002, Y0 + S), NAMES[0]), GRIDS[1])
    (gap,) = validity.check_gap(OUTLINE, shrunk)
    assert "位于“西关网格”、“东关网格”之间" in gap.message or "位于“东关网格”、“西关网格”之间" in gap.message
    assert VCODE not in gap.message
    corner = (DraftGrid(GRIDS[0].code, box(X0, Y0 + 0.002, X0 + S / 2, Y0 + S), NAMES[0]),
              DraftGrid(GRIDS[1].code, box(X0 + S / 2, Y0, X0 + S, Y0 + S), NAMES[1]))
    (gap,) = validity.check_gap(OUTLINE, corner)
    assert "“东关网格”" in gap.message


# ---------------------------------------------------------------- forged callback bodies


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from console.app import create_app
    from console.config import Settings as ConsoleSettings
    import sectest as testing
    from console.store import make_engine, make_session_factory
    from tests.security_login import add_account, security_settings

    db = testing.migrated_db(tmp_path_factory.mktemp("planner-forged"))
    app = create_app(db, settings=ConsoleSettings(warm_cache=False), security_settings=security_settings())
    engine = make_engine(db)
    add_account(make_session_factory(engine), "planner_city", ["grid_planner"], ["610900"])
    add_account(make_session_factory(engine), "leader", ["city_leader"], ["610900"])
    yield app
    engine.dispose()


@pytest.mark.parametrize("contents,filename", [
    ({"not": "a data url"}, "g.geojson"), (12345, "g.geojson"), ("data:;base64,%%%", "g.geojson"),
    (_upload(b"{}"), ["g.geojson"]), (_upload(b"{}"), None), (["x"], {"a": 1}),
])
def test_forged_upload_bodies_get_a_chinese_message_not_a_500(served, contents, filename):
    from tests.test_admin_pages import call, login

    client, csrf = login((served, None, None), "planner_city")
    outputs = [("pl-upload-name", "children"), ("pl-crs", "value"), ("pl-encoding", "options"),
               ("pl-encoding", "value"), ("pl-layer", "options"), ("pl-layer", "value")]
    status, response = call(client, csrf, outputs, [("pl-upload", "contents", contents)],
                            [("pl-upload", "filename", filename)])
    assert status == 200, response
    text = json.dumps(response["pl-upload-name"]["children"], ensure_ascii=False)
    assert "无法读取" in text or "不支持的文件格式" in text or "损坏" in text, text


def test_upload_description_is_refused_without_the_permission(served):
    from tests.test_admin_pages import call, login

    client, csrf = login((served, None, None), "leader")
    status, response = call(client, csrf, [("pl-upload-name", "children"), ("pl-crs", "value"),
                                           ("pl-encoding", "options"), ("pl-encoding", "value"),
                                           ("pl-layer", "options"), ("pl-layer", "value")],
                            [("pl-upload", "contents", _upload(b"{}"))], [("pl-upload", "filename", "g.geojson")])
    # the permission registry's gate refuses the callback before it runs (console/security/registry.py)
    assert status == 403 and "pl-layer" not in json.dumps(response, ensure_ascii=False)
