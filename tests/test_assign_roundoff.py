"""Real coverages carry round-off: neighbouring grids of different villages meet along collinear edges
split at different vertices (T-junctions). The engine must still give every interior point its grid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely

from geodata.assign import PolygonIndex

FIXTURE = Path(__file__).parent / "fixtures" / "engine_tjunction_repro.json"


def test_tjunction_sliver_does_not_push_points_outside():
    data = json.loads(FIXTURE.read_text())
    polys = [shapely.from_wkt(w) for w in data["wkt"]]
    index = PolygonIndex.build(data["codes"], polys)
    pts = np.array(data["inside_points"])
    assert (index.assign(pts[:, 0], pts[:, 1]).poly_idx == 0).all()


def test_collinear_edges_split_at_different_vertices():
    """A square split into two by x = 1; the right half's west edge has an extra vertex whose
    coordinate is off the line by round-off, the left half's east edge has none."""
    left = shapely.Polygon([(0, 0), (1, 0), (1, 3), (0, 3)])
    right = shapely.Polygon([(1, 0), (2, 0), (2, 3), (1, 3), (1 + 1e-15, 1.7)])
    index = PolygonIndex.build(["L", "R"], [left, right])
    y = np.linspace(0.01, 2.99, 301)
    assert (index.assign(np.full_like(y, 0.5), y).poly_idx == 0).all()
    assert (index.assign(np.full_like(y, 1.5), y).poly_idx == 1).all()
