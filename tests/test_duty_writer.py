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
    while writer.queued() < n:
        assert time.monotonic() < deadline, f"only {writer.queued()} of {n} jobs queued"
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


def test_a_lone_job_is_written_on_its_callers_thread_and_without_leaders_on_the_writer_thread(engine):
    where = []

    def job(raw, now):
        where.append(threading.current_thread())
        return insert("solo")(raw, now)

    writer = GroupWriter(engine)
    assert isinstance(writer.submit(job), int)
    assert where == [threading.current_thread()]  # the leader: no hand-off to another thread
    assert writer.stats["led"] == 1 and writer.stats["handed_off"] == 0
    writer.close()
    classic = GroupWriter(engine, lead=False)
    where.clear()
    with pytest.raises(Exception, match="UNIQUE"):  # "solo" again: the writer thread ran it, the error came back
        classic.submit(job)
    assert set(where) == {classic._thread} and classic.stats["led"] == 0 and classic.stats["handed_off"] == 1
    classic.close()
    assert rows(engine) == ["solo"]


def test_many_threads_submitting_at_once_all_get_answers_each_after_its_commit(engine):
    writer = GroupWriter(engine)
    n_threads, per_thread = 16, 40
    answers, not_committed, errors = {}, [], []

    def client(t):
        with engine.connect() as conn:  # another connection: an answered row must already be committed
            for i in range(per_thread):
                v = f"t{t}-{i}"
                try:
                    answers[v] = writer.submit(insert(v))
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)
                    continue
                if conn.execute(text("SELECT count(*) FROM t WHERE v = :v"), {"v": v}).scalar() != 1:
                    not_committed.append(v)
                conn.rollback()  # end the read transaction: the next check sees later commits

    threads = [threading.Thread(target=client, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    writer.close()
    assert errors == [] and not_committed == []
    assert len(answers) == n_threads * per_thread and len(set(answers.values())) == len(answers)
    assert len(rows(engine)) == n_threads * per_thread == writer.stats["jobs"]
    assert writer.stats["led"] >= 1 and writer.stats["batches"] <= writer.stats["jobs"]


def test_a_broken_job_in_a_leaders_batch_fails_only_itself(engine):
    writer = GroupWriter(engine)

    def dup(raw, now):  # writes a row, then breaks (unique violation): nothing of it may stay
        raw.run("INSERT INTO t (v) VALUES ('half')")
        raw.run("INSERT INTO t (v) VALUES ('half')")

    out = writer.submit_many([insert("x"), dup, insert("y")])  # nobody writing: this thread leads all three
    assert writer.stats["led"] == 1 and writer.stats["handed_off"] == 0 and writer.stats["retried_alone"] == 1
    assert [ok for ok, _v in out] == [True, False, True] and "UNIQUE" in str(out[1][1])
    with pytest.raises(Exception, match="UNIQUE"):  # alone, as the leader's own job: its error to its caller
        writer.submit(dup)
    assert isinstance(writer.submit(insert("z")), int)  # the writer carries on
    writer.close()
    assert set(rows(engine)) == {"x", "y", "z"}


def test_a_job_whose_commit_fails_is_never_answered_as_done(engine):
    """The commit itself fails (a deferred foreign key is checked at COMMIT): the job's caller gets the error,
    not the result its job returned before the commit; the other jobs of the batch are committed."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER"
                          " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"))

    def orphan(raw, now):
        raw.run("INSERT INTO child (parent_id) VALUES (404)")
        return "done"  # the job itself succeeds; only the commit refuses it

    writer = GroupWriter(engine)
    with pytest.raises(Exception, match="FOREIGN KEY"):
        writer.submit(orphan)  # the leader's own job
    out = writer.submit_many([insert("a"), orphan, insert("b")])
    gate, holder = hold(writer)  # now as followers, written by the writer thread after a hand-off
    late = {}
    follower = threading.Thread(target=lambda: late.update(r=writer.submit_many([orphan, insert("c")])))
    follower.start()
    wait_queued(writer, 2)
    gate.set()
    for t in (holder, follower):
        t.join(60)
    writer.close()
    assert [ok for ok, _v in out] == [True, False, True] and "FOREIGN KEY" in str(out[1][1])
    assert late["r"][0][0] is False and "FOREIGN KEY" in str(late["r"][0][1]) and late["r"][1][0] is True
    assert set(rows(engine)) == {"a", "b", "c"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM child")).scalar() == 0


def test_close_while_a_leader_writes_lets_it_and_the_queued_jobs_finish_then_closes(engine):
    writer = GroupWriter(engine)
    gate, holder = hold(writer)  # a request thread is the leader, inside its batch
    answers = {}
    followers = [threading.Thread(target=lambda i=i: answers.update({i: writer.submit(insert(f"f{i}"))}))
                 for i in range(5)]
    for t in followers:
        t.start()
    wait_queued(writer, 5)
    closer = threading.Thread(target=writer.close, kwargs={"timeout": 60})
    closer.start()
    time.sleep(0.3)
    assert closer.is_alive() and not writer._finished.is_set()  # close waits for the batch being written
    with pytest.raises(Exception, match="stopped"):  # but refuses new jobs at once
        writer.submit(insert("late"))
    gate.set()
    for t in [holder, closer, *followers]:
        t.join(60)
    assert sorted(answers) == list(range(5)) and all(isinstance(v, int) for v in answers.values())
    assert sorted(rows(engine)) == [f"f{i}" for i in range(5)]
    assert writer._finished.is_set() and writer._fairy is None and not writer._thread.is_alive()
    writer.close()  # twice: nothing left to do


def test_close_of_an_idle_writer_closes_its_connection_and_thread(engine):
    writer = GroupWriter(engine)
    writer.submit(insert("once"))
    writer.close()
    assert writer._fairy is None and not writer._thread.is_alive()
    with pytest.raises(Exception, match="stopped"):
        writer.submit_many([insert("after")])


def test_a_follower_that_waits_too_long_gets_a_timeout_and_its_job_is_still_written(engine):
    writer = GroupWriter(engine)
    gate, holder = hold(writer)
    with pytest.raises(TimeoutError):
        writer.submit(insert("slow"), timeout=0.2)
    gate.set()
    holder.join(60)
    writer.close()
    assert rows(engine) == ["slow"]  # a retry with the same event_id is safe either way (ON CONFLICT)


def test_in_a_busy_stream_the_leader_waits_for_company_and_a_slow_stream_waits_for_nobody(engine):
    writer = GroupWriter(engine, linger_ms=30)
    for i in range(5):  # 10/s: no company expected, every event written at once
        started = time.monotonic()
        writer.submit(insert(f"slow{i}"))
        assert time.monotonic() - started < 0.03 or writer.stats["lingered"] == 0
        time.sleep(0.1)
    assert writer.stats["lingered"] == 0 and writer.stats["max_batch"] == 1
    done, threads = [], []
    for i in range(80):  # an open stream, one submitter every 2 ms (like requests): the leaders linger
        threads.append(threading.Thread(target=lambda i=i: done.append(writer.submit(insert(f"busy{i}")))))
        threads[-1].start()
        time.sleep(0.002)
    for t in threads:
        t.join(120)
    writer.close()
    assert len(done) == 80 and len(rows(engine)) == 85
    assert writer.stats["lingered"] >= 1 and writer.stats["max_batch"] >= 4
    assert writer.stats["batches"] < writer.stats["jobs"] / 2  # commits shared


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


def test_a_lingering_leader_is_woken_by_the_submit_that_fills_its_batch(engine):
    writer = GroupWriter(engine, linger_ms=5000, company=4)
    writer._gap = 0.0  # a busy stream: the next leader lingers
    started = time.monotonic()
    done, threads = [], []
    for i in range(4):  # the leader and three followers: the third follower fills the batch
        threads.append(threading.Thread(target=lambda i=i: done.append(writer.submit(insert(f"c{i}")))))
        threads[-1].start()
        time.sleep(0.05)
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - started
    assert len(done) == 4 and elapsed < 2.0  # not the 5 s linger
    assert writer.stats["lingered"] == 1 and writer.stats["max_batch"] == 4 and writer.stats["batches"] == 1
    # ...and a wake-up that came too late leaves nothing behind: the next lingering leader waits again
    writer._gap, writer._last_submit = 0.0, time.monotonic()
    writer.linger = 0.3
    started = time.monotonic()
    writer.submit(insert("alone"))
    assert time.monotonic() - started >= 0.29
    writer.close()
    assert sorted(rows(engine)) == ["alone", "c0", "c1", "c2", "c3"]


def test_the_company_a_server_asks_for_fits_in_its_threads():
    from console.duty.writer import DEFAULT_COMPANY, company_for

    assert company_for(16) == DEFAULT_COMPANY == 10
    assert company_for(8) == 2 and company_for(4) == 1 and company_for(64) == DEFAULT_COMPANY
