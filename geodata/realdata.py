"""Loaders for the real Ankang reference data shipped in `geodata/data/` (provenance: data/SOURCES.md).

All geometries are lon/lat degrees in CGCS2000 (EPSG:4490), which is within centimetres of WGS84.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import shapely
from shapely.geometry import shape

DATA = Path(__file__).with_name("data")

# GeoNames lacks 镇坪 and 白河, and misplaces the "Hanbin" row (SOURCES.md). These two seats are
# approximate positions of the county towns (城关镇) on the valley floor, good to ~1 km.
EXTRA_SEATS = {"610927": (109.526, 31.883), "610929": (110.113, 32.809)}
SEAT_BY_GEONAME = {
    "Ankang": "610902", "Hanyin Chengguanzhen": "610921", "Shiquan": "610922", "Ningshan Chengguanzhen": "610923",
    "Ziyang Chengguanzhen": "610924", "Langao Chengguanzhen": "610925", "Pingli": "610926", "Xunyang": "610981",
}


@dataclass(frozen=True)
class RealArea:
    code: str
    name: str
    geometry: shapely.Geometry


def _features(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as fh:
        return json.load(fh)["features"]


def _rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def city() -> RealArea:
    feat = _features("ankang_city_tianditu_cgcs2000.geojson")[0]
    return RealArea(feat["properties"]["code"], feat["properties"]["name"], shapely.make_valid(shape(feat["geometry"])))


@lru_cache(maxsize=1)
def counties() -> tuple[RealArea, ...]:
    feats = _features("ankang_counties_tianditu_cgcs2000.geojson")
    areas = [RealArea(f["properties"]["code"], f["properties"]["name"], shape(f["geometry"])) for f in feats]
    return tuple(sorted(areas, key=lambda a: a.code))


@lru_cache(maxsize=1)
def towns() -> tuple[dict, ...]:
    """The 139 乡镇/街道: code (9 digits), name, county_code, kind (subdistrict/town/township)."""
    out = []
    for r in _rows("ankang_towns_nbs2023.csv"):
        digits = int(r["town_code_9"][6:9])
        kind = "subdistrict" if digits < 100 else "town" if digits < 200 else "township"
        out.append({"code": r["town_code_9"], "name": r["town_name"], "county_code": r["county_code"], "kind": kind})
    return tuple(sorted(out, key=lambda t: t["code"]))


@lru_cache(maxsize=1)
def villages() -> tuple[dict, ...]:
    """The 1,924 村委会/居委会: code (12 digits), name, town_code, kind (village/community)."""
    out = []
    for r in _rows("ankang_villages_nbs2023.csv"):
        kind = "community" if r["kind"].startswith("居委会") else "village"
        out.append({"code": r["village_code_12"], "name": r["village_name"], "town_code": r["town_code_9"], "kind": kind})
    return tuple(sorted(out, key=lambda v: v["code"]))


@lru_cache(maxsize=1)
def census() -> dict[str, tuple[int, str]]:
    """Known 2020 census populations by code (city 610900, counties 6 digits, towns 9 digits) → (people, source)."""
    out = {}
    for r in _rows("ankang_population_2020_partial.csv"):
        if r["level"] not in ("city", "county", "town") or not r["code"]:
            continue
        code = r["code"][:9] if r["level"] == "town" else r["code"]
        out[code] = (int(r["population_2020"]), r["source"])
    return out


@lru_cache(maxsize=1)
def county_seats() -> dict[str, tuple[float, float]]:
    """County code → (lon, lat) of the county seat."""
    seats = dict(EXTRA_SEATS)
    for r in _rows("ankang_seats_geonames_cities1000.csv"):
        code = SEAT_BY_GEONAME.get(r["name"])
        if code:
            seats[code] = (float(r["lon"]), float(r["lat"]))
    return seats


@lru_cache(maxsize=1)
def rivers() -> shapely.Geometry:
    """汉江 and tributaries as one MultiLineString (for valley-biased settlement placement and the basemap)."""
    return shapely.union_all([shape(f["geometry"]) for f in _features("rivers_wdbii_ankang_bbox.geojson")])


def geojson_path(name: str) -> Path:
    return DATA / name
