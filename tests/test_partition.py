"""Properties of geodata.partition: exact partitions (no gap, no overlap, union == parent, single-part
pieces, bit-identical shared vertices), balance of the bisection, determinism, and check_partition
itself (it must catch deliberate defects)."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, shape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geodata.partition import (  # noqa: E402
    PartitionError,
    balanced_bisection,
    check_partition,
    farthest_point_seeds,
    gaussian_density,
    label_points,
    partition_by_seeds,
)

COUNTIES = ROOT / "geodata" / "data" / "ankang_counties_tianditu_cgcs2000.geojson"

# ----------------------------------------------------------------------------------------------------
# fixtures: small shapes in lon/lat-like coordinates around Ankang (~0.1 deg across)
# ----------------------------------------------------------------------------------------------------
X0, Y0, S = 108.9, 32.6, 0.01  # 1 unit = 0.01 deg


def _t(g):
    return shapely.transform(g, lambda c: c * S + [X0, Y0])


SHAPES = {
    "square": _t(box(0, 0, 10, 10)),
    "U": _t(box(0, 0, 10, 10).difference(box(3, 3, 7, 10))),
    "L": _t(box(0, 0, 10, 4).union(box(0, 0, 4, 10))),
    "hole": _t(box(0, 0, 10, 10).difference(box(4, 4, 6, 6))),
    "comb": _t(shapely.union_all([box(0, 0, 10, 1)] + [box(2 * i, 0, 2 * i + 1, 8) for i in range(5)])),
    "multi": _t(MultiPolygon([box(0, 0, 4, 4), box(6, 0, 10, 4), box(4.5, 5, 5, 5.5)])),
}
SINGLE = [k for k in SHAPES if k != "multi"]


def _county(name_en: str):
    feats = json.loads(COUNTIES.read_text(encoding="utf-8"))["features"]
    return next(shape(f["geometry"]) for f in feats if f["properties"]["name_en"] == name_en)


@pytest.fixture(scope="module")
def ziyang():
    return _county("Ziyang")  # MultiPolygon: mainland + two small islands


@pytest.fixture(scope="module")
def hanbin():
    return _county("Hanbin")


def _points_inside(P, m, seed=0):
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = P.bounds
    out = np.zeros((0, 2))
    while len(out) < m:
        xy = np.column_stack([rng.uniform(minx, maxx, 4 * m), rng.uniform(miny, maxy, 4 * m)])
        out = np.vstack([out, xy[shapely.contains_xy(P, xy[:, 0], xy[:, 1])]])
    return out[:m]


# ----------------------------------------------------------------------------------------------------
# independent property checks (do not rely on check_partition's implementation)
# ----------------------------------------------------------------------------------------------------
def _vertices(g):
    return {tuple(c) for c in shapely.get_coordinates(g).tolist()}


def assert_exact_partition(parent, pieces, n):
    assert len(pieces) == n
    assert check_partition(parent, pieces) == []
    A = parent.area
    geoms = np.array(pieces, dtype=object)
    assert all(g.is_valid and not g.is_empty and g.area > 0 for g in pieces)
    # union == parent
    union = shapely.union_all(geoms)
    assert shapely.symmetric_difference(union, parent).area < 1e-9 * A
    assert abs(sum(g.area for g in pieces) - A) < 1e-9 * A  # sum of areas == area => no overlap
    # pairwise: no overlap area
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    m = a < b
    if m.any():
        assert shapely.area(shapely.intersection(geoms[a[m]], geoms[b[m]])).max() < 1e-12 * A
    # single-part pieces (a MultiPolygon parent may force islands onto a piece; each part then sits
    # in a different part of the parent)
    for g in pieces:
        if parent.geom_type == "Polygon":
            assert g.geom_type == "Polygon"
        elif g.geom_type == "MultiPolygon":
            where = [int(np.argmax(shapely.contains(shapely.get_parts(parent), p.point_on_surface())))
                     for p in g.geoms]
            assert len(set(where)) == len(where)
    # bit-identical shared vertices: every vertex of piece i lying on piece j's boundary is a vertex of j
    assert shapely.coverage_is_valid(geoms)
    for i, j in zip(a[m].tolist(), b[m].tolist()):
        shared = shapely.intersection(geoms[i].boundary, geoms[j].boundary)
        if shared.length == 0:
            continue
        for p, q in ((i, j), (j, i)):
            cp = shapely.get_coordinates(geoms[p])
            on = shapely.distance(geoms[q].boundary, shapely.points(cp)) < 1e-12
            assert {tuple(c) for c in cp[on].tolist()} <= _vertices(geoms[q]), (p, q)


# ----------------------------------------------------------------------------------------------------
# partition_by_seeds
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("n", [1, 2, 7, 25])
def test_seeds_exact_partition(name, n):
    P = SHAPES[name]
    seeds = farthest_point_seeds(P, n, np.random.default_rng(n))
    pieces = partition_by_seeds(P, seeds)
    assert_exact_partition(P, pieces, n)
    for g, s in zip(pieces, seeds):  # index-aligned: piece i holds seed i
        assert g.contains(shapely.Point(s))


def test_seeds_fragments_are_handed_to_neighbours():
    """Seeds on the comb's bar: their Voronoi cells reach up through several teeth, so clipping makes
    multi-part cells; every piece must still be one Polygon holding its seed."""
    P = SHAPES["comb"]
    seeds = _t(shapely.multipoints([[1.0, 0.5], [4.7, 0.5], [8.3, 0.5], [0.5, 7.5]]))
    seeds = shapely.get_coordinates(seeds)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=P))
    clipped = shapely.intersection(cells, P)
    assert max(shapely.get_num_geometries(clipped)) > 1  # the test really exercises fragments
    pieces = partition_by_seeds(P, seeds)
    assert_exact_partition(P, pieces, len(seeds))
    assert all(g.contains(shapely.Point(s)) for g, s in zip(pieces, seeds))


def test_seeds_multipolygon_parent_islands(ziyang):
    seeds = farthest_point_seeds(ziyang, 12, np.random.default_rng(3))
    pieces = partition_by_seeds(ziyang, seeds)
    assert_exact_partition(ziyang, pieces, 12)
    islands = len(ziyang.geoms) - 1
    extra_parts = sum(len(g.geoms) - 1 for g in pieces if g.geom_type == "MultiPolygon")
    assert extra_parts <= islands


def test_seed_on_island_owns_it():
    P = SHAPES["multi"]
    island = P.geoms[2]
    seeds = np.vstack([shapely.get_coordinates(island.centroid), farthest_point_seeds(P.geoms[0], 3, 1),
                       farthest_point_seeds(P.geoms[1], 1, 1)])
    pieces = partition_by_seeds(P, seeds)
    assert_exact_partition(P, pieces, 5)
    assert pieces[0].equals(island)
    assert pieces[4].equals(P.geoms[1])
    # without a seed on the right half, that whole part joins the piece nearest to it: the island's
    pieces = partition_by_seeds(P, seeds[:4])
    assert_exact_partition(P, pieces, 4)
    assert pieces[0].geom_type == "MultiPolygon" and pieces[0].area == pytest.approx(island.area + P.geoms[1].area)


def test_duplicate_and_outside_seeds_do_not_crash():
    P = SHAPES["U"]
    inner = shapely.get_coordinates(_t(shapely.multipoints([[1, 1], [1, 1], [1, 1], [9, 1], [9, 1], [2, 8]])))
    outside = shapely.get_coordinates(_t(shapely.multipoints([[50, 50], [5, 8], [-3, 2]])))  # [5,8] in the notch
    near_dup = inner[5] + [1e-13, 0.0]
    seeds = np.vstack([inner, outside, near_dup])
    pieces, used = partition_by_seeds(P, seeds, return_seeds=True)
    assert_exact_partition(P, pieces, len(seeds))
    assert len({tuple(s) for s in used.tolist()}) == len(seeds)
    assert shapely.contains_xy(P, used[:, 0], used[:, 1]).all()
    # deterministic, whatever the duplicates
    again = partition_by_seeds(P, seeds)
    assert [g.wkb for g in again] == [g.wkb for g in pieces]


def test_collinear_seeds():
    P = SHAPES["square"]
    seeds = shapely.get_coordinates(_t(shapely.multipoints([[1, 5], [3, 5], [5, 5], [7, 5]])))
    assert_exact_partition(P, partition_by_seeds(P, seeds), 4)


def test_seeds_determinism():
    P = SHAPES["hole"]
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(42)
        seeds = farthest_point_seeds(P, 9, rng)
        runs.append([g.wkb for g in partition_by_seeds(P, seeds, rng=rng)])
    assert runs[0] == runs[1]
    other = farthest_point_seeds(P, 9, np.random.default_rng(43))
    assert [g.wkb for g in partition_by_seeds(P, other)] != runs[0]


def test_weighted_areas_follow_weights(hanbin):
    n = 12
    seeds = farthest_point_seeds(hanbin, n, np.random.default_rng(5))
    w = np.linspace(1.0, 4.0, n)
    target = w / w.sum()
    # seeds fixed: approximate, but bigger weight -> bigger area on average
    fixed = partition_by_seeds(hanbin, seeds, weights=w)
    assert_exact_partition(hanbin, fixed, n)
    a = np.array([g.area for g in fixed]) / hanbin.area
    assert a[w > 2.5].mean() > 1.5 * a[w < 2.5].mean()
    assert all(g.contains(shapely.Point(s)) for g, s in zip(fixed, seeds))
    # with Lloyd moves the sizes are close to target
    moved, used = partition_by_seeds(hanbin, seeds, weights=w, lloyd=10, return_seeds=True)
    assert_exact_partition(hanbin, moved, n)
    a = np.array([g.area for g in moved]) / hanbin.area
    assert np.abs(a / target - 1).max() < 0.15
    assert all(g.contains(shapely.Point(s)) for g, s in zip(moved, used))


def test_seeds_errors():
    with pytest.raises(PartitionError):
        partition_by_seeds(SHAPES["square"], np.zeros((0, 2)))
    with pytest.raises(PartitionError):
        partition_by_seeds(Polygon(), np.zeros((1, 2)))
    with pytest.raises(PartitionError):
        partition_by_seeds(SHAPES["square"], np.zeros((3, 2)), weights=[1, -1, 1])


# ----------------------------------------------------------------------------------------------------
# farthest_point_seeds
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SINGLE)
def test_farthest_point_seeds_spread(name):
    P = SHAPES[name]
    n = 15
    s = farthest_point_seeds(P, n, np.random.default_rng(0))
    assert s.shape == (n, 2)
    assert shapely.contains_xy(P, s[:, 0], s[:, 1]).all()
    d = np.hypot(*(s[:, None, :] - s[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.25 * math.sqrt(P.area / n)  # well spread (a random sample is not)
    assert np.array_equal(s, farthest_point_seeds(P, n, np.random.default_rng(0)))


def test_farthest_point_seeds_density_clusters():
    P = SHAPES["square"]
    centre = np.array([[X0 + 2 * S, Y0 + 2 * S]])
    dens = gaussian_density(centre, bandwidth=1.5 * S, floor=0.02)
    s = farthest_point_seeds(P, 30, np.random.default_rng(1), density=dens)
    u = farthest_point_seeds(P, 30, np.random.default_rng(1))
    near = lambda p: (np.hypot(*(p - centre).T) < 3 * S).sum()  # noqa: E731
    assert near(s) > 2 * near(u)


# ----------------------------------------------------------------------------------------------------
# balanced_bisection
# ----------------------------------------------------------------------------------------------------
def _assert_labels_consistent(pieces, pts, labels):
    assert labels.shape == (len(pts),)
    assert ((labels >= 0) & (labels < len(pieces))).all()
    for i, g in enumerate(pieces):
        inside = shapely.contains_xy(g, pts[:, 0], pts[:, 1])
        assert (labels[inside] == i).all()


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_bisection_exact_and_balanced(name, k):
    P = SHAPES[name]
    m = 400
    pts = _points_inside(P, m, seed=k)
    pieces, labels = balanced_bisection(P, pts, k)
    assert_exact_partition(P, pieces, k)
    _assert_labels_consistent(pieces, pts, labels)
    counts = np.bincount(labels, minlength=k)
    if name != "multi":
        # documented guarantee: floor/ceil when every cut hits its target (achieved on these
        # convex and concave fixtures thanks to the compensating re-cuts)
        assert counts.min() >= m // k and counts.max() <= -(-m // k), counts
    else:
        # two disjoint halves + an island: balance is limited by contiguity
        assert counts.min() > 0 and counts.max() <= 2.2 * m / k, counts


def test_bisection_weighted_bound():
    P = SHAPES["square"]
    pts = _points_inside(P, 500, seed=1)
    w = np.random.default_rng(2).integers(1, 30, len(pts)).astype(float)
    for k in (2, 3, 6, 11):
        pieces, labels = balanced_bisection(P, pts, k, weights=w)
        assert_exact_partition(P, pieces, k)
        _assert_labels_consistent(pieces, pts, labels)
        wp = np.bincount(labels, weights=w, minlength=k)
        assert np.abs(wp - w.sum() / k).max() <= math.ceil(math.log2(k)) * w.max()


@pytest.mark.parametrize("k", [3, 7, 20])
def test_bisection_more_pieces_than_distinct_points(k):
    P = SHAPES["U"]
    base = shapely.get_coordinates(_t(shapely.multipoints([[1, 1], [9, 1], [1, 9]])))
    pts = np.repeat(base, 4, axis=0)  # 12 points, 3 distinct locations
    pieces, labels = balanced_bisection(P, pts, k)
    assert_exact_partition(P, pieces, k)
    _assert_labels_consistent(pieces, pts, labels)
    # no sliver pieces: every piece gets a fair share of area when points cannot drive the cuts
    assert min(g.area for g in pieces) > 0.05 * P.area / k


def test_bisection_no_points_and_outside_points():
    P = SHAPES["L"]
    pieces, labels = balanced_bisection(P, np.zeros((0, 2)), 4)
    assert_exact_partition(P, pieces, 4)
    assert labels.shape == (0,)
    pts = np.vstack([_points_inside(P, 50), [[X0 + 50 * S, Y0 + 50 * S]], [[X0 + 8 * S, Y0 + 8 * S]]])
    pieces, labels = balanced_bisection(P, pts, 3)
    assert_exact_partition(P, pieces, 3)
    _assert_labels_consistent(pieces, pts, labels)
    assert (labels == label_points(pieces, pts)).all()


def test_bisection_k1_and_errors():
    P = SHAPES["hole"]
    pts = _points_inside(P, 10)
    pieces, labels = balanced_bisection(P, pts, 1)
    assert len(pieces) == 1 and pieces[0].equals(P) and (labels == 0).all()
    with pytest.raises(PartitionError):
        balanced_bisection(P, pts, 0)
    with pytest.raises(PartitionError):
        balanced_bisection(P, pts, 2, weights=np.ones(3))


def test_bisection_determinism():
    P = SHAPES["comb"]
    pts = _points_inside(P, 300, seed=9)
    a = balanced_bisection(P, pts, 6)
    b = balanced_bisection(P, pts.copy(), 6)
    assert [g.wkb for g in a[0]] == [g.wkb for g in b[0]]
    assert np.array_equal(a[1], b[1])


# ----------------------------------------------------------------------------------------------------
# real county outlines
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["hanbin", "ziyang"])
def test_real_county_20_pieces(fixture, request):
    P = request.getfixturevalue(fixture)
    rng = np.random.default_rng(2020)
    t = time.process_time()
    seeds = farthest_point_seeds(P, 20, rng)
    pieces = partition_by_seeds(P, seeds)
    elapsed = time.process_time() - t
    assert_exact_partition(P, pieces, 20)
    assert elapsed < 2.0  # ~20 ms on the dev machine; generous bound against noisy CI
    pts = _points_inside(P, 2000, seed=1)
    pieces, labels = balanced_bisection(P, pts, 20)
    assert_exact_partition(P, pieces, 20)
    _assert_labels_consistent(pieces, pts, labels)
    counts = np.bincount(labels, minlength=20)
    assert counts.max() - counts.min() <= 0.1 * len(pts) / 20 + 1


# ----------------------------------------------------------------------------------------------------
# check_partition catches defects
# ----------------------------------------------------------------------------------------------------
@pytest.fixture
def good():
    P = SHAPES["square"]
    pieces = partition_by_seeds(P, farthest_point_seeds(P, 6, np.random.default_rng(0)))
    assert check_partition(P, pieces) == []
    return P, pieces


def _has(problems, word):
    return any(word in p for p in problems)


def test_check_detects_gap(good):
    P, pieces = good
    bad = list(pieces)
    bad[2] = bad[2].buffer(-1e-4)
    assert _has(check_partition(P, bad), "gap")


def test_check_detects_overlap(good):
    P, pieces = good
    bad = list(pieces)
    bad[1] = shapely.intersection(bad[1].buffer(1e-4), P)
    assert _has(check_partition(P, bad), "overlap")


def test_check_detects_missing_piece_and_outside(good):
    P, pieces = good
    assert _has(check_partition(P, pieces[:-1]), "gap")
    bad = list(pieces)
    i = int(np.argmax([shapely.intersection(g.boundary, P.boundary).length for g in pieces]))
    bad[i] = bad[i].buffer(1e-3)
    problems = check_partition(P, bad)
    assert _has(problems, "outside") and _has(problems, "overlap")


def test_check_detects_invalid_empty_multipart(good):
    P, pieces = good
    bowtie = _t(Polygon([(1, 1), (3, 3), (3, 1), (1, 2)]))
    assert not bowtie.is_valid and bowtie.area > 0
    assert _has(check_partition(P, list(pieces) + [bowtie]), "invalid")
    assert _has(check_partition(P, list(pieces) + [Polygon()]), "empty")
    two = shapely.union_all([pieces[0], pieces[1]])
    far = MultiPolygon([pieces[0], _t(box(20, 20, 21, 21))])
    assert _has(check_partition(P, [far] + list(pieces[1:])), "MultiPolygon")
    assert check_partition(P, [two] + list(pieces[2:])) == []


def test_check_detects_t_junction(good):
    """Insert an extra vertex into one side of a shared border only: geometry is still a perfect
    tiling, but the vertices are no longer bit-identical on both sides."""
    P, pieces = good
    geoms = np.array(pieces, dtype=object)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="touches")
    i, j = next((i, j) for i, j in zip(a, b) if shapely.intersection(geoms[i], geoms[j]).length > 0)
    ring = np.array(pieces[i].exterior.coords)
    for k in range(len(ring) - 1):
        mid = 0.5 * (ring[k] + ring[k + 1])
        if pieces[j].boundary.distance(shapely.Point(mid)) < 1e-12 and \
                pieces[j].boundary.distance(shapely.Point(ring[k])) < 1e-12 and \
                pieces[j].boundary.distance(shapely.Point(ring[k + 1])) < 1e-12:
            break
    else:
        pytest.fail("no shared edge found")
    t_coords = np.vstack([ring[:k + 1], [ring[k] + 0.37 * (ring[k + 1] - ring[k])], ring[k + 1:]])
    bad = list(pieces)
    bad[i] = Polygon(t_coords)
    assert bad[i].is_valid and abs(bad[i].area - pieces[i].area) < 1e-15
    assert _has(check_partition(P, bad), "bit-identically")
