"""Authorisation matrix: every role × a sample of areas × every route, layer, popup, callback and admin action.

    python benchmarks/authz_matrix.py [--db PATH] [--assume-wired]

Builds the console (`console.app.create_app`) with security installed, creates one or two accounts per
role scoped to sample areas, and tries to read and write inside and outside each account's scope:

* every Flask route anonymously (must be 302/401) and every state-changing route without CSRF (403);
* every map layer for the city, sample counties, towns, villages and grids — a 200 for a layer the
  role may not see, or a point whose record lies outside the scope, is a leak;
* popup details (`/api/layers/<key>/<id>`) for records inside and outside the scope — an out-of-scope
  200 is a leak; an in-scope read of a sensitive layer (特殊人群, 实有人口) with no new audit row is an
  unaudited sensitive read;
* every Dash callback anonymously (401) and, for callbacks declared with `protect_callback`, per role;
* every scoped store query (each located model) — a returned row outside the scope is a leak;
* every role × every permission through `guard.require` (must match `roles.ROLES`, refusals audited);
* every 三员 administrative action by every role (only the owning admin role may succeed; audited);
* 「显示完整号码/地址」 (`services.unmask.reveal`: over HTTP through its Dash callback, through the popups'
  POST /api/unmask, and directly) for every revealable kind × field (identity numbers, phones, addresses,
  names of residents, households, dispute parties, duty alerts, grid workers, organisations) inside and
  outside each scope — a full value for a role without `unmask` or outside the scope is a leak; a full
  value with no new `unmask` audit row is an unaudited sensitive read; a refusal with no `access.denied`
  row is a leak too (unaudited refusal).

The console is measured as `create_app` builds it (the gate installed, `console.services.viewer.current_viewer`
delegating to the logged-in account); `viewer_wired` in the result confirms the delegation. `--assume-wired` is
accepted for compatibility and changes nothing.
The last line is JSON: checks, leaks (must be 0), unaudited_sensitive_reads (must be 0), and details.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers (sectest) live with the tests

from sqlalchemy import select  # noqa: E402

import sectest as testing  # noqa: E402
from console.security.permissions import LAYER_POPULATION, LAYER_SPECIAL  # noqa: E402
from console.security.roles import ADMIN_ROLES, ROLES, SOURCE_ROLE  # noqa: E402
from console.store import make_engine, make_session_factory  # noqa: E402
from console.store.codes import CITY_CODE  # noqa: E402

from authz_unmask import add_unmask_records, check_unmask, unmask_over_http  # noqa: E402
import authz_registry  # noqa: E402
import authz_services  # noqa: E402
from authz_services import audit_count  # noqa: E402

ORIGIN = "http://localhost"
SENSITIVE_LAYERS = {"special": LAYER_SPECIAL, "population": LAYER_POPULATION}
ROLE_LEVEL = {"grid_worker": "grid", "village": "village", "town": "town", "county": "county",
              "city_leader": "city", "duty_officer": "city", "grid_planner": "county", "dispute_handler": "town",
              "intake_source": "town", "wall_display": "city"}


class Tally:
    def __init__(self):
        self.checks = 0
        self.leaks: list[str] = []
        self.unaudited: list[str] = []
        self.kinds = Counter()
        self.oracle_probes = 0

    def oracle(self, kind: str, ok: bool, what: str) -> None:
        self.oracle_probes += 1
        self.check(kind, ok, what)

    def check(self, kind: str, ok: bool, what: str, unaudited: bool = False) -> None:
        self.checks += 1
        self.kinds[kind] += 1
        if not ok:
            self.leaks.append(f"{kind}: {what}")
        if unaudited:
            self.unaudited.append(f"{kind}: {what}")


def build_db(folder: Path, db: str | None) -> str:
    if db:
        target = folder / "matrix.sqlite"
        shutil.copy(db, target)
        return str(target)
    tiny = ROOT / "tests" / "browser" / "tinyworld.py"
    if tiny.exists():
        spec = importlib.util.spec_from_file_location("tinyworld", tiny)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.build(folder / "tiny.sqlite")
    return testing.migrated_db(folder)


def sample_areas(session) -> dict[str, list[str]]:
    from console.store import Area, Grid

    out = {"city": [CITY_CODE]}
    for level in ("county", "town", "village"):
        out[level] = list(session.scalars(select(Area.code).where(Area.level == level).order_by(Area.code).limit(2)))
    out["grid"] = list(session.scalars(select(Grid.code).where(Grid.generation_high.is_(None))
                                       .order_by(Grid.code).limit(2)))
    return out




def login(client, username: str) -> str:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": testing.STRONG, "csrf_token": token},
                    headers={"Origin": ORIGIN})
    if r.status_code != 303:
        raise RuntimeError(f"login failed for {username}: {r.status_code}")
    cookie = client.get_cookie("_csrf_token")
    return cookie.value if cookie else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a world database to copy (default: the tiny test world)")
    parser.add_argument("--assume-wired", action="store_true",
                        help="no-op (the console is wired); kept so that old command lines still work")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from console.store import crypto

    if crypto.active_keyring() is None:  # a throwaway world: a throwaway data key (never written anywhere)
        import os

        crypto.set_keyring(crypto.KeyRing((os.urandom(32),)))
    testing.use_fast_hasher()
    tally = Tally()
    folder = Path(tempfile.mkdtemp(prefix="authz-"))
    db = build_db(folder, args.db)
    engine = make_engine(db)
    factory = make_session_factory(engine)
    clock = testing.Clock()
    with factory() as s:
        areas = sample_areas(s)
    add_unmask_records(factory)

    # Accounts: each business role at its level in two sample areas; the three admins.
    accounts: dict[str, tuple[str, list[str]]] = {}
    for role, level in ROLE_LEVEL.items():
        for i, code in enumerate(areas.get(level) or [CITY_CODE]):
            name = f"{role}_{i}"
            testing.add_account(factory, name, [role], [code])
            accounts[name] = (role, [code])
    for role in sorted(ADMIN_ROLES):
        testing.add_account(factory, role, [role])
        accounts[role] = (role, [])
    viewers = {n: testing.viewer_of(factory, n, clock) for n in accounts}

    # The console with security installed: `create_app` installs the gate itself.
    from console.security.web import EXTENSION

    # one client IP for all; the per-account allowances are probed on their own (oracle section), not here
    settings = testing.settings(clock, login_rate_burst=10_000, unmask_per_minute=1e6,
                                duplicate_checks_per_minute=1e6)
    from flask import g

    import console.services.viewer as cv
    from console.app import create_app
    from console.config import Settings as ConsoleSettings

    app = create_app(db, settings=ConsoleSettings(warm_cache=False), security_settings=settings)
    server = app.server
    sec = server.extensions[EXTENSION]
    probe = next(iter(viewers))
    with server.test_request_context("/"):  # does the console's current_viewer() return the logged-in account?
        g.pingan_viewer = viewers[probe]
        wired = cv.current_viewer().username == probe
    rules = [r for r in server.url_map.iter_rules() if r.endpoint != "static" and r.rule not in ("/login", "/favicon.ico")]

    # Dash registers page callbacks on the first request: make one (logged in) before listing them.
    first = server.test_client()
    login(first, next(n for n, (r, _) in accounts.items() if r not in ADMIN_ROLES))
    first.get("/", headers={"Accept": "text/html"})
    callbacks = list(app.callback_map)

    # 0. Every route and callback the running app serves is declared in the one registry.
    undeclared_routes, undeclared_callbacks = authz_registry.undeclared(app, server)
    for item in undeclared_routes + undeclared_callbacks:
        print("UNDECLARED", item)

    # 1. Anonymous: every route and every callback is refused.
    anon = server.test_client()
    for rule in rules:
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "1" if "int:" in m.group(0) else "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = anon.open(url, method=method, json={} if method != "GET" else None, headers={"Origin": ORIGIN})
            tally.check("route.anonymous", r.status_code in (302, 401), f"{method} {url} → {r.status_code}")
    for cb in callbacks:
        r = anon.post("/_dash-update-component", json={"output": cb, "outputs": [], "inputs": []},
                      headers={"Origin": ORIGIN})
        tally.check("callback.anonymous", r.status_code == 401, f"{cb} → {r.status_code}")

    # 2. Per account: layers, popups, callbacks, CSRF on writes.
    from console.services.layers import LAYERS

    sample_codes = [c for level in ("city", "county", "town", "village", "grid") for c in areas.get(level, [])]
    for name, (role, scope) in accounts.items():
        viewer = viewers[name]
        client = server.test_client()
        csrf = login(client, name) if role not in ADMIN_ROLES and role != SOURCE_ROLE else None
        if csrf is None:
            continue  # admins must enrol TOTP first, sources cannot log in; neither holds a data permission here
        for rule in rules:
            for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
                if rule.rule.startswith("/_dash-") or "<" in rule.rule or rule.rule in ("/logout", "/password",
                                                                                       "/login/totp", "/totp/setup"):
                    continue
                r = client.open(rule.rule, method=method, data={}, headers={"Origin": ORIGIN})
                # Session routes refuse a write without the CSRF token (403). Machine routes outside the session
                # (`public_paths`, e.g. POST /api/events) authenticate each call by API key, never by cookie, so a
                # browser's cookies cannot forge them: for those the refusal is 401 (no key).
                machine = rule.rule in sec.settings.public_paths
                tally.check("write.no_csrf", r.status_code == 403 or (machine and r.status_code == 401),
                            f"{name} {method} {rule.rule} → {r.status_code}")
        for key, layer in LAYERS.items():
            for code in sample_codes:
                allowed = viewer.can(layer.permission) and viewer.scope.overlaps(code)
                r = client.get(f"/api/layers/{key}.geojson?area={code}")
                if r.status_code != 200:
                    tally.check("layer", True, "")
                    continue
                tally.check("layer.permission", allowed, f"{name} read {key}@{code} without right")
                model = getattr(layer, "model", None)
                if model is None:
                    continue
                ids = [f["id"] for f in r.get_json().get("features", []) if isinstance(f.get("id"), int)]
                if not ids:
                    continue
                with factory() as s:
                    rows = s.execute(select(model.id, model.grid_code, model.village_code, model.town_code,
                                            model.county_code).where(model.id.in_(ids[:500]))).all()
                outside = [row.id for row in rows
                           if not viewer.scope.allows(row.grid_code or row.village_code or row.town_code or row.county_code)]
                tally.check("layer.scope", not outside, f"{name} got {len(outside)} {key} points outside scope")
            # Popups for records inside and outside the scope.
            model = getattr(layer, "model", None)
            if model is None:
                continue
            with factory() as s:
                inside = s.scalar(select(model.id).where(viewer.scope.clause(model)).limit(1))
                outside = s.scalar(select(model.id).where(~viewer.scope.clause(model)).limit(1)) \
                    if not viewer.scope.is_city else None
            if outside is not None:
                r = client.get(f"/api/layers/{key}/{outside}")
                tally.check("popup.scope", r.status_code in (403, 404), f"{name} read {key}/{outside} outside scope")
                authz_registry.oracle_records(tally, client, csrf, name, {key: outside})
            if inside is not None:
                before = audit_count(factory, name)
                r = client.get(f"/api/layers/{key}/{inside}")
                ok = r.status_code != 200 or viewer.can(layer.permission)
                sensitive = key in SENSITIVE_LAYERS and r.status_code == 200
                unaudited = sensitive and audit_count(factory, name) == before
                tally.check("popup.read", ok, f"{name} read {key}/{inside}" + ("" if ok else " without right"),
                            unaudited=unaudited)
        unmask_key = next((k for k in callbacks if "unmask-value" in k), None)
        tally.check("unmask.callback", unmask_key is not None, "the 显示完整号码 callback is not registered")
        if unmask_key is not None:
            check_unmask(tally, factory, name, viewer,
                         lambda kind, rid, field: json.dumps(
                             unmask_over_http(client, unmask_key, csrf, kind, rid, field).get_json(), ensure_ascii=False))
        # The popups' 「显示」: POST /api/unmask.
        check_unmask(tally, factory, name, viewer,
                     lambda kind, rid, field: client.post("/api/unmask", json={"kind": kind, "id": rid, "field": field},
                                                          headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
                     .get_data(as_text=True))
        # Every route, callback and page the running app serves, against the registry, with forged inputs.
        out_areas = [c for c in sample_codes if not viewer.scope.overlaps(c)][:2]
        forged = [None, 1, out_areas[0] if out_areas else "610900", {"id": 1, "area": "610925"}]
        authz_registry.probe_callbacks(tally, app, client, csrf, name, viewer, factory, forged)
        authz_registry.probe_pages(tally, app, client, csrf, name, viewer)
        authz_registry.probe_routes(tally, server, client, name, viewer, out_areas)
        with factory() as s:
            from console.store import Person

            person_out = s.scalar(select(Person.id).where(~viewer.scope.clause(Person)).limit(1)) \
                if not viewer.scope.is_city else None
        if person_out is not None:
            authz_registry.oracle_records(tally, client, csrf, name, {"population": person_out})
        for component, permission in sec.callback_permissions.items():
            r = client.post("/_dash-update-component", json={"outputs": {"id": component, "property": "x"}},
                            headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
            tally.check("callback.permission", (r.status_code == 403) != viewer.can(permission),
                        f"{name} callback {component} → {r.status_code}")

    # 3–5. The services themselves, below HTTP (authz_services.py).
    authz_services.run_all(tally, factory, viewers, accounts, areas, sample_codes)

    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    for line in tally.leaks[:60]:
        print("LEAK", line)
    for line in tally.unaudited[:20]:
        print("UNAUDITED", line)
    print(f"checks by kind: {dict(sorted(tally.kinds.items()))}")
    print(json.dumps({
        "checks": tally.checks, "leaks": len(tally.leaks), "undeclared_routes": len(undeclared_routes),
        "undeclared_callbacks": len(undeclared_callbacks), "unaudited_sensitive_reads": len(tally.unaudited),
        "oracle_probes": tally.oracle_probes,
        "roles": len(ROLES), "accounts": len(accounts), "routes": len(rules), "callbacks": len(callbacks),
        "layers": len(LAYERS), "areas": sum(len(v) for v in areas.values()), "viewer_wired": wired,
        "seconds": round(time.perf_counter() - started, 1),
    }, ensure_ascii=False))
    return 0 if not (tally.leaks or tally.unaudited or undeclared_routes or undeclared_callbacks) else 1


if __name__ == "__main__":
    sys.exit(main())
