"""Batch re-assignment on PostgreSQL (docs/scale.md § Faults): the bulk write goes through COPY into a temporary
table and one UPDATE … FROM; PostgreSQL restarted in the middle of a job leaves nothing half-written and the
rerun finishes the job (tasks are pure, the write is one transaction)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from console.batch import cluster, db as batch_db, reassign
from console.store import Person, make_engine
from console.store.grid_locator import GridLocator
from tests.batch_world import merge_grid_pairs

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install -e '.[test]'")
pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="module")
def pg_world(postgres):
    from world.build import build_and_write

    url = postgres.create_database("batch_world")
    build_and_write(3, 0.01, date(2026, 11, 1), url)
    engine = make_engine(url, poolclass=NullPool)
    assert len(merge_grid_pairs(engine, 15)) == 15
    engine.dispose()
    yield postgres, url
    batch_db._ENGINES.clear()


def _restart(pg) -> None:
    pg._run("pg_ctl", "-D", str(pg.data), "-l", str(pg.log), "-m", "fast", "-w", "-t", "60", "restart")


def _persons(url) -> list:
    eng = make_engine(url, poolclass=NullPool)
    with Session(eng) as s:
        rows = s.execute(select(Person.id, Person.lon, Person.lat, Person.grid_code, Person.village_code,
                                Person.assign_generation).order_by(Person.id)).all()
    eng.dispose()
    return rows


def _as_the_locator_says(url) -> bool:
    rows = _persons(url)
    eng = make_engine(url, poolclass=NullPool)
    with Session(eng) as s:
        want = GridLocator.from_session(s).locate_many(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
    eng.dispose()
    return [(r[3], r[4], r[5]) for r in rows] == [
        (w["grid_code"], w["village_code"], w["assign_generation"]) if w else (None, None, None) for w in want]


def test_postgres_restarted_during_the_write_leaves_nothing_and_the_rerun_finishes(pg_world, monkeypatch):
    pg, url = pg_world
    before = _persons(url)
    assert not _as_the_locator_says(url)  # the merged grids' records are stale
    real = batch_db.update_by_id
    calls = []

    def restart_then_write(conn, table, *a, **kw):
        calls.append(table)
        if len(calls) == 2:  # the first table's rows are already in the transaction
            _restart(pg)
        return real(conn, table, *a, **kw)

    monkeypatch.setattr(batch_db, "update_by_id", restart_then_write)
    with pytest.raises(Exception) as exc:
        reassign.run(url, None)
    msg = str(exc.value).lower()
    assert any(word in msg for word in ("terminat", "closed", "connection")), msg
    assert _persons(url) == before  # rolled back with the connection
    monkeypatch.setattr(batch_db, "update_by_id", real)
    batch_db._ENGINES.clear()
    result = reassign.run(url, None)
    assert result.changed["person"] > 0
    assert _as_the_locator_says(url)
    eng = make_engine(url, poolclass=NullPool)
    with eng.connect() as c:  # the move log went in by COPY, in the same transaction; none from the failed try
        logged = c.exec_driver_sql("SELECT count(*), count(DISTINCT (kind, record_id)) FROM grid_move").one()
    eng.dispose()
    assert tuple(logged) == (result.moves, result.moves) and result.moves > 0
    assert sum(reassign.run(url, None).changed.values()) == 0


def test_restart_while_dask_workers_read_then_rerun_gives_the_right_result(pg_world):
    pg, url = pg_world
    eng = make_engine(url, poolclass=NullPool)
    with eng.begin() as c:  # make work again: forget the grids of some people
        c.exec_driver_sql("UPDATE person SET grid_code = NULL, village_code = NULL WHERE MOD(id, 7) = 0")
    eng.dispose()
    fired = []

    def restart_once(done, total):
        if not fired and done >= 3:
            fired.append(done)
            _restart(pg)

    with cluster.open_client(None, 2) as client:
        try:
            reassign.run(url, client, on_result=restart_once)
        except Exception:  # noqa: BLE001 - a read that hit the restart: the job failed, nothing was written
            pass
        assert fired
        reassign.run(url, client)  # the rerun (a no-op if the first run recovered through pre-ping)
    assert _as_the_locator_says(url)
