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
    # a check of the new kinds: the stale list carries when the record was last written
    from datetime import datetime

    with factory() as s:
        s.execute(update(Household).where(Household.code == "EMPTY-X").values(updated_at=datetime(2020, 5, 1)))
        s.commit()
    status, out = call(client, csrf, [("dq-download", "data")], [("dq-export", "n_clicks", 1)],
                       [("dq-query", "data", {"area": town, "check": "household_stale"})])
    assert status == 200
    rows = list(load_workbook(io.BytesIO(base64.b64decode(out["dq-download"]["data"]["content"]))).active
                .iter_rows(values_only=True))
    assert rows[2] == ("户号", "地址", "网格", "最后更新", "处理办法")
    assert ("EMPTY-X", "2020-05-01") in {(r[0], r[3]) for r in rows[3:]}
    client, csrf = login(env, "leader")  # a 市领导 sees figures, never a list of records
    status, _ = call(client, csrf, [("dq-download", "data")], [("dq-export", "n_clicks", 1)], query)
    assert status == 403
    engine.dispose()


def _legacy_person(s, like: Person, number: str, name: str) -> int:
    """A person written by another tool: a plain INSERT (the number sealed by the column type), no check flag."""
    from sqlalchemy import insert

    from console.store.sensitive import id_number_index

    cols = {c: getattr(like, c) for c in ("sex", "birth_date", "ethnicity", "native_place", "marital", "education",
                                          "occupation", "residence_type", "household_id", "relation_to_head",
                                          "registered_here", "lon", "lat", "county_code", "town_code",
                                          "village_code", "grid_code", "assign_generation")}
    return s.execute(insert(Person.__table__).values(id_number=number, id_number_bidx=id_number_index(number),
                                                     name=name, **cols)).inserted_primary_key[0]


def test_identity_checksums_and_stale_records_are_found_counted_and_listed(sessions):
    """身份证号校验位错误 on rows another tool wrote (checked once by the refresh, the number stays sealed) and
    on ORM writes (flagged at once); 长期未更新 per table from updated_at; the stored cube answers as the scan."""
    from datetime import datetime, timedelta

    from console.services import quality_store
    from console.store import Organisation
    from console.store.identity import id_check_char

    with sessions() as s:
        a, b = s.scalars(select(Person).where(Person.county_code == "610924", Person.residence_type != "foreign")
                         .order_by(Person.id).limit(2)).all()
        good = a.id_number[:17] + id_check_char(a.id_number[:17])
        bad_legacy = "610924198001010" + "01" + ("0" if id_check_char("61092419800101001") != "0" else "1")
        legacy = _legacy_person(s, a, bad_legacy, "旧系统导入")
        s.add(Person(id_number=good[:17] + ("X" if good[17] != "X" else "0"), name="录错号码",
                     **{c: getattr(b, c) for c in ("sex", "birth_date", "ethnicity", "native_place", "marital",
                                                   "education", "occupation", "residence_type", "household_id",
                                                   "relation_to_head", "registered_here", "lon", "lat", "county_code",
                                                   "town_code", "village_code", "grid_code", "assign_generation")}))
        s.commit()
        assert s.scalar(select(Person.id_valid).where(Person.name == "录错号码")) is False  # at write time
        assert s.scalar(select(Person.id_valid).where(Person.id == legacy)) is None  # not yet known
    with sessions() as s:  # the demo world writes the flag (its numbers are made valid); rows from before it had none
        assert s.scalar(select(Person.id_valid).where(Person.id == a.id)) is True
        s.execute(update(Person.__table__).values(id_valid=None))
        s.commit()
    before = datetime.now()
    checked = quality_store.verify_ids(sessions, batch=1000)
    assert checked > 1000  # every person of the copied world, in batches
    assert quality_store.verify_ids(sessions) == 0  # once only
    old = datetime.now() - timedelta(days=365 * quality.STALE_MONTHS // 12 + 40)
    with sessions() as s:
        assert s.scalar(select(Person.id_valid).where(Person.id == legacy)) is False
        assert s.scalar(select(Person.id_valid).where(Person.id == a.id)) is True
        stamp = s.scalar(select(Person.updated_at).where(Person.id == a.id))
        assert stamp is None or stamp < before  # checking is not an update of the record
        s.execute(update(Person).where(Person.id == b.id).values(updated_at=old))
        h = s.scalar(select(Household).where(Household.county_code == "610924").order_by(Household.id).limit(1))
        s.execute(update(Household).where(Household.id == h.id).values(updated_at=old))
        org = s.scalar(select(Organisation).where(Organisation.county_code == "610924").order_by(Organisation.id)
                       .limit(1))
        s.execute(update(Organisation).where(Organisation.id == org.id).values(updated_at=old))
        s.commit()
        city, scope = areas.city_node(s), AreaScope.city()
        found = quality.counts(s, city, scope)
        assert found["person_id_invalid"]["total"] == 2
        assert found["person_id_invalid"]["by_child"]["610924"] == 2
        for key in ("person_stale", "household_stale", "org_stale"):
            assert found[key]["total"] >= 1 and found[key]["by_child"].get("610924", 0) >= 1, key
        listed = quality.problems(s, "person_id_invalid", areas.get_node(s, "610924"), AreaScope.of(["610924"]))
        assert {r["姓名"] for r in listed} == {"旧系统导入", "录错号码"}
        assert all("*" in r["身份证号"] and r["身份证号"] != bad_legacy for r in listed)
        stale = quality.problems(s, "person_stale", areas.get_node(s, "610924"), AreaScope.of(["610924"]))
        assert any(r["姓名"] == b.name and r["最后更新"] == f"{old:%Y-%m-%d}" for r in stale)
        assert quality.counts(s, city, AreaScope.of(["610925"]))["person_id_invalid"]["total"] == 0
        # the stored cube: what the page reads answers what the scan answers
        cube = quality_store.refresh(sessions)
        stored = quality_store.load_cube(s)
        assert stored.problems == {k: v for k, v in cube.problems.items()} and stored.records == cube.records
        for node in (city, areas.get_node(s, "610924"), areas.get_node(s, h.town_code)):
            assert quality.counts_from_cube(stored, node, scope) == quality.counts(s, node, scope), node.code


def test_the_stored_cube_is_read_cold_and_recounted_after_an_import(world_sessions):
    """A new process reads the stored cube (no scan); a saved import recounts it in the background."""
    from types import SimpleNamespace

    from console.services import quality_store, views
    from console.services.context import TTLCache
    from console.store import Camera

    def context():
        return SimpleNamespace(kpi_cache=TTLCache(16, 300), session=world_sessions, engine=world_sessions.kw["bind"])

    first = views.quality_cube(context())  # nothing stored: built and stored
    with world_sessions() as s:
        assert quality_store.load_cube(s).built_at == first.built_at
        h = s.scalar(select(Household).where(Household.county_code == "610924").order_by(Household.id).limit(1))
        s.add(Household(code="EMPTY-S", building_id=h.building_id, address="空户", kind="registered", size=0,
                        is_rental=False, **{c: getattr(h, c) for c in ("lon", "lat", "county_code", "town_code",
                                                                      "village_code", "grid_code",
                                                                      "assign_generation")}))
        s.commit()
    cold = views.quality_cube(context())  # another process: the stored cube, as it was
    assert cold.built_at == first.built_at and cold.problems == first.problems
    total = lambda c: sum(c.problems["household_empty"].values())  # noqa: E731
    ctx = context()
    views.records_changed(ctx, tables=quality_store.tables_of(Camera))  # a camera import: households not recounted
    views.quality_refresher(ctx).wait()
    partial = views.quality_cube(ctx)
    assert total(partial) == total(first) and partial.built_at == first.built_at  # the oldest part's time
    views.records_changed(ctx, tables=quality_store.tables_of(Person))  # a person ledger creates households
    views.quality_refresher(ctx).wait()
    after = views.quality_cube(ctx)
    assert total(after) == total(first) + 1  # (its time stays the oldest part's: the untouched tables')
    assert quality_store.tables_of(Person) == ("person", "household") and quality_store.tables_of(Building) == ()


def test_stale_before_is_the_same_day_months_back():
    from datetime import datetime

    assert quality.stale_before(datetime(2026, 12, 6, 8), 24) == datetime(2024, 12, 6, 8)
    assert quality.stale_before(datetime(2026, 3, 31), 1) == datetime(2026, 2, 28)
    assert quality.stale_before(datetime(2024, 3, 30), 1) == datetime(2024, 2, 29)
    assert quality.stale_before(datetime(2026, 1, 15), 13) == datetime(2024, 12, 15)


def test_migration_0015_stamps_existing_rows_and_downgrades(world_sessions):
    """Upgrading a database of an earlier version: every person, household and organisation gets the time of the
    upgrade (the stale check starts from it), id_valid stays unknown; the downgrade drops the columns again."""
    from alembic import command
    from sqlalchemy import inspect, text

    from console.store.schema import alembic_config

    engine = world_sessions.kw["bind"]
    command.downgrade(alembic_config(engine), "0014")
    assert "updated_at" not in {c["name"] for c in inspect(engine).get_columns("person")}
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as conn:
        for table in ("person", "household", "organisation"):
            assert conn.execute(text(f"SELECT count(*) FROM {table} WHERE updated_at IS NULL")).scalar() == 0, table
        assert conn.execute(text("SELECT count(*) FROM person WHERE id_valid IS NOT NULL")).scalar() == 0
