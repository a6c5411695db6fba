"""Exact, fast point -> polygon assignment (grids, villages, towns, counties).

    from geodata.assign import PolygonIndex, assign_points
    index = PolygonIndex.build(codes, polygons)          # shapely (Multi)Polygons, lon/lat
    res = index.assign(lon, lat)                          # AssignResult
    res.poly_idx, res.codes, res.outside, res.nearest_idx, res.nearest_distance_m
    index.lookup(lon, lat)                                # single point -> code | None

See docs/assignment.md for the algorithm and the exact boundary (tie) rule.
"""
from .index import AssignResult, PolygonIndex, assign_points
from .lookup import AreaAssignment, assign_areas, point_to_areas
from .validate import InvalidPointsError, InvalidPolygonsError

__all__ = [
    "AreaAssignment", "AssignResult", "InvalidPointsError", "InvalidPolygonsError",
    "PolygonIndex", "assign_areas", "assign_points", "point_to_areas",
]
