"""护路护线线路台账 (docs/safety.md): railway and highway sections with their risk level, keyed by 线路编号. The line is
a WKT LINESTRING in WGS-84 degrees (the exchange package writes it so; QGIS's 「复制为 WKT」 too). Like the demo
world's sections, a line is located at its midpoint (its grid decides the scope) and lists every grid it crosses
(points every SAMPLE_M metres along it)."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

from console.ledgers.reader import Column, LedgerSpec
from console.store.codes import LINE_KINDS, RISK_ALIASES, RISK_LEVELS
from console.store.grid_locator import locator_for
from console.store.safety_models import SafetyLine

from . import values as v
from .kinds import Converted, LedgerKind, _collect

SAMPLE_M = 150.0  # as world/safety.py: the responsible grids are those of points this far apart
LINE_ALIASES = {"铁路线": "railway", "高铁": "railway", "普速铁路": "railway", "高速": "highway", "公路": "highway",
                "国道": "highway"}
MAX_VERTICES = 20_000
WGS84 = Geod(ellps="WGS84")


def geometry_of(text) -> tuple[shapely.LineString | None, str | None]:
    """The WKT cell → a LineString snapped to 1e-6° (as stored), or the problem."""
    raw = v.cell_text(text)
    if not raw:
        return None, "线路几何（WKT）不能为空"
    try:
        geom = shapely.from_wkt(raw)
    except shapely.errors.GEOSException:
        return None, "线路几何应为WKT格式的LINESTRING（如 LINESTRING (108.1 32.6, 108.2 32.7)）"
    if geom is None or geom.geom_type != "LineString" or geom.is_empty:
        kind = "空" if geom is None or geom.is_empty else geom.geom_type
        return None, f"线路几何应为一条LINESTRING，不是{kind}"
    if len(geom.coords) > MAX_VERTICES:
        return None, f"线路几何有{len(geom.coords)}个顶点，超过{MAX_VERTICES}个"
    x0, y0, x1, y1 = geom.bounds
    for lon, lat in ((x0, y0), (x1, y1)):
        _, problem = v.coordinate(lon, lat)
        if problem:
            return None, "线路几何：" + problem
    return shapely.set_precision(geom, 1e-6), None


def _line(values: dict) -> Converted:
    out: dict = {}
    problems: list[str] = []
    _collect(out, problems, "code", v.record_code(values.get("code"), "线路编号"))
    _collect(out, problems, "name", v.plain(values.get("name"), 128, "线路名称"))
    _collect(out, problems, "kind", v.code(values.get("kind"), LINE_KINDS, "线路类别", LINE_ALIASES))
    _collect(out, problems, "risk_level", v.code(values.get("risk_level") or "一般风险", RISK_LEVELS, "风险等级",
                                                 RISK_ALIASES))
    geom, problem = geometry_of(values.get("geometry"))
    if problem:
        problems.append(problem)
    else:
        mid = geom.interpolate(0.5, normalized=True)
        x0, y0, x1, y1 = geom.bounds
        out.update(geometry=shapely.to_geojson(geom), length_m=round(WGS84.geometry_length(geom), 1), lon=mid.x, lat=mid.y,
                   min_lon=x0, min_lat=y0, max_lon=x1, max_lat=y1)
    out["synthetic"] = False
    return out, problems


def _place(session, rows, scope, refuse) -> None:
    """Each line's grid is its midpoint's; its responsible grids those its sample points fall in, its own first."""
    locator = locator_for(session)
    for r in rows:
        rec = r.record
        where = locator.locate_many(np.array([rec["lon"]]), np.array([rec["lat"]]))[0]
        if where is None:
            refuse(r, f"线路中点 ({rec['lon']:.6f}, {rec['lat']:.6f}) 不在任何现行网格内")
            continue
        rec.update(where)
        if not scope.allows(rec["grid_code"]):
            refuse(r, "位置不在您的数据范围内")
            continue
        geom = shapely.from_geojson(rec["geometry"])
        n = max(2, int(rec["length_m"] // SAMPLE_M) + 1)
        pts = shapely.get_coordinates(shapely.line_interpolate_point(geom, np.linspace(0.01, 0.99, n),
                                                                      normalized=True))
        crossed = [w["grid_code"] for w in locator.locate_many(pts[:, 0], pts[:, 1]) if w]
        own = rec["grid_code"]
        rec["grids"] = ",".join([own, *(g for g in dict.fromkeys(crossed) if g != own)])


def wkt_of(geojson: str) -> str:
    """The stored line as the ledger writes it (6 decimals: the stored precision)."""
    return shapely.to_wkt(shapely.from_geojson(geojson), rounding_precision=6)


SAFETY_LINES = LedgerKind(
    key="safety_line", label="护路护线线路台账", model=SafetyLine, natural_key="code", convert=_line,
    placement=_place, compared=("name", "kind", "risk_level", "geometry"),
    spec=LedgerSpec("护路护线线路台账", (
        Column("code", "线路编号", True, ("编号", "路段编号", "线路编码")),
        Column("name", "线路名称", True, ("名称", "路段名称")),
        Column("kind", "线路类别", True, ("类别", "线路类型", "类型")),
        Column("risk_level", "风险等级", False, ("风险级别", "等级")),
        Column("geometry", "线路几何", True, ("几何", "WKT", "geometry", "线路几何(WKT)")),
    )))
