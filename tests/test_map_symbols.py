"""Map symbols without a browser: label points inside their polygons, the choropleth's classes and bands,
count bubbles that say what they count and contradict no other symbol (docs/console.md, "Map symbols")."""

from __future__ import annotations

import json
import math
from pathlib import Path

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, shape

from console.services import choropleth, geo
from console.services.labelpoint import label_point
from console.services.layers import LAYERS

COUNTIES = Path(__file__).resolve().parents[1] / "geodata" / "data" / "ankang_counties_tianditu_cgcs2000.geojson"


def _counties() -> dict[str, object]:
    data = json.loads(COUNTIES.read_text(encoding="utf-8"))  # the shipped real boundaries, made by other tools
    return {f["properties"]["name"]: shape(f["geometry"]) for f in data["features"]}


def test_ziyang_label_lies_inside_ziyang_and_away_from_langao():
    counties = _counties()
    ziyang = counties["紫阳县"]
    assert isinstance(ziyang, MultiPolygon) and len(ziyang.geoms) > 1  # several parts: a first-part centroid misleads
    lon, lat = label_point(ziyang)
    pt = Point(lon, lat)
    assert ziyang.contains(pt)
    assert [n for n, g in counties.items() if g.contains(pt)] == ["紫阳县"]
    # well inside: farther from 紫阳县's own edge than a tenth of its size, so a click on the label's text opens it
    minx, miny, maxx, maxy = ziyang.bounds
    assert ziyang.boundary.distance(pt) > 0.1 * min(maxx - minx, maxy - miny)
    # and inside what the browser draws (the simplified county)
    assert shape(geo.shape_to_geometry(ziyang, "county")).contains(pt)


def test_every_county_label_is_inside_its_own_county_only():
    counties = _counties()
    for name, geom in counties.items():
        pt = Point(label_point(geom))
        assert [n for n, g in counties.items() if g.contains(pt)] == [name]


def test_label_of_a_u_shape_is_inside_although_its_centroid_is_not():
    u = Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)])
    assert not u.contains(u.centroid)
    assert u.contains(Point(label_point(u)))


def test_label_of_a_multipolygon_is_in_its_largest_part():
    small = Polygon([(0, 0), (0.1, 0), (0.1, 0.1), (0, 0.1)])
    large = Polygon([(5, 5), (7, 5), (7, 6), (5, 6)])
    assert large.contains(Point(label_point(MultiPolygon([small, large]))))


def test_label_of_nothing_is_none():
    assert label_point(Polygon()) is None
    assert label_point(Point(108, 32)) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.2, max_value=1.0), min_size=5, max_size=24),
       st.floats(min_value=108.0, max_value=110.0), st.floats(min_value=31.5, max_value=33.5),
       st.floats(min_value=0.001, max_value=0.5))
def test_label_of_any_star_polygon_is_inside(radii, lon, lat, size):
    n = len(radii)
    ring = [(lon + size * r * math.cos(2 * math.pi * i / n), lat + size * r * math.sin(2 * math.pi * i / n))
            for i, r in enumerate(radii)]
    poly = shapely.make_valid(Polygon(ring))
    x, y = label_point(poly)
    assert poly.buffer(1e-5).contains(Point(x, y))


def test_choropleth_breaks_are_rounded_increasing_and_bands_cover_them():
    vals = [3, 17, 120, 1234, 1250, 5600, 9870, 12345, 45678, 99999]
    brk = choropleth.breaks(vals)
    assert brk == sorted(set(brk)) and len(brk) <= len(choropleth.COLORS) - 1
    assert all(len(str(int(b)).rstrip("0")) <= 2 for b in brk)  # two significant figures, for people
    bands = choropleth.bands(brk)
    assert len(bands) == len(brk) + 1
    assert [c for _, c in bands] == list(choropleth.COLORS[:len(bands)])
    assert bands[0][0].startswith("≤") and bands[-1][0].startswith(">")
    # every value's colour is one of the bands' and grows with the value
    order = [choropleth.COLORS.index(choropleth.color(v, brk)) for v in sorted(vals)]
    assert order == sorted(order) and order[0] == 0
    assert choropleth.breaks([]) == [] and choropleth.bands([]) == [("全部", choropleth.COLORS[0])]
    assert choropleth.breaks([0.4, 0.43, 1.27, 2.2, 3.9, 4.8]) == [0.43, 1.3, 2.2, 3.9]


def _luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_choropleth_lowest_band_is_not_white_and_modes_are_named():
    assert _luminance(choropleth.COLORS[0]) < 0.9  # the old lowest band (#f7fbff) read as "no data"
    lum = [_luminance(c) for c in choropleth.COLORS]
    assert lum == sorted(lum, reverse=True)  # darker means more
    assert choropleth.MODES["density"][1] == "人/平方公里"
    assert choropleth.mode_of("density") == "density" and choropleth.mode_of("<script>") == "residents"


def test_every_count_bubble_has_a_legend_entry_and_contradicts_no_symbol():
    bubbles, symbols = {}, {}
    for key, layer in LAYERS.items():
        for item in layer.legend:
            (bubbles if item.shape == "bubble" else symbols).setdefault(item.color.lower(), []).append((key, item.label))
        if key in ("special", "disputes", "cameras", "orgs", "population", "coverage"):
            color = layer.hideout.get("bubbleColor", "").lower()
            assert color in bubbles and any(k == key for k, _ in bubbles[color]), key  # the map's = the legend's
    assert not set(bubbles) & set(symbols), "a bubble has the colour of another symbol"
    assert all(len(v) == 1 for v in bubbles.values()), "two layers' bubbles share a colour"


ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_leaflet_is_awaited_in_one_place():
    """pingan_boot.js (loaded first: Dash loads assets in name order) owns the wait for window.L."""
    boot = (ASSETS / "pingan_boot.js").read_text(encoding="utf-8")
    assert "whenLeaflet" in boot and sorted(p.name for p in ASSETS.glob("pingan_*.js"))[0] == "pingan_boot.js"
    for name in ("pingan_fit.js", "pingan_draw_zh.js"):
        text = (ASSETS / name).read_text(encoding="utf-8")
        assert "setInterval" not in text and "pingan.whenLeaflet(" in text, name


def test_vendored_licence_texts_are_not_served_as_scripts():
    from console import lazy_assets
    import re

    ignore = re.compile(lazy_assets.ASSETS_IGNORE)
    licences = [p.name for p in (ASSETS / "vendor").iterdir() if p.name.startswith("LICENSE")]
    assert licences and all(ignore.search(n) for n in licences)  # "LICENSE.hls-js" ends in "js"
