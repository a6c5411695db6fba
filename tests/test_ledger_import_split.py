"""The chunked import's save process (console/ledger_import/saver.py, docs/import.md "Two cores"): the same file
stores exactly the same as the inline save; a failure or the death of either process leaves nothing behind and
releases the write lock; another import holding the lock is waited for, then refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from console.ledger_import import saver, stream
from console.ledger_import.plan import file_hash
from console.ledgers.reader import open_ledger, read_ledger
from console.store import AreaScope, Building, Household, LedgerRow, Person, make_engine, make_session_factory
from console.store.security_models import AuditLog
from tests.test_ledger_import import PERSON_HEADER, ZIYANG, _county_office_xlsx, _household_rows, _id, _points

KIND = stream.KINDS["person"]
NAME = "实有人口台账.xlsx"


def _world(small_world_db, tmp_path, name: str):
    path = tmp_path / f"{name}.sqlite"
    shutil.copy(small_world_db, path)
    engine = make_engine(str(path), must_exist=True)
    return make_session_factory(engine)


def _ledger_rows(sessions) -> list[list]:
    """Eight persons in four households: a repeated identity number in two chunks, a row outside the county, and a
    row WITHOUT coordinates (chunk 4) at the address a row of chunk 1 registers — placed only if the planning side
    knows what the save side has registered by then."""
    pt = _points(sessions, ZIYANG, 1)[0]
    template = _household_rows(pt)[0]
    rows = []
    for i in range(8):
        row = list(template)
        row[0], row[2], row[5] = f"分{i}", _id(30 + i), f"HH-SPLIT-{i // 2}"
        row[7], row[8] = f"紫阳县城关镇分拆路{i // 2}号", f"B-SPLIT-{i // 2}"
        rows.append(row)
    rows[7][7], rows[7][8], rows[7][12], rows[7][13] = rows[0][7], "", None, None  # the address of row 0, no point
    rows[5][2] = rows[1][2]  # one identity number on two rows, two chunks apart
    rows[3][12], rows[3][13] = 100.0, 20.0  # not in Ankang
    return rows


def _import(sessions, data: bytes, split: bool):
    ledger = open_ledger(data, NAME, KIND.spec, max_rows=stream.MAX_ROWS)
    return stream.import_stream(sessions, ledger, kind_key="person", data_hash=file_hash(data), filename=NAME,
                                scope=AreaScope.of([ZIYANG]), actor="ziyang_clerk", chunk=2, split=split)


def _stored(sessions) -> dict:
    """What the import left in the database, by natural keys (ids differ between two copies only if rows did)."""
    with sessions() as s:
        # sealed columns read back through their type: the save process stores the same values as the inline save
        persons = sorted((p.id_number, p.id_number_bidx, p.name, p.grid_code, p.lon, p.lat, p.household_id, p.id_valid,
                          p.phone, p.registered_address)
                         for p in s.scalars(select(Person).where(Person.name.like("分%"))))
        households = sorted(s.execute(select(Household.code, Household.size, Household.grid_code, Building.code,
                                             Household.address)
                                      .join(Building, Building.id == Household.building_id)
                                      .where(Household.code.like("HH-SPLIT-%"))).all())
        buildings = sorted(s.execute(select(Building.code, Building.address, Building.grid_code)
                                     .where(Building.address.like("%分拆路%"))).all())
        remembered = s.scalar(select(func.count()).select_from(LedgerRow))
        audit = s.scalars(select(AuditLog.detail).where(AuditLog.action == "ledger_import")).all()
    return {"persons": persons, "households": households, "buildings": buildings, "remembered": remembered,
            "audit": audit}


def _counts(sessions) -> tuple[int, ...]:
    with sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Person, Household, Building, LedgerRow,
                                                                            AuditLog))


def test_the_save_process_stores_exactly_what_the_inline_save_stores(small_world_db, tmp_path):
    inline, split = _world(small_world_db, tmp_path, "inline"), _world(small_world_db, tmp_path, "split")
    data = _county_office_xlsx(PERSON_HEADER, _ledger_rows(inline), sheet="实有人口")
    a, b = _import(inline, data, split=False), _import(split, data, split=True)
    assert a.counts == b.counts and a.count("new") == 5 and a.count("error") == 3
    assert [(r.number, r.problems) for r in a.problem_rows] == [(r.number, r.problems) for r in b.problem_rows]
    assert b.save_process["cpu_s"] > 0 and not a.save_process
    one, two = _stored(inline), _stored(split)
    assert one == two
    assert all(p[8] for p in one["persons"]) and all(h[4].startswith("紫阳县城关镇分拆路") for h in one["households"])
    placed = [p for p in one["persons"] if p[2] == "分7"]  # no point of its own: the building of row 0 placed it
    assert placed and placed[0][3] is not None and placed[0][4] == next(p[4] for p in one["persons"] if p[2] == "分0")
    assert len(one["audit"]) == 1 and json.loads(one["audit"][0])["new"] == 5
    # the same file again through the save process: nothing changes but the audit trail
    assert _import(split, data, split=True).count("unchanged") == 5
    again = _stored(split)
    assert len(again.pop("audit")) == 2 and again == {k: v for k, v in two.items() if k != "audit"}


def test_a_failure_in_the_save_process_is_named_and_stores_nothing(small_world_db, tmp_path, capfd):
    from sqlalchemy import text

    sessions = _world(small_world_db, tmp_path, "w")
    data = _county_office_xlsx(PERSON_HEADER, _ledger_rows(sessions), sheet="实有人口")
    before = _counts(sessions)
    with sessions() as s, s.begin():  # the store refuses a person of the third chunk, after two chunks were saved
        s.execute(text("CREATE TRIGGER refuse_one BEFORE INSERT ON person WHEN NEW.name = '分4' "
                       "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    with pytest.raises(saver.SaveFailed, match="^保存失败：IntegrityError: disk full（本次未保存任何数据）$"):
        _import(sessions, data, split=True)
    assert "分4" not in capfd.readouterr().err  # the traceback names the statement, not the person
    assert _counts(sessions) == before
    _lock_is_free(sessions)


def test_a_save_process_killed_mid_import_leaves_nothing(small_world_db, tmp_path, monkeypatch):
    sessions = _world(small_world_db, tmp_path, "w")
    data = _county_office_xlsx(PERSON_HEADER, _ledger_rows(sessions), sheet="实有人口")
    before = _counts(sessions)
    real_save, sent = saver.SaveProcess.save, []

    def save_then_kill(self, verdicts):
        real_save(self, verdicts)
        sent.append(len(verdicts))
        if len(sent) == 2:  # two chunks handed over: the process dies (OOM killer, kill -9)
            time.sleep(0.5)
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    monkeypatch.setattr(saver.SaveProcess, "save", save_then_kill)
    with pytest.raises(saver.SaveFailed, match="保存进程意外退出（退出码 -9）"):
        _import(sessions, data, split=True)
    assert _counts(sessions) == before
    _lock_is_free(sessions)


def test_the_importing_process_gone_rolls_the_save_back(small_world_db, tmp_path):
    """The save process holds saved chunks when the importing side disappears (its end of the pipe closes): it
    rolls back and exits, and the database is free again."""
    from console.ledger_import.plan import plan_import

    sessions = _world(small_world_db, tmp_path, "w")
    data = _county_office_xlsx(PERSON_HEADER, _ledger_rows(sessions), sheet="实有人口")
    with sessions() as s:
        plan = plan_import(s, KIND, read_ledger(data, NAME, KIND.spec), data_hash=file_hash(data), filename=NAME,
                           scope=AreaScope.of([ZIYANG]))
    before = _counts(sessions)
    proc = saver.SaveProcess(str(sessions.kw["bind"].url), "person")
    proc.wait_locked()
    proc.save(plan.rows)
    proc._conn.close()  # as when the importing process dies
    assert proc._proc.wait(30) == 0
    assert _counts(sessions) == before
    _lock_is_free(sessions)


def test_another_import_holding_the_database_is_waited_for_then_refused(small_world_db, tmp_path):
    sessions = _world(small_world_db, tmp_path, "w")
    data = _county_office_xlsx(PERSON_HEADER, _ledger_rows(sessions), sheet="实有人口")
    before = _counts(sessions)
    other = sqlite3.connect(sessions.kw["bind"].url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="locked"):  # the command line says 数据库正由另一个导入写入
            _import(sessions, data, split=True)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert time.monotonic() - started >= 4  # it waited the busy timeout (5 s) before giving up
    assert _counts(sessions) == before


def test_pack_keeps_what_a_save_needs_and_drops_rows_with_errors():
    from datetime import date

    from console.ledger_import.plan import RowVerdict

    rows = [RowVerdict(4, "new", "k1", record={"name": "甲", "birth_date": date(1990, 1, 2), "lon": 108.5}, row_hash="h1"),
            RowVerdict(5, "error", "k2", ["缺少户号"], record={"name": "乙"}, row_hash="h2"),
            RowVerdict(6, "unchanged", "k3", record={"name": "丙", "grid_code": "x"}, row_hash="h3"),
            RowVerdict(7, "unchanged", "k4", record={"grid_code": "g", "_id": 9}, row_hash="h4", skipped=True),
            RowVerdict(8, "changed", "k5", record={"name": "丁", "birth_date": None, "lon": 108.6}, row_hash="h5")]
    back = saver.unpack(saver.pack(rows))
    assert [(r.status, r.key, r.row_hash, r.skipped, r.record) for r in back] == [
        ("new", "k1", "h1", False, {"name": "甲", "birth_date": date(1990, 1, 2), "lon": 108.5}),
        ("changed", "k5", "h5", False, {"name": "丁", "birth_date": None, "lon": 108.6}),
        ("unchanged", "k3", "h3", False, {}),
        ("unchanged", "k4", "h4", True, {"_id": 9})]  # an unchanged record: only the id it is remembered by


def _lock_is_free(sessions) -> None:
    conn = sqlite3.connect(sessions.kw["bind"].url.database, isolation_level=None, timeout=0.1)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_after_the_commit_the_save_process_checkpoints_and_exits_on_its_own(small_world_db, tmp_path, monkeypatch):
    """The import returns at the commit; the save process then copies the WAL back into the database file (with no
    reader holding an older snapshot) and exits by itself. The database file alone, without its WAL, has the rows."""
    sessions = _world(small_world_db, tmp_path, "checkpoint")
    started = []
    real_init = saver.SaveProcess.__init__

    def remember(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(saver.SaveProcess, "__init__", remember)
    data = _county_office_xlsx(PERSON_HEADER, _ledger_rows(sessions), sheet="实有人口")
    assert _import(sessions, data, split=True).count("new") == 5
    _lock_is_free(sessions)  # at once: the checkpoint never holds the write lock
    assert started[0]._proc.wait(30) == 0
    alone = tmp_path / "alone.sqlite"
    # the main file only: what the checkpoint wrote, nothing from the WAL. Copied while this process still holds its
    # pooled connections: the last connection to close would checkpoint by itself and prove nothing.
    shutil.copy(sessions.kw["bind"].url.database, alone)
    sessions.kw["bind"].dispose()
    conn = sqlite3.connect(alone)
    try:
        assert conn.execute("SELECT count(*) FROM person WHERE name LIKE '分%'").fetchone()[0] == 5
    finally:
        conn.close()
