"""Coverage sectors and per-grid household coverage (docs/video.md "Coverage"), checked against shapely's own
buffer/wedge geometry and against plain loops; the gap ranking; scope and permission of the area query."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings, strategies as st

from console.video import coverage

LON, LAT = 109.0, 32.7
M_LON = coverage.M_PER_DEG_LON_EQ * math.cos(math.radians(LAT))


def _at(east_m, north_m):
    return LON + east_m / M_LON, LAT + north_m / coverage.M_PER_DEG_LAT


def test_a_bullet_sees_ahead_within_its_range_and_field_only():
    fov, rng = coverage.view_of(np.array(["bullet"]))
    geoms = coverage.sectors(np.array([LON]), np.array([LAT]), np.array([90.0]), fov, rng)  # looking east
    pts = [_at(30, 0), _at(30, 10), _at(-30, 0), _at(0, 30), _at(70, 0), _at(45, 0)]
    inside = coverage.covered(geoms, np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    assert inside.tolist() == [True, True, False, False, False, True]


def test_a_dome_sees_all_round():
    fov, rng = coverage.view_of(np.array(["dome"]))
    geoms = coverage.sectors(np.array([LON]), np.array([LAT]), np.array([0.0]), fov, rng)
    pts = [_at(0, 70), _at(-70, 0), _at(0, -70), _at(90, 0)]
    assert coverage.covered(geoms, np.array([p[0] for p in pts]), np.array([p[1] for p in pts])).tolist() == \
        [True, True, True, False]
    area_m2 = shapely.area(geoms[0]) * M_LON * coverage.M_PER_DEG_LAT
    assert area_m2 == pytest.approx(math.pi * 80 ** 2, rel=0.02)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31))
def test_points_covered_match_a_plain_angle_and_distance_check(seed):
    rng = np.random.default_rng(seed)
    n, m = 25, 400
    lons, lats = _at(rng.uniform(-300, 300, n), rng.uniform(-300, 300, n))
    directions = rng.uniform(0, 360, n)
    fovs = rng.choice([30.0, 60.0, 90.0, 360.0], n)
    ranges = rng.uniform(20, 100, n)
    geoms = coverage.sectors(lons, lats, directions, fovs, ranges, arc_points=64)
    px, py = _at(rng.uniform(-400, 400, m), rng.uniform(-400, 400, m))
    got = coverage.covered(geoms, px, py)
    for i in range(m):
        dx = (px[i] - lons) * M_LON
        dy = (py[i] - lats) * coverage.M_PER_DEG_LAT
        d = np.hypot(dx, dy)
        off = np.abs((np.degrees(np.arctan2(dx, dy)) - directions + 180) % 360 - 180)
        sure_in = (d < ranges * 0.98) & ((fovs >= 360) | (off < fovs / 2 - 1))
        sure_out = (d > ranges * 1.01) | ((fovs < 360) & (off > fovs / 2 + 1))
        if sure_in.any():
            assert got[i], i
        elif sure_out.all():
            assert not got[i], i


def test_share_per_grid_and_the_gap_ranking():
    fov, rng = coverage.view_of(np.array(["dome"]))
    geoms = coverage.sectors(np.array([LON]), np.array([LAT]), np.array([0.0]), fov, rng)
    # grid A: 3 households beside the dome + 1 far; grid B: 5 households far away (one building)
    a_near, a_far, b = _at(10, 10), _at(500, 0), _at(2000, 2000)
    px = np.array([a_near[0], a_far[0], b[0]])
    py = np.array([a_near[1], a_far[1], b[1]])
    result = coverage.by_grid(geoms, px, py, np.array([3.0, 1.0, 5.0]), np.array(["A", "A", "B"]))
    assert result.grid_codes.tolist() == ["A", "B"]
    assert result.households.tolist() == [4, 5] and result.covered.tolist() == [3, 0]
    assert result.share.tolist() == [0.75, 0.0]
    gaps = result.gaps()
    assert [g["grid_code"] for g in gaps] == ["B", "A"]
    assert gaps[0]["lon"] == pytest.approx(b[0]) and gaps[1]["lon"] == pytest.approx(a_far[0])


def test_no_cameras_cover_nothing_and_empty_grids_have_no_share():
    empty = np.empty(0, dtype=object)
    result = coverage.by_grid(empty, np.array([LON]), np.array([LAT]), np.array([2.0]), np.array(["A"]))
    assert result.covered.tolist() == [0] and result.share.tolist() == [0.0]


def test_the_gap_ranking_weighs_uncovered_key_places_by_risk_on_top_of_households():
    empty = np.empty(0, dtype=object)
    # A: 20 unseen households; B: 12 households + one 高风险 place; C: 12 households + one 较高风险 place;
    # D: 12 households + one 一般 place; E: no households, two 高风险 places
    pts = {g: _at(1000 * k, 0) for k, g in enumerate("ABCDE")}
    px = np.array([pts[g][0] for g in "ABCD"])
    py = np.array([pts[g][1] for g in "ABCD"])
    w = np.array([20.0, 12.0, 12.0, 12.0])
    place = {"B": _at(1000, 300), "C": _at(2000, 0), "D": _at(3000, 0), "E": _at(4000, 0)}
    qg = np.array(["B", "C", "D", "E", "E"])
    qx = np.array([place[g][0] for g in qg])
    qy = np.array([place[g][1] for g in qg])
    risks = ["high", "medium", "low", "high", "high"]
    result = coverage.by_grid(empty, px, py, w, np.array(list("ABCD")),
                              places=(qx, qy, coverage.place_weights(risks), qg))
    gaps = result.gaps()
    assert [g["grid_code"] for g in gaps] == ["E", "B", "C", "A", "D"]
    assert [g["score"] for g in gaps] == [60.0, 42.0, 22.0, 20.0, 15.0]
    assert [g["rank"] for g in gaps] == [1, 2, 3, 4, 5]
    e = gaps[0]
    assert e["households"] == 0 and e["share"] is None and e["place_weight"] == 60.0
    # the gap centre leans towards the high-risk place: 12 households at y=0, weight 30 at 300 m north
    b = gaps[1]
    north_m = (b["lat"] - LAT) * coverage.M_PER_DEG_LAT
    assert north_m == pytest.approx(300 * 30 / 42, rel=1e-3)
    assert coverage.RISK_WEIGHTS["high"] > coverage.RISK_WEIGHTS["medium"] > coverage.RISK_WEIGHTS["low"] > 0
    # without places the ranking is the households alone (what it was)
    plain = coverage.by_grid(empty, px, py, w, np.array(list("ABCD"))).gaps()
    assert [g["grid_code"] for g in plain] == ["A", "B", "C", "D"] and plain[0]["score"] == 20.0


def test_gap_scores_are_a_pure_sum():
    assert coverage.gap_scores(np.array([3, 0]), np.array([0.0, 30.0])).tolist() == [3.0, 30.0]
    assert coverage.place_weights(["high", "medium", "low", "??"]).tolist() == [30.0, 10.0, 3.0, 3.0]
