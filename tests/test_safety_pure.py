"""公共安全 pure functions (docs/safety.md): the response plan's rules and the radius queries, without a store."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from console.safety import geo, response_plan
from console.safety.response_plan import LevelError

GEOD = Geod(ellps="WGS84")
ANKANG = (109.0172, 32.68)


def test_the_plan_has_four_levels_most_serious_first_with_growing_reach():
    assert [lv.label[:2] for lv in response_plan.LEVELS.values()] == ["Ⅰ级", "Ⅱ级", "Ⅲ级", "Ⅳ级"]
    radii = [lv.radius_m for lv in response_plan.LEVELS.values()]
    assert radii == sorted(radii, reverse=True)
    assert all(lv.cameras in (1, 4, 9, 16) for lv in response_plan.LEVELS.values())


@pytest.mark.parametrize("severity,people,expected", [
    ("critical", None, "I"), ("high", None, "II"), ("medium", None, "III"), ("low", None, "IV"), ("info", 0, "IV"),
    (None, None, "IV"), ("bogus", None, "IV"),
    ("low", 29, "IV"), ("low", 30, "III"), ("low", 100, "II"), ("medium", 300, "I"),
    ("critical", 40, "I"),  # people never lower a level
])
def test_suggested_level_by_severity_raised_by_the_people_involved(severity, people, expected):
    assert response_plan.suggest(severity, people) == expected


@pytest.mark.parametrize("forged", ["V", "i", "Ⅰ级", "", None, 1, ["I"], "I "])
def test_a_level_outside_the_plan_is_refused_by_name(forged):
    with pytest.raises(LevelError) as exc:
        response_plan.level(forged)
    assert "不在应急预案中" in str(exc.value) and "Ⅳ级（一般）" in str(exc.value)


def test_within_radius_against_an_independent_geodesic():
    rng = np.random.default_rng(3)
    lons = ANKANG[0] + rng.uniform(-0.05, 0.05, 400)
    lats = ANKANG[1] + rng.uniform(-0.05, 0.05, 400)
    idx, dist = geo.within(*ANKANG, lons, lats, 2000)
    _, _, truth = GEOD.inv(np.full(400, ANKANG[0]), np.full(400, ANKANG[1]), lons, lats)
    expected = {i for i, d in enumerate(truth) if d <= 2000 - 10}  # the sphere differs from WGS84 by < 0.5 %
    assert expected <= set(idx.tolist()) and all(truth[i] <= 2000 + 10 for i in idx)
    assert list(dist) == sorted(dist)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.03, 0.03), st.floats(-0.03, 0.03)), max_size=40),
       st.floats(0, 5000))
def test_within_is_exactly_the_points_inside_nearest_first(offsets, radius):
    lons = np.array([ANKANG[0] + dx for dx, _ in offsets])
    lats = np.array([ANKANG[1] + dy for _, dy in offsets])
    idx, dist = geo.within(*ANKANG, lons, lats, radius)
    all_d = geo.distances_m(*ANKANG, lons, lats)
    assert set(idx.tolist()) == {i for i, d in enumerate(all_d) if d <= radius}
    assert all(a <= b for a, b in zip(dist, dist[1:]))
    x0, y0, x1, y1 = geo.bbox(*ANKANG, radius)  # the indexed pre-filter never drops a point inside
    assert all(x0 <= lons[i] <= x1 and y0 <= lats[i] <= y1 for i in idx)


def test_distance_to_a_line_and_to_a_polygon():
    lon, lat = ANKANG
    # a north-south line 1 km east of the point
    dx = GEOD.fwd(lon, lat, 90, 1000)[0]
    line = shapely.LineString([(dx, lat - 0.05), (dx, lat + 0.05)])
    assert geo.shape_distance_m(lon, lat, line) == pytest.approx(1000, rel=0.005)
    square = shapely.box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    assert geo.shape_distance_m(lon, lat, square) == 0.0
    east = shapely.box(dx, lat - 0.01, dx + 0.01, lat + 0.01)
    assert geo.shape_distance_m(lon, lat, east) == pytest.approx(1000, rel=0.005)
    assert geo.line_length_m(shapely.LineString([(lon, lat), (dx, lat)])) == pytest.approx(1000, rel=0.005)


def test_demo_key_places_are_deterministic_and_marked_synthetic():
    import pandas as pd

    from world.safety import key_places

    rng = np.random.default_rng(0)
    buildings = pd.DataFrame({
        "lon": 108.5 + rng.random(80) / 10, "lat": 32.5 + rng.random(80) / 10, "dwellings": rng.integers(1, 9, 80),
        "village_kind": np.where(rng.random(80) < 0.3, "community", "village"),
        "village_code": np.repeat(["610924100200", "610924101201"], 40), "address": [f"某路{i}号" for i in range(80)]})
    towns, villages = {"610924100": "城关镇", "610924101": "蒿坪镇"}, {"610924100200": "新民社区", "610924101201": "金河村"}
    a = key_places(7, buildings, towns, villages, 0.02)
    assert a.equals(key_places(7, buildings, towns, villages, 0.02))
    assert not a.equals(key_places(8, buildings, towns, villages, 0.02))
    assert a["synthetic"].all() and a["code"].is_unique and set(a["risk_level"]) <= {"high", "medium", "low"}
    assert a["name"].str.contains("城关镇|蒿坪镇").all()
