"""Bad and big input on the ways in. One function per section, each returning a dict; the last line merges them.

    python benchmarks/bad_input.py [--db world.sqlite]

Ledger section (docs/disputes.md, "Importing a ledger"): a 50,000-row 台账 made by openpyxl (a 填报说明 sheet first,
notes above the header, 序号/备注/登记人 columns, Chinese dates) is previewed and saved in a fresh process on a COPY
of the world (`--db`, or a tiny world built for the run): `ledger_50k_s` (preview + save, target ≤ 10),
`ledger_50k_peak_rss_mb` (that process's peak, ≤ 500), `empty_tail_s` (preview of a ledger whose row 1,000,000 carries
a style, ≤ 3). The grid index is built before timing (a server has it warm); its cost is printed apart. On a shared,
loaded box wall time is several times the CPU time: `ledger_50k_cpu_s` and `load_average` are printed beside it.
Prints figures, then as its LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEDGER_ROWS = 50_000


def _world(db: str | None, workdir: Path) -> Path:
    target = workdir / "world.sqlite"
    if db:
        shutil.copy(db, target)  # never change the given world
    else:
        from tests.browser.tinyworld import build

        build(target)
    return target


def _grid_point(db: Path) -> tuple[float, float, str]:
    import shapely
    from sqlalchemy import select

    from console.store import Grid, make_engine, make_session_factory

    engine = make_engine(str(db), must_exist=True)
    with make_session_factory(engine)() as s:
        code, wkb = s.execute(select(Grid.code, Grid.geom_wkb).where(Grid.generation_high.is_(None))
                              .order_by(Grid.code)).first()
    engine.dispose()
    p = shapely.from_wkb(wkb).representative_point()
    return p.x, p.y, code


def _rss_mb() -> int:
    """This process's peak RSS so far. VmHWM, not ru_maxrss: the latter survives exec, so a child started by a
    parent that grew while writing the 50,000-row file would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _child(db: str, big: str, tail: str, wps: str, county: str) -> dict:
    """Runs in a fresh process: warm the grid index, then time preview + save and the empty tails."""
    from datetime import datetime

    from console.disputes import excel
    from console.disputes.locate import locator_for
    from console.security.audit import Auditor
    from console.security.guard import Viewer
    from console.store import make_engine, make_session_factory

    now = datetime(2026, 11, 26, 9)
    sessions = make_session_factory(make_engine(db, must_exist=True))
    viewer = Viewer.build("bench", ["town"], [county], auditor=Auditor(sessions, lambda: now))
    t = time.perf_counter()
    with sessions() as s:
        locator_for(s).locate_many([0.0], [0.0])
    warm = time.perf_counter() - t
    out = {"grid_index_warmup_s": round(warm, 2), "rss_before_ledger_mb": _rss_mb()}
    data = Path(big).read_bytes()
    t, cpu = time.perf_counter(), time.process_time()
    preview = excel.import_workbook(sessions, viewer, data, now=now, commit=False, filename="台账.xlsx")
    t_preview = time.perf_counter() - t
    out["rss_after_preview_mb"] = _rss_mb()
    saved = excel.import_workbook(sessions, viewer, data, now=now, commit=True, filename="台账.xlsx",
                                  sheet=preview.sheet)  # as the page does: the found sheet is named on save
    total = time.perf_counter() - t
    out.update(ledger_50k_s=round(total, 2), ledger_50k_cpu_s=round(time.process_time() - cpu, 2), ledger_50k_preview_s=round(t_preview, 2),
               ledger_50k_save_s=round(total - t_preview, 2), ledger_50k_accepted=len(preview.accepted),
               ledger_50k_rejected=len(preview.rejected), ledger_50k_saved=saved.saved,
               ledger_50k_file_mb=round(len(data) / 1e6, 1),
               ledger_50k_peak_rss_mb=_rss_mb(), load_average=round(os.getloadavg()[0], 1))
    del data, preview, saved
    for key, path in (("empty_tail_s", tail), ("empty_tail_wps_1m_rows_s", wps)):
        data = Path(path).read_bytes()
        t = time.perf_counter()
        report = excel.import_workbook(sessions, viewer, data, now=now, commit=False, filename=Path(path).name)
        out[key] = round(time.perf_counter() - t, 2)
        out[key.replace("_s", "_rows_accepted")] = len(report.accepted)
    return out


def ledger_section(db: str | None = None) -> dict:
    from tests import ledger_files as lf

    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        work = Path(tmp)
        world = _world(db, work)
        lon, lat, grid = _grid_point(world)
        t = time.perf_counter()
        big, tail, wps = work / "big.xlsx", work / "tail.xlsx", work / "wps.xlsx"
        big.write_bytes(lf.openpyxl_ledger(lf.many(lon, lat, LEDGER_ROWS)))
        small = [lf.row(lon, lat, i) for i in range(3)]
        tail.write_bytes(lf.openpyxl_ledger(small, styled_row=1_000_000))
        wps.write_bytes(lf.wps_like_tail(lf.openpyxl_ledger(small), 1_000_000))
        print(f"files written in {time.perf_counter() - t:.1f} s; grid {grid}", flush=True)
        cmd = [sys.executable, __file__, "--child", str(world), str(big), str(tail), str(wps), grid[:6]]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if run.returncode != 0:
            print(run.stderr[-3000:], file=sys.stderr)
            raise SystemExit("ledger section failed")
        out = json.loads(run.stdout.strip().splitlines()[-1])
    for k, v in out.items():
        print(f"  {k}: {v}", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a world database (copied, never changed); default: a tiny world built for the run")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0
    result: dict = {}
    for section in (ledger_section,):
        result.update(section(args.db))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
