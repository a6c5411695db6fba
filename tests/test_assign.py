"""geodata.assign: exact point -> polygon assignment, tie rule, nearest, validation."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box

from geodata.assign import (InvalidPointsError, InvalidPolygonsError, PolygonIndex,
                            assign_areas, assign_points, point_to_areas)
from geodata.assign.kernels import on_or_east

GEOD = Geod(ellps="WGS84")
CELL_SIZES = [None, 0.07, 5.0]  # default, fine, a single coarse cell


def square(i, j, s=1.0):
    return box(i * s, j * s, (i + 1) * s, (j + 1) * s)


def checkerboard():
    codes = [f"c{i}{j}" for j in range(3) for i in range(3)]
    return codes, [square(i, j) for j in range(3) for i in range(3)]


def holed():
    ring = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (1, 3), (3, 3), (3, 1)]])
    return ["ring", "fill"], [ring, box(1, 1, 3, 3)]


def multi():
    mp = MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)])
    return ["mp", "mid"], [mp, box(1, 0, 2, 0.5)]


def ushape():
    u = Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)])
    return ["u"], [u]


def two_squares():
    return ["a", "b"], [square(0, 0), square(1, 0)]


def voronoi(n=300, seed=7):
    rng = np.random.default_rng(seed)
    frame = box(0, 0, 10, 10)
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(rng.uniform(0, 10, (n, 2))), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    return [f"v{i:03d}" for i in range(len(cells))], list(cells)


FIXTURES = {"two_squares": two_squares, "checkerboard": checkerboard, "holed": holed,
            "multi": multi, "ushape": ushape}


def reference(polys, x, y):
    """Polygon containing each point per shapely (-1 none, -2 several)."""
    hits = np.stack([shapely.contains_xy(p, x, y) for p in polys])
    out = np.where(hits.any(0), hits.argmax(0), -1)
    return np.where(hits.sum(0) > 1, -2, out)


def off_edges(polys, x, y, tol=1e-9):
    """True where a point is farther than tol from every polygon boundary."""
    tree = shapely.STRtree(shapely.boundary(np.asarray(polys, dtype=object)))
    near, _ = tree.query(shapely.points(x, y), predicate="dwithin", distance=tol)
    ok = np.ones(len(x), bool)
    ok[near] = False
    return ok


# ----------------------------------------------------------------- exact containment
@pytest.mark.parametrize("cell", CELL_SIZES)
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_random_points_match_shapely(name, cell):
    codes, polys = FIXTURES[name]()
    rng = np.random.default_rng(len(name))
    x0, y0, x1, y1 = shapely.total_bounds(polys)
    x = rng.uniform(x0 - 0.5, x1 + 0.5, 4000)
    y = rng.uniform(y0 - 0.5, y1 + 0.5, 4000)
    res = PolygonIndex.build(codes, polys, cell).assign(x, y)
    ok = off_edges(polys, x, y)
    assert ok.mean() > 0.99
    np.testing.assert_array_equal(res.poly_idx[ok], reference(polys, x, y)[ok])
    assert set(res.outside) == set(np.flatnonzero(res.poly_idx < 0))


def test_voronoi_matches_strtree():
    codes, polys = voronoi()
    rng = np.random.default_rng(11)
    xy = rng.uniform(-0.5, 10.5, (100_000, 2))
    res = PolygonIndex.build(codes, polys).assign(xy[:, 0], xy[:, 1])
    pi, gi = shapely.STRtree(polys).query(shapely.points(xy), predicate="within")
    ref = np.full(len(xy), -1)
    ref[pi] = gi
    assert np.unique(pi).size == pi.size  # no point within two cells
    ok = off_edges(polys, xy[:, 0], xy[:, 1])
    assert ok.mean() > 0.999
    assert (res.poly_idx[ok] == ref[ok]).mean() == 1.0


def test_codes_holes_and_multipolygon():
    codes, polys = holed()
    res = assign_points(codes, polys, [0.5, 2.0, 3.5, 5.0], [0.5, 2.0, 2.0, 5.0])
    assert list(res.codes) == ["ring", "fill", "ring", None]
    codes, polys = multi()
    idx = PolygonIndex.build(codes, polys)
    assert [idx.lookup(x, 0.7) for x in (0.5, 1.5, 2.5)] == ["mp", None, "mp"]
    assert idx.lookup(1.5, 0.25) == "mid"


def test_concave_notch_is_outside_with_nearest():
    codes, polys = ushape()
    res = assign_points(codes, polys, [0.5, 1.5, 2.5, 1.5], [2.5, 2.5, 2.5, 0.5])
    assert res.poly_idx.tolist() == [0, -1, 0, 0]
    assert res.outside.tolist() == [1]
    assert res.nearest_idx.tolist() == [0]
    # 0.5 deg east-west at lat 2.5 (nearest arm), a local flat-earth check to 0.5 %
    assert res.nearest_distance_m[0] == pytest.approx(GEOD.inv(1.5, 2.5, 1.0, 2.5)[2], rel=1e-3)


# --------------------------------------------------------------------------- tie rule
@pytest.mark.parametrize("cell", CELL_SIZES)
def test_tie_rule_two_squares(cell):
    idx = PolygonIndex.build(*two_squares(), cell)
    x = [1.0, 1.0, 1.0, 0.0, 2.0, 0.5, 1.5, 0.5, 0.0, 2.0]
    y = [0.5, 0.0, 1.0, 0.5, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0]
    res = idx.assign(x, y)
    #            shared   SE vtx  NE vtx  W edge  E edge  S edge  S edge  N edge  SW  SE
    assert list(res.codes) == ["b", "b", None, "a", None, "a", "b", None, "a", None]
    assert np.all(res.nearest_distance_m == 0.0)
    assert list(res.nearest_codes) == ["a", "b", "a", "b"]


@pytest.mark.parametrize("cell", CELL_SIZES)
def test_tie_rule_checkerboard(cell):
    codes, polys = checkerboard()
    idx = PolygonIndex.build(codes, polys, cell)
    t = np.linspace(0.125, 2.875, 23)  # exact binary fractions, none on a grid line
    for k in (1.0, 2.0):
        # vertical shared edges x = k -> the square to the east
        assert list(idx.assign(np.full_like(t, k), t).codes) == \
            [f"c{int(k)}{int(v)}" for v in t]
        # horizontal shared edges y = k -> the square to the north
        assert list(idx.assign(t, np.full_like(t, k)).codes) == \
            [f"c{int(v)}{int(k)}" for v in t]
    # each vertex goes to the square to its north-east (if any)
    vx, vy = np.meshgrid(np.arange(4.0), np.arange(4.0))
    got = idx.assign(vx.ravel(), vy.ravel()).codes
    want = [f"c{int(a)}{int(b)}" if a < 3 and b < 3 else None
            for a, b in zip(vx.ravel(), vy.ravel())]
    assert list(got) == want


@pytest.mark.parametrize("cell", CELL_SIZES)
def test_tie_rule_hole_boundary(cell):
    codes, polys = holed()
    x, y = [1.0, 3.0, 2.0, 2.0, 1.0], [2.0, 2.0, 1.0, 3.0, 1.0]
    #  hole side:  west    east    south   north   SW corner
    assert list(PolygonIndex.build(codes, polys, cell).assign(x, y).codes) == \
        ["fill", "ring", "fill", "ring", "fill"]
    res = PolygonIndex.build(codes[:1], polys[:1], cell).assign(x, y)  # empty hole
    assert list(res.codes) == [None, "ring", None, "ring", None]
    assert np.all(res.nearest_distance_m == 0.0) and np.all(res.nearest_idx == 0)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELL_SIZES)
def test_tie_rule_slanted_edge(cell, reverse):
    # unit square cut along y = x (lower-right triangle is east of the cut) and a
    # square cut along y = 1 - x; rings given in both orientations and both orders
    lower = Polygon([(0, 0), (1, 0), (1, 1)])
    upper = Polygon([(0, 0), (1, 1), (0, 1)])
    left = Polygon([(2, 0), (3, 0), (2, 1)])
    right = Polygon([(3, 0), (3, 1), (2, 1)])
    polys = [lower, upper, left, right]
    if reverse:
        polys = [p.reverse() for p in polys[::-1]]
    codes = ["lower", "upper", "left", "right"]
    codes = codes[::-1] if reverse else codes
    idx = PolygonIndex.build(codes, polys, cell)
    k = np.arange(1, 64) / 64.0
    assert set(idx.assign(k, k).codes) == {"lower"}
    assert set(idx.assign(2.0 + k, 1.0 - k).codes) == {"right"}


@pytest.mark.parametrize("cell", [None, 0.013])
def test_points_exactly_on_steep_slanted_edges_go_east(cell):
    # edges whose crossing abscissa is not exactly representable: the exact
    # predicate must still put points lying exactly on them in the east polygon
    rng = np.random.default_rng(3)
    for _ in range(20):
        p, q = rng.integers(1, 9, 2)
        a = Polygon([(0, 0), (p, q), (-5, q), (-5, 0)])  # west of the edge
        b = Polygon([(0, 0), (8, 0), (8, q), (p, q)])    # east of the edge
        idx = PolygonIndex.build(["w", "e"], [a, b], cell)
        kk = np.arange(1, 256) / 256.0
        x, y = kk * p, kk * q  # exactly on the edge (dyadic multiples)
        assert set(idx.assign(x, y).codes) == {"e"}, (p, q)
        assert set(idx.assign(np.nextafter(x, -np.inf), y).codes) == {"w"}, (p, q)


def test_voronoi_on_edge_and_vertex_points_follow_rule():
    codes, polys = voronoi(120, seed=5)
    idx = PolygonIndex.build(codes, polys)
    tree = shapely.STRtree(polys)
    xs, ys, want = [], [], []
    for i, p in enumerate(polys):
        for (x, y) in list(p.exterior.coords)[:-1]:
            if not (0 < x < 10 and 0 < y < 10):
                continue
            d = 1e-7  # rule: the polygon containing (x + d, y + d * 1e-3)
            hits = [int(j) for j in tree.query(shapely.points(x + d, y + d * 1e-3))
                    if shapely.contains_xy(polys[j], x + d, y + d * 1e-3)]
            if len(hits) == 1:
                xs.append(x), ys.append(y), want.append(hits[0])
    assert len(xs) > 300
    np.testing.assert_array_equal(idx.assign(xs, ys).poly_idx, want)


def test_exact_predicate_matches_fractions():
    rng = np.random.default_rng(1)
    for _ in range(3000):
        xl, yl = rng.uniform(107, 111), rng.uniform(31, 34)
        xh, yh = xl + rng.uniform(-1, 1), yl + rng.uniform(1e-6, 1)
        s = rng.uniform(0, 1)
        px = np.nextafter(xl + s * (xh - xl), np.inf * rng.choice([-1, 1]))
        px = px if rng.uniform() < 0.5 else xl + s * (xh - xl)
        py = yl + s * (yh - yl)
        det = ((Fraction(px) - Fraction(xl)) * (Fraction(yh) - Fraction(yl))
               - (Fraction(py) - Fraction(yl)) * (Fraction(xh) - Fraction(xl)))
        assert on_or_east(px, py, xl, yl, xh, yh) == (det >= 0)


# ------------------------------------------------------------------- outside/nearest
def geod_min(poly, x, y, step=0.0005):
    """Geodesic distance (m) from (x, y) to the densified boundary of poly."""
    c = np.array(shapely.segmentize(poly.exterior, step).coords)
    return GEOD.inv(np.full(len(c), x), np.full(len(c), y), c[:, 0], c[:, 1])[2].min()


def test_outside_points_nearest_and_geodesic_distance():
    polys = [box(109.0, 32.5, 109.1, 32.6), box(109.1, 32.5, 109.2, 32.6),
             Polygon([(109.3, 32.7), (109.5, 32.72), (109.4, 32.9)])]
    codes = ["610902001001001", "610902001001002", "610902001002001"]
    idx = PolygonIndex.build(codes, polys)
    rng = np.random.default_rng(2)
    x = rng.uniform(108.5, 110.0, 400)
    y = rng.uniform(32.0, 33.4, 400)
    x = np.append(x, [-120.0, 0.0])  # far away points are still reported
    y = np.append(y, [45.0, -60.0])
    res = idx.assign(x, y)
    assert res.outside.size > 350
    for j in list(range(0, res.outside.size, 4)) + [res.outside.size - 2, res.outside.size - 1]:
        i = res.outside[j]
        ref = [geod_min(p, x[i], y[i]) for p in polys]
        if i < 400:  # nearby: the right polygon (nearest distances differ by > 1 %)
            if sorted(ref)[1] > 1.01 * min(ref):
                assert res.nearest_idx[j] == int(np.argmin(ref))
        assert res.nearest_distance_m[j] == pytest.approx(min(ref), rel=0.01)
    assert res.nearest_distance_m[-2] > 10_000_000


def test_nearest_candidate_grid_matches_tree_search():
    rng = np.random.default_rng(9)
    frame = Polygon([(108, 32), (109, 32), (109, 33), (108.7, 33), (108.6, 32.3),
                     (108.4, 32.3), (108.3, 33), (108, 33)])
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(rng.uniform((108, 32), (109, 33), (200, 2))), extend_to=frame))
    cells = [c for c in shapely.intersection(cells, frame) if not c.is_empty]
    cells = [c if c.geom_type in ("Polygon", "MultiPolygon") else
             shapely.union_all([p for p in shapely.get_parts(c) if p.geom_type == "Polygon"])
             for c in cells]
    idx = PolygonIndex.build([f"g{i}" for i in range(len(cells))], cells)
    x, y = rng.uniform(107.0, 110.0, 20_000), rng.uniform(31.0, 34.0, 20_000)
    outer = idx._outer
    outer.GRID_MIN_POINTS = 0
    p_grid, d_grid = outer.nearest(x, y)
    assert outer._grid is not None and outer._grid[6].mean() > 0.5
    outer.GRID_MIN_POINTS = 10**12
    p_tree, d_tree = outer.nearest(x, y)
    np.testing.assert_array_equal(p_grid, p_tree)
    np.testing.assert_array_equal(d_grid, d_tree)
    res = idx.assign(x, y)  # inside points agree with shapely, outside get a neighbour
    inside = reference(cells, x, y)
    ok = off_edges(cells, x, y)
    np.testing.assert_array_equal(res.poly_idx[ok], inside[ok])


def test_points_outside_extent_and_empty_input():
    idx = PolygonIndex.build(*two_squares())
    res = idx.assign([-179.0, 179.0, 0.5, 100.0, -100.0, 2.5],
                     [-89.0, 89.0, 90.0, 0.5, 0.5, 0.5])
    assert res.poly_idx.tolist() == [-1] * 6 and res.outside.tolist() == list(range(6))
    assert res.nearest_idx[3:].tolist() == [1, 0, 1]
    assert np.all(np.isfinite(res.nearest_distance_m)) and np.all(res.nearest_distance_m > 0)
    for k in (3, 4, 5):
        ref = geod_min([square(0, 0), square(1, 0)][res.nearest_idx[k]], [100, -100, 2.5][k - 3],
                       0.5)
        assert res.nearest_distance_m[k] == pytest.approx(ref, rel=1e-3)
    empty = idx.assign(np.empty(0), np.empty(0))
    assert len(empty) == 0 and empty.outside.size == 0 and empty.codes.size == 0


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize("lon,lat,needle", [
    ([0.5, np.nan, 0.5], [0.5, 0.5, 0.5], "NaN/inf coordinates (indices 1)"),
    ([0.5, 0.5, np.inf, 0.5], [0.5, 0.5, 0.5, -np.inf], "(indices 2, 3)"),
    ([0.5, 0.5], [0.5, 100.0], "outside lon [-180, 180] / lat [-90, 90] (indices 1)"),
    ([181.0] * 8, [0.0] * 8, "8 point(s) outside"),
])
def test_invalid_points(lon, lat, needle):
    idx = PolygonIndex.build(*two_squares())
    with pytest.raises(InvalidPointsError) as ei:
        idx.assign(lon, lat)
    assert needle in str(ei.value)
    bad = int(ei.value.indices[0])
    with pytest.raises(InvalidPointsError):
        idx.lookup(lon[bad], lat[bad])


def test_invalid_points_shape():
    idx = PolygonIndex.build(*two_squares())
    with pytest.raises(InvalidPointsError, match="differ in length"):
        idx.assign([0.5, 0.5], [0.5])
    with pytest.raises(InvalidPointsError, match="not numeric"):
        idx.assign(["a"], [0.5])


@pytest.mark.parametrize("codes,polys,needle", [
    (["a", "bow"], [box(5, 5, 6, 6), Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])],
     "index 1 (code 'bow'): Self-intersection"),
    (["a", "e"], [box(0, 0, 1, 1), Polygon()], "1 empty polygon(s) (indices 1, codes 'e')"),
    (["a", "b", "a"], [square(0, 0), square(1, 0), square(2, 0)], "duplicate code(s): 'a'"),
    (["a", "b"], [square(0, 0)], "differ in length: 2 codes, 1 polygons"),
    (["a"], [shapely.Point(0, 0)], "not Polygon/MultiPolygon (Point"),
])
def test_invalid_polygons(codes, polys, needle):
    with pytest.raises(InvalidPolygonsError) as ei:
        PolygonIndex.build(codes, polys)
    assert needle in str(ei.value)


# --------------------------------------------------------------------------- lookups
def grid_world():
    """Two counties / towns / villages with 2 grids each, prefix-coded."""
    codes, polys = [], []
    villages = ["610924100201", "610924100202", "610925200301"]
    for v, village in enumerate(villages):
        for g in range(2):
            codes.append(f"{village}{g + 1:03d}")
            polys.append(box(108.0 + 0.1 * (2 * v + g), 32.0, 108.1 + 0.1 * (2 * v + g), 32.1))
    return codes, polys


def test_point_to_areas_prefix_consistent():
    codes, polys = grid_world()
    idx = PolygonIndex.build(codes, polys)
    for i, p in enumerate(polys):
        c = p.centroid
        a = point_to_areas(idx, c.x, c.y)
        assert a["grid"] == codes[i] and a["inside"] and a["nearest_distance_m"] == 0.0
        assert a["grid"].startswith(a["village"]) and a["village"].startswith(a["town"])
        assert a["town"].startswith(a["county"])
        assert (len(a["county"]), len(a["town"]), len(a["village"])) == (6, 9, 12)
    out = point_to_areas(idx, 108.05, 32.2)
    assert out["grid"] is None and out["county"] is None and not out["inside"]
    assert out["nearest_grid"] == codes[0]
    assert out["nearest_distance_m"] == pytest.approx(GEOD.inv(108.05, 32.2, 108.05, 32.1)[2],
                                                      rel=1e-3)


def test_assign_areas_vectorised_and_mapping():
    codes, polys = grid_world()
    idx = PolygonIndex.build(codes, polys)
    x = np.array([108.05, 108.25, 108.55, 107.0])
    areas = assign_areas(idx, x, np.full(4, 32.05))
    assert list(areas.grid) == [codes[0], codes[2], codes[5], None]
    assert list(areas.county) == ["610924", "610924", "610925", None]
    assert list(areas.town) == ["610924100", "610924100", "610925200", None]
    mapping = {c: "610926300400" for c in codes}
    alt = assign_areas(idx, x, np.full(4, 32.05), grid_to_village=mapping)
    assert list(alt.village) == ["610926300400"] * 3 + [None]
    with pytest.raises(ValueError, match="missing from grid_to_village"):
        assign_areas(idx, x, np.full(4, 32.05), grid_to_village={})


def test_lookup_matches_assign():
    codes, polys = voronoi(50, seed=3)
    idx = PolygonIndex.build(codes, polys)
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-1, 11, 300), rng.uniform(-1, 11, 300)
    assert [idx.lookup(a, b) for a, b in zip(x, y)] == list(idx.assign(x, y).codes)


def test_tile_sorted_queries_match_point_by_point(monkeypatch):
    """Large queries run in raster-tile order (index.SORT_MIN_POINTS); the answers, on- and off-edge,
    inside and off the raster, must be those of the plain point-by-point query."""
    from geodata.assign import index as index_mod

    codes, polys = voronoi(200, seed=3)
    idx = PolygonIndex.build(codes, polys)
    rng = np.random.default_rng(4)
    verts = np.concatenate([np.asarray(p.exterior.coords) for p in polys])
    xy = np.concatenate([rng.uniform(-1, 11, (150_000, 2)), verts,
                         0.5 * (verts[:-1] + verts[1:]), [[170.0, 80.0], [-170.0, -80.0]]])
    rng.shuffle(xy)
    x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    sorted_ans = idx.locate(x, y)
    monkeypatch.setattr(index_mod, "SORT_MIN_POINTS", 10**12)
    plain = idx.locate(x, y)
    np.testing.assert_array_equal(sorted_ans, plain)
    assert (plain >= 0).mean() > 0.5
