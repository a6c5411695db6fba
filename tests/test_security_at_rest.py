"""Encryption at rest (docs/security.md §4): a database file alone reveals no identity number and no special-population
detail; lookups go through the keyed blind index; migration 0005 encrypts an existing database; rotation."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from alembic import command
from sqlalchemy import select, text

from console.store import crypto
from console.store.crypto import KeyRing
from console.store import DisputeParty, ForeignInfo, Person, SpecialPerson, make_engine, make_session_factory, upgrade_schema
from console.store.schema import alembic_config
from console.store.sensitive import id_number_match, reencrypt_all

pytestmark = pytest.mark.xdist_group("small_world")


def test_world_file_holds_no_plaintext_identity_number_or_detail(small_world_db, small_world_engine):
    with make_session_factory(small_world_engine)() as s:
        ids = s.scalars(select(Person.id_number).order_by(Person.id).limit(300)).all()
        details = [d for d in s.scalars(select(SpecialPerson.details).limit(300)) if d != "{}"]
        parties = s.scalars(select(DisputeParty.id_number).limit(100)).all()
        passports = s.scalars(select(ForeignInfo.document_no).limit(100)).all()
    assert len(ids) == 300 and all(len(i) == 18 for i in ids) and details and parties and passports
    # The raw rows: ciphertext with the algorithm and key id, never the value.
    raw = sqlite3.connect(f"file:{small_world_db}?mode=ro", uri=True)
    try:
        for table in ("person", "dispute_party"):
            for (value,) in raw.execute(f"select id_number from {table} limit 500"):
                assert value.startswith("aes1:") and len(value) > 40
        assert all(v.startswith("aes1:") for (v,) in raw.execute("select details from special_person limit 500"))
        assert all(v.startswith("aes1:") for (v,) in raw.execute("select document_no from foreign_info limit 500"))
    finally:
        raw.close()
    # The raw bytes of the whole file (pages, indexes, free lists): no identity number, no detail value.
    blob = open(small_world_db, "rb").read()
    assert not [i for i in ids + parties + passports if i.encode() in blob]
    values = {str(v) for d in details for v in json.loads(d).values() if isinstance(v, str) and len(v) >= 4}
    assert values and not [v for v in values if v.encode() in blob]


def test_lookup_by_identity_number_uses_the_blind_index(small_world_engine):
    with make_session_factory(small_world_engine)() as s:
        pid, idn = s.execute(select(Person.id, Person.id_number).order_by(Person.id.desc()).limit(1)).one()
        assert s.scalars(select(Person.id).where(id_number_match(Person.id_number_bidx, idn.lower() + " "))).all() == [pid]
        plan = " ".join(r[-1] for r in s.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM person WHERE id_number_bidx IN ('x')")))
        assert "ix_person_id_number_bidx" in plan


def _plain_db(path):
    """A database at revision 0004 (before encryption) holding plaintext rows, as an older release wrote it."""
    engine = make_engine(path)
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as c:
        c.execute(text("INSERT INTO building (id, code, address, kind, floors, dwellings) VALUES (1,'b','a','house',1,1)"))
        c.execute(text("INSERT INTO household (id, code, building_id, address, kind, size, is_rental) "
                       "VALUES (1,'h',1,'a','registered',1,0)"))
        for i in range(1, 6):
            c.execute(text(
                "INSERT INTO person (id, id_number, name, sex, birth_date, ethnicity, native_place, marital, education,"
                " occupation, residence_type, household_id, relation_to_head, registered_here, county_code, town_code,"
                " village_code, grid_code) VALUES (:i, :n, 'n', 'M', '1990-01-01', '汉族', '610924', 'single', 'none',"
                " 'x', 'registered', 1, 'head', 1, '610924', '610924100', '610924100201', '610924100201001')"),
                {"i": i, "n": f"61092419900101{i:03d}X"})
        c.execute(text(
            "INSERT INTO special_person (id, person_id, category, since, status, risk_level, risk_grade, details,"
            " county_code, town_code, village_code, grid_code) VALUES (1, 1, 'mental', '2020-01-01', 'x', 3, 'high',"
            " '{\"diagnosis\": \"精神分裂症\"}', '610924', '610924100', '610924100201', '610924100201001')"))
    return engine


def test_migration_0005_encrypts_existing_rows_and_downgrades(tmp_path):
    engine = _plain_db(tmp_path / "old.sqlite")
    upgrade_schema(engine)
    with engine.connect() as c:
        raw = c.execute(text("select id_number, id_number_bidx from person order by id")).all()
        detail = c.execute(text("select details from special_person")).scalar()
    assert all(r[0].startswith("aes1:") and len(r[1]) == 32 for r in raw)
    with engine.connect() as c:
        assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert "精神" not in detail and detail.startswith("aes1:")
    with make_session_factory(engine)() as s:
        assert s.get(SpecialPerson, 1).details == '{"diagnosis": "精神分裂症"}'
        assert s.scalar(select(Person.id).where(id_number_match(Person.id_number_bidx, "61092419900101003X"))) == 3
    upgrade_schema(engine)  # idempotent: already at head
    command.downgrade(alembic_config(engine), "0004")
    with engine.connect() as c:
        assert c.execute(text("select id_number from person where id = 2")).scalar() == "61092419900101002X"
        assert "精神分裂症" in c.execute(text("select details from special_person")).scalar()
    engine.dispose()


def test_migration_without_a_key_changes_nothing(tmp_path, monkeypatch):
    engine = _plain_db(tmp_path / "nokey.sqlite")
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    monkeypatch.delenv(crypto.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    with pytest.raises(crypto.DataKeyError, match="未配置数据密钥"):
        upgrade_schema(engine)
    with engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == "0004"
        assert c.execute(text("select id_number from person where id = 1")).scalar() == "61092419900101001X"
    engine.dispose()


def test_rotation_keeps_lookups_working_then_reencrypts(tmp_path):
    engine = _plain_db(tmp_path / "rot.sqlite")
    upgrade_schema(engine)
    old = crypto.active_keyring()
    new = KeyRing((os.urandom(32), *old.keys))  # `keygen --rotate`: new key first, old kept for reading
    crypto.set_keyring(new)
    try:
        with make_session_factory(engine)() as s:  # mid-rotation: old rows still found and readable
            assert s.scalar(select(Person.id).where(id_number_match(Person.id_number_bidx, "61092419900101004X"))) == 4
        counts = reencrypt_all(engine)
        assert counts == {"person.id_number": 5, "dispute_party.id_number": 0, "special_person.details": 1,
                          "foreign_info.document_no": 0, "person.phone": 0, "person.registered_address": 0,
                          "household.address": 1, "key_youth.guardian_phone": 0, "organisation.address": 0,
                          "dispute_party.phone": 0, "grid_worker.phone": 0}
        crypto.set_keyring(KeyRing(new.keys[:1]))  # the old key can now be dropped
        with make_session_factory(engine)() as s:
            assert s.scalar(select(Person.id).where(id_number_match(Person.id_number_bidx, "61092419900101004X"))) == 4
            assert "精神分裂症" in s.get(SpecialPerson, 1).details
    finally:
        crypto.reset_keyring()
        engine.dispose()


def test_orm_writes_keep_the_blind_index_current(tmp_path):
    engine = _plain_db(tmp_path / "orm.sqlite")
    upgrade_schema(engine)
    with make_session_factory(engine)() as s:
        p = s.get(Person, 5)
        p.id_number = "610924199001010050"
        s.commit()
        assert s.scalar(select(Person.id).where(id_number_match(Person.id_number_bidx, "610924199001010050"))) == 5
        assert s.scalar(select(Person.id).where(id_number_match(Person.id_number_bidx, "61092419900101005X"))) is None
    engine.dispose()


def test_reencrypt_command_after_rotation(tmp_path, monkeypatch):
    import subprocess
    import sys

    engine = _plain_db(tmp_path / "cli.sqlite")
    keyfile = tmp_path / "keys" / "data.key"
    crypto.write_key_file(keyfile)
    monkeypatch.delenv(crypto.KEY_ENV)
    monkeypatch.setenv(crypto.KEY_FILE_ENV, str(keyfile))
    upgrade_schema(engine)
    first = crypto.key_id(crypto.active_keyring().current)
    second = crypto.write_key_file(keyfile, rotate=True)
    run = subprocess.run([sys.executable, "-m", "console.store.keys", "reencrypt", "--db", str(tmp_path / "cli.sqlite")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "person.id_number 5 行" in run.stdout
    with engine.connect() as c:
        kids = {v.split(":")[1] for (v,) in c.execute(text("select id_number from person"))}
    assert kids == {second} != {first}
    engine.dispose()


def test_bulk_helpers_agree_with_the_single_value_ones():
    ring = KeyRing((os.urandom(32),))
    values = ["61092419800101001x ", None, "E12345678"]
    assert ring.blind_index_many(values) == [ring.blind_index(values[0]), None, ring.blind_index("E12345678")]
    sealed = ring.encrypt_many(values, "person.id_number")
    assert sealed[1] is None and [ring.decrypt(sealed[i], "person.id_number") for i in (0, 2)] == [values[0], values[2]]
    assert len({t.split(":")[2][:16] for t in ring.encrypt_many(["x"] * 1000, "a")}) == 1000  # fresh nonces
