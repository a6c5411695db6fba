"""Batch jobs on Dask (console/batch, docs/scale.md): the same results on a LocalCluster as in one process,
as the one-pass services compute, and when a worker is killed in the middle of a job; a failed write leaves
nothing behind and the rerun finishes the job."""

from __future__ import annotations

import os
import shutil
import signal

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.batch import assessment as batch_assessment, cluster, db as batch_db, quality as batch_quality, \
    reassign
from console.store import Person, make_engine
from console.store.codes import OPEN_DISPUTE_STATES
from console.store.grid_locator import GridLocator
from tests.batch_world import merge_grid_pairs

COLUMNS = "id, county_code, town_code, village_code, grid_code, assign_generation"


def _changed_world(src, dst) -> str:
    shutil.copy(src, dst)
    eng = make_engine(str(dst), must_exist=True)
    assert len(merge_grid_pairs(eng, 25)) == 25
    eng.dispose()
    return str(dst)


def _located(path) -> dict:
    eng = make_engine(path, must_exist=True)
    with eng.connect() as c:
        out = {t: c.exec_driver_sql(f"SELECT {COLUMNS} FROM {t} ORDER BY id").all() for t in reassign.TABLES}
    eng.dispose()
    batch_db._ENGINES.clear()  # the file is about to be copied or deleted: no pooled connection kept
    return out


def _moves(path) -> list[tuple]:
    """The move log: (generation, kind, record id, from grid, to grid), sorted."""
    eng = make_engine(path, must_exist=True)
    with eng.connect() as c:
        out = sorted(tuple(r) for r in c.exec_driver_sql(
            "SELECT generation_id, kind, record_id, from_grid, to_grid FROM grid_move"))
    eng.dispose()
    return out


@pytest.fixture(scope="module")
def client():
    with cluster.open_client(None, 2) as c:
        yield c


@pytest.fixture(scope="module")
def reference(small_world_db, tmp_path_factory):
    """A world after a boundary change, re-assigned in this process; its tables after the job."""
    path = _changed_world(small_world_db, tmp_path_factory.mktemp("batch") / "ref.sqlite")
    result = reassign.run(path, None)
    return path, result, _located(path)


def test_in_process_reassign_moves_the_records_of_merged_grids_as_the_locator_says(reference):
    path, result, after = reference
    assert result.changed["person"] > 500 and result.changed["household"] > 100
    eng = make_engine(path, must_exist=True)
    with Session(eng) as s:
        rows = s.execute(select(Person.lon, Person.lat, Person.grid_code, Person.village_code,
                                Person.assign_generation)).all()
        locator = GridLocator.from_session(s)
    eng.dispose()
    lon, lat = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    want = locator.locate_many(lon, lat)
    got = [(r[2], r[3], r[4]) for r in rows]
    expect = [(w["grid_code"], w["village_code"], w["assign_generation"]) if w else (None, None, None)
              for w in want]
    assert got == expect
    assert reassign.run(path, None).changed == {t: 0 for t in reassign.TABLES}  # a rerun finds nothing to do


def test_dask_reassign_equals_in_process(reference, small_world_db, tmp_path, client):
    path = _changed_world(small_world_db, tmp_path / "dask.sqlite")
    result = reassign.run(path, client)
    assert result.changed == reference[1].changed
    assert _located(path) == reference[2]
    assert _moves(path) == _moves(reference[0]) and result.moves == reference[1].moves > 0


def test_reassign_logs_each_move_and_recounts_the_grids_a_dry_run_writes_nothing(small_world_db, tmp_path):
    """As a grid commit does (console/planner/movelog.py): one `grid_move` row per record whose grid changed, with
    its from and to grid, the kind (open/closed disputes apart) and the destination grid's generation; the
    household tallies of the grids that gained or lost households recounted; all in the job's one write."""
    from console.planner.movelog import RECORD_KINDS

    path = _changed_world(small_world_db, tmp_path / "moves.sqlite")
    before = _located(path)
    dry = reassign.run(path, None, dry_run=True)
    assert sum(dry.changed.values()) > 0 and dry.moves == 0 and _moves(path) == [] and _located(path) == before
    result = reassign.run(path, None)
    after = _located(path)
    table_of = {k: m.__tablename__ for k, (m, _) in RECORD_KINDS.items()}
    expected = sorted((table_of[k], i, o, n) for _g, k, i, o, n in _moves(path))
    moved = sorted((t, a[0], b[4], a[4]) for t in reassign.TABLES for a, b in zip(after[t], before[t]) if a[4] != b[4])
    assert expected == moved and result.moves == len(moved) > 500  # one row per moved record, from → to
    eng = make_engine(path, must_exist=True)
    with eng.connect() as c:
        gen = dict(c.exec_driver_sql("SELECT code, generation_low FROM grid WHERE generation_high IS NULL").all())
        states = dict(c.exec_driver_sql("SELECT id, state FROM dispute").all())
        tallies = {code: (h, r) for code, h, r in c.exec_driver_sql(
            "SELECT code, households, residents FROM grid WHERE generation_high IS NULL")}
        counted = {code: (h, r) for code, h, r in c.exec_driver_sql(
            "SELECT grid_code, count(*), sum(size) FROM household WHERE grid_code IS NOT NULL GROUP BY grid_code")}
    eng.dispose()
    rows = _moves(path)
    assert all(g == gen[n] for g, _k, _i, _o, n in rows if n)
    disputes = [(k, states[i]) for _g, k, i, _o, _n in rows if table_of[k] == "dispute"]
    assert disputes and all((k == "dispute") == (st in OPEN_DISPUTE_STATES) for k, st in disputes)
    households = {c for _g, k, _i, o, n in rows if k == "household" for c in (o, n) if c in tallies}
    assert households and result.recounted >= len(households)
    assert {c: tallies[c] for c in households} == {c: counted.get(c, (0, 0)) for c in households}
    assert reassign.run(path, None).moves == 0 and _moves(path) == rows  # a rerun moves nothing more


def test_worker_killed_mid_job_still_gives_the_right_result(reference, small_world_db, tmp_path):
    path = _changed_world(small_world_db, tmp_path / "killed.sqlite")
    seen = {}
    with cluster.open_client(None, 2) as c:
        before = c.run(os.getpid)
        victim = sorted(before.values())[0]

        def kill_once(done, total):
            if not seen:
                seen["at"] = (done, total)
                os.kill(victim, signal.SIGKILL)

        result = reassign.run(path, c, on_result=kill_once)
        after = c.run(os.getpid)
    assert seen["at"][0] < seen["at"][1]  # killed while tasks were left
    assert victim not in after.values()  # the worker really died (its nanny started another)
    assert result.changed == reference[1].changed
    assert _located(path) == reference[2]


def test_failed_write_leaves_nothing_and_the_rerun_finishes(reference, small_world_db, tmp_path, monkeypatch):
    path = _changed_world(small_world_db, tmp_path / "fail.sqlite")
    before = _located(path)
    real = batch_db.update_by_id
    calls = []

    def flaky(conn, table, *a, **kw):
        calls.append(table)
        if len(calls) == 3:
            raise OSError("连接中断（测试）")
        return real(conn, table, *a, **kw)

    monkeypatch.setattr(batch_db, "update_by_id", flaky)
    with pytest.raises(OSError):
        reassign.run(path, None)
    assert _located(path) == before  # the tables written before the failure were rolled back too
    monkeypatch.setattr(batch_db, "update_by_id", real)
    assert reassign.run(path, None).changed == reference[1].changed
    assert _located(path) == reference[2]


def test_quality_cube_by_county_equals_the_one_pass_cube(reference, client):
    from console.services.quality import build_cube

    path = reference[0]
    eng = make_engine(path, must_exist=True)
    with eng.begin() as c:  # some problems to count: unlocated people and cameras
        c.exec_driver_sql("UPDATE person SET grid_code = NULL WHERE id % 97 = 0")
        c.exec_driver_sql("UPDATE camera SET grid_code = NULL WHERE id % 5 = 0")
    with Session(eng) as s:
        whole = build_cube(s)
    eng.dispose()
    local, summary = batch_quality.run(path, None, now=whole.built_at)
    remote, _ = batch_quality.run(path, client, now=whole.built_at)
    assert summary["problems"]["person_outside_grid"] > 0 and summary["problems"]["camera_unlocated"] > 0
    for cube in (local, remote):
        assert cube.problems == {k: v for k, v in whole.problems.items()}
        assert cube.records == whole.records
    batch_db._ENGINES.clear()


def test_assessment_roll_ups_equal_in_process_and_the_service(small_world_db, client):
    from console.services import areas
    from console.services import assessment as A
    from console.store import AreaScope

    month = A.Month(2026, 10)
    local, summary = batch_assessment.run(small_world_db, None, month=month)
    remote, _ = batch_assessment.run(small_world_db, client, month=month)
    assert local == remote
    levels = {t["level"] for t in local}
    assert levels == {"city", "county", "town"} and summary["tables"] == len(local)
    town = next(t for t in local if t["level"] == "town" and t["children"])
    cube, _ = batch_quality.run(small_world_db, None)
    eng = make_engine(small_world_db, must_exist=True)
    with Session(eng) as s:
        node = areas.get_node(s, town["code"])
        direct = A.assess(s, node, AreaScope.city(), month, areas.children(s, node), {}, cube)
    eng.dispose()
    assert town["total"]["score"] == direct.total.score
    assert [(c["unit"], c["score"], c["rank"]) for c in town["children"]] == \
        [(r.unit, r.score, r.rank) for r in direct.children]
    batch_db._ENGINES.clear()


def test_cli_rejects_a_bad_month_and_a_missing_database(tmp_path, capsys):
    from console.batch.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["assessment", "--db", str(tmp_path / "none.sqlite"), "--in-process", "--month", "2026-13"])
    assert "YYYY-MM" in str(exc.value)
    assert main(["quality", "--db", str(tmp_path / "none.sqlite"), "--in-process"]) == 2
    assert "数据库文件不存在" in capsys.readouterr().err


def test_a_grid_commit_during_the_job_stops_the_write(small_world_db, tmp_path):
    path = _changed_world(small_world_db, tmp_path / "race.sqlite")
    before = _located(path)
    fired = []

    def commit_meanwhile(done, total):
        if not fired:
            fired.append(done)
            eng = make_engine(path, must_exist=True)
            with eng.begin() as c:  # another planner's commit: a new generation
                c.exec_driver_sql("INSERT INTO generation (scope_code, created_at, created_by, reason) "
                                  "VALUES ('610900', '2026-11-03 00:00:00', 'other', '并发提交（测试）')")
            eng.dispose()

    with pytest.raises(reassign.BoundariesChanged, match="重新运行"):
        reassign.run(path, None, on_result=commit_meanwhile)
    assert _located(path) == before
    assert sum(reassign.run(path, None).changed.values()) > 0  # the rerun sees the new boundaries and writes


def test_partitions_cover_every_grid_code_once():
    from console.batch.parts import gaps, raw_clause

    counties = [("610902", "610903"), ("610921", "610922"), ("610922", "610923"), ("619929", "619930")]
    rest = gaps(counties)
    assert rest == ((None, "610902"), ("610903", "610921"), ("610923", "619929"), ("619930", None))
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, grid_code TEXT)")
    codes = [None, "610101001001001", "610902001001001", "610921999999999", "610922000000001", "610930",
             "619929000000000", "619930000000001", "7"]
    con.executemany("INSERT INTO t (grid_code) VALUES (?)", [(c,) for c in codes])
    parts = [("county", lo, lo, hi) for lo, hi in counties] + [("unlocated",), ("rest", rest)]
    seen = []
    for part in parts:
        where, params = raw_clause("grid_code", part, "?")
        seen += [r[0] for r in con.execute(f"SELECT id FROM t WHERE {where}", params)]
    assert sorted(seen) == list(range(1, len(codes) + 1))
