"""Pure console services on a tiny hand-made world: navigation, KPIs, layers, scoped reads, masking."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from console.services import areas, geo, kpis, queries
import kpi_oracle
from console.services import permissions as perm
from console.services.viewer import current_viewer
from console.store import AreaScope, Dispute, Household, Person, SpecialPerson, make_engine, make_session_factory
from console.store.codes import CITY_CODE, OPEN_DISPUTE_STATES
from console.services.layers import LAYERS
from console.services.layers.population import choropleth_breaks
from tests.browser.tinyworld import NOW, build

VILLAGE, GRID = "610924100200", "610924100200001"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    db = build(tmp_path_factory.mktemp("tiny") / "tiny.sqlite")
    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


def count(s, model, *where):
    return s.scalar(select(func.count()).select_from(model).where(*where))


def test_levels_and_ancestors():
    assert areas.level_of(CITY_CODE) == "city"
    assert areas.level_of("610924") == "county"
    assert areas.level_of(GRID) == "grid"
    assert areas.level_of("61092x") is None and areas.level_of("1234567") is None
    assert areas.ancestor_codes(GRID) == [CITY_CODE, "610924", "610924100", VILLAGE]


def test_drill_down_children_and_breadcrumb(session):
    city = areas.city_node(session)
    counties = areas.children(session, city)
    assert [c.name for c in counties] == ["紫阳县", "岚皋县"]
    town = areas.children(session, counties[0])[0]
    village = areas.children(session, town)[0]
    grids = areas.children(session, village)
    assert [g.level for g in grids] == ["grid", "grid"] and grids[0].code.startswith(village.code)
    trail = areas.breadcrumb(session, grids[0])
    assert [n.name for n in trail][:2] == ["安康市", "紫阳县"] and trail[-1] == grids[0]


@pytest.mark.parametrize("code", ["999999999", "abc", "<script>", "610924999", "6109241002000019"])
def test_unknown_area_falls_back_to_city_with_message(session, code):
    res = areas.resolve(session, AreaScope.city(), code)
    assert res.node.code == CITY_CODE and res.message and "未找到" in res.message


def test_out_of_scope_area_falls_back_to_home(session):
    scope = AreaScope.of(["610925"])
    res = areas.resolve(session, scope, "610924100")
    assert res.node.code == "610925" and "无权" in res.message
    assert areas.resolve(session, scope, None).node.code == "610925"


def test_kpis_equal_database_counts(session):
    node = areas.get_node(session, "610924100")
    k = kpi_oracle.oracle_kpis(session, node, AreaScope.city(), NOW)
    assert k["residents"]["total"] == count(session, Person, Person.town_code == node.code)
    assert k["residents"]["by_type"]["registered"] == count(
        session, Person, Person.town_code == node.code, Person.residence_type == "registered")
    assert sum(k["residents"]["by_child"].values()) == k["residents"]["total"]
    assert k["households"] == count(session, Household, Household.town_code == node.code)
    assert k["special"]["total"] == count(session, SpecialPerson, SpecialPerson.town_code == node.code)
    assert k["special"]["mental_alert"] == count(session, SpecialPerson, SpecialPerson.town_code == node.code,
                                                 SpecialPerson.category == "mental", SpecialPerson.risk_level >= 3)
    assert k["disputes"]["open"] == count(session, Dispute, Dispute.town_code == node.code,
                                          Dispute.state.in_(OPEN_DISPUTE_STATES))
    assert k["grids"]["grids"] == 4 and k["grids"]["workers"] == 4
    assert k["cameras"]["online_rate"] == pytest.approx(0.5)
    assert k["survey"]["synthetic"] and set(k["survey"]["rates"]) == {"awareness", "participation", "security",
                                                                      "satisfaction"}


def test_kpis_respect_scope(session):
    city = areas.city_node(session)
    whole = kpi_oracle.oracle_kpis(session, city, AreaScope.city(), NOW)
    one = kpi_oracle.oracle_kpis(session, city, AreaScope.of(["610925"]), NOW)
    assert 0 < one["residents"]["total"] < whole["residents"]["total"]
    assert set(one["residents"]["by_child"]) == {"610925"}


def test_dispute_trend_is_monthly_and_complete(session):
    node = areas.get_node(session, "610924")
    trend = kpi_oracle.dispute_trend(session, node, AreaScope.city(), NOW)
    assert all(len(m) == 7 and m[4] == "-" for m, _, _ in trend)
    since = kpis.months_back(NOW, kpis.TREND_MONTHS - 1)
    assert sum(n for *_, n in trend) == count(session, Dispute, Dispute.county_code == "610924",
                                              Dispute.registered_at >= since)


def test_area_layer_carries_children_and_residents(session):
    city = areas.city_node(session)
    counts = kpi_oracle.residents(session, city, AreaScope.city())["by_child"]
    data = LAYERS["areas"].build(session, AreaScope.city(), city, counts=counts)
    assert {f["properties"]["name"] for f in data["features"]} == {"紫阳县", "岚皋县"}
    assert all(f["properties"]["residents"] > 0 for f in data["features"])
    grid = areas.get_node(session, GRID)  # at grid level: the village's grids, this one selectable
    assert {f["properties"]["code"] for f in LAYERS["areas"].build(session, AreaScope.city(), grid)["features"]} \
        == {GRID, VILLAGE + "002"}


def test_point_layers_bubble_above_min_level_and_respect_scope(session):
    city = areas.city_node(session)
    bubbles = LAYERS["special"].build(session, AreaScope.city(), city)
    assert sum(f["properties"]["count"] for f in bubbles["features"]) == count(session, SpecialPerson)
    county = areas.get_node(session, "610924")
    pts = LAYERS["special"].build(session, AreaScope.city(), county)
    assert len(pts["features"]) == count(session, SpecialPerson, SpecialPerson.county_code == "610924")
    assert "name" not in json.dumps(pts)  # minimisation: no personal names in bulk map data
    assert LAYERS["special"].build(session, AreaScope.of(["610925"]), county)["features"] == []


def test_point_detail_is_masked_and_scoped(session):
    sid = session.scalar(select(SpecialPerson.id).where(SpecialPerson.county_code == "610924"))
    assert LAYERS["special"].detail(session, AreaScope.of(["610925"]), sid) is None
    hid = session.scalar(select(Household.id).where(Household.is_rental.is_(True)))
    rows = {r[0]: r[1] for r in LAYERS["population"].detail(session, AreaScope.city(), hid)}
    assert rows["房东"] == "李**" and rows["地址"].endswith("****")


def test_grid_tables_mask_identity_and_phone(session):
    rows = queries.grid_persons(session, AreaScope.city(), GRID)
    assert rows and all("*" * 8 in r["公民身份号码"] and len(r["公民身份号码"]) == 18 for r in rows)
    assert all(r["联系电话"] == "138****5678" for r in rows)
    assert queries.grid_persons(session, AreaScope.of(["610925"]), GRID) == []
    cases = queries.grid_cases(session, AreaScope.city(), GRID)
    assert len(cases) == count(session, Dispute, Dispute.grid_code == GRID)


def test_choropleth_breaks_and_geometry_rounding():
    assert choropleth_breaks([]) == []
    assert choropleth_breaks(list(range(100))) == [20, 40, 60, 80]
    import shapely

    g = geo.shape_to_geometry(shapely.box(108.123456789, 32.1, 108.2, 32.2), "grid")
    assert all(len(str(c).split(".")[1]) <= 5 for ring in g["coordinates"] for pt in ring for c in pt)
    assert json.loads(geo.basemap("counties"))["features"]


def test_current_viewer_is_the_logged_in_account_and_permission_names():
    from flask import Flask, g

    from console.security.guard import Viewer
    from console.services import viewer as viewers

    v = current_viewer()  # outside a request: anonymous, no rights, empty scope (no demo viewer any more)
    assert v.username == "(anonymous)" and not v.permissions and not v.scope.codes
    account = Viewer.build("town1", ["town"], ["610924100"])
    with Flask("t").test_request_context("/"):
        g.pingan_viewer = account
        assert viewers.current_viewer() is account
    assert {lay.permission for lay in LAYERS.values()} <= perm.ALL


def test_layer_permissions_agree_with_the_security_layer():
    assert {key: lay.permission for key, lay in LAYERS.items()} == perm.LAYER_PERMISSIONS


@pytest.mark.parametrize("scope_codes", [None, ["610925"], ["610924100200"]])
def test_cube_kpis_equal_queried_kpis_for_every_area(session, scope_codes):
    from console.services.cube import build_cube

    scope = AreaScope.of(scope_codes) if scope_codes else AreaScope.city()
    cube = build_cube(session, NOW, kpis.months_back(NOW, kpis.TREND_MONTHS - 1), kpis.month_start(NOW))
    nodes = [areas.city_node(session)]
    for n in nodes:
        nodes.extend(areas.children(session, n))
    assert len(nodes) == 1 + 2 + 4 + 8 + 16
    for node in nodes:
        queried = kpi_oracle.oracle_kpis(session, node, scope, NOW)
        queried["disputes"].pop("by_state")
        summed = kpis.from_cube(session, cube, node, scope)
        for key in ("residents", "households", "special", "disputes", "dispute_trend", "cameras", "organisations"):
            assert summed[key] == queried[key], (node.code, key)


def test_the_clipped_context_layers_draw_no_border_along_their_clip_rectangle():
    """The provinces and cities around Ankang are shipped clipped to a rectangle: their fills carry no stroke and
    their borders come as lines that stop short of that rectangle, so a wide pane shows no box (docs/console.md)."""
    import json

    import shapely

    from console.services import geo

    for name in geo.CLIPPED_CONTEXT:
        feats = json.loads(geo.basemap(name))["features"]
        polys = [shapely.geometry.shape(f["geometry"]) for f in feats if not f["properties"].get("border")]
        lines = [shapely.geometry.shape(f["geometry"]) for f in feats if f["properties"].get("border")]
        assert polys and len(lines) == 1
        frame = shapely.box(*shapely.union_all(polys).bounds).exterior
        assert lines[0].length > 1 and lines[0].distance(frame) > 0, name
