"""数据质量 checks find exactly the records planted on a copy of the world, per area and within scope."""

from __future__ import annotations


import pytest
from sqlalchemy import select, update

from console.services import areas, quality
from console.store import AreaScope, Building, Household, Person


@pytest.fixture()
def sessions(world_sessions):
    return world_sessions


def test_each_check_counts_what_was_planted_and_lists_it_masked(sessions):
    with sessions() as s:
        clean = quality.counts(s, areas.city_node(s), AreaScope.city())
        a, b = s.scalars(select(Person).where(Person.county_code == "610924").order_by(Person.id).limit(2)).all()
        household = s.get(Household, a.household_id)
        grid, town = household.grid_code, household.town_code
        twin_number = a.id_number
        s.add(Person(id_number=twin_number, name="重复登记", sex=a.sex, birth_date=a.birth_date, ethnicity="汉族",
                     native_place=a.native_place, marital="married", education="senior", occupation="",
                     residence_type="registered", household_id=b.household_id, relation_to_head="other",
                     registered_here=True, **{c: getattr(b, c) for c in
                                              ("lon", "lat", "county_code", "town_code", "village_code",
                                               "grid_code", "assign_generation")}))
        s.execute(update(Person).where(Person.id == b.id).values(grid_code=None, village_code=None, town_code=None,
                                                                   county_code=None))
        building = s.get(Building, household.building_id)
        s.add(Household(code="EMPTY-1", building_id=building.id, address="空户测试", kind="registered", size=0,
                        is_rental=False, **{c: getattr(household, c) for c in
                                            ("lon", "lat", "county_code", "town_code", "village_code", "grid_code",
                                             "assign_generation")}))
        s.commit()
        city = quality.counts(s, areas.city_node(s), AreaScope.city())
        assert city["person_duplicated"]["total"] == clean["person_duplicated"]["total"] + 2
        assert city["person_outside_grid"]["total"] == clean["person_outside_grid"]["total"] + 1
        assert city["household_empty"]["total"] == clean["household_empty"]["total"] + 1
        assert city["household_empty"]["by_child"].get("610924", 0) >= 1
        town_node = areas.get_node(s, town)
        listed = quality.problems(s, "household_empty", town_node, AreaScope.of(["610924"]))
        assert any(r["户号"] == "EMPTY-1" and r["网格"] == grid for r in listed)
        dup = quality.problems(s, "person_duplicated", areas.get_node(s, "610924"), AreaScope.of(["610924"]))
        shown = [r["身份证号"] for r in dup]
        assert twin_number not in shown and any(x.startswith(twin_number[:6]) and "*" in x for x in shown)
        # another county's account sees none of it
        other = quality.counts(s, areas.city_node(s), AreaScope.of(["610925"]))
        assert other["household_empty"]["by_child"].get("610924", 0) == 0
        # the per-grid cube the pages read answers exactly what the direct queries answer, for every view
        cube = quality.build_cube(s)
        for node, scope in ((areas.city_node(s), AreaScope.city()), (areas.city_node(s), AreaScope.of(["610925"])),
                            (areas.get_node(s, "610924"), AreaScope.city()), (town_node, AreaScope.of(["610924"])),
                            (town_node, AreaScope.of([grid])), (areas.get_node(s, grid), AreaScope.city())):
            assert quality.counts_from_cube(cube, node, scope) == quality.counts(s, node, scope), (node.code, scope)


def test_housing_tree_goes_building_households_persons_and_back_within_scope(sessions):
    """以房管人: a building's households and residents (masked); found again from a resident's full number or a 户号;
    a viewer of another county finds nothing."""
    from console.services import housing

    with sessions() as s:
        person = s.scalar(select(Person).where(Person.county_code == "610924").order_by(Person.id).limit(1))
        household = s.get(Household, person.household_id)
        scope = AreaScope.of(["610924"])
        found = housing.find_buildings(s, scope, person.id_number)
        assert [b["id"] for b in found] == [household.building_id]
        assert [b["id"] for b in housing.find_buildings(s, scope, household.code)] == [household.building_id]
        tree = housing.building_tree(s, scope, household.building_id)
        block = next(h for h in tree["households"] if h["户号"] == household.code)
        mine = next(m for m in block["members"] if m["_rid"] == person.id)
        assert mine["姓名"] == person.name and mine["公民身份号码"] != person.id_number and "*" in mine["公民身份号码"]
        other = AreaScope.of(["610925"])
        assert housing.find_buildings(s, other, person.id_number) == []
        assert housing.building_tree(s, other, household.building_id) is None


def test_the_pages_cached_counts_are_dropped_after_an_import(world_sessions):
    """The quality page reads a cube cached for 5 minutes; a saved ledger import must not leave it stale."""
    from types import SimpleNamespace

    from console.services import views
    from console.services.context import TTLCache

    ctx = SimpleNamespace(kpi_cache=TTLCache(16, 300), session=world_sessions,  # what views reads of a context
                          engine=world_sessions.kw["bind"])
    first = views.quality_cube(ctx)
    assert views.quality_cube(ctx) is first  # cached
    views.records_changed(ctx)
    assert views.quality_cube(ctx) is not first


def test_the_problem_list_exports_masked_with_grid_names_and_is_refused_without_export(small_world_db, tmp_path):
    import base64
    import io
    import shutil

    from openpyxl import load_workbook

    from console.app import create_app
    from console.config import Settings as ConsoleSettings
    from console.store import make_engine, make_session_factory
    from tests.security_login import add_account, security_settings
    from tests.test_admin_pages import call, login

    db = str(tmp_path / "w.sqlite")
    shutil.copy(small_world_db, db)
    engine = make_engine(db, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        h = s.scalar(select(Household).where(Household.county_code == "610924").order_by(Household.id).limit(1))
        s.add(Household(code="EMPTY-X", building_id=h.building_id, address="紫阳县城关镇导出测试街7号", kind="registered",
                        size=0, is_rental=False, **{c: getattr(h, c) for c in (
                            "lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")}))
        s.commit()
        town = h.town_code
    add_account(factory, "clerk", ["county"], ["610924"])
    add_account(factory, "leader", ["city_leader"], ["610900"])
    settings = security_settings()
    app = create_app(db, settings=ConsoleSettings(warm_cache=False), security_settings=settings)
    env = (app, factory, settings.clock)
    query = [("dq-query", "data", {"area": town, "check": "household_empty"})]
    client, csrf = login(env, "clerk")
    status, out = call(client, csrf, [("dq-download", "data")], [("dq-export", "n_clicks", 1)], query)
    assert status == 200
    wb = load_workbook(io.BytesIO(base64.b64decode(out["dq-download"]["data"]["content"])))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[2] == ("户号", "地址", "网格", "处理办法")
    mine = next(r for r in rows[3:] if r[0] == "EMPTY-X")
    assert "导出测试街7号" not in mine[1] and "*" in mine[1] and not str(mine[2]).isdigit() and "网格" in mine[2]
    client, csrf = login(env, "leader")  # a 市领导 sees figures, never a list of records
    status, _ = call(client, csrf, [("dq-download", "data")], [("dq-export", "n_clicks", 1)], query)
    assert status == 403
    engine.dispose()
