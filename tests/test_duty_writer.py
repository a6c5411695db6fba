"""Group commit (console.duty.writer) and the hot-path SQL (console.duty.rawsql) on a throw-away SQLite file."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import text

from console.duty.rawsql import Raw, parse_ts, ts_sqlite
from console.duty.refdata import person_facts
from console.duty.writer import GroupWriter
from console.store import make_engine


class Refused(Exception):
    pass


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(tmp_path / "w.sqlite")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    return eng


def hold(writer) -> tuple[threading.Event, threading.Thread]:
    """Keep the writer busy in a batch of its own until the returned gate is set."""
    gate, started = threading.Event(), threading.Event()

    def job(raw, now):
        started.set()
        gate.wait(60)

    holder = threading.Thread(target=writer.submit, args=(job,))
    holder.start()
    assert started.wait(30)
    return gate, holder


def wait_queued(writer, n: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while writer._queue.qsize() < n:
        assert time.monotonic() < deadline, f"only {writer._queue.qsize()} of {n} jobs queued"
        time.sleep(0.01)


def rows(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM t ORDER BY id"))]


def insert(v):
    return lambda raw, now: raw.one("INSERT INTO t (v) VALUES (:v) RETURNING id", {"v": v})[0]


def test_concurrent_jobs_share_batches_and_each_answer_comes_after_its_commit(engine):
    writer = GroupWriter(engine)
    gate, first = hold(writer)  # the next jobs pile up meanwhile and must go out together
    answers, seen_committed = {}, {}

    def client(i):
        answers[i] = writer.submit(insert(f"v{i}"))
        with engine.connect() as conn:  # another connection: the row must already be committed
            seen_committed[i] = conn.execute(text("SELECT count(*) FROM t WHERE v = :v"), {"v": f"v{i}"}).scalar()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    wait_queued(writer, 20)
    gate.set()
    for t in threads + [first]:
        t.join(60)
    writer.close()
    assert sorted(answers) == list(range(20)) and len(set(answers.values())) == 20
    assert all(n == 1 for n in seen_committed.values())
    assert writer.stats["batches"] == 2 and writer.stats["max_batch"] == 20
    assert sorted(rows(engine)) == sorted(f"v{i}" for i in range(20))


def test_expected_error_fails_only_its_job_and_the_batch_commits(engine):
    writer = GroupWriter(engine, expected=(Refused,))

    def refuse(raw, now):
        raise Refused("no")

    results = {}

    def run(name, job):
        try:
            results[name] = writer.submit(job)
        except Refused as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=(n, j)) for n, j in
               (("a", insert("a")), ("bad", refuse), ("b", insert("b")))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    writer.close()
    assert isinstance(results["bad"], Refused)
    assert set(rows(engine)) == {"a", "b"} and writer.stats["retried_alone"] == 0


def test_a_broken_job_rolls_back_the_batch_and_the_others_are_retried_alone(engine):
    writer = GroupWriter(engine)
    gate, holder = hold(writer)
    results = {}

    def run(name, job):
        try:
            results[name] = writer.submit(job)
        except Exception as exc:  # noqa: BLE001
            results[name] = exc

    # "dup" writes a row and then breaks (unique violation): nothing of it may stay, the others must commit
    def dup(raw, now):
        raw.run("INSERT INTO t (v) VALUES ('half')")
        raw.run("INSERT INTO t (v) VALUES ('half')")

    threads = [threading.Thread(target=run, args=(n, j)) for n, j in (("x", insert("x")), ("dup", dup), ("y", insert("y")))]
    for t in threads:
        t.start()
    wait_queued(writer, 3)
    gate.set()
    for t in threads + [holder]:
        t.join(60)
    writer.close()
    assert isinstance(results["dup"], Exception) and isinstance(results["x"], int) and isinstance(results["y"], int)
    assert set(rows(engine)) == {"x", "y"} and writer.stats["retried_alone"] == 1


def test_times_are_stored_in_sqlalchemys_format():
    assert ts_sqlite(datetime(2026, 11, 26, 9, 0, 0)) == "2026-11-26 09:00:00.000000"
    assert ts_sqlite(datetime(2026, 11, 26, 9, 0, 0, 5)) == "2026-11-26 09:00:00.000005"
    assert parse_ts("2026-11-26 09:00:00.000005") == datetime(2026, 11, 26, 9, 0, 0, 5)
    assert parse_ts(None) is None


def test_named_parameters_are_rewritten_for_pyformat_drivers():
    raw = Raw(None, "postgresql")
    assert raw._q("SELECT 1 FROM t WHERE a = :a AND b = 'x' AND c::text = :c") == \
        "SELECT 1 FROM t WHERE a = %(a)s AND b = 'x' AND c::text = %(c)s"
    assert Raw(None, "sqlite")._q("SELECT :a") == "SELECT :a"


def test_person_facts_pick_the_record_matching_the_event_kind():
    specials = [{"category": "correction", "risk_level": None, "county": "610902", "town": "610902001",
                 "village": "610902001001", "grid": "610902001001001", "details": {"fence": [[1, 2]]},
                 "lon": 109.0, "lat": 32.7},
                {"category": "mental", "risk_level": 4, "county": "610921", "town": "610921001",
                 "village": "610921001001", "grid": "610921001001001", "details": {}, "lon": 108.5, "lat": 33.0}]
    tag = person_facts(specials, "tag_position")
    assert tag["person"]["category"] == "correction" and tag["person"]["fence"] == [[1, 2]]
    assert tag["home"]["county"] == "610902"
    missing = person_facts(specials, "missing_person")
    assert missing["person"]["risk_level"] == 4 and missing["home"]["grid"] == "610921001001001"
    assert person_facts(specials, "grid_report")["person"]["category"] == "correction"  # first record
    assert person_facts([], "tag_position") == {}
