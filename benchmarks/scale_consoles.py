"""Concurrent consoles against two console nodes on one database (docs/scale.md § Console and ingest nodes).

    python benchmarks/scale_consoles.py --pg [--scale 0.05] [--consoles 50] [--minutes 10]
    python benchmarks/scale_consoles.py --db data/ankang.sqlite [--consoles 50] [--minutes 10]

`--pg` starts a throwaway PostgreSQL cluster (tests/pg.py, fsync on) and builds a demo world of `--scale` in it;
`--db` copies a SQLite world (never changed) and runs the nodes on the copy. Two console nodes
(`python -m console.server --workers 1`, separate processes on two ports, as nginx would balance them) serve it.

Each simulated console is one logged-in operator: its own account, its own workstation address (127.0.0.N, so
the per-address login limit sees 50 workstations, not one), its own cookie jar, and half of them on each node.
It loads the overview page and Dash's layout and dependencies, then repeats, with `--think` seconds (±50 %)
between steps: a drill-down (the overview's area callback through POST /_dash-update-component, built from the
node's own /_dash-dependencies, for a county → town → village path and back), a layer toggle (the same callback
with another layer set, then that layer's GeoJSON), and the duty feed (GET /api/alerts/changes with its cursor,
as the duty page polls it). Every answer must be 2xx with the expected content (a KPI panel naming the area, a
FeatureCollection, a feed with a cursor); anything else counts in `console_errors`.

LAST line, JSON: consoles, console_errors (target 0), console_p95_ms (all requests), requests, per-step p95,
nodes, minutes, load. `run_consoles(...)` returns the same dict (benchmarks/scale.py uses it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))  # sectest, pg (after ROOT: `console` stays the package)
sys.path.append(str(ROOT / "benchmarks"))

from console_process import local_port, start_console  # noqa: E402 - a test helper: a console server process

LAYER_STEPS = (["areas"], ["areas", "special"], ["areas", "disputes"], ["areas", "cameras"], ["areas", "grids"])


def _pct(values: list[float], q: float):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 1)


def _session(source_ip: str):
    """A requests.Session whose connections leave from `source_ip` (one workstation)."""
    import requests
    from requests.adapters import HTTPAdapter

    class FromAddress(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = (source_ip, 0)
            return super().init_poolmanager(*args, **kwargs)

    http = requests.Session()
    http.mount("http://", FromAddress())
    return http


class Console:
    """One operator's session on one node."""

    def __init__(self, base: str, username: str, password: str, source_ip: str, paths: list[list[str]],
                 rng: random.Random, record):
        self.base, self.username, self.password = base, username, password
        self.http = _session(source_ip)
        self.paths, self.rng, self.record = paths, rng, record
        self.csrf, self.dep, self.cursor = "", None, 0
        self.layers = ["areas"]

    # -- one timed request --------------------------------------------------------------------------
    def _timed(self, step: str, method: str, path: str, check, **kw) -> object:
        t = time.perf_counter()
        try:
            r = self.http.request(method, self.base + path, timeout=30, allow_redirects=False, **kw)
            ok, value = check(r)
        except Exception as exc:  # noqa: BLE001 - any failure of the request is this step's error
            ok, value = False, f"{type(exc).__name__}: {str(exc)[:120]}"
            r = None
        self.record(step, (time.perf_counter() - t) * 1000, ok,
                    None if ok else f"{step} {path[:60]} → {getattr(r, 'status_code', '-')}: {str(value)[:160]}")
        return value if ok else None

    def login(self) -> bool:
        def token(r):
            m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
            return bool(r.status_code == 200 and m), (m.group(1) if m else r.text[:200])

        form_token = self._timed("login", "GET", "/login", token)
        if form_token is None:
            return False
        done = self._timed("login", "POST", "/login", lambda r: (r.status_code in (302, 303), r.text[:200]),
                           data={"username": self.username, "password": self.password, "csrf_token": form_token},
                           headers={"Origin": self.base})
        self.csrf = self.http.cookies.get("_csrf_token", "")
        return done is not None

    def open_overview(self) -> bool:
        page = self._timed("page", "GET", "/", lambda r: (r.status_code == 200 and "_dash-config" in r.text, r.text[:200]))
        self._timed("page", "GET", "/_dash-layout", lambda r: (r.status_code == 200 and r.json().get("props"), r.text[:200]))
        deps = self._timed("page", "GET", "/_dash-dependencies",
                           lambda r: (r.status_code == 200 and isinstance(r.json(), list),
                                      r.json() if r.status_code == 200 else r.text[:200]))
        self.dep = next((d for d in deps or [] if "ov-kpis-html.data" in d["output"]), None)
        return page is not None and self.dep is not None

    # -- the steps ----------------------------------------------------------------------------------
    def _area_body(self, area: str, trigger: str) -> dict:
        from console.services.layers import OVERLAY_KEYS

        values = {"ov-area": area, "ov-layer-switch": self.layers, "app-theme": "light", "ov-choro-mode": "residents"}
        inputs = [{"id": i["id"], "property": i["property"], "value": values.get(i["id"])} for i in self.dep["inputs"]]
        overlays = [{"id": {"type": "ov-overlay", "key": k}} for k in OVERLAY_KEYS]
        state = [{"id": "ov-layer-areas", "property": "hideout", "value": None},
                 [dict(o, property="hideout", value=None) for o in overlays]]
        outputs = []
        for spec in self.dep["output"].strip(".").split("..."):
            cid, prop = spec.rsplit(".", 1)
            outputs.append([dict(o, property=prop) for o in overlays] if cid.startswith("{")
                           else {"id": cid, "property": prop})
        return {"output": self.dep["output"], "outputs": outputs, "inputs": inputs, "state": state,
                "changedPropIds": [trigger]}

    def _callback(self, step: str, area: str, trigger: str) -> None:
        def check(r):  # a drill redraws the KPI panel; a layer toggle answers (the panel stays as it was)
            if r.status_code != 200:
                return False, r.text[:200]
            response = r.json()["response"]
            if trigger == "ov-area.data":
                return bool((response.get("ov-kpis-html") or {}).get("data")), r.text[:200]
            return response.get("ov-resolved", {}).get("data") == area, r.text[:200]

        self._timed(step, "POST", "/_dash-update-component", check, json=self._area_body(area, trigger),
                    headers={"Origin": self.base, "X-CSRFToken": self.csrf})

    def drill(self) -> None:
        path = self.rng.choice(self.paths)
        for code in path:  # down the path, then back up to the city
            self._callback("drill", code, "ov-area.data")
        self.area = path[0]

    def toggle_layer(self) -> None:
        self.layers = self.rng.choice(LAYER_STEPS)
        area = getattr(self, "area", self.paths[0][0])
        self._callback("layer", area, "ov-layer-switch.value")
        key = self.layers[-1]
        self._timed("layer", "GET", f"/api/layers/{key}.geojson?area={area}",
                    lambda r: (r.status_code == 200 and r.json().get("type") == "FeatureCollection", r.text[:200]))

    def feed(self) -> None:
        def check(r):
            body = r.json() if r.status_code == 200 else {}
            return "cursor" in body, (body if "cursor" in body else r.text[:200])

        out = self._timed("feed", "GET", f"/api/alerts/changes?cursor={self.cursor}", check,
                          headers={"X-Pingan-Background": "1"})
        if out is not None:
            self.cursor = out["cursor"]

    def run(self, until: float, think: float) -> None:
        try:
            self._run(until, think)
        except Exception as exc:  # noqa: BLE001 - a console that stops is an error, not a silent thread death
            self.record("crash", 0.0, False, f"console {self.username}: {type(exc).__name__}: {exc}")

    def _run(self, until: float, think: float) -> None:
        if not (self.login() and self.open_overview()):
            self.record("start", 0.0, False, f"console {self.username} could not open the overview")
            return
        while time.monotonic() < until:
            step = self.rng.random()
            if step < 0.45:
                self.drill()
            elif step < 0.7:
                self.toggle_layer()
            else:
                self.feed()
            time.sleep(think * self.rng.uniform(0.5, 1.5))


def drive(urls: list[str], accounts: list[str], password: str, paths: list[list[str]], minutes: float,
          think: float = 3.0, seed: int = 1) -> dict:
    """Run len(accounts) consoles for `minutes`, console i on urls[i % len(urls)]; the figures."""
    lat: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def record(step: str, ms: float, ok: bool, why: str | None) -> None:
        with lock:
            lat.setdefault(step, []).append(ms)
            if not ok:
                errors.append(why)

    until = time.monotonic() + minutes * 60
    consoles = [Console(urls[i % len(urls)], name, password, f"127.0.{1 + i // 200}.{1 + i % 200}", paths,
                        random.Random(seed * 1000 + i), record) for i, name in enumerate(accounts)]
    threads = [threading.Thread(target=c.run, args=(until, think), daemon=True) for c in consoles]
    for t in threads:
        t.start()
        time.sleep(min(0.2, think / max(1, len(threads))))  # operators do not all log in in the same instant
    for t in threads:
        t.join(minutes * 60 + 120)
    every = [v for values in lat.values() for v in values]
    return {"consoles": len(accounts), "console_errors": len(errors), "console_p95_ms": _pct(every, 0.95),
            "console_requests": len(every), "console_steps_p95_ms": {k: _pct(v, 0.95) for k, v in sorted(lat.items())},
            "console_first_errors": errors[:5], "console_nodes": len(urls), "console_minutes": minutes}


def _paths(db: str, n: int = 12) -> list[list[str]]:
    """County → town → village paths (codes) from the world."""
    from sqlalchemy import text

    from console.store import make_engine

    engine = make_engine(db, must_exist=True)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, parent_code FROM area WHERE level = 'village' ORDER BY code")).all()
        parents = dict(conn.execute(text("SELECT code, parent_code FROM area WHERE level = 'town'")).all())
    engine.dispose()
    rng = random.Random(7)
    out = []
    for village, town in rng.sample(rows, min(n, len(rows))):
        out.append([parents[town], town, village])
    return out


def _start_node(db: str, port: int) -> subprocess.Popen:
    try:
        return start_console(db, port, "--workers", "1")
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def run_consoles(minutes: float = 10, consoles: int = 50, db: str | None = None, pg: bool = False,
                 scale: float = 0.05, nodes: int = 2, think: float = 3.0) -> dict:
    """Set up the database (a copy of `db`, or with `pg` a throwaway PostgreSQL with a world of `scale`), start
    `nodes` console nodes, run the consoles; {consoles, console_errors, console_p95_ms, …}."""
    import sectest as testing


    if not pg and not db:
        raise ValueError("run_consoles needs db= (a SQLite world to copy) or pg=True")
    cluster = work = None
    procs: list[subprocess.Popen] = []
    os.environ.setdefault("PINGAN_SECRET_KEY", os.urandom(32).hex())  # one signing key for every node
    try:
        if pg:
            from ingest_pg import build_pg_world
            from pg import start_cluster

            cluster = start_cluster(durable=True, max_connections=100)
            url = build_pg_world(cluster, scale, "consoles")
        else:
            work = Path(tempfile.mkdtemp(prefix="pingan-consoles-"))
            url = str(work / "world.sqlite")
            shutil.copy(db, url)
        from console.store import make_engine, make_session_factory

        engine = make_engine(url, must_exist=True)
        sessions = make_session_factory(engine)
        testing.use_fast_hasher()
        accounts = [f"console_{i:02d}" for i in range(consoles)]
        for name in accounts:
            testing.add_account(sessions, name, ["county"], ["610900"])
        engine.dispose()
        paths = _paths(url)
        ports = [local_port() for _ in range(nodes)]
        procs = [_start_node(url, port) for port in ports]
        load_start = [round(x, 2) for x in os.getloadavg()]
        out = drive([f"http://127.0.0.1:{p}" for p in ports], accounts, testing.STRONG, paths, minutes, think)
        out.update({"console_db": "postgresql" if pg else "sqlite", "console_load_start": load_start,
                    "console_load_end": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()})
        return out
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if cluster is not None:
            from pg import remove_cluster

            remove_cluster(cluster)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", help="SQLite world to copy")
    where.add_argument("--pg", action="store_true", help="throwaway PostgreSQL with a demo world of --scale")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--consoles", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--think", type=float, default=3.0, help="seconds between an operator's steps (±50 %%)")
    args = ap.parse_args(argv)
    out = run_consoles(args.minutes, args.consoles, args.db, args.pg, args.scale, args.nodes, args.think)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
