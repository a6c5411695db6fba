"""Bad and tricky input against the real ways in, in-process; each section returns a dict of figures.

    python benchmarks/bad_input.py [--db PATH] [--events N] [--sections events,...]

events: N (default 10,000) generated bodies (hypothesis, derandomized: the same bodies every run; generators in
tests/event_bodies.py) against POST /api/events and /api/events/batch of the real app (Flask test client, the
fast WSGI path, the group-commit writer). Counts answers by status, 5xx, and bodies not stored exactly as sent
(a 2xx item that differs from what is stored, or a refusal that stored something).

ledger: a 50,000-row 台账 made by openpyxl (a 填报说明 sheet first, notes above the header, 序号/备注/登记人 columns,
Chinese dates) previewed and saved in a fresh process (docs/disputes.md, "Importing a ledger"): `ledger_50k_s`
(preview + save, target ≤ 10), `ledger_50k_peak_rss_mb` (that process's peak, ≤ 500), `empty_tail_s` (preview of a
ledger whose row 1,000,000 carries a style, ≤ 3). The grid index is built before timing (a server has it warm); on a
shared, loaded box wall time is several times the CPU time: `ledger_50k_cpu_s` and `load_average` are printed too.

The world is a copy (--db) or the tiny test world built in a temporary folder; the given database is never
changed. The last line is one JSON object: every section's figures merged.
"""

from __future__ import annotations

import argparse
import importlib.util
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
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def world_copy(folder: Path, db: str | None) -> str:
    """A database this run may change: a copy of `db`, else the tiny test world."""
    if db:
        target = folder / "world.sqlite"
        shutil.copy(db, target)
        return str(target)
    spec = importlib.util.spec_from_file_location("tinyworld", ROOT / "tests" / "browser" / "tinyworld.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(folder / "tiny.sqlite")


# -- events API -------------------------------------------------------------------------------------------
def events(args, folder: Path) -> dict:
    from flask import Flask
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from console.routes import ingest
    from console.security.guard import Viewer
    from console.store import make_engine
    from duty_helpers import make_source
    from event_bodies import Store, Tally, exercise, load_refs, raw_body

    db = world_copy(folder, args.db)
    key = make_source(db, "fuzz")
    os.environ["PINGAN_DUTY_FSYNC"] = "0"  # durability is measured elsewhere (tests/test_duty_crash.py)
    server = Flask("bad-input")
    city = Viewer.build("bad-input", ["duty_officer"], ["610900"])
    ingestor = ingest.register(server, make_engine(db), viewer=lambda: city)
    client = server.test_client()

    def post(path: str, raw: bytes):
        r = client.post(path, data=raw, content_type="application/json", headers={"X-API-Key": key})
        try:
            return r.status_code, json.loads(r.get_data())
        except ValueError:
            return r.status_code, None

    refs, store, tally, used = load_refs(db), Store(db, "fuzz"), Tally(), []
    per_example = 10  # bodies per hypothesis example: its per-example overhead is larger than a body's
    counts = {"single_requests": 0, "batch_requests": 0}

    @settings(max_examples=-(-args.events // per_example), deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        items = [data.draw(raw_body(refs, used)) for _ in range(per_example)]
        batch = data.draw(st.integers(0, 9)) < 4
        counts["batch_requests" if batch else "single_requests"] += 1 if batch else len(items)
        exercise(post, store, refs, items, batch, tally, used)

    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    store.close()
    ingestor.close()
    by_status = dict(sorted(tally.status.items()))
    whole = tally.bodies - sum(by_status.values())  # items of batches refused as a whole (one item not JSON)
    print(f"events: {tally.bodies} bodies in {seconds:.1f} s ({tally.bodies / seconds:.0f}/s): "
          f"{counts['single_requests']} single requests, {counts['batch_requests']} batches")
    print(f"  answers by status (batch items one by one): {by_status}; in batches refused whole: {whole}")
    print(f"  5xx: {tally.five_xx}, stored differently from the answer: {tally.mismatch}")
    for kind, detail in tally.problems[:5]:
        print(f"  {kind}: {str(detail)[:300]}")
    return {"events_fuzz_bodies": tally.bodies, "events_5xx": tally.five_xx,
            "events_stored_mismatch": tally.mismatch, "events_fuzz_s": round(seconds, 1),
            "events_stored": by_status.get(201, 0), "events_refused": sum(n for s, n in by_status.items() if s >= 400),
            "events_in_refused_batches": whole}


# -- ledgers ---------------------------------------------------------------------------------------------
LEDGER_ROWS = 50_000
LEDGER_CHILD = "--ledger-child"  # internal: the timed part, in a fresh process


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


def ledger_section(args, folder: Path) -> dict:
    from tests import ledger_files as lf

    world = Path(world_copy(folder, args.db))
    lon, lat, grid = _grid_point(world)
    t = time.perf_counter()
    big, tail, wps = folder / "big.xlsx", folder / "tail.xlsx", folder / "wps.xlsx"
    big.write_bytes(lf.openpyxl_ledger(lf.many(lon, lat, LEDGER_ROWS)))
    small = [lf.row(lon, lat, i) for i in range(3)]
    tail.write_bytes(lf.openpyxl_ledger(small, styled_row=1_000_000))
    wps.write_bytes(lf.wps_like_tail(lf.openpyxl_ledger(small), 1_000_000))
    print(f"ledger: files written in {time.perf_counter() - t:.1f} s; grid {grid}", flush=True)
    cmd = [sys.executable, __file__, LEDGER_CHILD, str(world), str(big), str(tail), str(wps), grid[:6]]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        print(run.stderr[-3000:], file=sys.stderr)
        raise SystemExit("ledger section failed")
    out = json.loads(run.stdout.strip().splitlines()[-1])
    for k, v in out.items():
        print(f"  {k}: {v}", flush=True)
    return out


SECTIONS = {"events": events, "ledger": ledger_section}


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [LEDGER_CHILD]:
        print(json.dumps(_child(*argv[1:])))
        return {}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a world database to copy (default: the tiny test world)")
    parser.add_argument("--events", type=int, default=10_000, help="generated events-API bodies")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    os.environ.setdefault("PINGAN_DATA_KEY", "cGluZ2FuLWJlbmNoLWRhdGEta2V5LTMyLWJ5dGVzISE=")  # a throwaway world
    out: dict = {}
    for name in args.sections.split(","):
        with tempfile.TemporaryDirectory(prefix=f"bad-input-{name}-") as folder:
            out.update(SECTIONS[name](args, Path(folder)))
    print(json.dumps(out, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
