"""Synthetic boundaries below the real counties, and where buildings stand.

Towns partition each real county, villages partition each town, grids partition each village
(exactly, via `geodata.partition`). Seeds — and so settlements — prefer river valleys: people in
Ankang live along the Han river and its tributaries, not on the ridges.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

from geodata import realdata
from geodata.gridcodes import grid_codes
from geodata.partition import balanced_bisection, partition_by_seeds

DEG_KM = 111.0  # km per degree of latitude; longitude scaled by cos(lat)
GRID_TARGET = {"community": 400, "village": 300}  # households per grid (docs/domain.md §2)


def _sample_inside(rng, poly, n, candidates=4):
    """Uniform random points inside `poly` (rejection sampling from its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    out = np.empty((0, 2))
    shapely.prepare(poly)
    while len(out) < n:
        m = max(64, (n - len(out)) * candidates)
        pts = np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)])
        out = np.vstack([out, pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]])
    return out[:n]


def valley_weight(points: np.ndarray, sigma_km: float = 3.0) -> np.ndarray:
    """Settlement preference: high near rivers, never zero on the hills."""
    reach = 3 * sigma_km / DEG_KM / 0.8  # beyond 3 sigma the weight is flat; clip rivers to save time
    (minx, miny), (maxx, maxy) = points.min(axis=0) - reach, points.max(axis=0) + reach
    local = shapely.clip_by_rect(realdata.rivers(), minx, miny, maxx, maxy)
    if local.is_empty:
        return np.full(len(points), 0.15)
    d = shapely.distance(local, shapely.points(points)) * DEG_KM
    return 0.15 + np.exp(-((d / sigma_km) ** 2))


def spread_seeds(rng, poly, n, *, fixed=None, sigma_km=3.0, pool=40):
    """`n` well-spread seeds inside `poly`, biased to valleys (weighted best-candidate sampling).
    `fixed` seeds (e.g. a county seat) are kept first and spacing is measured from them too."""
    if n <= 0:
        return np.empty((0, 2))
    cand = _sample_inside(rng, poly, max(pool * n, 200))
    weight = valley_weight(cand, sigma_km)
    chosen = [] if fixed is None else [tuple(p) for p in np.atleast_2d(fixed)]
    coslat = math.cos(math.radians(cand[:, 1].mean()))
    scale = np.array([coslat, 1.0])
    mind = np.full(len(cand), np.inf)
    for p in chosen:
        mind = np.minimum(mind, np.hypot(*((cand - p) * scale).T))
    free = n - len(chosen)
    for _ in range(max(free, 0)):
        score = np.where(np.isinf(mind), 1.0, mind) * weight
        i = int(np.argmax(score))
        chosen.append(tuple(cand[i]))
        mind = np.minimum(mind, np.hypot(*((cand - cand[i]) * scale).T))
    return np.asarray(chosen[:n], dtype=float)


def near(rng, poly, centre, n, radius_km):
    """`n` points inside `poly` scattered around `centre` (for a town's 街道/社区 around its core)."""
    out = np.empty((0, 2))
    coslat = math.cos(math.radians(centre[1]))
    tries = 0
    while len(out) < n and tries < 50:
        pts = centre + rng.normal(0, radius_km / DEG_KM, (4 * n, 2)) / np.array([coslat, 1.0])
        out = np.vstack([out, pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]])
        tries += 1
    if len(out) < n:  # a tiny or thin polygon: fall back to anywhere inside
        out = np.vstack([out, _sample_inside(rng, poly, n - len(out))])
    return out[:n]


def town_polygons(rng, county, towns: pd.DataFrame, seat) -> tuple[list, np.ndarray]:
    """Polygons (aligned with `towns` rows) partitioning the county; urban towns cluster at the seat."""
    urban = (towns["kind"].eq("subdistrict") | towns["name"].eq("城关镇")).to_numpy()
    seeds = np.empty((len(towns), 2))
    n_urban = int(urban.sum())
    if n_urban:
        seeds[urban] = near(rng, county, np.asarray(seat), n_urban, radius_km=2.5 + n_urban)
        if n_urban == 1:
            seeds[urban] = np.asarray(seat)
    rural_seeds = spread_seeds(rng, county, len(towns), fixed=seeds[urban] if n_urban else None)[n_urban:]
    seeds[~urban] = rural_seeds
    pieces = partition_by_seeds(county, seeds, rng=rng)
    return pieces, seeds


def village_polygons(rng, town_poly, town_seed, villages: pd.DataFrame) -> tuple[list, np.ndarray]:
    community = villages["kind"].eq("community").to_numpy()
    seeds = np.empty((len(villages), 2))
    n_comm = int(community.sum())
    if n_comm:
        seeds[community] = near(rng, town_poly, np.asarray(town_seed), n_comm, radius_km=0.6 + 0.25 * n_comm)
    seeds[~community] = spread_seeds(rng, town_poly, len(villages), fixed=seeds[community] if n_comm else None,
                                     sigma_km=1.5)[n_comm:]
    return partition_by_seeds(town_poly, seeds, rng=rng), seeds


def buildings_in_village(rng, poly, seed, kind: str, households: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Building points, dwellings per building and building kind for one village.
    社区: apartment blocks (12–96 flats) around the core; 村: houses of one household (some two)
    grouped into 2–6 natural villages (自然村) in the valley parts of the village."""
    if kind == "community":
        dwell = rng.integers(12, 97, households // 12 + 2)
        kinds_pool = np.array(["apartment", "apartment", "apartment", "mixed"])
        centres = np.atleast_2d(seed)
        spread_km = 0.25 + 0.02 * math.sqrt(households)
    else:
        dwell = np.where(rng.random(households + 1) < 0.1, 2, 1)
        kinds_pool = np.array(["house", "house", "house", "bungalow"])
        area_km2 = shapely.area(poly) * DEG_KM**2 * math.cos(math.radians(seed[1]))
        centres = spread_seeds(rng, poly, int(np.clip(round(area_km2 / 2.5), 2, 6)), sigma_km=0.8, pool=20)
        spread_km = 0.18
    cum = np.cumsum(dwell)
    nb = int(np.searchsorted(cum, households) + 1)
    dwell = dwell[:nb].copy()
    dwell[-1] -= cum[nb - 1] - households
    share = rng.dirichlet(np.full(len(centres), 2.0))
    which = rng.choice(len(centres), nb, p=share)
    pts = np.empty((nb, 2))
    for c in range(len(centres)):
        idx = np.flatnonzero(which == c)
        if len(idx):
            pts[idx] = near(rng, poly, centres[c], len(idx), spread_km)
    return pts, dwell, kinds_pool[rng.integers(0, len(kinds_pool), nb)]


def grid_polygons(village_code: str, kind: str, poly, pts: np.ndarray, dwell: np.ndarray):
    """Grids of one village by balanced bisection of its households; returns (codes, polygons)."""
    k = max(1, round(int(dwell.sum()) / GRID_TARGET[kind]))
    k = min(k, len(pts)) if len(pts) else 1
    polys, _labels = balanced_bisection(poly, pts, k, weights=dwell)
    return grid_codes(village_code, polys), polys
