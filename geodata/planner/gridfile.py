"""Import and export of grid boundaries (网格边界导入导出): GeoJSON, zipped Shapefile and GeoPackage.

Files are read and written with pyogrio, CRSs converted with pyproj, GCJ-02 with `gcj02`. Everything the
user must decide (CRS, encoding) is either found in the file, stated by the caller, or refused with a
`GridFileError` whose message (zh-CN) says what to choose. Imports come back in WGS84 as shapely
Polygons/MultiPolygons, Z dropped, otherwise as read (validity is the planner's `validity` module's job).

The two-step flow for the UI: `sniff_grid_file` (what is in the file, what is missing) then, after the
user confirmed CRS/encoding, `read_grid_file`. `write_grid_file` is the export.
"""

from __future__ import annotations

import io
import re
import tempfile
import warnings
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from geodata.planner import gcj02
from geodata.planner.gridfile_crs import (
    ANKANG_BOUNDS,
    CRS_CHOICES,
    CRS_LABELS,
    PROJECTED_CRS_CHOICES,
    check_bounds,
    check_lonlat,
    from_wgs84,
    source_crs,
    to_wgs84,
)
from geodata.planner.gridfile_source import (
    MAX_FILE_BYTES,
    GridFileError,
    Source,
    choose_layer,
    corrupt,
    detect_format,
    list_layers,
    open_source,
    polygon_layer,
)
from geodata.planner.gridfile_text import (
    ENCODING_CHOICES,
    decode_frame_strings,
    guess_field,
    normalize_encoding,
    row_properties,
    text_value,
)

__all__ = [
    "ANKANG_BOUNDS", "CRS_CHOICES", "CRS_LABELS", "ENCODING_CHOICES", "FORMATS", "MAX_FILE_BYTES",
    "PROJECTED_CRS_CHOICES", "FileInfo", "GridFileError", "ImportResult", "ImportedGrid",
    "read_grid_file", "sniff_grid_file", "write_grid_file",
]

FORMATS = {  # fmt -> (extension of the download, mime type, label)
    "geojson": (".geojson", "application/geo+json", "GeoJSON"),
    "shp": (".zip", "application/zip", "Shapefile（zip 压缩包）"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3", "GeoPackage"),
}


@dataclass(frozen=True)
class FileInfo:
    format: str                     # "geojson" | "shp" | "gpkg"
    layers: tuple[str, ...]
    layer: str | None               # the polygon layer read_grid_file would read (None: several, or none)
    feature_count: int
    geometry_type: str | None
    crs: str | None                 # the file's own CRS, e.g. "EPSG:4490"; None when it has none
    encoding: str | None            # from the shapefile's .cpg (or DBF code page); None when not stated
    fields: tuple[str, ...]
    code_field: str | None
    name_field: str | None
    needs_crs: bool                 # the user must choose a CRS before import
    needs_encoding: bool            # attributes are not valid UTF-8 and no encoding is stated
    crs_hint: str | None = None     # "GCJ02" when the filename suggests a 高德/腾讯 export


@dataclass(frozen=True)
class ImportedGrid:
    geometry: shapely.Polygon | shapely.MultiPolygon   # WGS84, 2D
    code: str | None
    name: str | None
    properties: dict


@dataclass(frozen=True)
class ImportResult:
    grids: tuple[ImportedGrid, ...]
    crs_used: str                   # "WGS84" | "CGCS2000" | "GCJ02" | "EPSG:nnnn" | CRS name
    encoding_used: str | None       # None for GeoPackage (always UTF-8 inside SQLite)
    warnings: list[str] = field(default_factory=list)
    format: str = ""
    layer: str | None = None
    code_field: str | None = None
    name_field: str | None = None


# ---------------------------------------------------------------- encodings


def _declared_encoding(src: Source) -> str | None:
    """A shapefile's own encoding: its .cpg, else the DBF header's code page; None when it states none."""
    if src.format != "shp":
        return None
    if src.cpg:
        return normalize_encoding(src.cpg)
    stated = pyogrio.read_info(src.path).get("encoding")
    return None if stated in (None, "ISO-8859-1") else normalize_encoding(stated)


def _user_encoding(encoding: str | None) -> str | None:
    if not encoding:
        return None
    chosen = normalize_encoding(encoding)
    if chosen is None:
        raise GridFileError(f"无法识别的字符编码“{encoding}”，请选择 {'、'.join(ENCODING_CHOICES)}。")
    return chosen


def _ask_encoding(why: str) -> GridFileError:
    return GridFileError(f"{why}请选择字符编码（{'、'.join(ENCODING_CHOICES)}）后重试。")


def _read_frame(src: Source, layer: str, encoding: str | None, filename: str, **kw) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return pyogrio.read_dataframe(src.path, layer=layer, encoding=encoding, on_invalid="ignore", **kw)
    except UnicodeDecodeError as exc:
        raise _ask_encoding(f"属性表中的文字按“{encoding}”无法正确解码。") from exc
    except (DataSourceError, DataLayerError, FieldError, GeometryError) as exc:
        raise corrupt(filename, exc) from exc


def _frame_and_encoding(src: Source, layer: str, filename: str, encoding: str | None, **kw):
    """(frame, encoding_used): the user's encoding, else the file's, else UTF-8 when the raw attribute bytes
    decode cleanly as UTF-8; otherwise the user is asked to choose."""
    if src.format == "gpkg":
        return _read_frame(src, layer, None, filename, **kw), None
    if src.format == "geojson":
        return _read_frame(src, layer, None, filename, **kw), "UTF-8"
    chosen = _user_encoding(encoding) or _declared_encoding(src)
    if chosen:
        return _read_frame(src, layer, chosen, filename, **kw), chosen
    raw = _read_frame(src, layer, "ISO-8859-1", filename, **kw)  # latin-1 keeps every byte as one character
    decoded = decode_frame_strings(raw, "UTF-8")
    if decoded is None:
        raise _ask_encoding("Shapefile 没有 .cpg 编码文件，属性表中的文字也不是 UTF-8（国内数据常为 GBK）。")
    return decoded, "UTF-8"


def _geojson_as_utf8(data: bytes, encoding: str | None) -> bytes:
    """GeoJSON is UTF-8 by spec; a legacy file in another encoding is transcoded when the user names it."""
    chosen = _user_encoding(encoding)
    if chosen and chosen != "UTF-8":
        try:
            return data.decode(chosen).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise _ask_encoding(f"文件中的文字按“{encoding}”无法解码。") from exc
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _ask_encoding("GeoJSON 文件中的文字不是 UTF-8 编码。") from exc
    return data


# ---------------------------------------------------------------- reading


_KINDS = {0: "点", 1: "线", 2: "线", 4: "点", 5: "线", 7: "几何集合"}  # shapely type ids


def _polygons(frame: gpd.GeoDataFrame, warn: list[str]) -> gpd.GeoDataFrame:
    """Only the polygonal features, 2D, single-part MultiPolygons as Polygons; raise when there are none."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6)) & ~shapely.is_empty(geoms)
    if not polygonal.any():
        what = "、".join(dict.fromkeys(_KINDS.get(int(t), "空几何") for t in types))
        raise GridFileError(f"文件中没有面（多边形）要素，只有{what}，无法作为网格边界导入。")
    if not polygonal.all():
        counts = Counter(_KINDS.get(int(t), "空或无法解析的几何") for t in types[~polygonal])
        detail = "、".join(f"{kind} {n} 个" for kind, n in counts.items())
        warn.append(f"已跳过 {int((~polygonal).sum())} 个非面要素：{detail}。")
    kept = shapely.force_2d(geoms[polygonal])
    single = (shapely.get_type_id(kept) == 6) & (shapely.get_num_geometries(kept) == 1)
    kept[single] = shapely.get_geometry(kept[single], 0)
    out = frame.loc[polygonal].copy()
    return out.set_geometry(gpd.GeoSeries(kept, index=out.index, crs=frame.crs))


def read_grid_file(
    data: bytes,
    filename: str,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    bounds=ANKANG_BOUNDS,
    layer: str | None = None,
) -> ImportResult:
    """Grid boundaries from an uploaded file, in WGS84. `crs` (a CRS_CHOICES key, or e.g. "EPSG:4545")
    overrides the file's; `encoding` overrides a shapefile's .cpg; `layer` picks a GeoPackage layer.
    Raises GridFileError (zh-CN message) for anything that cannot be imported as asked."""
    if detect_format(data, filename) == "geojson":
        data = _geojson_as_utf8(data, encoding)
    warn: list[str] = []
    with open_source(data, filename) as src:
        layers = list_layers(src, filename)
        if layer is None:
            layer = choose_layer(layers)
        elif layer not in [n for n, _ in layers]:
            raise GridFileError(f"文件中没有名为“{layer}”的图层。")
        frame, encoding_used = _frame_and_encoding(src, layer, filename, encoding)
    if frame.empty:
        raise GridFileError("文件中没有任何要素（空图层），无法导入。")
    frame = _polygons(frame, warn)
    source, label = source_crs(frame.crs, crs, src.format, warn)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if source is None or source.is_geographic:
        check_lonlat(geoms, label, bounds)
    geoms = to_wgs84(geoms, source)
    if not np.isfinite(shapely.get_coordinates(geoms)).all():
        raise GridFileError(f"按 {label} 无法把坐标转换为经纬度，请确认选择的坐标系是否正确。")
    check_bounds(geoms, bounds)
    attrs = frame.drop(columns=frame.geometry.name)
    code_field, name_field = guess_field(attrs.columns, "code"), guess_field(attrs.columns, "name")
    grids = []
    for geom, row in zip(geoms, attrs.to_dict("records")):
        props = row_properties(row)
        code = text_value(props.get(code_field)) if code_field else None
        name = text_value(props.get(name_field)) if name_field else None
        grids.append(ImportedGrid(geom, code, name, props))
    if code_field is None:
        warn.append("未找到网格编码字段（如 code、网格编码），导入后将按规则重新编码。")
    return ImportResult(tuple(grids), label, encoding_used, warn, src.format, layer, code_field, name_field)


def sniff_grid_file(data: bytes, filename: str) -> FileInfo:
    """What is in an uploaded file, before import: layers, features, fields, the file's CRS and encoding,
    and whether the user must choose a CRS or an encoding. Raises GridFileError for unreadable files."""
    fmt = detect_format(data, filename)
    needs_encoding = False
    if fmt == "geojson":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:  # inspect the structure anyway, one character per byte
            needs_encoding, data = True, data.decode("latin-1").encode("utf-8")
    with open_source(data, filename) as src:
        layers = list_layers(src, filename)
        if not layers:
            raise GridFileError("文件中没有任何图层，无法导入。")
        layer = polygon_layer(layers)
        encoding = _declared_encoding(src) if fmt == "shp" else ("UTF-8" if fmt == "geojson" else None)
        undecided = fmt == "shp" and encoding is None
        info = pyogrio.read_info(src.path, layer=layer or layers[0][0], encoding="ISO-8859-1" if undecided else encoding)
        fields = [str(c) for c in info["fields"]]
        if undecided:
            raw = _read_frame(src, layer, "ISO-8859-1", filename, read_geometry=False)
            decoded = decode_frame_strings(raw, "UTF-8")
            needs_encoding = decoded is None
            fields = [c.encode("latin-1").decode("utf-8", "replace") for c in fields] if needs_encoding else list(decoded.columns)
    crs = info.get("crs")
    return FileInfo(
        format=fmt,
        layers=tuple(n for n, _ in layers),
        layer=layer,
        feature_count=int(info.get("features") or 0),
        geometry_type=info.get("geometry_type"),
        crs=crs,
        encoding=None if needs_encoding and fmt == "geojson" else encoding,
        fields=tuple(fields),
        code_field=guess_field(fields, "code"),
        name_field=guess_field(fields, "name"),
        needs_crs=crs is None and fmt != "geojson",
        needs_encoding=needs_encoding,
        crs_hint="GCJ02" if re.search(r"gcj|高德|腾讯|amap", filename or "", re.I) else None,
    )


# ---------------------------------------------------------------- writing


def _int_column(grids: Sequence[Mapping], key: str):
    values = [g.get(key) for g in grids]
    return pd.array([None if v is None else int(v) for v in values], dtype="Int64")


def write_grid_file(
    grids: Sequence[Mapping], fmt: str, *, crs: str = "WGS84", layer: str = "grids"
) -> tuple[bytes, str, str]:
    """(content, filename, mime) of the grids ({code, name, village_code, households, residents, geometry
    in WGS84}) as GeoJSON, a zipped Shapefile (UTF-8, with .cpg and .prj) or a GeoPackage, in WGS84,
    CGCS2000 or GCJ-02. GCJ-02 files are labelled WGS84 inside (no CRS code exists for it); their
    filename says GCJ02. Raises GridFileError for an unknown format/CRS or nothing to export."""
    if fmt not in FORMATS:
        raise GridFileError(f"不支持的导出格式“{fmt}”，可选：{'、'.join(FORMATS)}。")
    key = crs.strip().upper().replace("-", "")
    if key not in CRS_CHOICES:
        raise GridFileError(f"不支持的导出坐标系“{crs}”，可选：WGS84、CGCS2000、GCJ02。")
    if not grids:
        raise GridFileError("没有可导出的网格。")
    geoms = shapely.force_2d(np.array([g["geometry"] for g in grids], dtype=object))
    if key == "GCJ02":
        geoms, out_crs = gcj02.transform_geometry(geoms, gcj02.wgs84_to_gcj02), "EPSG:4326"
    else:
        out_crs = CRS_CHOICES[key]
        geoms = from_wgs84(geoms, out_crs)
    village = "vill_code" if fmt == "shp" else "village_code"
    frame = gpd.GeoDataFrame(
        {
            "code": [text_value(g.get("code")) for g in grids],
            "name": [text_value(g.get("name")) for g in grids],
            village: [text_value(g.get("village_code")) for g in grids],
            "households": _int_column(grids, "households"),
            "residents": _int_column(grids, "residents"),
        },
        geometry=gpd.GeoSeries(geoms, crs=out_crs),
        crs=out_crs,
    )
    stem = re.sub(r"[^\w\-]+", "_", layer).strip("_") or "grids"
    ext, mime, _ = FORMATS[fmt]
    with tempfile.TemporaryDirectory(prefix="gridfile-out-") as tmp:
        driver = {"geojson": "GeoJSON", "shp": "ESRI Shapefile", "gpkg": "GPKG"}[fmt]
        path = Path(tmp) / f"{stem}.{'shp' if fmt == 'shp' else fmt}"
        pyogrio.write_dataframe(frame, path, layer=stem, driver=driver, encoding="UTF-8" if fmt == "shp" else None)
        if fmt != "shp":
            content = path.read_bytes()
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for part in sorted(Path(tmp).iterdir()):
                    zf.write(part, part.name)
            content = buffer.getvalue()
    return content, f"{stem}_{key}{ext}", mime
