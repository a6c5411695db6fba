"""Ledger import benchmark: a 实有人口 ledger of N persons (households of 1–5, a building per household, points inside
real grids) written as .xlsx the way a county office would, then saved through the command line's chunked pipeline
(console/ledger_import/stream.py: read, check and save a chunk at a time in one transaction) on a copy of the world;
then the same file again (changes nothing). Prints figures; the last line is one JSON object.

    python benchmarks/import_ledgers.py --db data/ankang.sqlite [--rows 100000]

Targets (docs/import.md): rows_per_s ≥ 20,000 for 1,000,000 rows, peak_rss_mb ≤ 2,000, reimport_changed 0,
reimport_s_ratio ≤ 0.5. Between the two imports the benchmark waits for the save process's checkpoint, which it runs
after answering (checkpoint_after_s: how long after). A file of more than one chunk is saved by a second process (saver.py): peak_rss_mb is the
importing process's peak during the first import (its VmHWM started afresh after the ledger is written, as one run
of the command line), save_process_peak_rss_mb and save_process_cpu_s the save process's own,
peak_rss_mb_with_save_process the two peaks added; reimport_peak_rss_mb the importing process's during the second
import (which starts with what the first left in this process's allocator); first_import_waits_s the importing
process's waits for the save process (its write lock, a chunk to be taken, the last chunks' save and the commit)."""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy import select  # noqa: E402


def _ids(n: int, rng) -> list[str]:
    """n distinct valid identity numbers: random birth days, a sequence number within each day (an office's ledger
    names each person once)."""
    from console.store.identity import id_check_chars

    born = rng.integers(0, 25000, n)  # days after 1950-01-01
    order = np.argsort(born, kind="stable")
    first_of_day = np.searchsorted(born[order], born[order])
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(n) - first_of_day  # 0, 1, 2 … among the persons born that day
    assert seq.max() < 1000
    dates = (np.datetime64("1950-01-01") + born.astype("timedelta64[D]")).astype(str)
    first = [f"610924{d.replace('-', '')}{s:03d}" for d, s in zip(dates, seq)]
    digits = np.frombuffer("".join(first).encode("ascii"), dtype=np.uint8).reshape(n, 17) - 48
    checks = id_check_chars(digits)
    return [f + c for f, c in zip(first, checks)]


def make_ledger(n: int, points: np.ndarray, seed: int = 1) -> bytes:
    import xlsxwriter

    rng = np.random.default_rng(seed)
    ids = _ids(n, rng)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": True})
    ws = wb.add_worksheet("实有人口")
    ws.write_row(0, 0, ["紫阳县实有人口登记表"])
    ws.write_row(1, 0, ["序号", "姓名", "身份证号码", "人口类型", "户号", "与户主关系", "现居住地址", "房屋编号",
                        "联系电话", "经度", "纬度", "备注"])
    hh, left, member = 0, 0, 0
    for i in range(n):
        if left == 0:
            hh += 1
            left = int(rng.integers(1, 6))
            member = 0
            p = points[hh % len(points)]
        rel = "户主" if member == 0 else ("配偶" if member == 1 else "子女")
        ws.write_row(i + 2, 0, [i + 1, f"测试{i}", ids[i], "户籍人口", f"BH{hh:08d}", rel, f"紫阳县测试路{hh}号",
                                f"BB{hh:08d}", "", float(p[0]), float(p[1]), ""])
        left -= 1
        member += 1
    wb.close()
    return buf.getvalue()


def _reset_peak() -> None:
    """Start this process's peak resident memory (VmHWM) afresh (Linux ≥ 4.0): each import's own peak, as one run
    of the command line would have it, not the ledger's writing or the import before it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mb() -> int:
    from console.ledger_import.saver import peak_rss_mb  # VmHWM, as the save process reports its own

    return peak_rss_mb() or round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def quality_figure(db) -> int:
    """The cold 数据质量 page at city level on this copy, after the imports (benchmarks/quality.py)."""
    from benchmarks.quality import quality_page_ms

    return quality_page_ms(str(db))["quality_page_ms"]


def _wal_settled(engine, limit: float = 120.0) -> float:
    """Seconds until the WAL is wholly copied back into the database: the save process does that after it has
    answered (saver.checkpoint). The second import is measured on a database at rest, not beside that copy."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        with engine.connect() as conn:  # busy while the save process checkpoints; done when log == checkpointed
            busy, log, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        if not busy and log == done:
            break
        time.sleep(0.1)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--rows", type=int, default=20000)
    args = ap.parse_args()
    from console.ledger_import.kinds import KINDS
    from console.ledger_import.plan import file_hash
    from console.ledger_import.stream import MAX_ROWS, import_stream
    from console.ledgers.reader import open_ledger
    from console.store import AreaScope, Grid, make_engine, make_session_factory, upgrade_schema

    work = Path(tempfile.mkdtemp(prefix="pingan-import-bench-"))
    try:
        db = work / "w.sqlite"
        shutil.copy(args.db, db)
        engine = make_engine(str(db), must_exist=True)
        upgrade_schema(engine)  # the copy only: a world built before the ledger_row table gets it
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        # the copy's pages are still dirty in the page cache: the import's COMMIT fsyncs the file and would write
        # the whole copy out inside the measured time
        os.sync()
        sessions = make_session_factory(engine)
        with sessions() as s:
            wkbs = s.scalars(select(Grid.geom_wkb).where(Grid.generation_high.is_(None),
                                                        Grid.code.like("610924%"))).all()
        pts = shapely.point_on_surface(shapely.from_wkb(wkbs))
        points = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]).round(6)
        data = make_ledger(args.rows, points)
        print(f"ledger: {args.rows} rows, {len(data) / 2**20:.1f} MB .xlsx", flush=True)
        kind = KINDS["person"]
        _reset_peak()  # the peak of the import, not of writing the ledger above
        t0, c0 = time.perf_counter(), time.process_time()
        ledger = open_ledger(data, "实有人口.xlsx", kind.spec, max_rows=MAX_ROWS)
        t_read = time.perf_counter() - t0  # the workbook opened and its header found; rows are read in chunks
        plan = import_stream(sessions, ledger, kind_key="person", data_hash=file_hash(data), filename="实有人口.xlsx",
                             scope=AreaScope.of(["610924"]), actor="bench")
        first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
        first_peak = _peak_mb()
        del ledger  # the first import's reading: the second import opens the file again
        gc.collect()
        _reset_peak()
        print(f"first import: open {t_read:.1f} s, total {first:.1f} s: {plan.summary}; CPU s by phase {plan.cpu_s}; "
              f"save process {plan.save_process}", flush=True)
        settle = _wal_settled(engine)
        print(f"the save process's checkpoint after its answer: done {settle:.1f} s later", flush=True)
        t1, c1 = time.perf_counter(), time.process_time()
        ledger = open_ledger(data, "实有人口.xlsx", kind.spec, max_rows=MAX_ROWS)
        again = import_stream(sessions, ledger, kind_key="person", data_hash=file_hash(data),
                              filename="实有人口.xlsx", scope=AreaScope.of(["610924"]), actor="bench")
        second, second_cpu = time.perf_counter() - t1, time.process_time() - c1
        print(f"same file again: {second:.1f} s: {again.summary}; CPU s by phase {again.cpu_s}; "
              f"save process {again.save_process}", flush=True)
        engine.dispose()
        second_peak = _peak_mb()
        saver_peak = plan.save_process.get("peak_rss_mb") or 0
        page_ms = quality_figure(db)  # after the peaks: the import's memory is measured alone
        print(json.dumps({"rows": args.rows, "rows_per_s": round(args.rows / first, 1), "peak_rss_mb": first_peak,
                          "peak_rss_mb_with_save_process": first_peak + saver_peak,
                          "reimport_peak_rss_mb": second_peak,
                          "first_import_s": round(first, 2),
                          "first_import_cpu_s": round(first_cpu, 2), "reimport_cpu_s": round(second_cpu, 2),
                          "save_process_cpu_s": plan.save_process.get("cpu_s"),
                          "save_process_peak_rss_mb": plan.save_process.get("peak_rss_mb"),
                          "open_s": round(t_read, 2), "checkpoint_after_s": round(settle, 2),
                          "first_import_waits_s": plan.save_process.get("waits"),
                          "reimport_changed": again.count("new") + again.count("changed"),
                          "reimport_s_ratio": round(second / first, 3), "errors": plan.count("error"),
                          "quality_page_ms": page_ms, "load": os.getloadavg()[0]}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
