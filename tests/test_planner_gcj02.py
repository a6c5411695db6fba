"""GCJ-02 (geodata.planner.gcj02): the published forward formula, its iterative inverse, the outside-China
rule and the geometry helper."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely

from geodata.planner import gcj02

GEOD = pyproj.Geod(ellps="WGS84")


# Published pairs (WGS84 lon, lat, GCJ-02 lon, lat): eviltransform's test points and coordtransform's example.
REFERENCE = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),     # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),      # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),     # Beijing
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),           # coordtransform README
]


@pytest.mark.parametrize("wlon,wlat,glon,glat", REFERENCE)
def test_gcj02_forward_matches_published_points(wlon, wlat, glon, glat):
    lon, lat = gcj02.wgs84_to_gcj02(wlon, wlat)
    assert isinstance(lon, float)
    assert abs(lon - glon) < 1e-9 and abs(lat - glat) < 1e-9


def test_gcj02_inverse_recovers_published_wgs84():
    w = np.array(REFERENCE)
    lon, lat = gcj02.gcj02_to_wgs84(w[:, 2], w[:, 3])
    assert np.abs(lon - w[:, 0]).max() < 1e-7 and np.abs(lat - w[:, 1]).max() < 1e-7


def test_gcj02_round_trip_over_ankang_grid():
    lon, lat = np.meshgrid(np.linspace(106.0, 110.5, 91), np.linspace(31.3, 33.9, 53))
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    shift = GEOD.inv(lon, lat, glon, glat)[2]
    assert shift.min() > 100  # the offset is real (hundreds of metres here), so the round trip is not trivial
    back_lon, back_lat = gcj02.gcj02_to_wgs84(glon, glat)
    assert back_lon.shape == lon.shape
    assert np.abs(back_lon - lon).max() < 1e-7 and np.abs(back_lat - lat).max() < 1e-7


def test_gcj02_outside_china_is_wgs84():
    lon = np.array([151.21, 109.0, -0.1276])
    lat = np.array([-33.87, 32.7, 51.5072])
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    assert glon[0] == lon[0] and glat[0] == lat[0] and glon[2] == lon[2] and glat[2] == lat[2]
    assert glon[1] != lon[1]
    assert gcj02.gcj02_to_wgs84(151.21, -33.87) == (151.21, -33.87)


def test_transform_geometry_keeps_structure_and_drops_z():
    poly = shapely.Polygon([(109, 32.6, 5), (109.01, 32.6, 5), (109.01, 32.61, 5)], [[(109.004, 32.602, 5), (109.006, 32.602, 5), (109.006, 32.604, 5)]])
    out = gcj02.transform_geometry(poly, gcj02.wgs84_to_gcj02)
    assert not out.has_z and len(out.interiors) == 1
    x, y = gcj02.wgs84_to_gcj02(109.01, 32.6)
    assert out.exterior.coords[1] == pytest.approx((x, y), abs=1e-12)
