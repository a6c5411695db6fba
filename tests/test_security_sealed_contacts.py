"""Phones and street addresses at rest (docs/security.md §4): the database file alone shows no phone number of a
person, key youth's guardian, grid worker or dispute party and no household address; migration 0010 seals an older
database in place on SQLite and PostgreSQL (again: no change); what the readers show is unchanged — masked views,
one-value reveals, a roster imported twice — and a grid worker is still found by phone (blind index)."""

from __future__ import annotations

import sqlite3

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.pool import NullPool

from console.store import (
    Dispute, DisputeParty, GridWorker, Household, KeyYouth, Organisation, Person, crypto, make_engine,
    make_session_factory, upgrade_schema,
)
from console.store.schema import alembic_config

pytestmark = pytest.mark.xdist_group("small_world")

# every column that holds a phone number or a street address of someone (a building's address is the place's)
RAW_COLUMNS = [("dispute_party", "phone"), ("grid_worker", "phone"), ("household", "address"),
               ("key_youth", "guardian_phone"), ("organisation", "address"), ("person", "phone"),
               ("person", "registered_address")]


def test_every_phone_and_address_column_of_a_person_is_sealed():
    from console.store.sensitive import PHONE_ADDRESS

    assert sorted((s.table, s.column) for s in PHONE_ADDRESS) == sorted(RAW_COLUMNS)


def test_world_file_holds_no_plaintext_phone_or_household_address(small_world_db, small_world_engine):
    with make_session_factory(small_world_engine)() as s:
        phones = [*s.scalars(select(Person.phone).where(Person.phone.is_not(None)).limit(300)),
                  *s.scalars(select(GridWorker.phone).limit(100)),
                  *s.scalars(select(DisputeParty.phone).where(DisputeParty.phone.is_not(None)).limit(100)),
                  *s.scalars(select(KeyYouth.guardian_phone).limit(100))]
        flats = s.scalars(select(Household.address).limit(300)).all()
    assert len(phones) > 300 and all(p.isdigit() and len(p) == 11 for p in phones)
    assert flats and all("室" in a or "号" in a for a in flats)
    raw = sqlite3.connect(f"file:{small_world_db}?mode=ro", uri=True)
    try:
        for table, column in RAW_COLUMNS:
            values = [v for (v,) in raw.execute(f"select {column} from {table} where {column} is not null limit 500")]
            assert values and all(v.startswith("aes1:") for v in values), (table, column, values[:2])
    finally:
        raw.close()
    blob = open(small_world_db, "rb").read()  # pages, indexes, free lists
    assert not [p for p in phones if p.encode() in blob]
    assert not [a for a in flats if a.encode() in blob]


# -- migration 0010 ----------------------------------------------------------------------------------------------
PLAIN = {"person_phone": "13912340001", "registered": "四川省达州市通川区朝阳路8号", "flat": "紫阳县城关镇新民街3号2单元501室",
         "org": "紫阳县城关镇滨江路66号", "party_phone": "13912340002", "worker_phone": "13912340003",
         "guardian": "13912340004"}


def _old_db(engine, truthy: str):
    """A database at revision 0009 holding phones and addresses in clear, as the previous release wrote them."""
    command.upgrade(alembic_config(engine), "0009")
    ring = crypto.require_keyring()
    loc = "'610924', '610924100', '610924100201', '610924100201001'"
    with engine.begin() as c:
        c.execute(text("INSERT INTO building (id, code, address, kind, floors, dwellings) VALUES (1,'b','滨江路','house',1,1)"))
        c.execute(text("INSERT INTO household (id, code, building_id, address, kind, size, is_rental) "
                       f"VALUES (1,'h',1,:a,'registered',1,{truthy})"), {"a": PLAIN["flat"]})
        c.execute(text(
            "INSERT INTO person (id, id_number, id_number_bidx, name, sex, birth_date, ethnicity, native_place, marital,"
            " education, occupation, phone, residence_type, household_id, relation_to_head, registered_here,"
            " registered_address, county_code, town_code, village_code, grid_code) VALUES (1, :n, :b, 'n', 'M',"
            " '1990-01-01', '汉族', '610924', 'single', 'none', 'x', :p, 'floating', 1, 'head', "
            f"{'false' if truthy == 'true' else '0'}, :r, {loc})"),
            {"n": ring.encrypt("610924199001010011", "person.id_number"), "b": ring.blind_index("610924199001010011"),
             "p": PLAIN["person_phone"], "r": PLAIN["registered"]})
        c.execute(text("INSERT INTO key_youth (id, person_id, youth_type, concern_level, guardian_name, guardian_phone,"
                       f" helper_name, measures, county_code, town_code, village_code, grid_code) VALUES (1, 1, 'x', 'x',"
                       f" '李', :g, '王', '', {loc})"), {"g": PLAIN["guardian"]})
        c.execute(text("INSERT INTO organisation (id, credit_code, name, kind, org_type, registration_authority, legal_rep,"
                       " address, status, security_head, concern_level, has_party_org, foreign_background, employees,"
                       f" county_code, town_code, village_code, grid_code) VALUES (1, 'c', 'o', 'enterprise', 'private',"
                       f" 'x', '张', :a, 'active', '钱', 'normal', {truthy}, {truthy}, 3, {loc})"), {"a": PLAIN["org"]})
        c.execute(text("INSERT INTO dispute (id, code, title, category, occurred_on, registered_at, place, scale,"
                       " description, risk_grade, complexity, state, source, county_code, town_code, village_code,"
                       f" grid_code) VALUES (1, 'JF1', 't', 'neighbour', '2026-01-01', '2026-01-01 08:00:00', 'p', 2,"
                       f" 'd', 'low', 'simple', 'registered', 'grid', {loc})"))
        c.execute(text("INSERT INTO dispute_party (id, dispute_id, role, name, id_number, id_number_bidx, sex, phone)"
                       " VALUES (1, 1, 'applicant', '王', :n, :b, 'M', :p)"),
                  {"n": ring.encrypt("610924199001010011", "dispute_party.id_number"),
                   "b": ring.blind_index("610924199001010011"), "p": PLAIN["party_phone"]})
        c.execute(text("INSERT INTO grid_worker (id, grid_code, role, name, phone) VALUES (1, '610924100201001',"
                       " 'worker', '陈', :p)"), {"p": PLAIN["worker_phone"]})


def _raw(engine, sql):
    with engine.connect() as c:
        return [tuple(r) for r in c.exec_driver_sql(sql)]


RAW_SELECT = {("person", "phone"): "select phone from person", ("person", "registered_address"):
              "select registered_address from person", ("household", "address"): "select address from household",
              ("key_youth", "guardian_phone"): "select guardian_phone from key_youth",
              ("organisation", "address"): "select address from organisation",
              ("dispute_party", "phone"): "select phone from dispute_party",
              ("grid_worker", "phone"): "select phone from grid_worker"}


def _check_migration(engine):
    from console.store.sensitive import PHONE_ADDRESS, phone_match, reseal_table

    upgrade_schema(engine)
    stored = {k: _raw(engine, sql)[0][0] for k, sql in RAW_SELECT.items()}
    assert all(v.startswith("aes1:") for v in stored.values()), stored
    assert not [v for v in PLAIN.values() if any(v in s for s in stored.values())]
    with make_session_factory(engine)() as s:
        p, h, o = s.get(Person, 1), s.get(Household, 1), s.get(Organisation, 1)
        assert (p.phone, p.registered_address, h.address, o.address) == \
            (PLAIN["person_phone"], PLAIN["registered"], PLAIN["flat"], PLAIN["org"])
        assert s.get(KeyYouth, 1).guardian_phone == PLAIN["guardian"]
        assert s.get(DisputeParty, 1).phone == PLAIN["party_phone"]
        assert s.scalar(select(GridWorker.id).where(phone_match(GridWorker.phone_bidx, PLAIN["worker_phone"]))) == 1
    # run the data step again (an interrupted upgrade resumed): sealed values are left as they are
    with engine.begin() as c:
        for spec in PHONE_ADDRESS:
            reseal_table(c, spec)
    again = {k: _raw(engine, sql)[0][0] for k, sql in RAW_SELECT.items()}
    assert {k: v for k, v in again.items() if k != ("grid_worker", "phone")} == \
        {k: v for k, v in stored.items() if k != ("grid_worker", "phone")}
    with make_session_factory(engine)() as s:
        assert s.get(GridWorker, 1).phone == PLAIN["worker_phone"] and s.get(Household, 1).address == PLAIN["flat"]
    command.downgrade(alembic_config(engine), "0009")
    assert _raw(engine, "select phone from grid_worker") == [(PLAIN["worker_phone"],)]
    assert _raw(engine, "select address from household") == [(PLAIN["flat"],)]
    upgrade_schema(engine)
    assert _raw(engine, "select address from household")[0][0].startswith("aes1:")


def test_migration_0010_seals_existing_rows_on_sqlite(tmp_path):
    engine = make_engine(tmp_path / "old.sqlite")
    _old_db(engine, "0")
    _check_migration(engine)
    with engine.connect() as c:
        assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()


def test_migration_0010_seals_existing_rows_on_postgresql(postgres):
    engine = make_engine(postgres.create_database("seal0010"), poolclass=NullPool)
    _old_db(engine, "true")
    _check_migration(engine)
    engine.dispose()


def test_migration_0010_without_a_key_changes_nothing(tmp_path, monkeypatch):
    engine = make_engine(tmp_path / "nokey.sqlite")
    _old_db(engine, "0")
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    monkeypatch.delenv(crypto.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    with pytest.raises(crypto.DataKeyError, match="未配置数据密钥"):
        upgrade_schema(engine)
    assert _raw(engine, "select version_num from alembic_version") == [("0009",)]
    assert _raw(engine, "select phone from grid_worker") == [(PLAIN["worker_phone"],)]
    engine.dispose()


# -- the readers ---------------------------------------------------------------------------------------------------
def test_masked_views_and_reveals_show_the_stored_values(tmp_path):
    """Written through the ORM, read back by the views (masked) and by a reveal (whole), sealed in the file."""
    import sectest as testing
    from console.services import housing, queries, unmask
    from console.store import AreaScope
    from console.store.masking import mask_address, mask_phone
    from tests.browser.tinyworld import build
    from tests.security_login import add_account

    path = build(tmp_path / "tiny.sqlite")
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        person = s.scalars(select(Person).order_by(Person.id)).first()
        person.phone = "13711112222"
        household = s.get(Household, person.household_id)
        household.address = "紫阳县测试镇测试路9号3单元702室"
        worker = s.scalars(select(GridWorker).where(GridWorker.grid_code == person.grid_code)).first()
        worker.phone = "13733334444"
        case = s.scalars(select(Dispute).where(Dispute.grid_code == person.grid_code)).first()
        party = DisputeParty(dispute_id=case.id, role="applicant", name="王五", id_number="610924198001015678",
                             sex="M", phone="13755556666")
        s.add(party)
        s.commit()
        ids = {"person": person.id, "household": household.id, "worker": worker.id, "party": party.id,
               "grid": person.grid_code, "town": person.town_code, "building": household.building_id}
    add_account(path, "town_user", ["town"], [ids["town"]])
    viewer = testing.viewer_of(factory, "town_user", testing.Clock())
    scope = AreaScope.of([ids["town"]])
    with factory() as s:
        persons = queries.grid_persons(s, scope, ids["grid"])
        building = housing.building_tree(s, scope, ids["building"])
    mine = next(r for r in persons if r["联系电话"].startswith("137"))
    assert mine["联系电话"] == mask_phone("13711112222") == "137****2222"
    assert mask_address("紫阳县测试镇测试路9号3单元702室") in str(building) and "702室" not in str(building)
    for kind, field, full in (("person", "phone", "13711112222"), ("household", "address", "紫阳县测试镇测试路9号3单元702室"),
                              ("worker", "phone", "13733334444"), ("party", "phone", "13755556666")):
        assert unmask.reveal(factory, viewer, kind, ids[kind], field=field, via="test") == full
    engine.dispose()
    blob = open(path, "rb").read()
    assert not [v for v in (b"13711112222", b"13733334444", b"13755556666", "702室".encode()) if v in blob]


def test_a_roster_imported_twice_finds_its_workers_by_phone(world_sessions):
    """The roster's key is the phone: the second import matches every row through the blind index (no duplicates)."""
    from console.ledger_import.commit import commit_import
    from console.ledger_import.kinds import KINDS
    from console.ledger_import.plan import file_hash
    from console.ledgers.reader import read_ledger
    from console.store import AreaScope, Grid
    from console.store.sensitive import phone_match

    with world_sessions() as s:
        grid = s.scalar(select(Grid.code).where(Grid.generation_high.is_(None), Grid.code.like("610924%"))
                        .order_by(Grid.code).limit(1))
        before = s.scalar(select(func.count()).select_from(GridWorker))
    data = ("网格编号,网格员姓名,岗位,联系电话\r\n"
            f"{grid},陈晓梅,专职网格员,13891500001\r\n{grid},刘强,网格长,13891500002\r\n").encode("gbk")

    def save(payload):
        ledger = read_ledger(payload, "花名册.csv", KINDS["grid_worker"].spec)
        return commit_import(world_sessions, ledger, kind_key="grid_worker", data_hash=file_hash(payload),
                             filename="花名册.csv", scope=AreaScope.of(["610924"]), actor="clerk")

    assert save(data).count("new") == 2
    again = save(data)
    assert again.count("unchanged") == 2 and not again.accepted
    renamed = save(data.replace("刘强".encode("gbk"), "刘强强".encode("gbk")))
    assert renamed.count("changed") == 1
    with world_sessions() as s:
        assert s.scalar(select(func.count()).select_from(GridWorker)) == before + 2
        w = s.scalar(select(GridWorker).where(phone_match(GridWorker.phone_bidx, " 13891500002")))
        assert (w.name, w.role, w.grid_code) == ("刘强强", "captain", grid)
        raw = s.execute(text("select phone from grid_worker where id = :i"), {"i": w.id}).scalar()
    assert raw.startswith("aes1:") and "13891500002" not in raw
