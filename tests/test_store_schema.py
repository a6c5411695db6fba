"""The store's schema: migrations match the models, version checks, bad databases, scope filtering."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from console.store import AreaScope, Base, Person, ScopeError, StoreError, check_schema, make_engine, upgrade_schema
from console.store.masking import mask_address, mask_id, mask_phone
from console.store.scope import code_range


def test_migrations_produce_exactly_the_models(tmp_path):
    engine = make_engine(tmp_path / "m.sqlite")
    upgrade_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models and migrations differ — add an Alembic revision: {diff}"


def test_wal_mode_on_file_databases(tmp_path):
    engine = make_engine(tmp_path / "w.sqlite")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_empty_database_is_refused_with_advice(tmp_path):
    engine = make_engine(tmp_path / "e.sqlite")
    with pytest.raises(StoreError, match="make world"):
        check_schema(engine)


def test_database_from_other_schema_version_is_refused(tmp_path):
    engine = make_engine(tmp_path / "o.sqlite")
    upgrade_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='0000old'"))
    with pytest.raises(StoreError, match="不一致"):
        check_schema(engine)


def test_missing_database_file_is_reported(tmp_path):
    with pytest.raises(StoreError, match="不存在"):
        make_engine(tmp_path / "nope.sqlite", must_exist=True)


def test_unwritable_data_folder_is_reported(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions; test_data_folder_under_a_file_is_reported covers root")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="不可写"):
            make_engine(locked / "x.sqlite")
    finally:
        locked.chmod(0o700)


def test_data_folder_under_a_file_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="无法创建"):
        make_engine(blocker / "sub" / "x.sqlite")


@pytest.mark.parametrize(
    ("codes", "visible"),
    [
        ({"610900"}, {"610924100201001", "610902001003002", "610925100200001"}),
        ({"610924"}, {"610924100201001"}),
        ({"610902001"}, {"610902001003002"}),
        ({"610925100200"}, {"610925100200001"}),
        ({"610924100201001", "610902001"}, {"610924100201001", "610902001003002"}),
        (set(), set()),
    ],
)
def test_scope_filters_records_by_any_level(tmp_path, codes, visible):
    engine = make_engine(tmp_path / "s.sqlite")
    upgrade_schema(engine)
    grids = ["610924100201001", "610902001003002", "610925100200001"]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO building (id, code, address, kind, floors, dwellings) VALUES (1,'b','a','house',1,1)"))
        conn.execute(text("INSERT INTO household (id, code, building_id, address, kind, size, is_rental) "
                          "VALUES (1,'h',1,'a','registered',1,0)"))
        for i, g in enumerate(grids, start=1):
            conn.execute(
                text("INSERT INTO person (id, id_number, name, sex, birth_date, ethnicity, native_place, marital, education,"
                     " occupation, residence_type, household_id, relation_to_head, registered_here, county_code, town_code,"
                     " village_code, grid_code) VALUES (:i, 'x', 'n', 'M', '1990-01-01', '汉族', '610924', 'single', 'none',"
                     " 'x', 'registered', 1, 'head', 1, :c, :t, :v, :g)"),
                {"i": i, "c": g[:6], "t": g[:9], "v": g[:12], "g": g},
            )
    scope = AreaScope(frozenset(codes))
    with engine.connect() as conn:
        got = set(conn.execute(select(Person.grid_code).where(scope.clause(Person))).scalars())
        assert got == visible
        assert all(scope.allows(g) == (g in visible) for g in grids)


def test_scope_range_ends_at_the_next_code_of_the_same_length():
    """Not at code + ':', which only bytewise collations sort after the digits (tests/test_postgres.py)."""
    assert code_range("610924") == ("610924", "610925")
    assert code_range("610929199") == ("610929199", "610929200")
    assert code_range("999999") == ("999999", None)
    assert str(AreaScope.of(["610924"]).clause(Person).compile(compile_kwargs={"literal_binds": True})) == \
        "person.grid_code >= '610924' AND person.grid_code < '610925'"


def test_scope_rejects_non_codes():
    with pytest.raises(ScopeError):
        AreaScope.of(["61092'; DROP TABLE person;--"])


@pytest.mark.parametrize(
    ("fn", "value", "expected"),
    [
        (mask_id, "61092419800101001X", "610924********001X"),
        (mask_id, "E12345678", "E1*******"),
        (mask_id, "", ""),
        (mask_phone, "13912345678", "139****5678"),
        (mask_address, "城关镇东城社区3区12号楼1单元101室", "城关镇东城社区3****"),
    ],
)
def test_masking(fn, value, expected):
    assert fn(value) == expected
