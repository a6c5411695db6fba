"""「显示完整号码/地址」 (docs/security.md §4): every view masked for everyone; one full value (identity number, phone,
address, name) per audited request, for permitted roles in scope only; refusals server-side (audited), through
the service, through the Dash callback over HTTP and through the popups' POST /api/unmask."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import select

from console.app import create_app
from console.config import Settings
from console.pages import _unmask
import sectest as testing
from console.security.guard import AccessDenied
from console.services import queries, unmask
from console.store import (
    Alert, AreaScope, Dispute, DisputeParty, GridWorker, Household, Organisation, Person, make_engine,
    make_session_factory,
)
from console.store.duty_models import AlertInfo
from tests.browser.tinyworld import build
from tests.security_login import ORIGIN, add_account, login_client, security_settings

NOW = datetime(2026, 11, 26, 9, 0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("unmask") / "tiny.sqlite")
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        person = s.scalars(select(Person).order_by(Person.id)).first()
        other = s.scalars(select(Person).where(Person.town_code != person.town_code).order_by(Person.id)).first()
        case = s.scalars(select(Dispute).where(Dispute.grid_code == person.grid_code)).first()
        party = DisputeParty(dispute_id=case.id, role="applicant", name="王五", id_number="610924198001015678", sex="M",
                             phone="13912345678")
        alert = Alert(rule="r", kind="k", severity="high", state="new", title="t", raised_at=NOW, updated_at=NOW,
                      county_code=person.county_code, town_code=person.town_code, village_code=person.village_code,
                      grid_code=person.grid_code)
        s.add_all([party, alert])
        s.flush()
        s.add(AlertInfo(alert_id=alert.id, person_id=person.id))
        s.commit()
        household = s.get(Household, person.household_id)
        worker = s.scalars(select(GridWorker).where(GridWorker.grid_code == person.grid_code)).first()
        org = s.scalars(select(Organisation).where(Organisation.town_code == person.town_code)).first()
        if person.phone is None:
            person.phone = "13800001111"
            s.commit()
        ids = {"person": person.id, "other": other.id, "party": party.id, "alert": alert.id,
               "household": household.id, "worker": worker.id, "org": org.id,
               "grid": person.grid_code, "town": person.town_code,
               "values": {("person", "id_number"): person.id_number, ("person", "phone"): person.phone,
                          ("party", "id_number"): party.id_number, ("party", "phone"): party.phone,
                          ("alert", "id_number"): person.id_number, ("alert", "phone"): person.phone,
                          ("household", "address"): household.address, ("worker", "phone"): worker.phone,
                          ("org", "address"): org.address, ("org", "legal_rep"): org.legal_rep},
               "id_number": person.id_number}
    add_account(path, "town_user", ["town"], [ids["town"]])  # may unmask, own town only
    add_account(path, "county_user", ["county"], ["610900"])  # city-wide but no unmask permission
    engine.dispose()
    return path, ids


@pytest.fixture()
def viewers(world):
    path, _ = world
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    yield factory, {n: testing.viewer_of(factory, n, testing.Clock()) for n in ("town_user", "county_user")}
    engine.dispose()


def audit_rows(db, actor, action):
    con = sqlite3.connect(db)
    try:
        return con.execute("select object, result, detail from audit_log where actor=? and action=? order by id",
                           (actor, action)).fetchall()
    finally:
        con.close()


def test_lists_are_masked_even_for_roles_that_may_unmask(viewers, world):
    factory, _ = viewers
    _, ids = world
    with factory() as s:
        rows = queries.grid_persons(s, AreaScope.of([ids["town"]]), ids["grid"])
    assert rows and all("*" in r["公民身份号码"] for r in rows)
    assert ids["id_number"] not in json.dumps(rows, ensure_ascii=False)
    assert {r[_unmask.ROW_KEY] for r in rows} >= {ids["person"]}  # the record id the request names


REVEALS = [("person", "id_number"), ("person", "phone"), ("party", "id_number"), ("party", "phone"),
           ("alert", "id_number"), ("alert", "phone"), ("household", "address"), ("worker", "phone"),
           ("org", "address"), ("org", "legal_rep")]


def test_every_revealable_field_is_tested():
    assert sorted(REVEALS) == sorted((k, f) for k, fields in unmask.REVEALABLE.items() for f in fields
                                     if (k, f) != ("household", "landlord_name"))  # the tiny world has no landlords


@pytest.mark.parametrize("kind,field", REVEALS)
def test_permitted_user_gets_one_value_audited_with_the_record_and_field(viewers, world, kind, field):
    factory, v = viewers
    path, ids = world
    full = ids["values"][(kind, field)]
    assert full and unmask.reveal(factory, v["town_user"], kind, ids[kind], field=field, via="test") == full
    obj, result, detail = audit_rows(path, "town_user", "unmask")[-1]
    assert (obj, result) == (f"{kind}:{ids[kind]}", "granted")
    assert json.loads(detail)["via"] == "test" and json.loads(detail)["field"] == field


def test_a_field_outside_the_list_is_refused(viewers, world):
    factory, v = viewers
    _, ids = world
    for kind, field in (("person", "name"), ("household", "id_number"), ("worker", "id_number"), ("org", "phone")):
        with pytest.raises(unmask.UnmaskError):
            unmask.reveal(factory, v["town_user"], kind, ids[kind], field=field)


def test_without_permission_or_outside_scope_refused_and_audited(viewers, world):
    factory, v = viewers
    path, ids = world
    before = len(audit_rows(path, "county_user", "access.denied"))
    with pytest.raises(AccessDenied):
        unmask.reveal(factory, v["county_user"], "person", ids["person"])
    assert audit_rows(path, "county_user", "access.denied")[before:][0][:2] == (f"person:{ids['person']}", "refused")
    with pytest.raises(AccessDenied):  # another town's resident
        unmask.reveal(factory, v["town_user"], "person", ids["other"])
    assert (f"person:{ids['other']}", "refused") in [r[:2] for r in audit_rows(path, "town_user", "access.denied")]
    assert not any(r[0] == f"person:{ids['other']}" for r in audit_rows(path, "town_user", "unmask"))
    for kind, rid in (("bogus", ids["person"]), ("person", "1 or 1=1")):
        with pytest.raises(unmask.UnmaskError):
            unmask.reveal(factory, v["town_user"], kind, rid)
    with pytest.raises(AccessDenied):  # an unknown record answers like one outside the scope (no existence oracle)
        unmask.reveal(factory, v["town_user"], "person", 10**8)


def _reveal_over_http(client, app, csrf, kind, rid, field="id_number"):
    out = next(k for k in app.callback_map if _unmask.ID.VALUE in k)
    btn = {"type": _unmask.ID.BUTTON, "kind": kind, "rid": rid, "field": field}
    body = {"output": out,
            "outputs": [{"id": {**btn, "type": _unmask.ID.VALUE}, "property": "children"},
                        {"id": {**btn, "type": _unmask.ID.NOTE}, "property": "children"}],
            "inputs": [{"id": btn, "property": "n_clicks", "value": 1}],
            "changedPropIds": [json.dumps(btn, separators=(",", ":"), sort_keys=True) + ".n_clicks"], "state": []}
    return client.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})


def test_the_button_callback_enforces_on_the_server(world):
    path, ids = world
    app = create_app(path, settings=Settings(warm_cache=False), security_settings=security_settings())
    town, county = app.server.test_client(), app.server.test_client()
    town_csrf, county_csrf = login_client(town, "town_user"), login_client(county, "county_user")
    town.get("/", headers={"Accept": "text/html"})  # Dash registers page callbacks on the first request
    r = _reveal_over_http(town, app, town_csrf, "person", ids["person"])
    assert r.status_code == 200 and ids["id_number"] in r.get_data(as_text=True)
    r = _reveal_over_http(county, app, county_csrf, "person", ids["person"])  # no unmask permission
    text = json.dumps(r.get_json(), ensure_ascii=False)
    assert r.status_code == 200 and ids["id_number"] not in text and _unmask.REFUSED in text
    r = _reveal_over_http(town, app, town_csrf, "person", ids["other"])  # outside the town
    text = json.dumps(r.get_json(), ensure_ascii=False)
    assert _unmask.REFUSED in text and "6109" not in text
    assert [o for o, res, _ in audit_rows(path, "county_user", "access.denied")][-1] == f"person:{ids['person']}"
    r = _reveal_over_http(town, app, "", "person", ids["person"])  # no CSRF token: refused by the gate
    assert r.status_code == 403 and ids["id_number"] not in r.get_data(as_text=True)


def test_the_popup_route_enforces_on_the_server(world):
    path, ids = world
    app = create_app(path, settings=Settings(warm_cache=False), security_settings=security_settings())
    town, county = app.server.test_client(), app.server.test_client()
    town_csrf, county_csrf = login_client(town, "town_user"), login_client(county, "county_user")
    address = ids["values"][("household", "address")]

    def post(client, csrf, body):
        return client.post("/api/unmask", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})

    r = post(town, town_csrf, {"kind": "household", "id": ids["household"], "field": "address"})
    assert r.status_code == 200 and r.get_json() == {"value": address}
    assert audit_rows(path, "town_user", "unmask")[-1][0] == f"household:{ids['household']}"
    r = post(county, county_csrf, {"kind": "household", "id": ids["household"], "field": "address"})
    assert r.status_code == 403 and address not in r.get_data(as_text=True)
    other = ids["values"][("person", "id_number")]
    r = post(town, town_csrf, {"kind": "person", "id": ids["other"], "field": "id_number"})  # another town
    assert r.status_code == 403 and "6109" not in r.get_data(as_text=True)
    for bad in ([1, 2], {"kind": "household"}, {"kind": "household", "id": None, "field": "address"}, "x"):
        r = post(town, town_csrf, bad)
        assert r.status_code == 400 and "error" in r.get_json()
    r = post(town, town_csrf, {"kind": "household", "id": 10**9, "field": "address"})
    assert r.status_code == 403  # an unknown id answers like one outside the scope (no existence oracle)
    r = post(town, "", {"kind": "household", "id": ids["household"], "field": "address"})  # no CSRF token
    assert r.status_code == 403 and address not in r.get_data(as_text=True)
    assert other not in r.get_data(as_text=True)


def test_popup_rows_carry_the_reveal_request_not_the_value(world):
    from console.services.layers import LAYERS

    path, ids = world
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    pop = LAYERS["population"]
    with factory() as s:
        rows = pop.detail(s, AreaScope.of([ids["town"]]), ids["household"])
    engine.dispose()
    address = next(r for r in rows if r[0] == "地址")
    assert address[2] == {"kind": "household", "id": ids["household"], "field": "address"}
    assert address[1] != ids["values"][("household", "address")] and "*" in address[1]
