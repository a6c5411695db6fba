"""The registry part of the authorization matrix (benchmarks/authz_matrix.py): what the running app serves, checked
against the one permission table (`console.security.registry`), and probed with forged inputs per account.

* `undeclared(app)`: every Flask rule (`url_map`) and Dash callback (`callback_map`) without a registry entry;
* `probe_callbacks`: every server callback × forged input sets (nothing, ids, an out-of-scope area) — a 200 for
  an account whose role lacks the callback's need is a leak, a 500 is an error, an answered sensitive read
  without a new `record.read` audit row is unaudited;
* `probe_pages`: every page path through Dash's router — a layout for an account lacking the page's need is a leak;
* `probe_routes`: every GET route with forged parameters — a 200 without the route's need is a leak;
* `oracle_probes`: answers that could differ by hidden data — the duplicate check (a hidden party identity
  number vs a random one, through the service and Open311), unknown vs out-of-scope records (popups, unmask).
"""

from __future__ import annotations

import json
import re

from sqlalchemy import delete, func, select

from console.security import registry
from console.store.security_models import AuditLog

ORIGIN = "http://localhost"


def undeclared(app, server) -> tuple[list[str], list[str]]:
    rules = sorted({r.rule for r in server.url_map.iter_rules() if registry.route_need(r.rule) is None})
    names = sorted({str(registry.callback_name(v.get("callback"))) for v in app.callback_map.values()
                    if registry.callback_need(registry.callback_name(v.get("callback"))) is None})
    return rules, names


def outputs_of(key: str):
    multi = key.startswith("..")
    out = []
    for part in (key.strip(".").split("...") if multi else [key]):
        cid, prop = part.split("@")[0].rsplit(".", 1)
        out.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})
    return out if multi else out[0]


def _wildcard(spec) -> bool:
    return isinstance(spec.get("id"), str) and spec["id"].startswith("{")


def _items(specs, value):
    return [{"id": s["id"], "property": s["property"], "value": value} for s in specs]


def count(factory, actor: str, action: str) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(AuditLog)
                        .where(AuditLog.actor == actor, AuditLog.action == action))


def probe_callbacks(tally, app, client, csrf, name, viewer, factory, forged_values) -> None:
    for key, entry in app.callback_map.items():
        cname = registry.callback_name(entry.get("callback"))
        need = registry.callback_need(cname)
        if need is None or need.kind == registry.CLIENTSIDE:
            r = client.post("/_dash-update-component", json={"output": key, "outputs": outputs_of(key), "inputs": []},
                            headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
            tally.check("callback.undeclared_or_clientside", r.status_code in (400, 403), f"{name} {cname} → {r.status_code}")
            continue
        allowed = need.kind == registry.LOGGED_IN or need.allows(viewer.permissions)
        wild = any(_wildcard(s) for s in entry.get("inputs", []) + entry.get("state", [])) or "{" in key
        for value in (forged_values if not wild else [None]):
            inputs = [] if wild else _items(entry.get("inputs", []), value)
            state = [] if wild else _items(entry.get("state", []), value)
            before = count(factory, name, "record.read")
            r = client.post("/_dash-update-component", json={
                "output": key, "outputs": outputs_of(key), "inputs": inputs, "state": state,
                "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs[:1]]},
                headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
            answered = r.status_code in (200, 204)
            tally.check("callback.permission", allowed or not answered, f"{name} {cname} value={value!r} → {r.status_code}")
            tally.check("callback.no_500", r.status_code < 500, f"{name} {cname} value={value!r} → {r.status_code}")
            if need.sensitive and r.status_code == 200:
                tally.check("callback.audited", True, "",
                            unaudited=count(factory, name, "record.read") == before)


def probe_pages(tally, app, client, csrf, name, viewer) -> None:
    router = next((k for k in app.callback_map if "_pages_content" in k), None)
    if router is None:
        tally.check("page.router", False, "the pages router is not registered")
        return
    for path, (_label, need) in registry.PAGES.items():
        r = client.post("/_dash-update-component", json={
            "output": router, "outputs": outputs_of(router),
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": ""}], "changedPropIds": []},
            headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
        refused = "无权限访问此页面" in r.get_data(as_text=True)
        tally.check("page.permission", refused != need.allows(viewer.permissions) or r.status_code != 200,
                    f"{name} page {path}: refused={refused} status={r.status_code}")


def _url(rule: str, area: str) -> str:
    url = re.sub(r"<int:[^>]+>", "1", rule)
    url = re.sub(r"<(?:[^:>]+:)?key>", "special", url)
    url = re.sub(r"<[^>]+>", "x", url)
    return url + f"?area={area}&cursor=0&lon=109.0&lat=32.7"


def probe_routes(tally, server, client, name, viewer, areas_out: list[str]) -> None:
    for rule in server.url_map.iter_rules():
        need = registry.route_need(rule.rule)
        if "GET" not in rule.methods or need is None or need.kind in (registry.PUBLIC, registry.LOGGED_IN,
                                                                      registry.SOURCE_KEY):
            continue
        for area in areas_out or ["610900"]:
            r = client.get(_url(rule.rule, area))
            tally.check("route.permission", r.status_code != 200 or need.allows(viewer.permissions),
                        f"{name} GET {rule.rule} → {r.status_code}")
            tally.check("route.no_500", r.status_code < 500, f"{name} GET {rule.rule} → {r.status_code}")


def oracle_duplicates(tally, factory, name, viewer, hidden_id: str, fresh_id: str, point, now) -> None:
    """A hidden party's identity number vs a random one: the two answers must not differ."""
    from console.disputes import service
    from console.security.guard import AccessDenied

    def probe(number, category, n):
        form = {"title": "探测", "category": category, "occurred_on": now.date(), "place": f"探测{name}{n}",
                "lon": point[0], "lat": point[1], "scale": 2, "description": "探测", "risk_grade": "low",
                "parties": [{"role": "applicant", "name": "甲", "id_number": number}]}
        try:
            res = service.register(factory, viewer, form, now=now)
        except AccessDenied:
            return ("refused",)
        if res.ok:  # take the probe's case out again: the next probe must meet the same world
            from console.store import Dispute, DisputeEvent, DisputeParty

            with factory() as s, s.begin():
                for model in (DisputeEvent, DisputeParty):
                    s.execute(delete(model).where(model.dispute_id == res.dispute_id))
                s.execute(delete(Dispute).where(Dispute.id == res.dispute_id))
        return (res.ok, bool(res.duplicates), (res.message or "").replace(res.code or "", ""))

    hit, miss = probe(hidden_id, "labour", 1), probe(fresh_id, "labour", 2)
    tally.oracle("oracle.duplicate", hit == miss or viewer.can("unmask"), f"{name}: {hit} vs {miss}")


def oracle_records(tally, client, csrf, name, out_ids: dict[str, int]) -> None:
    """Unknown vs out-of-scope record: popups and unmask answer the same (status and text)."""
    for layer, rid in out_ids.items():
        a, b = client.get(f"/api/layers/{layer}/{rid}"), client.get(f"/api/layers/{layer}/999999999")
        tally.oracle("oracle.popup", (a.status_code, a.get_data()) == (b.status_code, b.get_data()),
                     f"{name} popup {layer}: {a.status_code} vs {b.status_code}")
    for kind, rid in (("person", out_ids.get("population")), ("household", None)):
        if rid is None:
            continue
        a = client.post("/api/unmask", json={"kind": kind, "id": rid, "field": "id_number"},
                        headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
        b = client.post("/api/unmask", json={"kind": kind, "id": 10**9, "field": "id_number"},
                        headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
        tally.oracle("oracle.unmask", (a.status_code, a.get_data()) == (b.status_code, b.get_data()),
                     f"{name} unmask {kind}: {a.status_code} vs {b.status_code}")
