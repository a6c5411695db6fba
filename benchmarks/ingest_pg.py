"""Duty ingest on PostgreSQL with one and with two ingest nodes (docs/deploy.md § Ingest nodes).

    python benchmarks/ingest_pg.py [--scale 0.05] [--rates 250,500,750,1000,1500] [--seconds 15]

Starts a throwaway PostgreSQL cluster (tests/pg.py) with fsync and synchronous commit ON (as deployed), builds a
demo world of `--scale` in it, and runs `python -m console.server --workers 1` as one node, then as two nodes
(two separate server processes on two ports, as two machines behind nginx would be), each with its own
group-commit writer; the writers take turns through PostgreSQL's advisory lock (console/store/dialect.py). The
load (console.loadgen, one event per POST) is split evenly over the nodes. For each node count the rates rise
until one has errors or falls short (< 95 % of the asked rate). Every acknowledged event is then looked up in the
database: `lost` must be 0. alerts.py calls `run_pg` for its `pg_*` keys; run alone, the LAST line is one JSON
object with the same keys. On a 2-core box the nodes, PostgreSQL and the load generator share the cores: two
nodes there measure coordination (no lost or doubled events), not scaling.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _cpu(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        p = psutil.Process(pid)
        for q in (p, *p.children(recursive=True)):
            t = q.cpu_times()
            total += t.user + t.system
    return total


def build_pg_world(cluster, scale: float, name: str = "bench") -> str:
    url = cluster.create_database(name)
    subprocess.run([sys.executable, "-m", "world", "--db", url, "--scale", str(scale), "--seed", "1"], cwd=ROOT,
                   check=True, capture_output=True)
    return url


def _ramp(urls: list[str], key: str, world: dict, rates: list[float], seconds: float, pids: list[int],
          acked: dict, tag: str) -> list[dict]:
    from console import loadgen
    from console.simulate import Simulator

    rows = []
    for rate in rates:
        share = rate / len(urls)
        parts: list[dict] = [{} for _ in urls]

        def on_result(ev, code, body, at):
            if code in (200, 201):
                acked[ev["event_id"]] = body.get("id")

        def one(i: int) -> None:
            sim = Simulator(world, seed=int(rate) * 10 + i, run_id=f"{tag}{int(rate)}n{i}")
            parts[i].update(loadgen.run(urls[i], key, sim.next_event, share, seconds, 32, on_result=on_result))

        before, t0 = _cpu(pids), time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        used = _cpu(pids) - before
        ok = sum(p["ok"] for p in parts)
        row = {"nodes": len(urls), "rate": rate, "ok": ok, "errors": sum(p["errors"] for p in parts),
               "per_s": round(sum(p["per_s"] for p in parts), 1), "p99_ms": max(p["p99_ms"] or 0 for p in parts),
               "server_cpu_ms_per_event": round(used * 1000 / max(1, ok), 3),
               "server_cores": round(used / max(1e-6, time.monotonic() - t0), 2),
               "load": [round(x, 2) for x in os.getloadavg()]}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if row["errors"] or row["per_s"] < rate * 0.95:
            break
    return rows


def run_pg(scale: float = 0.05, rates: str = "250,500,750,1000,1500", seconds: float = 15,
           threads: int = 16) -> dict:
    """{pg_ingest_per_s_1node, pg_ingest_per_s_2nodes, pg_lost, pg_acked, pg_rates, …}; {"pg_skipped": why} when
    PostgreSQL cannot be started here."""
    from sqlalchemy import select

    from alerts import best, start_server
    from console_process import local_port
    from console.duty.sources import add_source
    from console.simulate import load_world
    from console.store import Event, make_engine, make_session_factory
    from pg import Unavailable, remove_cluster, start_cluster

    try:
        cluster = start_cluster(durable=True, max_connections=100)
    except Unavailable as exc:
        return {"pg_skipped": str(exc)}
    procs = []
    try:
        url = build_pg_world(cluster, scale)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        with sessions() as s, s.begin():
            key = add_source(s, "bench", "基准测试")
        world = load_world(url)
        ramp_rates = [float(r) for r in rates.split(",")]
        acked: dict[str, int] = {}
        out: dict = {"pg_scale": scale, "pg_fsync": True, "pg_seconds_per_rate": seconds}
        rows_all = []
        for n in (1, 2):
            ports = [local_port() for _ in range(n)]
            procs = [start_server(url, port, threads, 1, "granian") for port in ports]
            rows = _ramp([f"http://127.0.0.1:{p}" for p in ports], key, world, ramp_rates, seconds,
                         [p.pid for p in procs], acked, f"pg{n}")
            for p in procs:
                p.kill()
                p.wait()
            procs = []
            top = best(rows)
            key_n = "1node" if n == 1 else "2nodes"
            out[f"pg_ingest_per_s_{key_n}"] = top["per_s"]
            out[f"pg_ingest_p99_ms_{key_n}"] = top["p99_ms"]
            at_500 = next((r for r in rows if r["rate"] == 500), None)
            out[f"pg_server_cpu_ms_per_event_{key_n}"] = at_500["server_cpu_ms_per_event"] if at_500 else None
            rows_all += rows
        with sessions() as s:
            stored = set(s.scalars(select(Event.source_event_id).where(Event.source == "bench")))
        engine.dispose()
        out.update({"pg_lost": sum(1 for eid in acked if eid not in stored), "pg_acked": len(acked),
                    "pg_rates": rows_all})
        return out
    finally:
        for p in procs:
            p.kill()
            p.wait()
        remove_cluster(cluster)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--rates", default="250,500,750,1000,1500")
    ap.add_argument("--seconds", type=float, default=15)
    args = ap.parse_args(argv)
    out = run_pg(args.scale, args.rates, args.seconds)
    out.update({"cpus": os.cpu_count(), "load_end": [round(x, 2) for x in os.getloadavg()]})
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
