"""Ledgers kept as GIS layers (docs/import.md, "GeoPackage and Shapefile"): a point layer exported from QGIS or
ArcGIS — key places, organisations, cameras — read through pyogrio: the attribute table as the ledger's columns
(matched by header like a sheet), the point geometry as 经度/纬度, reprojected from the file's own coordinate system
(.prj, or the GeoPackage's srs) to WGS-84 degrees. A Shapefile comes as a .zip of .shp/.shx/.dbf/.prj (and .cpg:
the attribute table's encoding; without one, UTF-8, else GBK).

Refused with the reason: a layer that is not points, a Shapefile without its .prj (or a layer without a defined
coordinate system), a .zip without a complete Shapefile, several point layers and no choice made."""

from __future__ import annotations

import io
import math
import re
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import numpy as np

from .reader import Column, Ledger, LedgerError, LedgerSpec, Row, _lookup, normalize_header

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_UNPACKED = 1024**3  # a zip bomb stops here
POINTS = ("Point", "Point Z", "Point M", "Point ZM", "MultiPoint", "MultiPoint Z")
GEOMETRY_NAMES = {"Polygon": "面", "MultiPolygon": "面", "LineString": "线", "MultiLineString": "线",
                  "GeometryCollection": "几何集合"}
CRS_NAMES = {4326: "WGS84", 4490: "CGCS2000"}
_GK = re.compile(r"CGCS2000 / (3|6)-degree Gauss-Kruger (?:CM (\d+)E|zone (\d+))")
LON, LAT = "lon", "lat"


def is_geofile(data: bytes, filename: str) -> bool:
    name = filename.lower()
    if name.endswith(".gpkg") or data[:16] == SQLITE_MAGIC:
        return True
    if name.endswith(".zip") and data[:4] == b"PK\x03\x04":
        return True
    return False


def read_geofile(data: bytes, filename: str, spec: LedgerSpec, *, sheet: str | None = None) -> Ledger:
    """A point layer as a ledger: rows numbered as the features of the attribute table (1-based)."""
    if not any(c.field == LON for c in spec.columns):
        raise LedgerError(f"{spec.name}没有经纬度列，不能从GIS图层导入；请导出为Excel或CSV")
    with tempfile.TemporaryDirectory(prefix="pingan-geo-") as tmp:
        if data[:4] == b"PK\x03\x04":
            path, notice_cpg = _unpack_shapefile(data, Path(tmp), sheet)
            layer = None
        else:
            path = Path(tmp) / "layer.gpkg"
            path.write_bytes(data)
            layer, notice_cpg = _gpkg_layer(path, sheet), None
        return _read_layer(path, layer, spec, filename, notice_cpg)


def _unpack_shapefile(data: bytes, tmp: Path, wanted: str | None) -> tuple[Path, bool]:
    """The .shp of the zip (checked: complete, with .prj), unpacked; (path, whether a .cpg names the encoding)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise LedgerError("文件不是有效的 zip 压缩包") from None
    members = [i for i in z.infolist() if not i.is_dir()]
    if sum(i.file_size for i in members) > MAX_UNPACKED:
        raise LedgerError(f"压缩包解压后超过 {MAX_UNPACKED // 2**30} GB")
    by_stem: dict[str, dict[str, zipfile.ZipInfo]] = {}
    for info in members:
        p = PurePosixPath(info.filename.replace("\\", "/"))
        if p.name.startswith(".") or "__MACOSX" in p.parts:
            continue
        by_stem.setdefault(str(p.with_suffix("")), {})[p.suffix.lower()] = info
    shapes = {stem: parts for stem, parts in by_stem.items() if ".shp" in parts}
    if not shapes:
        raise LedgerError("压缩包里没有 Shapefile（.shp）；请把 .shp、.shx、.dbf、.prj 一起压缩后上传")
    names = sorted(PurePosixPath(stem).name for stem in shapes)
    if wanted is not None:
        shapes = {stem: parts for stem, parts in shapes.items() if PurePosixPath(stem).name == wanted}
        if not shapes:
            raise LedgerError(f"压缩包里没有名为“{wanted}”的图层", names)
    if len(shapes) > 1:
        raise LedgerError(f"压缩包里有多个图层（{'、'.join(names)}），请选择要导入的图层", names)
    stem, parts = next(iter(shapes.items()))
    layer = PurePosixPath(stem).name
    missing = [ext for ext in (".shx", ".dbf") if ext not in parts]
    if missing:
        raise LedgerError(f"Shapefile“{layer}”缺少 {'、'.join(missing)} 文件：请把同名的 .shp、.shx、.dbf、.prj 一起压缩")
    if ".prj" not in parts:
        raise LedgerError(f"Shapefile“{layer}”缺少 .prj 文件，无法确定坐标系：请在地理信息软件中为图层定义坐标系"
                          "（如 CGCS2000）后重新导出，连同 .prj 一起压缩")
    for ext, info in parts.items():
        (tmp / f"layer{ext}").write_bytes(z.read(info))
    return tmp / "layer.shp", ".cpg" in parts


def _gpkg_layer(path: Path, wanted: str | None) -> str:
    import pyogrio

    try:
        layers = [(str(n), str(t)) for n, t in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001 - GDAL's errors vary by version: any failure means not a GeoPackage
        raise LedgerError("文件不是有效的 .gpkg 地理数据文件") from None
    names = [n for n, _t in layers]
    if wanted is not None:
        if wanted not in names:
            raise LedgerError(f".gpkg 文件中没有名为“{wanted}”的图层", names)
        return wanted
    points = [n for n, t in layers if t in POINTS]
    if len(points) == 1:
        return points[0]
    if not points:
        kinds = "、".join(f"“{n}”（{_geometry_name(t)}）" for n, t in layers) or "（无）"
        raise LedgerError(f".gpkg 文件中没有点图层：{kinds}；台账只能导入点图层（每条记录一个点）")
    raise LedgerError(f".gpkg 文件中有多个点图层（{'、'.join(points)}），请选择要导入的图层", points)


def _geometry_name(kind: str | None) -> str:
    if not kind:
        return "无几何"
    base = kind.replace(" Z", "").replace(" M", "")
    return GEOMETRY_NAMES.get(base, "非点几何")


def _read_layer(path: Path, layer: str | None, spec: LedgerSpec, filename: str, has_cpg: bool | None) -> Ledger:
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception:  # noqa: BLE001
        raise LedgerError("无法读取图层：文件损坏，或不是 Shapefile / .gpkg 文件") from None
    name = layer or Path(filename).stem
    kind = info.get("geometry_type")
    if kind not in POINTS:
        raise LedgerError(f"图层“{name}”的几何类型为{_geometry_name(kind)}，台账只能导入点图层（每条记录一个点）")
    if not info.get("crs"):
        raise LedgerError(f"图层“{name}”没有定义坐标系：请在地理信息软件中定义坐标系（如 CGCS2000）后重新导出")
    encoding, gbk = None, False
    if has_cpg is False:  # no .cpg: UTF-8 if it decodes, else GBK (what Chinese ArcGIS versions write)
        encoding = "UTF-8"
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except UnicodeDecodeError:
        frame, gbk = pyogrio.read_dataframe(path, layer=layer, encoding="GB18030"), True
    except Exception:  # noqa: BLE001
        raise LedgerError(f"无法读取图层“{name}”的属性表") from None
    lon, lat = _wgs84(frame)
    ledger = _as_ledger(frame, lon, lat, spec, name, str(info["crs"]))
    ledger.encoding = "gb18030" if gbk else None  # the reader's notice: 文件按GBK（GB18030）编码读取
    return ledger


def _wgs84(frame) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's point in WGS-84 degrees (NaN without a geometry). A multipoint of one point counts as that
    point; one of several is refused."""
    import shapely

    geoms = frame.geometry.to_numpy()
    parts = shapely.get_num_geometries(geoms)
    multi = shapely.get_type_id(geoms) == 4
    if (multi & (parts > 1)).any():
        n = int(np.flatnonzero(multi & (parts > 1))[0]) + 1
        raise LedgerError(f"第{n}个要素是含多个点的多点要素，台账每条记录只能有一个点")
    geoms = np.where(multi, shapely.get_geometry(geoms, 0), geoms)
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    x, y = np.asarray(x, float), np.asarray(y, float)
    crs = frame.crs
    if crs is not None and crs.to_epsg() not in (4326, 4490):
        from pyproj import Transformer

        x, y = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(x, float), np.asarray(y, float)


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return value  # as a spreadsheet gives numbers: the ledger kinds read 12.0 as 12
    if isinstance(value, (datetime, date)):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _as_ledger(frame, lon, lat, spec: LedgerSpec, layer: str, crs: str) -> Ledger:
    known = _lookup(spec)
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for field_name in [c for c in frame.columns if c != frame.geometry.name]:
        col: Column | None = known.get(normalize_header(field_name))
        if col is None or col.field in columns or col.field in (LON, LAT):
            ignored.append(field_name)  # 经度/纬度 attributes too: the point is the geometry
            continue
        columns[col.field] = field_name
    missing = [c.header for c in spec.columns if c.required and c.field not in columns and c.field not in (LON, LAT)]
    if missing:
        other = f"；这些字段不属于模板：{'、'.join(ignored)}" if ignored else ""
        raise LedgerError(f"缺少必填列：{'、'.join(missing)}（图层“{layer}”的属性表）{other}")
    names = list(columns)
    data = [frame[columns[f]].tolist() for f in names]
    ledger = Ledger(layer, 0, {**columns, LON: "几何（经度）", LAT: "几何（纬度）"},
                    {f: "" for f in [*names, LON, LAT]}, ignored, fmt="geo")
    for i in range(len(frame)):
        values = {f: v for f, v in ((f, _cell(col[i])) for f, col in zip(names, data)) if v is not None}
        if math.isfinite(lon[i]) and math.isfinite(lat[i]):
            values[LON], values[LAT] = round(float(lon[i]), 7), round(float(lat[i]), 7)
        if values:
            ledger.rows.append(Row(i + 1, values))
    if len(ledger.rows) > spec.max_rows:
        raise LedgerError(f"图层有{len(ledger.rows)}个要素，超过单次导入上限{spec.max_rows}个，请拆分后分批导入")
    ledger.extra_notices.append(f"经纬度取自图层的点几何（{_crs_name(crs)}，已转换为WGS84经纬度）")
    return ledger


def _crs_name(crs: str) -> str:
    """The layer's coordinate system as a clerk names it (CGCS2000, 3度带高斯-克吕格投影 …)."""
    from pyproj import CRS

    try:
        c = CRS.from_user_input(crs)
    except Exception:  # noqa: BLE001
        return "文件定义的坐标系"
    epsg = c.to_epsg()
    if epsg in CRS_NAMES:
        return CRS_NAMES[epsg]
    m = _GK.match(c.name)
    if m:
        where = f"中央经线{m[2]}°E" if m[2] else f"第{m[3]}带"
        return f"CGCS2000 {m[1]}度带高斯-克吕格投影（{where}）"
    return f"投影坐标系 {epsg}" if epsg else "文件定义的坐标系"
