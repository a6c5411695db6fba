"""Open311 GeoReport v2 intake: API key, validation per field, idempotency, scope, audit."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from console.routes import open311
import sectest as sec_testing
from console.security.hardening import generate_api_key
from console.security.web import install
from console.store import Dispute
from console.store.security_models import ApiKey, AuditLog
from tests.test_disputes_fixtures import NOW, case_form, grid_point, ident, store, tiny_template  # noqa: F401


@pytest.fixture()
def api(store):
    sec_testing.use_fast_hasher()
    server = Flask("open311-test")
    install(server, store, sec_testing.settings(lambda: NOW))
    open311.register(server, store, clock=lambda: NOW)
    keys = {}
    # API keys belong to intake-source accounts (never a person); "leader" stands for a key of a person's account
    for name, roles, scope in (("hotline", ("intake_source",), ("610924",)),
                               ("far", ("intake_source",), ("610925",)), ("leader", ("city_leader",), ("610900",))):
        account = sec_testing.add_account(store, name, roles, scope)
        key, prefix, digest = generate_api_key()
        with store() as s, s.begin():
            s.add(ApiKey(name=name, prefix=prefix, key_hash=digest, account_id=account, created_at=NOW,
                         created_by="test"))
        keys[name] = {"X-API-Key": key}
    return server.test_client(), keys


def _body(lon, lat, **over):
    form = case_form(lon, lat)
    body = {"client_request_id": "12345-0001", "service_code": "neighbour", "lat": lat, "long": lon,
            "address_string": form["place"], "description": form["description"], "title": form["title"],
            "occurred_on": "2026-11-20", "scale": 2, "parties": form["parties"]}
    body.update(over)
    return body


def test_services_needs_key(api):
    client, keys = api
    assert client.get("/api/open311/services.json").status_code == 401
    assert client.get("/api/open311/services.json", headers={"X-API-Key": "pak_00000000.bad"}).status_code == 401
    r = client.get("/api/open311/services.json", headers=keys["hotline"])
    assert r.status_code == 200 and {s["service_code"] for s in r.get_json()} >= {"neighbour", "labour"}


def test_post_is_idempotent_and_audited(api, store, grid_point):
    client, keys = api
    lon, lat, grid = grid_point
    r1 = client.post("/api/open311/requests.json", json=_body(lon, lat), headers=keys["hotline"])
    assert r1.status_code == 201, r1.get_json()
    code = r1.get_json()[0]["service_request_id"]
    r2 = client.post("/api/open311/requests.json", json=_body(lon, lat), headers=keys["hotline"])
    assert r2.status_code == 200 and r2.get_json()[0]["service_request_id"] == code
    r3 = client.post("/api/open311/requests.json", json=_body(lon, lat, description="别的"), headers=keys["hotline"])
    assert r3.status_code == 409
    with store() as s:
        assert s.scalar(select(func.count()).where(Dispute.code == code)) == 1
        assert s.scalar(select(Dispute.source).where(Dispute.code == code)) == "open311"
        assert s.scalar(select(func.count()).where(AuditLog.action == "dispute.register")) == 1
    got = client.get(f"/api/open311/requests/{code}.json", headers=keys["hotline"]).get_json()[0]
    assert got["status"] == "open" and got["status_notes"] == "登记" and "parties" not in got
    assert client.get(f"/api/open311/requests/{code}.json", headers=keys["far"]).status_code == 404


def test_validation_per_field(api, store, grid_point):
    client, keys = api
    lon, lat, _ = grid_point
    bad = _body(130.0, lat, service_code="ufo", occurred_on="2099-01-01", client_request_id="x2",
                parties=[{"name": "张三", "id_number": "610924198001011231"}])
    r = client.post("/api/open311/requests.json", json=bad, headers=keys["hotline"])
    errors = {e["field"]: e["description"] for e in r.get_json()}
    assert r.status_code == 400
    assert "纠纷类别" in errors["service_code"] and errors["long"] == "地点不在安康市范围内"
    assert errors["occurred_on"] == "发生日期不能晚于今天" and "校验位" in errors["parties"]
    r = client.post("/api/open311/requests.json", json=_body(lon, lat, client_request_id=""), headers=keys["hotline"])
    assert r.status_code == 400 and r.get_json()[0]["field"] == "client_request_id"
    with store() as s:
        assert s.scalar(select(func.count()).where(Dispute.source == "open311")) == 0


def test_scope_and_permission(api, grid_point):
    client, keys = api
    lon, lat, _ = grid_point
    assert client.post("/api/open311/requests.json", json=_body(lon, lat), headers=keys["far"]).status_code == 403
    assert client.post("/api/open311/requests.json", json=_body(lon, lat), headers=keys["leader"]).status_code in (401, 403)
