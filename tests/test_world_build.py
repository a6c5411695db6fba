"""Building into a database: refusal to build twice, atomic replacement, interrupted builds."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from sqlalchemy import func, select

from console.store import Person, make_engine
from world import build as build_mod
from world import writer
from world.__main__ import main

pytestmark = pytest.mark.xdist_group("small_world")


@pytest.fixture(scope="module")
def tiny_world():
    return build_mod.build_world(5, 0.002, date(2026, 11, 1))


def _persons(path):
    engine = make_engine(path, must_exist=True)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Person)).scalar()
    engine.dispose()
    return n


def test_world_built_twice_is_refused_and_left_intact(tmp_path, tiny_world):
    db = str(tmp_path / "w.sqlite")
    build_mod.write_world(tiny_world, db)
    before = _persons(db)
    with pytest.raises(writer.WorldExistsError, match="--force"):
        build_mod.write_world(tiny_world, db)
    assert _persons(db) == before


def test_interrupted_build_keeps_previous_database(tmp_path, tiny_world, monkeypatch):
    db = tmp_path / "w.sqlite"
    build_mod.write_world(tiny_world, str(db))
    before = _persons(str(db))
    original = writer.ingest_table

    def explode(target, table, frame):
        if table == "person":
            raise KeyboardInterrupt("simulated Ctrl-C during the load")
        original(target, table, frame)

    monkeypatch.setattr(writer, "ingest_table", explode)
    with pytest.raises(KeyboardInterrupt):
        build_mod.write_world(tiny_world, str(db), force=True)
    assert _persons(str(db)) == before
    assert sorted(p.name for p in tmp_path.iterdir() if "building" in p.name) == []


def test_interrupted_first_build_leaves_no_database(tmp_path, tiny_world, monkeypatch):
    db = tmp_path / "w.sqlite"
    monkeypatch.setattr(writer, "ingest_table", lambda *a: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        build_mod.write_world(tiny_world, str(db))
    assert list(tmp_path.iterdir()) == []


def test_force_replaces_atomically(tmp_path, tiny_world):
    db = str(tmp_path / "w.sqlite")
    build_mod.write_world(tiny_world, db)
    build_mod.write_world(tiny_world, db, force=True)
    assert _persons(db) == len(tiny_world.tables["person"])


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["--db", str(blocker / "sub" / "w.sqlite"), "--scale", "0.001"])
    assert code == 2
    assert "数据目录无法创建" in capsys.readouterr().err


@pytest.mark.parametrize("scale", ["0", "1.5", "-1"])
def test_cli_rejects_bad_scale(tmp_path, capsys, scale):
    assert main(["--db", str(tmp_path / "w.sqlite"), "--scale", scale]) == 2
    assert "--scale" in capsys.readouterr().err
