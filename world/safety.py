"""公共安全 demo data: key places near real towns' buildings and 护路护线 sections along real county seats.

Synthetic and marked so (`synthetic` = true): Ankang's real schools, hospitals, hazardous sites and their risk
levels are not public data. The lines are drawn through the real county seats (geodata/data, GeoNames) in the
order the real 襄渝、阳安 railways and the 十天 (G7011) expressway pass them — a plausible course, not a survey
(docs/demo-world.md). Their own random stream (`seed`, 12), so the other tables do not change."""

from __future__ import annotations


import numpy as np
import pandas as pd
import shapely

from console.safety.geo import line_length_m
from geodata import realdata

from .cases import _pick_sites

# Per kind: records at full scale, an urban bias for the site, names, and risk-level shares (high, medium, low)
KINDS = {
    "school": (1000, 2.0, ("中心小学", "初级中学", "幼儿园", "九年制学校"), (0.1, 0.5, 0.4)),
    "hospital": (180, 3.0, ("卫生院", "人民医院", "中医医院", "社区卫生服务中心"), (0.1, 0.4, 0.5)),
    "hazard": (60, 0.5, ("液化气储配站", "化工仓库", "民爆物品仓库", "尾矿库"), (0.6, 0.3, 0.1)),
    "petrol": (300, 1.0, ("加油站",), (0.3, 0.5, 0.2)),
    "logistics": (500, 3.0, ("邮政快递网点", "顺丰速运网点", "中通快递网点", "韵达快递网点"), (0.05, 0.35, 0.6)),
    "market": (200, 2.0, ("农贸市场", "集贸市场"), (0.1, 0.4, 0.5)),
}
KIND_CODES = {"school": "XY", "hospital": "YY", "hazard": "WX", "petrol": "JY", "logistics": "WL", "market": "SC"}
RISKS = np.array(["high", "medium", "low"])
CONTACT_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周")

# (code, name, kind, risk, county seats in order): the real lines' order through Ankang's county seats
LINES = (
    ("TL-XY", "襄渝铁路", "railway", "high", ("610924", "610902", "610981", "610929")),
    ("TL-YA", "阳安铁路", "railway", "high", ("610922", "610921", "610902")),
    ("GS-G7011", "十天高速（G7011）", "highway", "medium", ("610929", "610981", "610902", "610921", "610922")),
)
SAMPLE_M = 150.0  # the responsible grids: the grids of points this far apart along a section


def key_places(seed: int, buildings: pd.DataFrame, town_names: dict, village_names: dict,
               scale: float) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 12])
    frames = []
    for kind, (full, bias, words, risk_p) in KINDS.items():
        n = max(6, round(full * scale))
        site = _pick_sites(rng, buildings, n, urban_bias=bias, jitter_deg=0.0003)
        town = site["village_code"].str[:9].map(town_names).fillna("")
        village = site["village_code"].map(village_names).fillna("")
        word = np.asarray(words, dtype=object)[rng.integers(0, len(words), n)]
        prefix = np.where(kind == "petrol", "中国石化", "")
        name = prefix + np.where(np.isin(word, ("卫生院", "人民医院", "中医医院", "农贸市场", "中心小学", "初级中学")),
                                 town, town + village) + word
        frames.append(pd.DataFrame({
            "kind": kind, "name": name, "address": site["address"].to_numpy(),
            "risk_level": RISKS[rng.choice(3, n, p=risk_p)],
            "contact": [CONTACT_SURNAMES[i] + "某某" for i in rng.integers(0, len(CONTACT_SURNAMES), n)],
            "lon": site["lon"].to_numpy(), "lat": site["lat"].to_numpy(),
            "base_lon": site["base_lon"].to_numpy(), "base_lat": site["base_lat"].to_numpy(),
            "county": site["village_code"].str[:6].to_numpy(),
        }))
    out = pd.concat(frames, ignore_index=True)
    serial = out.groupby(["county", "kind"]).cumcount() + 1
    out["code"] = ("ZD" + out["county"] + out["kind"].map(KIND_CODES) + serial.astype(str).str.zfill(4))
    out["synthetic"] = True
    return out.drop(columns=["county"])


def _sections(line: shapely.LineString, town_geom: dict) -> list[tuple[str, shapely.LineString]]:
    """The line cut by the towns it crosses: (town code, one piece), pieces shorter than 200 m dropped."""
    out = []
    for code in sorted(town_geom):
        poly = town_geom[code]
        if not poly.intersects(line):
            continue
        piece = line.intersection(poly)
        for part in getattr(piece, "geoms", [piece]):
            if isinstance(part, shapely.LineString) and line_length_m(part) >= 200:
                out.append((code, part))
    return out


def _sample(part: shapely.LineString, length_m: float) -> np.ndarray:
    n = max(2, int(length_m // SAMPLE_M) + 1)
    pts = shapely.line_interpolate_point(part, np.linspace(0.01, 0.99, n), normalized=True)  # not the ends: they touch the next town
    return shapely.get_coordinates(pts)


def safety_lines(index, town_geom: dict, town_names: dict) -> pd.DataFrame:
    """One row per section of each line inside one town, located at its midpoint, with its grids."""
    seats = realdata.county_seats()
    city = realdata.city().geometry
    rows = []
    for code, name, kind, risk, stops in LINES:
        whole = shapely.LineString([seats[c] for c in stops]).intersection(city)
        lines = [g for g in getattr(whole, "geoms", [whole]) if isinstance(g, shapely.LineString)]
        serial = 0
        for line in lines:
            for town, part in _sections(line, town_geom):
                length = line_length_m(part)
                xy = _sample(part, length)
                res = index.assign(xy[:, 0], xy[:, 1])
                grids = [str(index.codes[i]) for i in res.poly_idx if i >= 0]
                mid = part.interpolate(0.5, normalized=True)
                mres = index.assign(np.array([mid.x]), np.array([mid.y]))
                if not grids or mres.poly_idx[0] < 0:
                    continue
                own = str(index.codes[mres.poly_idx[0]])
                ordered = [own] + [g for g in dict.fromkeys(grids) if g != own]
                serial += 1
                part = shapely.set_precision(part, 1e-6)
                x0, y0, x1, y1 = part.bounds
                rows.append({
                    "code": f"{code}-{serial:03d}", "name": f"{name}{town_names.get(town, '')}段", "kind": kind,
                    "risk_level": risk, "length_m": round(length, 1),
                    "geometry": shapely.to_geojson(part),
                    "grids": ",".join(ordered), "min_lon": x0, "min_lat": y0, "max_lon": x1, "max_lat": y1,
                    "synthetic": True, "lon": mid.x, "lat": mid.y, "grid_code": own, "village_code": own[:12],
                    "town_code": own[:9], "county_code": own[:6], "assign_generation": 1,
                })
    out = pd.DataFrame(rows)
    out.insert(0, "id", np.arange(1, len(out) + 1))
    return out
