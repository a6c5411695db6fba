"""Weaknesses behind the leaks (docs/security.md, threat table): locks and rotations that take effect at once,
session limits, sane ingest limits, forged callback values answered 4xx, bulk reads of sensitive layers audited."""

from __future__ import annotations

import inspect
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from console.app import create_app
from console.config import Settings
from console.security import admin
import sectest as testing
from console.security.guard import AccessDenied
from console.security.hardening import generate_api_key
from console.store import make_engine, make_session_factory
from console.store.security_models import Account, ApiKey
from tests.security_login import ORIGIN, add_account, login_client, security_settings
from tests.test_disputes_fixtures import NOW
from tests.test_security_leaks import (  # noqa: F401 - fixtures
    TOWN_A, app, audit_actions, callback_key, client_for, post_callback, world,
)


@pytest.fixture()
def copy(world, tmp_path):
    path, ids = world
    db = tmp_path / "w.sqlite"
    shutil.copy(path, db)
    engine = make_engine(str(db), must_exist=True)
    yield str(db), make_session_factory(engine), ids
    engine.dispose()


def test_a_locked_account_loses_its_sessions_and_keys_at_once(copy):
    db, factory, ids = copy
    add_account(db, "feeder", ["intake_source"], [TOWN_A])
    key, prefix, digest = generate_api_key()
    with factory() as s, s.begin():
        owner = s.scalar(select(Account.id).where(Account.username == "feeder"))
        s.add(ApiKey(name="feeder", prefix=prefix, key_hash=digest, account_id=owner, created_at=NOW, created_by="t"))
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())
    c = app.server.test_client()
    login_client(c, "towner")
    assert c.get("/api/areas?lon=108.5&lat=32.5").status_code != 401
    other = app.server.test_client()
    for _ in range(5):  # someone hammers the password: the account locks
        page = other.get("/login").get_data(as_text=True)
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        other.post("/login", data={"username": "towner", "password": "Wrong#pass1", "csrf_token": token},
                   headers={"Origin": ORIGIN})
    assert c.get("/api/areas?lon=108.5&lat=32.5").status_code == 401
    k = app.server.test_client()
    assert k.get("/api/open311/services.json", headers={"X-API-Key": key}).status_code == 200
    with factory() as s, s.begin():
        s.execute(update(Account).where(Account.username == "feeder").values(locked_until=NOW + timedelta(days=3650)))
    assert k.get("/api/open311/services.json", headers={"X-API-Key": key}).status_code == 401


def test_the_system_administrator_cannot_unlock_itself(copy):
    db, factory, _ = copy
    testing.add_account(factory, "sys", ["system_admin"])
    with pytest.raises((AccessDenied, admin.AdminError)):
        admin.unlock(factory, testing.viewer_of(factory, "sys"), "sys")
    assert "account.unlock" in audit_actions(db, "sys")


def test_concurrent_sessions_are_limited(copy):
    db, factory, _ = copy
    app = create_app(db, settings=Settings(warm_cache=False),
                     security_settings=security_settings(max_sessions_per_account=2))
    clients = [app.server.test_client() for _ in range(3)]
    for c in clients:
        login_client(c, "county")
    assert clients[0].get("/api/areas?lon=108.5&lat=32.5").status_code == 401  # the oldest ended
    assert clients[2].get("/api/areas?lon=108.5&lat=32.5").status_code != 401


def test_a_rotated_source_key_stops_at_once(copy):
    from console.duty.sources import SourceKeys, rotate_source

    _, factory, _ = copy
    keys = SourceKeys(factory)  # ttl=0; the ingest endpoint caches and re-checks in the write: test_duty_batch.py
    with factory() as s, s.begin():
        old = rotate_source(s, "gridapp", "网格通")
    assert keys.source_for(old) == "gridapp"
    with factory() as s, s.begin():
        new = rotate_source(s, "gridapp")
    assert keys.source_for(old) is None and keys.source_for(new) == "gridapp"


def test_the_ingest_limit_default_is_sane():
    from console.routes import ingest

    assert inspect.signature(ingest.register).parameters["per_minute"].default <= 60_000
    assert Settings().ingest_per_minute <= 60_000


def test_forged_callback_values_get_4xx_not_500(app, world):
    c, csrf = client_for(app, "county")
    r = post_callback(c, csrf, callback_key(app, "dispute_stats.monthly_print"),
                      inputs=[{"id": "ds-print", "property": "n_clicks", "value": 1}],
                      state=[{"id": "ds-area", "property": "value", "value": None},
                             {"id": "ds-dates", "property": "start_date", "value": None},
                             {"id": "ds-dates", "property": "end_date", "value": None},
                             {"id": "ds-print-box", "property": "style", "value": {}}])
    assert 400 <= r.status_code < 500 or (r.status_code == 200 and "日期" in r.get_data(as_text=True))
    add_account(world[0], "planner_t", ["grid_planner"], [TOWN_A])
    p, pcsrf = client_for(app, "planner_t")
    r = post_callback(p, pcsrf, callback_key(app, "planner.show"),
                      inputs=[{"id": "pl-draft", "property": "data", "value": {"draft": "x", "village": "y"}}])
    assert 400 <= r.status_code < 500
    r = post_callback(p, pcsrf, callback_key(app, "planner.export"),
                      inputs=[{"id": "pl-export", "property": "n_clicks", "value": 1}],
                      state=[{"id": "pl-draft", "property": "data", "value": {"draft": 1, "village": "y"}},
                             {"id": "pl-export-fmt", "property": "value", "value": "exe"},
                             {"id": "pl-export-crs", "property": "value", "value": "EPSG:4490"}])
    assert 400 <= r.status_code < 500


def test_bulk_special_population_layer_reads_are_audited(app, world):
    path, _ = world
    c, _csrf = client_for(app, "towner")
    before = audit_actions(path, "towner").count("record.read")
    r = c.get(f"/api/layers/special.geojson?area={TOWN_A}")
    assert r.status_code == 200
    assert audit_actions(path, "towner").count("record.read") == before + 1


def test_a_county_account_at_the_city_sees_only_its_own_scope_and_a_notice(app, world):
    from console.services.areas import resolve
    from console.store import AreaScope

    path, _ = world
    engine = make_engine(path, must_exist=True)
    with make_session_factory(engine)() as s:
        res = resolve(s, AreaScope.of(["610924"]), "610900")
    engine.dispose()
    assert res.node.code == "610924" and "超出您的数据范围" in res.message
    add_account(path, "county_a", ["county"], ["610924"])
    c, _csrf = client_for(app, "county_a")
    r = c.get("/api/layers/areas.geojson?area=610900")
    assert "岚皋县" not in r.get_data(as_text=True)  # the other county is not drawn, named or counted


def test_the_hall_screen_never_idles_out_and_sees_no_record(copy):
    import sectest

    db, factory, ids = copy
    add_account(db, "wall", ["wall_display"], ["610900"])
    clock = sectest.Clock()
    sectest.use_fast_hasher()
    settings = sectest.settings(clock, login_rate_burst=10_000, max_sessions_per_account=10_000)
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=settings)
    wall, person = app.server.test_client(), app.server.test_client()
    csrf = login_client(wall, "wall")
    login_client(person, "county")
    with factory() as s:
        from console.store import Dispute

        case = s.scalar(select(Dispute.id).order_by(Dispute.id))
    assert wall.get("/api/layers/disputes.geojson?area=610900").status_code == 200  # layers: yes
    assert wall.get(f"/api/layers/disputes/{case}").status_code == 403  # a record's popup: no
    r = wall.post("/api/unmask", json={"kind": "person", "id": ids["person_a"], "field": "id_number"},
                  headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 403
    clock.advance(hours=2)
    assert wall.get("/api/layers/areas.geojson?area=610900").status_code == 200  # the screen is still on
    assert person.get("/api/layers/areas.geojson?area=610900").status_code == 401  # a person idles out
