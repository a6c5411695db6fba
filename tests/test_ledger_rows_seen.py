"""Fast ledger imports (docs/import.md): rows seen before are recognised by their hash and not checked again, a
failure in the middle of a save leaves nothing behind, and the bulk insert stores what the ORM would."""

from __future__ import annotations

import hashlib

from datetime import datetime

import pytest
from sqlalchemy import func, select, text

from console.ledger_import import plan as plan_module
from console.ledgers.cells import Cells
from console.store import AreaScope, Building, Dispute, Household, Person
from console.store.bulk import insert_rows
from console.store.sensitive import id_number_match
from tests.test_ledger_import import (
    PERSON_HEADER, ZIYANG, _county_office_xlsx, _household_rows, _id, _plan, _points, _save,
)

NAME = "实有人口台账.xlsx"


@pytest.fixture()
def store(world_sessions):
    return world_sessions


@pytest.fixture()
def conversions(monkeypatch):
    """Row numbers converted (checked cell by cell) by the plan."""
    seen: list[int] = []
    convert = plan_module._convert_many

    def counting(kind, rows):
        seen.extend(rows.numbers if isinstance(rows, Cells) else [row.number for row in rows])
        return convert(kind, rows)

    monkeypatch.setattr(plan_module, "_convert_many", counting)
    return seen


def _file(rows) -> bytes:
    return _county_office_xlsx(PERSON_HEADER, rows, sheet="实有人口")


def _counts(sessions) -> tuple[int, int, int]:
    with sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Person, Household, Building))


def test_the_same_file_again_is_recognised_row_by_row_without_checking_the_rows(store, conversions):
    rows = _household_rows(_points(store, ZIYANG, 1)[0])
    first = _save(store, "person", _file(rows), NAME)
    assert first.count("new") == 3 and conversions == [4, 5, 6]
    conversions.clear()
    _, again = _plan(store, "person", _file(rows), NAME)
    assert [r.status for r in again.rows] == ["unchanged"] * 3 and conversions == []
    assert [r.key for r in again.rows] == [_id(11), _id(12, "19870611", False), _id(13, "20120901")]
    assert all(r.record["grid_code"].startswith(ZIYANG) for r in again.rows)
    assert again.rows[0].record["name"] == "王建国"

    rows[2][9] = "13991500099"  # one row changed: only it is checked, and saved
    changed = _save(store, "person", _file(rows), NAME)
    assert conversions == [6] and [r.status for r in changed.rows] == ["unchanged", "unchanged", "changed"]
    with store() as s:
        son = s.scalar(select(Person).where(id_number_match(Person.id_number_bidx, _id(13, "20120901"))))
        assert son.phone == "13991500099"
    conversions.clear()
    _, after = _plan(store, "person", _file(rows), NAME)
    assert conversions == [] and [r.status for r in after.rows] == ["unchanged"] * 3

    rows[2][9] = ""  # back to the first file's row: the record no longer holds it, so it is checked again
    _, back = _plan(store, "person", _file(rows), NAME)
    assert conversions == [6] and back.rows[2].status == "changed"

    others = [[f"张{i}", "男", _id(40 + i), *row[3:5], f"HH610924-TEST-{i + 2:02d}", "户主", *row[7:]]
              for i, row in enumerate(rows * 2)]  # six more persons remembered: one row is looked up by its hash
    assert _save(store, "person", _file(others), NAME).count("new") == 6
    conversions.clear()
    _, one = _plan(store, "person", _file(others[4:5]), NAME)
    assert conversions == [] and one.rows[0].status == "unchanged" and one.rows[0].key == _id(44)


def test_a_row_seen_before_is_checked_again_outside_the_clerks_scope_or_when_repeated(store, conversions):
    rows = _household_rows(_points(store, ZIYANG, 1)[0])
    _save(store, "person", _file(rows), NAME)
    conversions.clear()
    _, elsewhere = _plan(store, "person", _file(rows), NAME, scope=AreaScope.of(["610902"]))
    assert conversions == [4, 5, 6] and {r.status for r in elsewhere.rows} == {"error"}
    conversions.clear()
    _, twice = _plan(store, "person", _file([*rows, rows[0]]), NAME)
    assert conversions == [4, 7]  # the repeated row is checked (and refused) both times
    assert twice.rows[0].status == twice.rows[3].status == "error"
    assert "重复" in " ".join(twice.rows[0].problems)
    with store() as s, s.begin():  # the head's record id now names another person (an id reused after a deletion)
        head = s.scalar(select(Person.id).where(id_number_match(Person.id_number_bidx, _id(11))))
        other = s.scalar(select(Person.id).where(Person.id != head).limit(1))
        s.execute(text("DELETE FROM ledger_row WHERE record_id = :o"), {"o": other})
        s.execute(text("UPDATE ledger_row SET record_id = :o WHERE record_id = :h"), {"o": other, "h": head})
    conversions.clear()
    _, reused = _plan(store, "person", _file(rows), NAME)
    assert conversions == [4] and [r.status for r in reused.rows] == ["unchanged"] * 3


def test_a_person_import_that_fails_mid_save_leaves_nothing(store):
    rows = _household_rows(_points(store, ZIYANG, 1)[0])
    before = _counts(store)
    with store() as s, s.begin():  # the store refuses the persons after buildings and households went in
        s.execute(text("CREATE TRIGGER refuse_person BEFORE INSERT ON person "
                       "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    with pytest.raises(Exception, match="disk full"):
        _save(store, "person", _file(rows), NAME)
    assert _counts(store) == before
    with store() as s, s.begin():
        s.execute(text("DROP TRIGGER refuse_person"))
    assert _save(store, "person", _file(rows), NAME).count("new") == 3  # and nothing was remembered as seen


def test_bulk_insert_stores_what_the_orm_stores(store):
    """Sealed identity numbers read back, datetimes compare with ORM-written ones, missing keys take defaults."""
    when = datetime(2026, 11, 20, 8, 30, 5)
    with store() as s, s.begin():
        template = s.scalars(select(Dispute).limit(1)).one()
        row = {c.key: getattr(template, c.key) for c in Dispute.__table__.columns if c.key != "id"}
        insert_rows(s, Dispute, [{**row, "code": "JF-BULK-1", "registered_at": when},
                                 {**row, "code": "JF-BULK-2", "registered_at": when.replace(second=6)}])
        household = s.scalars(select(Household).limit(1)).one()
        insert_rows(s, Household, [{"code": "HH-BULK-1", "building_id": household.building_id, "address": "测试",
                                    "kind": "registered", "size": 1}])  # is_rental: its default
        person = s.scalars(select(Person).limit(1)).one()
        values = {c.key: getattr(person, c.key) for c in Person.__table__.columns if c.key != "id"}
        insert_rows(s, Person, [{**values, "id_number": _id(77), "id_number_bidx": "bulk-test"}])
    with store() as s:
        assert s.scalars(select(Dispute.code).where(Dispute.registered_at == when)).all() == ["JF-BULK-1"]
        assert s.scalars(select(Dispute.code).where(Dispute.registered_at > when,
                                                    Dispute.code.like("JF-BULK%"))).all() == ["JF-BULK-2"]
        assert s.scalar(select(Household.is_rental).where(Household.code == "HH-BULK-1")) is False
        stored = s.scalar(select(Person).where(Person.id_number_bidx == "bulk-test"))
        assert stored.id_number == _id(77)
        raw = s.scalar(text("SELECT id_number FROM person WHERE id_number_bidx = 'bulk-test'"))
        assert _id(77) not in raw  # sealed at rest


def test_bulk_insert_on_postgresql(postgres):
    """The same bulk insert through psycopg: parameters by name, datetimes and sealed numbers as the ORM writes."""
    pytest.importorskip("psycopg")
    from sqlalchemy.pool import NullPool

    from console.store import LedgerRow, make_engine, make_session_factory, upgrade_schema

    engine = make_engine(postgres.create_database("bulk_insert"), poolclass=NullPool)
    upgrade_schema(engine)
    sessions = make_session_factory(engine)
    when = datetime(2026, 11, 20, 8, 30, 5)
    with sessions() as s, s.begin():
        insert_rows(s, LedgerRow, [{"kind": "person", "record_id": i, "row_hash": bytes([i]) * 16} for i in range(3)])
        s.execute(text("INSERT INTO building (code, address, kind, floors, dwellings) VALUES ('B1', 'x', 'house', 1, 1)"))
        bid = s.scalar(text("SELECT id FROM building"))
        insert_rows(s, Household, [{"code": "HH1", "building_id": bid, "address": "x", "kind": "registered",
                                    "size": 1}])
        hid = s.scalar(text("SELECT id FROM household"))
        insert_rows(s, Person, [{"id_number": _id(77), "id_number_bidx": "b", "name": "测试", "sex": "M",
                                 "birth_date": when.date(), "ethnicity": "汉族", "native_place": "610924",
                                 "marital": "married", "education": "senior", "occupation": "", "phone": None,
                                 "residence_type": "registered", "household_id": hid, "relation_to_head": "head",
                                 "registered_here": True, "registered_address": None}])
    with sessions() as s:
        assert s.scalars(select(LedgerRow.row_hash).order_by(LedgerRow.record_id)).all() == [bytes([i]) * 16
                                                                                             for i in range(3)]
        assert s.scalar(select(Household.is_rental)) is False
        assert s.scalar(select(Person)).id_number == _id(77)
    engine.dispose()


def test_a_rows_hash_is_the_same_from_its_cells_or_its_record_and_tells_types_apart():
    """rowhash: the scan hashes cell tuples, the whole-file plan hashes the rows' dicts: one row gives one hash
    either way (a date included, which marshal cannot write); a cell's type is part of it."""
    from console.ledger_import import rowhash
    from console.ledger_import.kinds import KINDS

    kind = KINDS["person"]
    fields = tuple(c.field for c in kind.spec.columns)[::-1]  # the file's own column order
    base = {"name": "张三", "id_number": "610924198001010012", "lon": 108.5, "household_code": "12"}

    def both(values: dict) -> tuple[str, str]:
        cells = tuple(values.get(f) for f in fields)
        return (rowhash.row_hashes(kind, "wgs84", [values])[0],
                rowhash.tuple_hashes(kind, "wgs84", fields, [cells])[0])

    plain, dated = both(base), both({**base, "address": datetime(2020, 1, 2)})
    assert plain[0] == plain[1] and dated[0] == dated[1] and plain[0] != dated[0]
    variants = {both({**base, "household_code": v})[0] for v in ("12", 12, 12.0, True)}
    assert len(variants) == 4 and plain[0] in variants
    assert both(base)[0] == plain[0] and rowhash.row_hashes(kind, "gcj02", [base])[0] != plain[0]


def test_a_row_seen_before_is_still_recognised_while_a_key_rotation_is_under_way(store, conversions):
    """The stored blind indexes are under the ring's older key until re-indexed (docs/security.md): the same file
    is still recognised, through every key of the ring, without checking its rows; one whose record holds another
    number still is not."""
    import os

    from console.store.crypto import KeyRing, active_keyring, reset_keyring, set_keyring

    rows = _household_rows(_points(store, ZIYANG, 1)[0])
    _save(store, "person", _file(rows), NAME)
    ring = active_keyring()
    set_keyring(KeyRing((os.urandom(32), *ring.keys), ring.cipher))  # a new current key, the old one kept
    try:
        conversions.clear()
        _, again = _plan(store, "person", _file(rows), NAME)
        assert conversions == [] and [r.status for r in again.rows] == ["unchanged"] * 3
        with store() as s, s.begin():  # the son's record given the head's number index: his row is checked again
            head = s.scalar(select(Person.id_number_bidx).where(id_number_match(Person.id_number_bidx, _id(11))))
            s.execute(text("UPDATE person SET id_number_bidx = :b WHERE id_number_bidx = :s"),
                      {"b": head + "x", "s": s.scalar(select(Person.id_number_bidx).where(
                          id_number_match(Person.id_number_bidx, _id(13, "20120901"))))})
        conversions.clear()
        _, after = _plan(store, "person", _file(rows), NAME)
        assert conversions == [6] and [r.status for r in after.rows][:2] == ["unchanged"] * 2
    finally:
        reset_keyring()  # the tests' key comes from the environment (conftest), not an override


def test_migration_0016_turns_remembered_hex_hashes_into_bytes_and_back(world_sessions):
    """Rows remembered before 0016 (32 hex characters in a rowid table) are kept: the same hashes as 16 bytes in a
    WITHOUT ROWID table (SQLite), found through the hash index; the downgrade spells them in hex again."""
    from alembic import command

    from console.store.schema import alembic_config

    engine = world_sessions.kw["bind"]
    config = alembic_config(engine)
    command.downgrade(config, "0015")
    digests = [hashlib.blake2b(str(i).encode(), digest_size=16).digest() for i in range(7)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ledger_row (kind, record_id, row_hash) VALUES (:k, :r, :h)"),
                     [{"k": "person" if i % 2 else "organisation", "r": 100 + i, "h": d.hex()}
                      for i, d in enumerate(digests)])
    command.upgrade(config, "head")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT kind, record_id, row_hash FROM ledger_row ORDER BY record_id")).all()
        assert [(r, bytes(h)) for _k, r, h in stored] == [(100 + i, d) for i, d in enumerate(digests)]
        assert [k for k, _r, _h in stored] == ["organisation", "person"] * 3 + ["organisation"]
        found = conn.execute(text("SELECT record_id FROM ledger_row WHERE kind = 'person' AND row_hash = :h"),
                             {"h": digests[3]}).scalar()
        assert found == 103
        ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ledger_row'")).scalar()
        assert "WITHOUT ROWID" in ddl.upper()
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'ix_ledger_row_hash'")).scalar() == 1
    command.downgrade(config, "0015")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT row_hash FROM ledger_row ORDER BY record_id")).scalars().all()
        assert back == [d.hex() for d in digests]
    command.upgrade(config, "head")
