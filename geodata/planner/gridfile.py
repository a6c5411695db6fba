"""Import and export of grid boundaries (网格边界导入导出): GeoJSON, zipped Shapefile and GeoPackage.

Files are read and written with pyogrio, CRSs converted with pyproj, GCJ-02 with `gcj02`. Everything the
user must decide (CRS, encoding) is either found in the file, stated by the caller, or refused with a
`GridFileError` whose message (zh-CN) says what to choose. Imports come back in WGS84 as shapely
Polygons/MultiPolygons, Z dropped, otherwise as read (validity is the planner's `validity` module's job).

The two-step flow for the UI: `sniff_grid_file` (what is in the file, what is missing) then, after the
user confirmed layer/CRS/encoding, `read_grid_file`. Encodings are decided in `gridfile_encoding`, features
that cannot become grids are named in `gridfile_features`. `write_grid_file` (in `gridfile_export`) is the
export. Rules and every refusal: docs/planner-import.md.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from geodata.planner.gridfile_crs import (
    ANKANG_BOUNDS,
    CRS_CHOICES,
    CRS_LABELS,
    PROJECTED_CRS_CHOICES,
    check_bounds,
    check_lonlat,
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
from geodata.planner.gridfile_encoding import EncodingDecision, decide_encoding
from geodata.planner.gridfile_features import (
    check_text,
    code_problems,
    geometry_problems,
    refuse_or_skip,
    refuse_without_polygons,
)
from geodata.planner.gridfile_export import FORMATS, write_grid_file
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



@dataclass(frozen=True)
class FileInfo:
    format: str                     # "geojson" | "shp" | "gpkg"
    layers: tuple[str, ...]
    layer: str | None               # the polygon layer read_grid_file would read (None: several, or none)
    feature_count: int
    geometry_type: str | None
    crs: str | None                 # the file's own CRS, e.g. "EPSG:4490"; None when it has none
    encoding: str | None            # decided from .cpg, DBF code page and bytes; None when the user must choose
    fields: tuple[str, ...]
    code_field: str | None
    name_field: str | None
    needs_crs: bool                 # the user must choose a CRS before import
    needs_encoding: bool            # attributes are not valid UTF-8 and no encoding is stated
    crs_hint: str | None = None     # "GCJ02" when the filename suggests a 高德/腾讯 export
    layer_details: tuple[tuple[str, str, int], ...] = ()   # (name, geometry type, feature count) per layer
    encoding_question: str | None = None                    # why the encoding must be chosen, with samples
    encoding_samples: tuple[tuple[str, str], ...] = ()     # (encoding, "GBK：“…”（乱码）") per candidate


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


def _raw_texts(frame: pd.DataFrame) -> list[str]:
    texts = [c for c in frame.columns if isinstance(c, str)]
    for col in frame.columns:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
            texts += [v for v in frame[col] if isinstance(v, str)]
    return texts


def _shapefile_encoding(src: Source, raw: pd.DataFrame, encoding: str | None) -> EncodingDecision:
    """The encoding decided from the planner's choice, the .cpg, the DBF code page and the bytes of `raw`
    (read as ISO-8859-1)."""
    return decide_encoding(_raw_texts(raw), cpg=src.cpg, ldid=src.ldid, user=_user_encoding(encoding))


def _frame_and_encoding(src: Source, layer: str, filename: str, encoding: str | None, **kw):
    """(frame, encoding_used). Shapefiles are read once byte for byte (ISO-8859-1) and re-decoded with the
    decided encoding; when the witnesses disagree the planner is asked, with decoded samples."""
    if src.format == "gpkg":
        return _read_frame(src, layer, None, filename, **kw), None
    if src.format == "geojson":
        return _read_frame(src, layer, None, filename, **kw), "UTF-8"
    raw = _read_frame(src, layer, "ISO-8859-1", filename, **kw)  # latin-1 keeps every byte as one character
    decision = _shapefile_encoding(src, raw, encoding)
    # the decision checked every text for mojibake already
    decoded = decode_frame_strings(raw, decision.encoding, check=False) if decision.encoding else None
    if decoded is None:  # the decision saw the same strings: only a question gets here
        raise GridFileError(decision.question) if decision.question else _ask_encoding("属性表中的文字无法正确解码。")
    return decoded, decision.encoding


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


def _raw_wkb(src: Source, layer: str) -> np.ndarray | None:
    """The geometry bytes as stored, to tell a null geometry from one the parser refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return pyogrio.raw.read(src.path, layer=layer, columns=[], read_geometry=True)[2]
    except (DataSourceError, DataLayerError, GeometryError):
        return None


def _texts(frame: pd.DataFrame, field: str | None) -> list[str | None]:
    return [text_value(v) for v in frame[field]] if field else [None] * len(frame)


def _usable(frame: gpd.GeoDataFrame, wkb, code_field, name_field, partial: bool, warn: list[str]) -> gpd.GeoDataFrame:
    """The features that can become grids, 2D, one-part MultiPolygons as Polygons. Features without a usable
    polygon or without a code are named; the file is refused unless `partial`."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    refuse_without_polygons(geoms)
    codes, names = _texts(frame, code_field), _texts(frame, name_field)
    labels = [n or c for n, c in zip(names, codes)]
    check_text([(i + 1, what, text) for i, (c, n) in enumerate(zip(codes, names)) for what, text in (("编码", c), ("名称", n))])
    problems = geometry_problems(geoms, wkb, labels)
    if code_field and any(codes):
        problems += code_problems(codes, code_field, labels)
    skip, note = refuse_or_skip(sorted(problems, key=lambda p: p.number), len(frame), partial)
    if note:
        warn.append(note)
    keep = np.array([i + 1 not in skip for i in range(len(frame))])
    kept = shapely.force_2d(geoms[keep])
    single = (shapely.get_type_id(kept) == 6) & (shapely.get_num_geometries(kept) == 1)
    kept[single] = shapely.get_geometry(kept[single], 0)
    out = frame.loc[keep].copy()
    return out.set_geometry(gpd.GeoSeries(kept, index=out.index, crs=frame.crs))


def read_grid_file(
    data: bytes,
    filename: str,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    bounds=ANKANG_BOUNDS,
    layer: str | None = None,
    partial: bool = False,
) -> ImportResult:
    """Grid boundaries from an uploaded file, in WGS84. `crs` (a CRS_CHOICES key, or e.g. "EPSG:4545")
    overrides the file's; `encoding` overrides a shapefile's .cpg; `layer` picks a GeoPackage layer;
    `partial` imports the good features of a file with bad ones (named in a warning) instead of refusing it.
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
        wkb = _raw_wkb(src, layer) if frame.geometry.isna().any() else None
    if frame.empty:
        raise GridFileError("文件中没有任何要素（空图层），无法导入。")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    code_field, name_field = guess_field(columns, "code"), guess_field(columns, "name")
    frame = _usable(frame, wkb, code_field, name_field, partial, warn)
    source, label = source_crs(frame.crs, crs, src.format, warn)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if source is None or source.is_geographic:
        check_lonlat(geoms, label, bounds)
    geoms = to_wgs84(geoms, source)
    if not np.isfinite(shapely.get_coordinates(geoms)).all():
        raise GridFileError(f"按 {label} 无法把坐标转换为经纬度，请确认选择的坐标系是否正确。")
    check_bounds(geoms, bounds, frame.index.to_numpy() + 1)
    attrs = frame.drop(columns=frame.geometry.name)
    grids = []
    for geom, row in zip(geoms, attrs.to_dict("records")):
        props = row_properties(row)
        code = text_value(props.get(code_field)) if code_field else None
        name = text_value(props.get(name_field)) if name_field else None
        grids.append(ImportedGrid(geom, code, name, props))
    if code_field is None:
        warn.append("未找到网格编码字段（如 code、网格编码），导入后将按规则重新编码。")
    elif all(g.code is None for g in grids):
        warn.append(f"网格编码字段“{code_field}”全部为空，导入后将按规则重新编码。")
    return ImportResult(tuple(grids), label, encoding_used, warn, src.format, layer, code_field, name_field)


def _layer_details(src: Source, layers: list[tuple[str, str]]) -> tuple[tuple[str, str, int], ...]:
    out = []
    for name, kind in layers:
        try:
            count = int(pyogrio.read_info(src.path, layer=name).get("features") or 0)
        except (DataSourceError, DataLayerError):
            count = 0
        out.append((name, kind, count))
    return tuple(out)


def sniff_grid_file(data: bytes, filename: str) -> FileInfo:
    """What is in an uploaded file, before import: layers (with feature counts), features, fields, the
    file's CRS and encoding, and whether the user must choose a CRS or an encoding (with decoded samples
    of each candidate). Raises GridFileError for unreadable files."""
    fmt = detect_format(data, filename)
    needs_encoding, question, candidates = False, None, ()
    if fmt == "geojson":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:  # inspect the structure anyway, one character per byte
            needs_encoding, data = True, data.decode("latin-1").encode("utf-8")
            question = "GeoJSON 文件中的文字不是 UTF-8 编码，请选择字符编码（GBK / GB18030）。"
    with open_source(data, filename) as src:
        layers = list_layers(src, filename)
        if not layers:
            raise GridFileError("文件中没有任何图层，无法导入。")
        layer = polygon_layer(layers)
        details = _layer_details(src, layers)
        encoding = "UTF-8" if fmt == "geojson" else None
        info = pyogrio.read_info(src.path, layer=layer or layers[0][0], encoding="ISO-8859-1" if fmt == "shp" else None)
        fields = [str(c) for c in info["fields"]]
        if fmt == "shp":
            raw = _read_frame(src, layer, "ISO-8859-1", filename, read_geometry=False)
            decision = _shapefile_encoding(src, raw, None)
            encoding, question, candidates = decision.encoding, decision.question, decision.candidates
            needs_encoding = encoding is None
            fields = [c.encode("latin-1").decode(encoding or "utf-8", "replace") for c in fields]
    crs = info.get("crs")
    return FileInfo(
        format=fmt,
        layers=tuple(n for n, _ in layers),
        layer=layer,
        feature_count=int(info.get("features") or 0),
        geometry_type=info.get("geometry_type"),
        crs=crs,
        encoding=None if needs_encoding else encoding,
        fields=tuple(fields),
        code_field=guess_field(fields, "code"),
        name_field=guess_field(fields, "name"),
        needs_crs=crs is None and fmt != "geojson",
        needs_encoding=needs_encoding,
        crs_hint="GCJ02" if re.search(r"gcj|高德|腾讯|amap", filename or "", re.I) else None,
        layer_details=details,
        encoding_question=question,
        encoding_samples=tuple((c.encoding, c.label()) for c in candidates),
    )
