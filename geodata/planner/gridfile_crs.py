"""CRS side of grid files: the choices offered to the user, conversion to and from WGS84 (pyproj; GCJ-02
through `gcj02`), and the sanity checks that catch a wrong CRS (not lon/lat, swapped axes, far outside
Ankang). Used by `gridfile`."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from geodata.planner import gcj02
from geodata.planner.gridfile_source import GridFileError

# (min lon, min lat, max lon, max lat): Ankang with a margin; anything outside is a wrong CRS or a wrong file.
ANKANG_BOUNDS = (106.0, 31.3, 110.5, 33.9)

CRS_CHOICES = {"WGS84": "EPSG:4326", "CGCS2000": "EPSG:4490", "GCJ02": "GCJ02"}
CRS_LABELS = {
    "WGS84": "WGS84 经纬度（GPS、奥维等，EPSG:4326）",
    "CGCS2000": "CGCS2000 国家大地坐标系经纬度（天地图、国土数据，EPSG:4490）",
    "GCJ02": "GCJ-02 火星坐标（高德、腾讯地图导出）",
}
# Projected CGCS2000 zones covering Ankang, for files whose .prj is missing (stated as crs="EPSG:4545" etc.).
PROJECTED_CRS_CHOICES = {
    "EPSG:4545": "CGCS2000 高斯-克吕格 3 度带 中央经线 108°E（无带号，EPSG:4545）",
    "EPSG:4546": "CGCS2000 高斯-克吕格 3 度带 中央经线 111°E（无带号，EPSG:4546）",
    "EPSG:4524": "CGCS2000 高斯-克吕格 3 度带 第 36 带（带号前缀，EPSG:4524）",
    "EPSG:4525": "CGCS2000 高斯-克吕格 3 度带 第 37 带（带号前缀，EPSG:4525）",
}


def crs_label(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    for key, value in CRS_CHOICES.items():
        if epsg is not None and value == f"EPSG:{epsg}":
            return key
    return f"EPSG:{epsg}" if epsg else crs.name


def stated_crs(crs: str) -> pyproj.CRS | None:
    """pyproj CRS for a stated choice (a CRS_CHOICES key or anything pyproj accepts); None for GCJ-02."""
    key = crs.strip().upper().replace("-", "")
    if key == "GCJ02":
        return None
    try:
        return pyproj.CRS.from_user_input(CRS_CHOICES.get(key, crs))
    except pyproj.exceptions.CRSError as exc:
        raise GridFileError(f"无法识别的坐标系“{crs}”，请选择 WGS84、CGCS2000 或 GCJ-02。") from exc


def to_wgs84(geoms: np.ndarray, source: pyproj.CRS | None) -> np.ndarray:
    if source is None:
        return gcj02.transform_geometry(geoms, gcj02.gcj02_to_wgs84)
    if source.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return geoms
    transformer = pyproj.Transformer.from_crs(source, 4326, always_xy=True)
    return gcj02.transform_geometry(geoms, transformer.transform)


_SWAPPED = "经度和纬度似乎颠倒了，请在 GIS 软件中检查后重新导出。"


def _swapped_into(geoms: np.ndarray, bounds) -> bool:
    """True when exchanging x and y would put every feature inside `bounds` (lat/lon order mix-up)."""
    swapped = gcj02.transform_geometry(geoms, lambda x, y: (y, x))
    return bool(shapely.contains(shapely.box(*bounds), swapped).all())


def check_lonlat(geoms: np.ndarray, label: str, bounds) -> None:
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        if _swapped_into(geoms, bounds):
            raise GridFileError(_SWAPPED)
        raise GridFileError(
            f"按 {label} 读取时坐标数值（如 {xmax:.0f}, {ymax:.0f}）不是经纬度，文件可能是投影坐标"
            "（如 CGCS2000 高斯-克吕格 3 度带）。请选择正确的坐标系。"
        )


def check_bounds(geoms: np.ndarray, bounds, numbers=None) -> None:
    """Refuse features not inside `bounds`, telling how many, which (`numbers`: their 1-based numbers in the
    file) and how far (km from the box)."""
    xmin, ymin, xmax, ymax = bounds
    outside = ~shapely.contains(shapely.box(*bounds), geoms)
    if not outside.any():
        return
    geod = pyproj.Geod(ellps="WGS84")
    far = 0.0
    for geom in geoms[outside]:
        xy = shapely.get_coordinates(geom)
        cx, cy = np.clip(xy[:, 0], xmin, xmax), np.clip(xy[:, 1], ymin, ymax)
        far = max(far, float(np.max(geod.inv(cx, cy, xy[:, 0], xy[:, 1])[2])))
    hint = _SWAPPED if _swapped_into(geoms, bounds) else "请检查坐标系是否选对。"
    numbers = np.arange(1, len(geoms) + 1) if numbers is None else np.asarray(numbers)
    which = "、".join(str(int(n)) for n in numbers[outside][:10]) + ("…" if outside.sum() > 10 else "")
    raise GridFileError(
        f"有 {int(outside.sum())} 个要素（共 {len(geoms)} 个；第 {which} 个）超出安康市范围（经度 {xmin}–{xmax}，"
        f"纬度 {ymin}–{ymax}），最远约 {far / 1000:,.1f} 公里。{hint}"
    )


def source_crs(frame_crs, stated: str | None, fmt: str, warn: list[str]):
    """(pyproj CRS or None for GCJ-02, label) of the coordinates as read."""
    if stated:
        source = stated_crs(stated)
        key = stated.strip().upper().replace("-", "")
        label = key if key in CRS_CHOICES else crs_label(source)
        if frame_crs is not None and fmt != "geojson" and label != crs_label(frame_crs):
            warn.append(f"已按您选择的坐标系 {label} 读取；文件自带的坐标系为 {crs_label(frame_crs)}。")
        return source, label
    if frame_crs is not None:
        return frame_crs, crs_label(frame_crs)
    if fmt == "geojson":
        return pyproj.CRS.from_epsg(4326), "WGS84"
    missing = "缺少 .prj 坐标系文件" if fmt == "shp" else "没有声明坐标系"
    raise GridFileError(f"文件{missing}，无法确定坐标系。请选择坐标系（WGS84、CGCS2000 或 GCJ-02）后重试。")


def from_wgs84(geoms: np.ndarray, target: str) -> np.ndarray:
    transformer = pyproj.Transformer.from_crs(4326, target, always_xy=True)
    if transformer.source_crs.equals(transformer.target_crs):
        return geoms
    return gcj02.transform_geometry(geoms, transformer.transform)
