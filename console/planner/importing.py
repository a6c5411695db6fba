"""A grid file as a draft state: read (geodata.planner.gridfile), check it sits on its village (a GCJ-02 file
that says WGS84), snap to the stored borders, inherit codes. Also what the page shows about an upload
before import (layers, encoding samples, CRS). Refusals: docs/planner-import.md."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from console.security.guard import Viewer, require
from console.security.permissions import GRID_EDIT
from geodata.planner import gridfile
from geodata.planner.codes import inherit_codes
from geodata.planner.draft import DraftGrid, EditError, State, snap_to_current
from geodata.planner.gcj02_suspect import gcj02_shift

from .village import VillageData

AUTO_ENCODING = {"label": "自动（.cpg / 代码页 / 内容）", "value": ""}
ENCODING_OPTIONS = [AUTO_ENCODING, *({"label": k, "value": k} for k in ("GBK", "GB18030", "UTF-8"))]
_GEOMETRY_LABELS = {"Polygon": "面", "MultiPolygon": "面", "Point": "点", "MultiPoint": "点", "LineString": "线",
                    "MultiLineString": "线", "Unknown": "混合几何"}


def upload_bytes(contents: str | None) -> bytes:
    """The bytes of a dcc.Upload data URL."""
    if not contents:
        raise EditError("请先选择要导入的文件")
    if not isinstance(contents, str):
        raise EditError("文件无法读取")
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (ValueError, IndexError, binascii.Error) as exc:
        raise EditError("文件无法读取") from exc


class GCJ02Suspected(EditError):
    """A file that says WGS84/CGCS2000 but sits where GCJ-02 coordinates of the village would."""


def _gcj02_note(label: str, shift: float) -> str:
    return (f"文件声明的坐标系为 {label}，但网格整体偏离本村（社区）边界约 {shift:.0f} 米，偏移方向与高德/腾讯地图的 "
            "GCJ-02 坐标一致，文件很可能是从高德/腾讯地图导出的。")


def imported_state(data: bytes, filename: str, village: VillageData, *, crs: str | None = None,
                   encoding: str | None = None, layer: str | None = None,
                   partial: bool = False) -> tuple[State, list[str]]:
    """(draft state, warnings). File problems raise EditError with the reader's message for the planner.

    A file read as WGS84/CGCS2000 that fits the village only after undoing GCJ-02 is refused with the offer
    to convert when the planner left the CRS to the file, and imported with a warning when the planner
    chose that CRS explicitly. Codes in the file are kept as they are (validity reports codes of another
    village or duplicates); grids without a code inherit the code of the current grid they mostly cover."""
    try:
        result = gridfile.read_grid_file(data, filename, crs=crs, encoding=encoding, layer=layer, partial=partial)
    except gridfile.GridFileError as exc:
        raise EditError(str(exc)) from exc
    warnings = list(result.warnings)
    if result.crs_used in ("WGS84", "CGCS2000"):
        shift = gcj02_shift([g.geometry for g in result.grids], village.geometry)
        if shift is not None and not crs:
            raise GCJ02Suspected(_gcj02_note(result.crs_used, shift) + "已在“坐标系”中预选“GCJ-02（高德/腾讯）”，"
                                 "再次点击“导入为草稿”即转换为 WGS84 导入；如确认文件坐标无误，请选择 WGS84 或 CGCS2000 后导入。")
        if shift is not None:
            warnings.append(_gcj02_note(result.crs_used, shift) + "已按您选择的坐标系导入、未做转换；如需转换，"
                            "请改选 GCJ-02 后重新导入。")
    grids = tuple(DraftGrid(g.code or None, g.geometry, g.name or "") for g in result.grids)
    snapped = snap_to_current(grids, village.geometry, village.grids)
    return inherit_codes(snapped, village.grids), warnings


@dataclass(frozen=True)
class UploadForm:
    """What the page shows and preselects after a file was chosen."""
    message: str
    tone: str                                   # "info" | "error"
    crs: str | None = None                      # preselect, None: leave as is
    encoding: str = ""                          # "" (automatic): the reader decides or asks
    encoding_options: list[dict] = field(default_factory=lambda: list(ENCODING_OPTIONS))
    layer: str | None = None
    layer_options: list[dict] = field(default_factory=list)


def _layer_option(name: str, kind: str, count: int) -> dict:
    return {"label": f"{name}（{_GEOMETRY_LABELS.get(kind, '无几何')}，{count} 个要素）", "value": name}


def describe_upload(viewer: Viewer, contents: str | None, filename: str | None) -> UploadForm:
    """Say what the file is and what the planner must choose: a layer of a GeoPackage with several, the
    text encoding (each candidate with its decoded samples), the coordinate system."""
    require(viewer, GRID_EDIT, "planner:upload", log_grant=False)
    name = filename if isinstance(filename, str) else ""
    try:
        info = gridfile.sniff_grid_file(upload_bytes(contents), name)
    except (gridfile.GridFileError, EditError) as exc:
        return UploadForm(f"{name}：{exc}", "error")
    parts = [f"{name}：{gridfile.FORMATS[info.format][2]}，{info.feature_count} 个要素", f"坐标系 {info.crs or '未声明'}"]
    layers = [_layer_option(*d) for d in info.layer_details]
    if len(layers) > 1:
        parts.append(f"共 {len(layers)} 个图层" + ("，请在“图层”中选择要导入的网格图层" if info.layer is None
                                                 else f"，将导入“{info.layer}”（可在“图层”中改选）"))
    if info.encoding:
        parts.append(f"编码 {info.encoding}")
    if info.needs_crs:
        parts.append("请选择坐标系")
    options = list(ENCODING_OPTIONS)
    if info.needs_encoding:
        parts.append(info.encoding_question or "属性文字不是 UTF-8，请选择编码（GBK / GB18030）")
        if info.encoding_samples:
            options = [AUTO_ENCODING, *({"label": label, "value": enc} for enc, label in info.encoding_samples)]
    if info.crs_hint == "GCJ02":
        parts.append("文件名提示为高德/腾讯坐标（GCJ-02），已预选，请确认")
    return UploadForm("；".join(parts), "info", info.crs_hint, "", options, info.layer, layers)
