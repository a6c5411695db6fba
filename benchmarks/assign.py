"""Benchmark: geodata.assign vs geopandas.sjoin vs DuckDB spatial (ST_Contains join).

    .venv/bin/python benchmarks/assign.py                       # 3,000,000 points, 10,000 grids
    .venv/bin/python benchmarks/assign.py --points 200000 --grids 2000

Grids: Voronoi cells of seeded points inside the real Ankang city outline, clipped to it.
Points: Gaussian clusters around a few hundred centres + a uniform share over the
outline's bounding box (so some fall outside), plus a few thousand points placed exactly
on shared grid edges and on interior vertices.  Everything is shuffled.

The engine is measured first (after a tiny warm-up call that loads, or on a cold cache
compiles, the numba kernels -- reported separately), its peak RSS is recorded, then the
baselines run.  The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import resource
import sys
import time
from fractions import Fraction

import numpy as np
import psutil
import shapely
from shapely.geometry import box, shape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
OUTLINE = os.path.join(ROOT, "geodata", "data", "ankang_city_tianditu_cgcs2000.geojson")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ----------------------------------------------------------------------------- data
def load_outline():
    with open(OUTLINE, encoding="utf-8") as fh:
        gj = json.load(fh)
    return shapely.union_all([shape(f["geometry"]) for f in gj["features"]])


def sample_inside(poly, n, rng):
    x0, y0, x1, y1 = poly.bounds
    out = []
    shapely.prepare(poly)
    while sum(len(o) for o in out) < n:
        p = rng.uniform((x0, y0), (x1, y1), (2 * n, 2))
        out.append(p[shapely.contains_xy(poly, p[:, 0], p[:, 1])])
    return np.concatenate(out)[:n]


def make_grids(outline, n, rng):
    seeds = sample_inside(outline, n, rng)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds),
                                                       extend_to=box(*outline.bounds)))
    clipped = shapely.intersection(cells, outline)
    polys = []
    for g in clipped:  # keep the areal part of each clipped cell
        if g.geom_type in ("Polygon", "MultiPolygon"):
            polys.append(g)
        else:
            parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            polys.append(shapely.multipolygons(parts) if len(parts) > 1 else parts[0])
    polys = np.array([p for p in polys if not p.is_empty and p.area > 0], dtype=object)
    bad = ~shapely.is_valid(polys)
    if bad.any():
        polys[bad] = [shapely.make_valid(p) for p in polys[bad]]
    codes = [f"610900{i:09d}" for i in range(len(polys))]
    return codes, polys


def ring_edges(polys):
    """All ring edges (x0, y0, x1, y1, poly) of the grids (exact coordinates)."""
    parts, src = shapely.get_parts(polys, return_index=True)
    rings, rsrc = shapely.get_rings(parts, return_index=True)
    xy, ci = shapely.get_coordinates(rings, return_index=True)
    same = ci[1:] == ci[:-1]
    e = np.column_stack([xy[:-1][same], xy[1:][same]])
    return e, src[rsrc[ci[:-1][same]]]


def make_points(outline, n_random, rng):
    x0, y0, x1, y1 = outline.bounds
    centres = sample_inside(outline, 300, rng)
    weights = rng.lognormal(0.0, 1.0, len(centres))
    n_uni = int(0.15 * n_random)
    n_clu = n_random - n_uni
    which = rng.choice(len(centres), n_clu, p=weights / weights.sum())
    sigma = rng.uniform(0.004, 0.03, len(centres))[which]
    clu = centres[which] + rng.standard_normal((n_clu, 2)) * sigma[:, None]
    uni = rng.uniform((x0, y0), (x1, y1), (n_uni, 2))
    pts = np.concatenate([clu, uni])
    pts[:, 0] = np.clip(pts[:, 0], -180, 180)
    pts[:, 1] = np.clip(pts[:, 1], -90, 90)
    return pts


def _orient_exact(ax, ay, bx, by, px, py) -> int:
    d = ((Fraction(bx) - Fraction(ax)) * (Fraction(py) - Fraction(ay))
         - (Fraction(by) - Fraction(ay)) * (Fraction(px) - Fraction(ax)))
    return (d > 0) - (d < 0)


def _which(polys_prepared, x, y):
    hits = np.flatnonzero(shapely.contains_xy(polys_prepared, x, y))
    return int(hits[0]) if hits.size == 1 else (-1 if hits.size == 0 else -2)


def make_edge_points(polys, n_mid, n_vert, rng):
    """Points on shared edges (midpoints) and interior vertices, with the polygon the
    documented rule gives where that is decidable (-3 = not decidable)."""
    e, owner = ring_edges(polys)
    a = e[:, :2].copy()
    b = e[:, 2:].copy()
    swap = (a[:, 1] > b[:, 1]) | ((a[:, 1] == b[:, 1]) & (a[:, 0] > b[:, 0]))
    key = np.where(swap[:, None], np.column_stack([b, a]), np.column_stack([a, b])) + 0.0
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    shared = cnt[inv] == 2
    outer_vertices = {tuple(v) for v in np.concatenate([a[~shared], b[~shared]])}
    tree = shapely.STRtree(polys)
    for p in polys:
        shapely.prepare(p)

    def rule(x, y, dirs_angles, scale):
        """Polygon containing the points just east-north-east of (x, y)."""
        if dirs_angles is None:
            return None
        ang = np.sort(dirs_angles)
        lo = ang[ang <= 0.0].max() if (ang <= 0.0).any() else ang.max() - 2 * math.pi
        hi = ang[ang > 0.0].min() if (ang > 0.0).any() else ang.min() + 2 * math.pi
        mid = 0.5 * (lo + hi)
        px, py = x + scale * math.cos(mid), y + scale * math.sin(mid)
        cand = tree.query(shapely.points(px, py))
        hits = [int(c) for c in cand if shapely.contains_xy(polys[c], px, py)]
        return hits[0] if len(hits) == 1 else -3

    pts, expect = [], []
    sh = np.flatnonzero(shared)
    first = sh[np.unique(inv[sh], return_index=True)[1]]  # one copy per shared edge
    for k in rng.choice(first, min(n_mid, len(first)), replace=False):
        (ax, ay), (bx, by) = a[k], b[k]
        mx, my = 0.5 * (ax + bx), 0.5 * (ay + by)
        length = math.hypot(bx - ax, by - ay)
        s = _orient_exact(ax, ay, bx, by, mx, my)
        if s == 0:  # exactly on the edge: east side (north side if horizontal)
            ang_e = math.atan2(by - ay, bx - ax)
            exp = rule(mx, my, np.array([ang_e, ang_e - math.pi if ang_e > 0 else ang_e + math.pi]),
                       1e-4 * length)
        else:  # 1 ulp off the edge: the polygon on that side
            nx_, ny_ = -(by - ay) / length, (bx - ax) / length  # left normal
            d = s * 1e-4 * length
            cand = tree.query(shapely.points(mx + d * nx_, my + d * ny_))
            hits = [int(c) for c in cand
                    if shapely.contains_xy(polys[c], mx + d * nx_, my + d * ny_)]
            exp = hits[0] if len(hits) == 1 else -3
        pts.append((mx, my))
        expect.append(exp)
    # interior vertices: endpoints of shared edges that are not on the outer boundary
    inc: dict[tuple, list] = {}
    for (ax, ay), (bx, by) in zip(a, b):
        inc.setdefault((ax, ay), []).append((bx - ax, by - ay))
        inc.setdefault((bx, by), []).append((ax - bx, ay - by))
    verts = [v for v in {tuple(v) for v in a[shared]} if v not in outer_vertices]
    verts.sort()
    for j in rng.choice(len(verts), min(n_vert, len(verts)), replace=False):
        v = verts[j]
        d = np.array(inc[v])
        scale = 1e-3 * float(np.hypot(d[:, 0], d[:, 1]).min())
        pts.append(v)
        expect.append(rule(v[0], v[1], np.arctan2(d[:, 1], d[:, 0]), scale))
    return np.array(pts, float).reshape(-1, 2), np.array(expect)


# ------------------------------------------------------------------------ baselines
def run_sjoin(polys, lon, lat):
    import geopandas as gpd

    t0 = time.perf_counter()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4490")
    grids = gpd.GeoDataFrame({"gid": np.arange(len(polys))}, geometry=list(polys),
                             crs="EPSG:4490")
    t1 = time.perf_counter()
    j = gpd.sjoin(pts, grids, predicate="within", how="inner")
    out = np.full(len(lon), -1, np.int64)
    left = j.index.to_numpy()
    out[left] = j["gid"].to_numpy()
    multi = int(len(left) - np.unique(left).size)
    t2 = time.perf_counter()
    log(f"sjoin: {t2 - t0:.2f}s (points_from_xy {t1 - t0:.2f}s, join {t2 - t1:.2f}s), "
        f"{multi} multi-matches")
    return out, t2 - t0


def run_duckdb(polys, lon, lat):
    import duckdb
    import duckdb_extension_spatial
    import pandas as pd

    ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "**",
                                 "spatial.duckdb_extension"), recursive=True)[0]
    con = duckdb.connect()
    con.execute(f"LOAD '{ext}'")
    t0 = time.perf_counter()
    con.register("pdf", pd.DataFrame({"i": np.arange(len(lon)), "x": lon, "y": lat}))
    con.register("gdf", pd.DataFrame({"gid": np.arange(len(polys)),
                                      "wkb": shapely.to_wkb(polys)}))
    con.execute("CREATE TABLE pts AS SELECT i, ST_Point(x, y) AS geom FROM pdf")
    con.execute("CREATE TABLE grids AS SELECT gid, ST_GeomFromWKB(wkb) AS geom FROM gdf")
    t1 = time.perf_counter()
    sql = "SELECT p.i, g.gid FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom)"
    plan = con.execute("EXPLAIN " + sql).fetchall()[0][1]
    res = con.execute(sql).fetchnumpy()
    out = np.full(len(lon), -1, np.int64)
    out[res["i"]] = res["gid"]
    t2 = time.perf_counter()
    log(f"duckdb: {t2 - t0:.2f}s (load {t1 - t0:.2f}s, join+fetch {t2 - t1:.2f}s), "
        f"operator SPATIAL_JOIN={'SPATIAL_JOIN' in plan}, "
        f"{len(res['i']) - np.unique(res['i']).size} multi-matches")
    con.close()
    return out, t2 - t0


def warm_up(assign_points):
    """Exercise every kernel path: build, locate, nearest (tree, grid, far/sphere)."""
    import numpy as np
    from shapely.geometry import box

    x = np.linspace(-1.0, 3.0, 120_000)  # >= SORT_MIN_POINTS: the tile-sorted path too
    y = np.linspace(-1.0, 2.0, 120_000)[::-1].copy()
    assign_points(["a", "b"], [box(0, 0, 1, 1), box(1, 0, 2, 1)], x, y)
    assign_points(["a", "b"], [box(0, 0, 1, 1), box(1, 0, 2, 1)], [0.5, 3.0, 150.0], [0.5] * 3)


def compiled_kernels() -> int:
    """Number of numba kernel signatures compiled (not loaded from cache) so far."""
    from numba.core.registry import CPUDispatcher

    from geodata.assign import kernels, near_kernels
    return sum(sum(f.stats.cache_misses.values()) for mod in (kernels, near_kernels)
               for f in vars(mod).values() if isinstance(f, CPUDispatcher))


def cold_compile_seconds() -> float:
    """Wall time of import + first tiny call with an empty numba cache (subprocess)."""
    import subprocess
    import tempfile

    import inspect

    code = ("import sys; sys.path.insert(0, %r)\n" % ROOT + inspect.getsource(warm_up)
            + "from geodata.assign import assign_points\nwarm_up(assign_points)\n")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=tmp)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        return round(time.perf_counter() - t0, 2)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=3_000_000)
    ap.add_argument("--grids", type=int, default=10_000)
    ap.add_argument("--edge-points", type=int, default=3000, help="on-edge + vertex points")
    ap.add_argument("--seed", type=int, default=20201101)
    ap.add_argument("--cell-size", type=float, default=None, help="engine cell size (deg)")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-cold", action="store_true",
                    help="skip timing a cold numba compile in a subprocess")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    proc = psutil.Process()

    log(f"building {args.grids} Voronoi grids clipped to the Ankang outline")
    outline = load_outline()
    codes, polys = make_grids(outline, args.grids, rng)
    log(f"{len(polys)} grids; placing on-edge/vertex points")
    edge_xy, edge_expect = make_edge_points(polys, args.edge_points * 2 // 3,
                                            args.edge_points - args.edge_points * 2 // 3, rng)
    n_rand = args.points - len(edge_xy)
    rand_xy = make_points(outline, n_rand, rng)
    xy = np.concatenate([rand_xy, edge_xy])
    is_edge = np.zeros(len(xy), bool)
    is_edge[n_rand:] = True
    perm = rng.permutation(len(xy))
    xy, is_edge = xy[perm], is_edge[perm]
    expect = np.full(len(xy), -4)
    expect[is_edge] = edge_expect[perm[is_edge] - n_rand]
    lon = np.ascontiguousarray(xy[:, 0])
    lat = np.ascontiguousarray(xy[:, 1])
    del xy, rand_xy
    log(f"{len(lon)} points ({int(is_edge.sum())} on shared edges/vertices)")

    # ---------------------------------------------------------------- engine
    rss_before = proc.memory_info().rss / 2**20
    t0 = time.perf_counter()
    from geodata.assign import PolygonIndex, assign_points
    warm_up(assign_points)
    warm = time.perf_counter() - t0
    compiled_warm_up = compiled_kernels()
    cache_warm = compiled_warm_up == 0
    log(f"engine warm-up (import + numba {'cache load' if cache_warm else 'COLD compile'}): "
        f"{warm:.2f}s -- excluded from engine_s")
    c0 = time.process_time()
    t0 = time.perf_counter()
    index = PolygonIndex.build(codes, polys, args.cell_size)
    t1 = time.perf_counter()
    res = index.assign(lon, lat)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    t_loc = time.perf_counter()
    index.locate(lon, lat)
    t_loc = time.perf_counter() - t_loc
    eng = res.poly_idx.astype(np.int64)
    compiled_in_timing = compiled_kernels() - compiled_warm_up
    peak_engine = peak_rss_mb()
    log(f"engine: {t2 - t0:.3f}s (process CPU {cpu:.3f}s) = build {t1 - t0:.3f}s + "
        f"assign {t2 - t1:.3f}s "
        f"(locate only {t_loc:.3f}s; {res.outside.size} outside points with nearest grid); "
        f"{index!r}; stats {index.stats}")
    log(f"peak RSS after engine {peak_engine:.0f} MB (RSS before engine {rss_before:.0f} MB)")

    # ------------------------------------------------------------- on-edge checks
    e_idx = np.flatnonzero(is_edge)
    once = int((eng[e_idx] >= 0).sum())
    decidable = expect[e_idx] >= 0
    rule_ok = int((eng[e_idx][decidable] == expect[e_idx][decidable]).sum())
    log(f"on-edge: {once}/{e_idx.size} assigned to exactly one grid; rule decidable for "
        f"{int(decidable.sum())}, engine matches rule for {rule_ok}")

    out = {"points": int(len(lon)), "grids": int(len(polys)),
           "engine_s": round(t2 - t0, 4), "engine_build_s": round(t1 - t0, 4),
           "engine_query_s": round(t2 - t1, 4), "engine_locate_only_s": round(t_loc, 4),
           "engine_cpu_s": round(cpu, 3),
           "engine_warmup_s": round(warm, 3), "numba_cache_was_warm": cache_warm,
           "kernels_compiled_during_timing": compiled_in_timing,
           "outside_points": int(res.outside.size)}
    if not args.no_baselines:
        sj, t_sj = run_sjoin(polys, lon, lat)
        dk, t_dk = run_duckdb(polys, lon, lat)
        r = ~is_edge
        same = (eng[r] == sj[r]) & (eng[r] == dk[r])
        bad = np.flatnonzero(r)[~same]
        if bad.size:
            eg = [(float(lon[i]), float(lat[i]), int(eng[i]), int(sj[i]), int(dk[i]))
                  for i in bad[:5]]
            log(f"DISAGREEMENT at {bad.size} off-edge points, e.g. {eg}")
        log(f"on-edge points matched by sjoin-within: {int((sj[e_idx] >= 0).sum())}, "
            f"by duckdb ST_Contains: {int((dk[e_idx] >= 0).sum())} (boundary is not 'within')")
        out.update({"sjoin_s": round(t_sj, 3), "duckdb_s": round(t_dk, 3),
                    "speedup_vs_duckdb": round(t_dk / (t2 - t0), 2),
                    "speedup_vs_sjoin": round(t_sj / (t2 - t0), 2),
                    "agreement": float(same.mean())})
    if not args.no_cold:
        out["engine_cold_compile_s"] = cold_compile_seconds()
        log(f"cold numba compile + first call (fresh NUMBA_CACHE_DIR, subprocess): "
            f"{out['engine_cold_compile_s']:.1f}s")
    out.update({"on_edge_points": int(e_idx.size), "on_edge_assigned_once": once,
                "on_edge_rule_decidable": int(decidable.sum()), "on_edge_rule_match": rule_ok,
                "peak_rss_mb": round(peak_engine, 1), "peak_rss_total_mb": round(peak_rss_mb(), 1),
                "engine_cold_s_note": "engine_s excludes engine_warmup_s (numba cache load in "
                                      "this run); on a never-compiled checkout add "
                                      "engine_cold_compile_s once"})
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
