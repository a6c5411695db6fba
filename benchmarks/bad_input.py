"""Bad and tricky input against the real ways in, in-process; each section returns a dict of figures.

    python benchmarks/bad_input.py [--db PATH] [--events N] [--sections events,...]

events: N (default 10,000) generated bodies (hypothesis, derandomized: the same bodies every run; generators in
tests/event_bodies.py) against POST /api/events and /api/events/batch of the real app (Flask test client, the
fast WSGI path, the group-commit writer). Counts answers by status, 5xx, and bodies not stored exactly as sent
(a 2xx item that differs from what is stored, or a refusal that stored something).

The world is a copy (--db) or the tiny test world built in a temporary folder; the given database is never
changed. The last line is one JSON object: every section's figures merged.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
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


SECTIONS = {"events": events}


def main(argv=None) -> dict:
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
