"""Attacks on the running console (docs/security.md, threat table): forged callbacks and API calls by the wrong role,
oracles that answer differently by hidden data, linked records outside the scope, and the 三员 split."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select

from console.app import create_app
from console.config import Settings
from console.disputes import service
from console.security import admin, accounts
import sectest as testing

try:
    from console.security import throttle
except ImportError:  # before the per-account limits existed (the tests then fail on the leak itself)
    class throttle:  # noqa: N801
        @staticmethod
        def configure(*_a, **_k):
            pass
from console.security.audit import Auditor
from console.security.guard import AccessDenied, Viewer
from console.security.hardening import generate_api_key
from console.services import unmask
from console.store import Alert, Dispute, DisputeParty, Person, make_engine, make_session_factory
from console.store.duty_models import AlertInfo
from console.store.security_models import ApiKey
from tests.browser.tinyworld import build
from tests.security_login import ORIGIN, add_account, login_client, security_settings
from tests.test_disputes_fixtures import NOW, case_form, ident

TOWN_A, COUNTY_B = "610924100", "610925"
HIDDEN_ID = ident(region="610925", seq="777")  # a party of a case in county B


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("leaks") / "tiny.sqlite")
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        case_b = s.scalars(select(Dispute).where(Dispute.county_code == COUNTY_B).order_by(Dispute.id)).first()
        case_b.registered_at = NOW - timedelta(days=2)
        s.add(DisputeParty(dispute_id=case_b.id, role="applicant", name="赵六", id_number=HIDDEN_ID, sex="M"))
        person_a = s.scalars(select(Person).where(Person.town_code == TOWN_A).order_by(Person.id)).first()
        person_b = s.scalars(select(Person).where(Person.county_code == COUNTY_B).order_by(Person.id)).first()
        # an alert placed in town A about a person registered in county B
        alert = Alert(rule="r", kind="k", severity="high", state="new", title="跨区预警", raised_at=NOW, updated_at=NOW,
                      county_code=person_a.county_code, town_code=person_a.town_code,
                      village_code=person_a.village_code, grid_code=person_a.grid_code, lon=person_a.lon,
                      lat=person_a.lat)
        s.add(alert)
        s.flush()
        s.add(AlertInfo(alert_id=alert.id, person_id=person_b.id))
        s.commit()
        ids = {"case_b": case_b.code, "person_a": person_a.id, "person_b": person_b.id, "alert": alert.id,
               "id_b": person_b.id_number, "id_a": person_a.id_number, "grid_a": person_a.grid_code}
    for name, roles, scope in (("planner", ["grid_planner"], ["610900"]), ("leader", ["city_leader"], ["610900"]),
                               ("mediator", ["dispute_handler"], [TOWN_A]), ("towner", ["town"], [TOWN_A]),
                               ("duty", ["duty_officer"], [TOWN_A]), ("county", ["county"], ["610900"]), ("secadm", ["security_admin"], [])):
        add_account(path, name, roles, scope)
    engine.dispose()
    return path, ids


@pytest.fixture()
def app(world):
    path, _ = world
    throttle.configure({})
    return create_app(path, settings=Settings(warm_cache=False), security_settings=security_settings())


def client_for(app, name):
    c = app.server.test_client()
    csrf = login_client(c, name)
    c.get("/", headers={"Accept": "text/html"})  # Dash registers the page router on the first request
    return c, csrf


def callback_key(app, name: str) -> str:
    return next(k for k, v in app.callback_map.items()
                if v.get("callback") is not None and v["callback"].__name__ == name.split(".")[1]
                and v["callback"].__module__.endswith(name.split(".")[0]))


def outputs_of(key: str) -> list[dict]:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    out = []
    for part in parts:
        cid, prop = part.split("@")[0].rsplit(".", 1)
        out.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})
    return out if key.startswith("..") else out[0]


def post_callback(c, csrf, key, inputs=(), state=()):
    return c.post("/_dash-update-component", json={"output": key, "outputs": outputs_of(key), "inputs": list(inputs),
                                                   "state": list(state), "changedPropIds": []},
                  headers={"Origin": ORIGIN, "X-CSRFToken": csrf})


def audit_actions(path, actor):
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT action FROM audit_log WHERE actor=? ORDER BY id", (actor,))]
    finally:
        con.close()


# -- 1. duplicate-check oracle -------------------------------------------------------------------------------
def _viewer(factory, name, roles, scope):
    return Viewer.build(name, roles, scope, auditor=Auditor(factory, lambda: NOW))


def _point_in(factory, town):
    import shapely

    from console.store import Grid

    with factory() as s:
        wkb = s.scalar(select(Grid.geom_wkb).where(Grid.village_code.like(town + "%"), Grid.generation_high.is_(None))
                       .order_by(Grid.code))
    p = shapely.from_wkb(wkb).representative_point()
    return p.x, p.y


def test_duplicate_check_is_no_identity_oracle(world, tmp_path):
    import shutil

    path, ids = world
    db = tmp_path / "w.sqlite"
    shutil.copy(path, db)
    engine = make_engine(str(db), must_exist=True)
    factory = make_session_factory(engine)
    throttle.configure({})
    duty = _viewer(factory, "prober", ["duty_officer"], [TOWN_A])  # may register, may not reveal
    lon, lat = _point_in(factory, TOWN_A)

    def probe(number, category):  # categories the world has no case of: only a party match could flag it
        form = case_form(lon, lat, place=f"探测{number[-4:]}", category=category, parties=[
            {"role": "applicant", "name": "甲", "id_number": number}])
        return service.register(factory, duty, form, now=NOW)

    hit, miss = probe(HIDDEN_ID, "labour"), probe(ident(region="610925", seq="778"), "family")
    assert hit.ok == miss.ok and hit.message.replace(hit.code or "", "") == miss.message.replace(miss.code or "", "")
    assert ids["case_b"] not in hit.message and "当事人相同" not in hit.message
    assert "dispute.duplicate_check" in [a for a in audit_actions(str(db), "prober")]
    engine.dispose()


def test_duplicate_checks_are_throttled(world, tmp_path):
    import shutil

    path, _ = world
    db = tmp_path / "w.sqlite"
    shutil.copy(path, db)
    engine = make_engine(str(db), must_exist=True)
    factory = make_session_factory(engine)
    throttle.configure({"duplicate_check": 3})
    duty = _viewer(factory, "guesser", ["duty_officer"], [TOWN_A])
    lon, lat = _point_in(factory, TOWN_A)
    with pytest.raises(AccessDenied):
        for i in range(5):
            service.register(factory, duty, case_form(lon, lat, place=f"地点{i}"), now=NOW)
    assert "security.alert" in audit_actions(str(db), "guesser")
    throttle.configure({})
    engine.dispose()


def test_open311_intake_names_no_case_outside_the_key_scope(world, tmp_path):
    import shutil

    path, ids = world
    db = tmp_path / "w.sqlite"
    shutil.copy(path, db)
    account = add_account(str(db), "hotline", ["intake_source"], [TOWN_A])
    engine = make_engine(str(db), must_exist=True)
    factory = make_session_factory(engine)
    key, prefix, digest = generate_api_key()
    with factory() as s, s.begin():
        owner = s.scalar(select(accounts.Account.id).where(accounts.Account.username == account))
        s.add(ApiKey(name="hotline", prefix=prefix, key_hash=digest, account_id=owner, created_at=NOW, created_by="t"))
    app = create_app(str(db), settings=Settings(warm_cache=False), security_settings=security_settings())
    c = app.server.test_client()
    lon, lat = _point_in(factory, TOWN_A)
    notices = []
    for n, number in enumerate((HIDDEN_ID, ident(region="610925", seq="778"))):
        body = {"client_request_id": f"probe-{n}", "service_code": ("labour", "family")[n], "lat": lat, "long": lon,
                "address_string": f"探测{n}", "description": "探测", "title": "探测", "occurred_on": "2026-11-20",
                "parties": [{"role": "applicant", "name": "甲", "id_number": number}]}
        r = c.post("/api/open311/requests.json", json=body, headers={"X-API-Key": key})
        assert r.status_code == 201, r.get_data(as_text=True)
        notices.append(r.get_json()[0]["service_notice"])
    assert notices[0] == notices[1] and ids["case_b"] not in notices[0]
    engine.dispose()


# -- 2. reveal needs the right to view that kind of record --------------------------------------------------
def test_unmask_needs_the_view_permission_of_the_kind(app, world):
    path, ids = world
    c, csrf = client_for(app, "mediator")  # 纠纷调处员: unmask + cases, no persons
    r = c.post("/api/unmask", json={"kind": "person", "id": ids["person_a"], "field": "id_number"},
               headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 403 and ids["id_a"] not in r.get_data(as_text=True)
    assert "access.denied" in audit_actions(path, "mediator")


def test_unmask_is_rate_limited_and_a_burst_alerts_the_security_admin(world):
    path, ids = world
    app = create_app(path, settings=Settings(warm_cache=False), security_settings=security_settings(unmask_per_minute=5))
    c, csrf = client_for(app, "towner")
    codes = [c.post("/api/unmask", json={"kind": "person", "id": ids["person_a"], "field": "id_number"},
                    headers={"Origin": ORIGIN, "X-CSRFToken": csrf}).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and codes[-1] == 429
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        alerts = admin.security_alerts(s, testing.viewer_of(factory, "secadm"))
    assert any(a["account"] == "towner" for a in alerts)
    engine.dispose()
    throttle.configure({})


# -- 3. ledger, details, statistics, print need view:cases --------------------------------------------------
@pytest.mark.parametrize("name", ["disputes.search", "disputes.show_case", "dispute_stats.run",
                                  "dispute_stats.monthly_print"])
def test_case_callbacks_refuse_a_role_without_view_cases(app, world, name):
    path, _ = world
    c, csrf = client_for(app, "planner")
    r = post_callback(c, csrf, callback_key(app, name))
    assert r.status_code == 403 and "JF" not in r.get_data(as_text=True)


def test_ledger_read_is_audited(app, world):
    path, _ = world
    c, csrf = client_for(app, "county")
    before = audit_actions(path, "county").count("record.read")
    r = post_callback(c, csrf, callback_key(app, "disputes.search"),
                      inputs=[{"id": "dl-search", "property": "n_clicks", "value": 1},
                              {"id": "dl-refresh", "property": "data", "value": 0}],
                      state=[{"id": i, "property": p, "value": None} for i, p in (
                          ("dl-f-area", "value"), ("dl-f-cat", "value"), ("dl-f-state", "value"),
                          ("dl-f-dates", "start_date"), ("dl-f-dates", "end_date"), ("dl-f-overdue", "value"),
                          ("dl-f-text", "value"))])
    assert r.status_code == 200 and "JF" in r.get_data(as_text=True)
    assert audit_actions(path, "county").count("record.read") == before + 1


# -- 4. alerts need the duty permission ----------------------------------------------------------------------
@pytest.mark.parametrize("who", ["planner", "leader", "mediator"])
def test_alert_feed_and_details_refuse_roles_without_the_duty_permission(app, world, who):
    _, ids = world
    c, csrf = client_for(app, who)
    r = c.get("/api/alerts/changes?cursor=0")
    assert r.status_code == 403 and "跨区预警" not in r.get_data(as_text=True)
    for name in ("duty.show_detail", "duty.handover"):
        r = post_callback(c, csrf, callback_key(app, name),
                          inputs=[{"id": "duty-selected", "property": "data", "value": ids["alert"]}])
        assert r.status_code == 403 and "跨区预警" not in r.get_data(as_text=True)


def test_duty_page_layout_refuses_roles_without_the_duty_permission(app, world):
    c, csrf = client_for(app, "planner")
    router = next(k for k, v in app.callback_map.items() if "_pages_content" in k)
    r = c.post("/_dash-update-component", json={
        "output": router, "outputs": [{"id": "_pages_content", "property": "children"},
                                      {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/duty"},
                   {"id": "_pages_location", "property": "search", "value": ""}], "changedPropIds": []},
        headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 200 and "跨区预警" not in r.get_data(as_text=True) and "无权限访问" in r.get_data(as_text=True)


# -- 5. scope on every linked record ------------------------------------------------------------------------
def test_alert_in_scope_does_not_reveal_a_person_outside_it(app, world):
    path, ids = world
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    towner = testing.viewer_of(factory, "towner")
    with pytest.raises(AccessDenied):
        unmask.reveal(factory, towner, "alert", ids["alert"], field="id_number")
    from console.duty.detail import alert_detail

    with factory() as s:
        d = alert_detail(s, towner, ids["alert"])
    assert d is not None and d["person"] is None
    engine.dispose()


# -- 6. 三员: reset and API keys -----------------------------------------------------------------------------
def test_password_reset_gives_the_system_admin_no_usable_login(world, tmp_path):
    import shutil

    path, _ = world
    db = tmp_path / "w.sqlite"
    shutil.copy(path, db)
    engine = make_engine(str(db), must_exist=True)
    factory = make_session_factory(engine)
    testing.add_account(factory, "sys", ["system_admin"])
    testing.add_account(factory, "sec", ["security_admin"])
    clock = testing.Clock()
    settings = testing.settings(clock)
    half = admin.reset_password(factory, testing.viewer_of(factory, "sys", clock), "towner")
    assert not accounts.authenticate(factory, settings, "towner", half, "10.0.0.9").ok
    with pytest.raises(AccessDenied):  # the system administrator cannot approve its own request
        admin.approve_password_reset(factory, testing.viewer_of(factory, "sys", clock), "towner")
    second = admin.approve_password_reset(factory, testing.viewer_of(factory, "sec", clock), "towner")
    for guess in (half, second, second + half):
        assert not accounts.authenticate(factory, settings, "towner", guess, "10.0.0.9").ok
    res = accounts.authenticate(factory, settings, "towner", half + second, "10.0.0.9")
    assert res.ok and res.stage == accounts.STAGE_CHANGE
    engine.dispose()


def test_api_keys_never_act_as_a_person(app, world, tmp_path):
    path, ids = world
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    testing.add_account(factory, "sys2", ["system_admin"])
    with pytest.raises((AccessDenied, admin.AdminError)):
        admin.issue_api_key(factory, testing.viewer_of(factory, "sys2"), "towner", "bot")
    # a key stored for a person's account (as old versions issued) opens nothing
    key, prefix, digest = generate_api_key()
    with factory() as s, s.begin():
        owner = s.scalar(select(accounts.Account.id).where(accounts.Account.username == "towner"))
        s.add(ApiKey(name="old", prefix=prefix, key_hash=digest, account_id=owner, created_at=NOW, created_by="t"))
    c = app.server.test_client()
    r = c.post("/api/unmask", json={"kind": "person", "id": ids["person_a"], "field": "id_number"},
               headers={"X-API-Key": key})
    assert r.status_code in (401, 403) and ids["id_a"] not in r.get_data(as_text=True)
    assert c.get("/api/layers/special.geojson", headers={"X-API-Key": key}).status_code in (401, 403)
    engine.dispose()


def test_a_source_account_cannot_log_in(world):
    path, _ = world
    add_account(path, "feeder", ["intake_source"], [TOWN_A])
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    res = accounts.authenticate(factory, testing.settings(testing.Clock()), "feeder", testing.STRONG, "10.0.0.8")
    assert not res.ok
    engine.dispose()


# -- the registry: nothing undeclared ------------------------------------------------------------------------
def test_every_route_and_callback_is_declared(app, world):
    from console.security import registry

    client_for(app, "county")
    rules = {r.rule for r in app.server.url_map.iter_rules()}
    assert not [r for r in rules if registry.route_need(r) is None]
    names = [registry.callback_name(v.get("callback")) for v in app.callback_map.values()]
    assert not [n for n in names if registry.callback_need(n) is None]


def test_a_malformed_callback_body_is_a_400_not_a_500(app, world):
    c, csrf = client_for(app, "county")
    key = callback_key(app, "disputes.search")
    r = c.post("/_dash-update-component", json={"output": key, "outputs": [], "inputs": []},
               headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 400
    r = c.post("/_dash-update-component", json={"output": "no-such.children", "outputs": [], "inputs": []},
               headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 400


def test_a_forged_callback_value_is_refused_naming_the_operation(app, world):
    """A value the page never sends (a dict for a case row) is the caller's error: 400, and the answer says which
    operation and what kind of value was wrong (docs/security.md §2), never a 500."""
    c, csrf = client_for(app, "county")
    key = callback_key(app, "disputes.show_case")
    entry = app.callback_map[key]
    inputs = [{"id": i["id"], "property": i["property"], "value": {"forged": [1]}} for i in entry["inputs"]]
    state = [{"id": i["id"], "property": i["property"], "value": {"forged": [1]}} for i in entry["state"]]
    outputs = [{"id": cid, "property": prop} for cid, prop in
               (part.split("@")[0].rsplit(".", 1) for part in key.strip(".").split("..."))]
    r = c.post("/_dash-update-component", json={"output": key, "outputs": outputs, "inputs": inputs, "state": state,
                                                "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]},
               headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    body = r.get_json()
    assert body["operation"] == "disputes.show_case" and "disputes.show_case" in body["error"]
    assert "参数" in body["error"] and ("类型" in body["error"] or "取值" in body["error"] or "缺少" in body["error"])


def test_forged_statistics_dates_are_named_in_chinese_not_python(app, world):
    c, csrf = client_for(app, "county")
    key = callback_key(app, "dispute_stats.run")
    entry = app.callback_map[key]
    outputs = [{"id": cid, "property": prop} for cid, prop in
               (part.split("@")[0].rsplit(".", 1) for part in key.strip(".").split("..."))]
    for since, until, said in ((["2026"], "2026-11-01", "开始日期应为"), ("2026-13-01", "2026-11-01", "开始日期应为"),
                               ("2026-11-02", "2026-11-01", "早于开始日期"), ("2026-11-01", None, "请选择结束日期")):
        values = {"ds-run": 1, "ds-area": "紫阳县", "ds-dates.start_date": since, "ds-dates.end_date": until}
        state = [{"id": i["id"], "property": i["property"],
                  "value": values.get(f"{i['id']}.{i['property']}", values.get(i["id"]))} for i in entry["state"]]
        r = c.post("/_dash-update-component", json={
            "output": key, "outputs": outputs, "state": state,
            "inputs": [{"id": "ds-run", "property": "n_clicks", "value": 1}], "changedPropIds": ["ds-run.n_clicks"]},
            headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
        text = r.get_data(as_text=True)
        assert r.status_code == 200 and said in text and "fromisoformat" not in text and "slice" not in text, text[:200]
