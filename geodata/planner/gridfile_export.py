"""Export of grid boundaries (网格边界导出): GeoJSON, zipped Shapefile (UTF-8, with .cpg and .prj) or GeoPackage,
in WGS84, CGCS2000 or GCJ-02. Re-exported by `gridfile`."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geodata.planner import gcj02
from geodata.planner.gridfile_crs import CRS_CHOICES, from_wgs84
from geodata.planner.gridfile_source import GridFileError
from geodata.planner.gridfile_text import text_value

FORMATS = {  # fmt -> (extension of the download, mime type, label)
    "geojson": (".geojson", "application/geo+json", "GeoJSON"),
    "shp": (".zip", "application/zip", "Shapefile（zip 压缩包）"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3", "GeoPackage"),
}



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
