"""Shapefile text encodings as other tools write them: GDAL/pyogrio and fiona-style ENCODING options, an
ArcGIS-style DBF code-page byte (LDID) without a .cpg, a .cpg that lies. The encoding is decided from the
.cpg, the LDID and the bytes; when they disagree the planner is shown decoded samples; mojibake is never
stored. The mojibake check itself is a pure function, tested with hypothesis."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings, strategies as st

from geodata.planner.gridfile import GridFileError, read_grid_file, sniff_grid_file
from geodata.planner.gridfile_text import looks_mojibake

NAMES = ["新城街道第一网格", "张岭社区·二号网格", "汉江大道网格"]
CODES = ["610902001001001", "610902001001002", "610902001001003"]


def _frame() -> gpd.GeoDataFrame:
    boxes = [shapely.box(109.01 + i * 0.01, 32.68, 109.02 + i * 0.01, 32.69) for i in range(3)]
    return gpd.GeoDataFrame({"code": CODES, "name": NAMES}, geometry=boxes, crs="EPSG:4326")


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
    return buffer.getvalue()


def _shapefile(tmp_path: Path, *, encoding: str, cpg: str | None = "keep", ldid: int | None = None) -> bytes:
    """A shapefile written by GDAL with `encoding`; then, as other tools leave them, the .cpg replaced
    (text) or removed (None) and the DBF code-page byte patched."""
    folder = tmp_path / f"shp{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    pyogrio.write_dataframe(_frame(), folder / "网格.shp", encoding=encoding)
    cpg_path = folder / "网格.cpg"
    if cpg is None:
        cpg_path.unlink(missing_ok=True)
    elif cpg != "keep":
        cpg_path.write_text(cpg)
    if ldid is not None:
        dbf = folder / "网格.dbf"
        head = bytearray(dbf.read_bytes())
        head[29] = ldid
        dbf.write_bytes(bytes(head))
    return _zip(folder)


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("cpg", ["GBK", "936", "ANSI 936"])
def test_cpg_saying_gbk_over_utf8_bytes_asks_with_samples_and_never_stores_mojibake(tmp_path, cpg):
    data = _shapefile(tmp_path, encoding="UTF-8", cpg=cpg)
    info = sniff_grid_file(data, "g.zip")
    assert info.needs_encoding and info.encoding is None
    assert "新城街道第一网格" in info.encoding_question and "乱码" in info.encoding_question
    assert dict(info.encoding_samples)["UTF-8"] == "UTF-8：“新城街道第一网格”、“张岭社区·二号网格”"
    with pytest.raises(GridFileError, match=r"\.cpg 文件为 GBK.*与文字内容不符.*UTF-8：“新城街道第一网格”"):
        read_grid_file(data, "g.zip")
    with pytest.raises(GridFileError, match="按您选择的“GBK”解码后是乱码"):
        read_grid_file(data, "g.zip", encoding="GBK")
    result = read_grid_file(data, "g.zip", encoding="UTF-8")
    assert [g.name for g in result.grids] == NAMES and result.encoding_used == "UTF-8"


@pytest.mark.parametrize("how", ["gdal LDID/77", "hand-patched 0x4D", "hand-patched 0x7A"])
def test_gbk_shapefile_marked_only_by_the_dbf_code_page_imports(tmp_path, how):
    if how == "gdal LDID/77":
        data = _shapefile(tmp_path, encoding="LDID/77", cpg=None)
    else:
        data = _shapefile(tmp_path, encoding="GBK", cpg=None, ldid=0x4D if "4D" in how else 0x7A)
    info = sniff_grid_file(data, "g.zip")
    assert (info.encoding, info.needs_encoding) == ("GBK", False)
    assert "网格名称" not in info.fields and info.name_field == "name"
    result = read_grid_file(data, "g.zip")
    assert [g.name for g in result.grids] == NAMES and result.encoding_used == "GBK"


def test_cpg_and_code_page_disagreeing_ask_even_when_one_reads_well(tmp_path):
    data = _shapefile(tmp_path, encoding="GBK", cpg="UTF-8", ldid=0x4D)
    with pytest.raises(GridFileError, match="互相矛盾.*\\.cpg 文件为 UTF-8.*DBF 代码页标记为 GBK.*GBK：“新城街道第一网格”"):
        read_grid_file(data, "g.zip")
    assert [g.name for g in read_grid_file(data, "g.zip", encoding="GBK").grids] == NAMES
    agreeing = _shapefile(tmp_path, encoding="CP936", ldid=0x4D)  # fiona-style "CP936" .cpg and an ArcGIS LDID
    assert [g.name for g in read_grid_file(agreeing, "g.zip").grids] == NAMES
    arcgis = _shapefile(tmp_path, encoding="UTF-8", ldid=0x57)  # ArcGIS: LDID 0x57 ("ANSI") beside any .cpg
    assert [g.name for g in read_grid_file(arcgis, "g.zip").grids] == NAMES


def test_code_page_saying_gbk_over_utf8_bytes_asks(tmp_path):
    data = _shapefile(tmp_path, encoding="UTF-8", cpg=None, ldid=0x4D)
    with pytest.raises(GridFileError, match="DBF 代码页标记为 GBK.*乱码|DBF 代码页标记为 GBK.*无法解码"):
        read_grid_file(data, "g.zip")
    assert [g.name for g in read_grid_file(data, "g.zip", encoding="UTF-8").grids] == NAMES


def test_mojibake_already_in_a_utf8_geojson_is_refused_naming_the_feature(tmp_path):
    frame = _frame()
    frame.loc[1, "name"] = NAMES[1].encode("utf-8").decode("gbk")  # saved once through the wrong codec
    path = tmp_path / "g.geojson"
    pyogrio.write_dataframe(frame, path)
    with pytest.raises(GridFileError, match="疑似乱码或含不可见的控制字符：第 2 个要素的名称“寮犲箔绀惧尯路浜屽彿缃戞牸”"):
        read_grid_file(path.read_bytes(), "g.geojson")


# ---------------------------------------------------------------- the pure parts


def test_decide_encoding_rules():
    from geodata.planner.gridfile_encoding import decide_encoding

    raw = [n.encode("gbk").decode("latin-1") for n in NAMES]
    assert decide_encoding(raw, cpg=None, ldid=0x4D).encoding == "GBK"
    assert decide_encoding(raw, cpg="936", ldid=None).encoding == "GBK"
    assert decide_encoding(raw, cpg=None, ldid=None).encoding is None
    assert decide_encoding(raw, cpg=None, ldid=None, user="GB18030").encoding == "GB18030"
    assert decide_encoding(["plain ascii"], cpg="GBK", ldid=0x4D).encoding == "GBK"
    utf8 = [n.encode("utf-8").decode("latin-1") for n in NAMES]
    assert decide_encoding(utf8, cpg=None, ldid=None).encoding == "UTF-8"
    asked = decide_encoding(utf8, cpg="GBK", ldid=None)
    assert asked.encoding is None and {c.encoding: c.clean for c in asked.candidates} == {
        "GBK": False, "UTF-8": True, "GB18030": False}


REAL = ["新城街道第一网格", "张岭社区·二号网格", "瀛湖镇", "㭎树村", "犇", "A区3号", "第１网格（东）", "Ⅱ号网格", "①网格"]
GARBLED = [
    "鏂板煄琛楅亾", "寮犲箔绀惧尯路浜屽彿缃戞牸", "鐘囨潙",   # UTF-8 read as GBK
    "һһ", "꾰谦",                                         # GBK read as UTF-8
    "ÐÂ³Ç½ÖµÀ", "Íø¸ñ",                                   # GBK read as Latin-1
    "�³ǽֵ", "新城\x00", "\ue000网格",                        # undecodable, control, private use
    "新城\u202e格网", "新\u200b城",                             # bidi override, zero-width
]


def test_mojibake_check_tells_real_names_from_garbled_ones():
    assert [t for t in REAL if looks_mojibake(t)] == []
    assert [t for t in GARBLED if not looks_mojibake(t)] == []


# Hanzi a grid name is made of: GB2312 level 1 and 2 (the characters a GBK file can hold without extensions).
_GB2312_HANZI = [c for c in (bytes([hi, lo]).decode("gb2312", "ignore") for hi in range(0xB0, 0xF8)
                             for lo in range(0xA1, 0xFF)) if c]
# Four or more: a two- or three-character name can, by chance, misread into one or two rare hanzi that no
# check can tell from a real name (the file-level decision still sees every other string).
_names = st.text(st.sampled_from(_GB2312_HANZI), min_size=4, max_size=12)


@settings(max_examples=300, deadline=None)
@given(_names)
def test_property_real_names_pass_and_their_misreadings_fail(name):
    assert not looks_mojibake(name)
    assert looks_mojibake(name.encode("gbk").decode("latin-1"))
    as_gbk = name.encode("utf-8").decode("gbk", "replace")
    assert looks_mojibake(as_gbk)
    assert looks_mojibake(name.encode("gbk").decode("utf-8", "replace"))


def test_bidi_override_in_a_name_is_refused_and_shown_escaped(tmp_path):
    frame = _frame()
    frame.loc[2, "name"] = "汉江\u202e格网道大"  # reads as 汉江大道网格 on screen
    path = tmp_path / "g.geojson"
    pyogrio.write_dataframe(frame, path)
    with pytest.raises(GridFileError, match=r"第 3 个要素的名称“汉江\\u202e格网道大”"):
        read_grid_file(path.read_bytes(), "g.geojson")
