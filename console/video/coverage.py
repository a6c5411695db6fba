"""Camera coverage (docs/video.md "Coverage"): each camera's view sector, per grid the share of households a
sector covers, and the grids where the next camera would cover most. Pure, vectorised (numpy + shapely 2).

A sector is the camera's position, its direction (degrees from north), its horizontal field of view and its
useful range; the device list rarely gives the last two, so they default by camera kind. A dome (球机) turns:
its sector is the full circle. Sectors are built in degrees with a local metre scale per camera (an error far
below a camera's range at Ankang's latitudes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from .nearest import DEFAULT_FOV

# Useful range by camera kind (metres): where a face or a plate is still recognisable, not where light ends.
DEFAULT_RANGE_M = {"bullet": 50.0, "dome": 80.0, "hemisphere": 15.0, "face": 20.0, "vehicle": 30.0}
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0
ARC_POINTS = 12


def view_of(kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(field of view in degrees, range in metres) for each camera kind; unknown kinds as a 枪机 (bullet)."""
    fov = np.array([DEFAULT_FOV.get(k, DEFAULT_FOV["bullet"]) for k in kinds], dtype=float)
    rng = np.array([DEFAULT_RANGE_M.get(k, DEFAULT_RANGE_M["bullet"]) for k in kinds], dtype=float)
    return fov, rng


def sectors(lons: np.ndarray, lats: np.ndarray, directions: np.ndarray, fovs: np.ndarray,
            ranges: np.ndarray, arc_points: int = ARC_POINTS) -> np.ndarray:
    """One polygon per camera (shapely array, lon/lat degrees): a circle where fov ≥ 360, else a sector."""
    lons, lats = np.asarray(lons, float), np.asarray(lats, float)
    n = lons.size
    out = np.empty(n, dtype=object)
    full = np.asarray(fovs) >= 360
    kx = ranges / (M_PER_DEG_LON_EQ * np.cos(np.radians(lats)))  # degrees of longitude per camera range
    ky = ranges / M_PER_DEG_LAT
    steps = np.linspace(0.0, 1.0, arc_points + 1)
    if full.any():
        theta = np.radians(np.linspace(0, 360, 2 * arc_points + 1))[None, :]
        x = lons[full, None] + kx[full, None] * np.sin(theta)
        y = lats[full, None] + ky[full, None] * np.cos(theta)
        out[full] = shapely.polygons(np.stack([x, y], axis=-1))
    part = ~full
    if part.any():
        start = directions[part] - fovs[part] / 2
        theta = np.radians(start[:, None] + fovs[part][:, None] * steps[None, :])
        x = lons[part, None] + kx[part, None] * np.sin(theta)
        y = lats[part, None] + ky[part, None] * np.cos(theta)
        cx, cy = lons[part, None], lats[part, None]
        ring = np.stack([np.hstack([cx, x, cx]), np.hstack([cy, y, cy])], axis=-1)
        out[part] = shapely.polygons(ring)
    return out


def covered(sector_geoms: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """True for each point inside at least one sector (an STRtree over the sectors, one bulk query)."""
    if sector_geoms.size == 0 or px.size == 0:
        return np.zeros(px.size, dtype=bool)
    tree = shapely.STRtree(sector_geoms)
    hits = tree.query(shapely.points(px, py), predicate="intersects")
    out = np.zeros(px.size, dtype=bool)
    out[hits[0]] = True
    return out


# The gap ranking's weight of one uncovered key place, in households (docs/video.md "Gap ranking"): where a camera
# is owed to a 高风险 place it outranks a street of unwatched homes.
RISK_WEIGHTS = {"high": 30.0, "medium": 10.0, "low": 3.0}


def place_weights(risk_levels) -> np.ndarray:
    """The gap weight of each key place by its risk level (高风险 > 较高风险 > 一般风险); unknown as 一般."""
    return np.array([RISK_WEIGHTS.get(r, RISK_WEIGHTS["low"]) for r in risk_levels], dtype=float)


def gap_scores(uncovered_households: np.ndarray, place_weight: np.ndarray) -> np.ndarray:
    """A grid's gap score: uncovered households + Σ risk weight of its uncovered key places. Pure."""
    return np.asarray(uncovered_households, float) + np.asarray(place_weight, float)


@dataclass(frozen=True)
class GridCoverage:
    grid_codes: np.ndarray  # one per grid
    households: np.ndarray  # households in the grid
    covered: np.ndarray  # households inside some camera's sector
    gap_lon: np.ndarray  # where the next camera would see most: weighted centre of what is unseen; NaN when none
    gap_lat: np.ndarray
    place_weight: np.ndarray | None = None  # Σ risk weight of the grid's uncovered key places (0 without places)

    @property
    def share(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.households > 0, self.covered / self.households, np.nan)

    @property
    def scores(self) -> np.ndarray:
        pw = self.place_weight if self.place_weight is not None else np.zeros(self.grid_codes.size)
        return gap_scores(self.households - self.covered, pw)

    def gaps(self, top: int = 20) -> list[dict]:
        """Grids by gap score (uncovered households + weighted uncovered key places), highest first: where
        the next camera is owed most. Ties: more uncovered households, then the grid code."""
        uncovered = self.households - self.covered
        score = self.scores
        order = np.lexsort((self.grid_codes, -uncovered, -score))
        out = []
        for i in order:
            if score[i] <= 0 or len(out) >= top:
                break
            out.append({"rank": len(out) + 1, "grid_code": str(self.grid_codes[i]),
                        "households": int(self.households[i]), "covered": int(self.covered[i]),
                        "uncovered": int(uncovered[i]), "score": round(float(score[i]), 1),
                        "place_weight": round(float(score[i] - uncovered[i]), 1),
                        "share": round(float(self.share[i]), 3) if self.households[i] else None,
                        "lon": float(self.gap_lon[i]), "lat": float(self.gap_lat[i])})
        return out


def by_grid(sector_geoms: np.ndarray, px: np.ndarray, py: np.ndarray, weights: np.ndarray,
            grids: np.ndarray, places: tuple | None = None) -> GridCoverage:
    """Households (points `px, py` carrying `weights` households each, in grid `grids`) covered per grid.
    `places`: the uncovered key places as (lon, lat, risk weight, grid) arrays — they add their weight to
    their grid's gap score and pull its gap centre towards them."""
    inside = covered(sector_geoms, px, py)
    w = np.asarray(weights, dtype=float)
    grids = np.asarray(grids)
    if places is not None and len(places[0]):
        qx, qy, qw, qg = (np.asarray(a) for a in places)
        all_grids = np.concatenate([grids.astype(str), qg.astype(str)])
    else:
        qx = qy = qw = np.zeros(0)
        all_grids = grids
    g, codes = pd.factorize(all_grids, sort=True)  # hashing: far faster than np.unique on strings
    gh, gq = g[:px.size], g[px.size:]
    total = np.bincount(gh, w, minlength=codes.size)
    cov = np.bincount(gh, w * inside, minlength=codes.size)
    un = w * ~inside
    pw = np.bincount(gq, qw.astype(float), minlength=codes.size)
    mass = np.bincount(gh, un, minlength=codes.size) + pw
    with np.errstate(invalid="ignore", divide="ignore"):
        gx = (np.bincount(gh, un * px, minlength=codes.size) + np.bincount(gq, qw * qx, minlength=codes.size)) / mass
        gy = (np.bincount(gh, un * py, minlength=codes.size) + np.bincount(gq, qw * qy, minlength=codes.size)) / mass
    return GridCoverage(np.asarray(codes), total.round().astype(int), cov.round().astype(int), gx, gy, pw)
