"""A province-scale "batch world": `cities` copies of a built demo world (SQLite), each a synthetic city with its
own codes on the Ankang geometry, side by side (docs/scale.md, docs/demo-world.md).

    python -m world.province --template data/world.sqlite --cities 10 --out data/province.sqlite

City 0 is the template itself (every table). Cities 1… copy the areas, current grids, buildings, households and
residents only (a lighter world for the batch jobs: no cases, cameras or organisations there), with
- codes: the city prefix 6109 replaced by 61(90+k) in every area, grid, household and building code;
- positions and boundaries moved by whole tiles (5 cities a row), so the cities' grids never overlap and every
  copied record stays in the copy of its grid (the same float addition on both);
- ids moved by k·10⁸; blind indexes of ID numbers made distinct per city (the copies are other people).
Each copy is written into its own scratch file by a pool of processes (both cores), in chunks of rows, and
appended to the output as it finishes; the indexes are created once at the end. Memory stays small (SQL does
the copying); a 25 M-resident world from the full-scale template needs ~15 GB of disk.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import shapely

PREFIX = "6109"
COPIED = ("area", "grid", "building", "household", "person")
ID_STEP = 10**8
CHUNK = 500_000  # rows per INSERT … SELECT (bounded transactions, visible progress)
PER_ROW = 5  # cities in a row of tiles
GAP_DEG = 0.2


def city_prefix(k: int) -> str:
    return PREFIX if k == 0 else f"61{90 + k}"


def _recode(col: str, pfx: str) -> str:
    return (f"CASE WHEN {col} LIKE '{PREFIX}%' THEN '{pfx}' || substr({col}, 5) "
            f"WHEN {col} LIKE 'B{PREFIX}%' THEN 'B{pfx}' || substr({col}, 6) ELSE {col} END")


def _columns(con, table: str, schema: str = "main") -> list[str]:
    return [r[1] for r in con.execute(f"PRAGMA {schema}.table_info({table})")]


def _select(table: str, cols: list[str], k: int, dx: float, dy: float) -> str:
    pfx, off = city_prefix(k), k * ID_STEP
    exprs = []
    for c in cols:
        if c in ("id", "household_id", "building_id") and table != "area":
            exprs.append(f"{c} + {off}")
        elif c in ("lon", "min_lon", "max_lon", "label_lon"):
            exprs.append(f"{c} + {dx!r}")
        elif c in ("lat", "min_lat", "max_lat", "label_lat"):
            exprs.append(f"{c} + {dy!r}")
        elif c in ("code", "parent_code", "county_code", "town_code", "village_code", "grid_code"):
            exprs.append(_recode(c, pfx))
        elif c == "id_number_bidx":
            exprs.append(f"CASE WHEN {c} IS NULL THEN NULL ELSE {c} || '~{k}' END")
        elif c == "name" and table == "area":
            exprs.append(f"CASE WHEN level = 'city' THEN '合成城市{k}' ELSE name END")
        else:
            exprs.append(c)
    return ", ".join(exprs)


def tile_offset(k: int, bounds) -> tuple[float, float]:
    x0, y0, x1, y1 = bounds
    return (k % PER_ROW) * (x1 - x0 + GAP_DEG), (k // PER_ROW) * (y1 - y0 + GAP_DEG)


def _fast(con) -> None:
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")


def _tables_sql(con, names=None) -> list[tuple[str, str]]:
    rows = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                       " ORDER BY name").fetchall()
    return [(n, s) for n, s in rows if names is None or n in names]


def _move_geometry(con, table: str, dx: float, dy: float) -> None:
    rows = con.execute(f"SELECT rowid, geom_wkb FROM {table} WHERE geom_wkb IS NOT NULL").fetchall()
    if not rows:
        return
    geoms = shapely.transform(shapely.from_wkb([r[1] for r in rows]), lambda c: c + np.array([dx, dy]))
    con.executemany(f"UPDATE {table} SET geom_wkb = ? WHERE rowid = ?",
                    [(w, r[0]) for w, r in zip(shapely.to_wkb(geoms).tolist(), rows)])


def build_copy(template: str, part: str, k: int, bounds) -> str:
    """City k into the scratch file `part` (areas, current grids, buildings, households, residents)."""
    dx, dy = tile_offset(k, bounds)
    con = sqlite3.connect(part, isolation_level=None)
    _fast(con)
    con.execute("ATTACH DATABASE ? AS tpl", (template,))
    for _name, sql in con.execute("SELECT name, sql FROM tpl.sqlite_master WHERE type = 'table' AND name IN "
                                 f"({', '.join(repr(t) for t in COPIED)})").fetchall():
        con.execute(sql)
    for table in COPIED:
        cols = _columns(con, table, "tpl")
        where = "WHERE generation_high IS NULL" if table == "grid" else ""
        if table == "area":
            where = "WHERE level != 'province'"
        lo, hi = con.execute(f"SELECT min(rowid), max(rowid) FROM tpl.{table}").fetchone()
        if lo is None:
            continue
        for start in range(lo, hi + 1, CHUNK):
            cond = f"rowid >= {start} AND rowid < {start + CHUNK}"
            con.execute("BEGIN")
            con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {_select(table, cols, k, dx, dy)} "
                        f"FROM tpl.{table} {where + ' AND ' if where else 'WHERE '}{cond}")
            con.execute("COMMIT")
    con.execute("BEGIN")
    _move_geometry(con, "grid", dx, dy)
    _move_geometry(con, "area", dx, dy)
    con.execute("COMMIT")
    con.execute("DETACH DATABASE tpl")
    con.close()
    return part


def _copy_job(args):
    return build_copy(*args)


def build_province(template: str, out: str, cities: int = 10, processes: int = 2, log=print) -> dict:
    template, out = str(Path(template).resolve()), str(Path(out).resolve())
    if Path(out).exists():
        raise FileExistsError(f"目标文件已存在: {out}")
    t0 = time.perf_counter()
    tpl = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
    bounds = tpl.execute("SELECT min(min_lon), min(min_lat), max(max_lon), max(max_lat) FROM grid").fetchone()
    tables = _tables_sql(tpl)
    indexes = [r[0] for r in tpl.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    tpl.close()
    con = sqlite3.connect(out, isolation_level=None)
    _fast(con)
    for _, sql in tables:
        con.execute(sql)
    con.execute("ATTACH DATABASE ? AS tpl", (template,))
    for name, _ in tables:  # city 0: the template, whole
        con.execute("BEGIN")
        con.execute(f"INSERT INTO main.{name} SELECT * FROM tpl.{name}")
        con.execute("COMMIT")
    con.execute("DETACH DATABASE tpl")
    log(f"city 0 (template) copied in {time.perf_counter() - t0:.1f}s")
    jobs = [(template, f"{out}.city{k}.part", k, bounds) for k in range(1, cities)]
    for _, part, _, _ in jobs:
        if os.path.exists(part):
            os.remove(part)
    ctx = mp.get_context("spawn")
    with ctx.Pool(max(1, processes)) as pool:
        for part in pool.imap_unordered(_copy_job, jobs):
            con.execute("ATTACH DATABASE ? AS part", (part,))
            con.execute("BEGIN")
            for table in COPIED:
                cols = ", ".join(_columns(con, table, "part"))
                con.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM part.{table}")
            con.execute("COMMIT")
            con.execute("DETACH DATABASE part")
            os.remove(part)
            log(f"{os.path.basename(part)} appended at {time.perf_counter() - t0:.1f}s")
    for sql in indexes:
        con.execute(sql)
    con.execute("ANALYZE")
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COPIED}
    con.close()
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    log(f"indexes built; {counts}")
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m world.province",
                                 description="由一个演示库复制出省级规模的批处理演示库（多个合成城市）")
    ap.add_argument("--template", required=True, help="已构建的演示库（SQLite 文件，只读）")
    ap.add_argument("--out", required=True, help="输出 SQLite 文件（不得已存在）")
    ap.add_argument("--cities", type=int, default=10, help="城市数（含模板本身），1–10")
    ap.add_argument("--processes", type=int, default=2, help="并行复制的进程数")
    args = ap.parse_args(argv)
    if not 1 <= args.cities <= 10:
        print("错误: --cities 应在 1–10 之间", file=sys.stderr)
        return 2
    if not Path(args.template).is_file():
        print(f"错误: 模板库不存在: {args.template}", file=sys.stderr)
        return 2
    try:
        build_province(args.template, args.out, args.cities, args.processes,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    except FileExistsError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
