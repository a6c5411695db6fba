"""Group commit: many concurrent requests share one transaction and one commit, and nobody is answered before it.

Leader/follower. A request thread that `submit`s a job while no one is writing becomes the *leader*: it takes
everything queued (its own job and whatever other threads queued meanwhile, up to `max_batch`), opens one write
transaction, runs each job, commits, and only then hands each job its result. Threads that submit while a batch
is being written are *followers*: their jobs wait in the queue and they block on their slot. When the leader has
committed and jobs are waiting, it hands the writing over to the writer thread (one per writer), which writes
batches until the queue is empty; then the next submitter leads again. So at low rates an event costs no thread
hand-off at all (the request thread writes its own event), and a leader writes only one batch (its answer is not
delayed by later arrivals). Every answer a client sees was committed first (durable before the 2xx, exactly as
with a commit per request), but SQLite takes its write lock, writes its WAL frames and (with synchronous=FULL)
syncs once per batch, not per event. Only one thread at a time uses the writer's connection (whoever owns the
writing: `_busy`), so sharing it between threads is safe (SQLAlchemy opens file SQLite without
check_same_thread; psycopg connections may be used from any thread).

A job is `job(raw, now) -> result`. It may raise an expected error (e.g. `IngestError`) only before it has
written anything; that error goes back to its own caller and the batch carries on. Any other exception (also a
failing commit) rolls the batch back and every job in it is run again alone, in its own transaction, so one bad
job fails only itself. When the failure was a lost connection (a PostgreSQL restart), the writer first opens a
new one: ingest jobs are idempotent (ON CONFLICT), so retrying a batch whose commit may have landed is safe.

Waiting for company: a commit costs about as much CPU as writing two or three events (BEGIN, the writers' lock,
the WAL write and its fsync), so when submits arrive faster than one per linger/COMPANY (smoothed) and fewer than
COMPANY jobs are queued, a leader waits before taking its batch: until `company` jobs are queued
(PINGAN_DUTY_BATCH, default 10; the submit that makes them so many wakes it) or `linger` has passed
(PINGAN_DUTY_LINGER_MS, default 20 ms), whichever comes first. At 500 events/s a commit then carries ~10 events
after ~18 ms, at 1,500/s after ~6 ms; when events are sparse nobody waits. Because the wait ends when the batch is
full, the request threads a stream keeps waiting is about `company` at any rate (not rate × linger): `company`
must stay well below the server's threads (`console.server` lowers it when --threads is small; docs/scale.md,
"Ingest: CPU per event").

Timeouts: a follower that got no answer within `timeout` gets TimeoutError (its job stays queued and may still
be committed: a retry with the same event_id is safe). A leader has no timeout of its own: it is the one
writing, and answers once its batch has committed or failed.

`lead=False` (or PINGAN_DUTY_LEADER=0) sends every batch to the writer thread (the design before leaders:
two thread hand-offs per event at low rates), for comparison.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
from datetime import datetime
from typing import Callable

from sqlalchemy import Engine

from console.store.session import sqlite_path

from .rawsql import Raw

log = logging.getLogger(__name__)


def lock_path(engine: Engine, name: str) -> str:
    """A lock file shared by every process using this database: beside a SQLite file, else in the temp folder
    (one per database URL; it coordinates the processes of one host)."""
    path = sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if path is not None:
        return f"{path}.{name}.lock"
    url = engine.url.render_as_string(hide_password=True)
    return os.path.join(tempfile.gettempdir(), f"pingan-{hashlib.sha256(url.encode()).hexdigest()[:16]}.{name}.lock")


# A leader lingers only when at least this many more jobs are expected within the linger (and fewer are queued):
# measured, a commit shared by two events saved no CPU against the cost of the wait; by four or more it did.
COMPANY = 3


DEFAULT_COMPANY = 10  # jobs a lingering leader waits for (PINGAN_DUTY_BATCH)
SPARE_THREADS = 6  # request threads kept free of a stream's waiting: pages, bursts, the next batch's submitters


def company_for(threads: int) -> int:
    """The company a server with `threads` request threads per process can afford: each job waiting for its
    batch holds a thread, so a batch larger than the threads could ever fill would make every leader wait the
    whole linger."""
    return max(1, min(DEFAULT_COMPANY, threads - SPARE_THREADS))


class WriterClosed(RuntimeError):
    pass


class _Slot:
    """Where the writer leaves one job's result: a pre-locked lock the writer releases (one futex wake, no
    Condition / callback machinery as in concurrent.futures.Future)."""

    __slots__ = ("done", "ok", "value", "settled")

    def __init__(self):
        self.done = threading.Lock()
        self.done.acquire()
        self.ok, self.value, self.settled = False, None, False

    def set(self, ok: bool, value) -> None:
        self.ok, self.value, self.settled = ok, value, True
        self.done.release()

    def get(self, timeout: float):
        if not self.done.acquire(timeout=timeout):
            raise TimeoutError("writer did not answer in time")
        if self.ok:
            return self.value
        raise self.value


class GroupWriter:
    def __init__(self, engine: Engine, expected: tuple[type[Exception], ...] = (), max_batch: int = 256,
                 clock: Callable[[], datetime] = datetime.utcnow, name: str = "pingan-duty-writer",
                 fsync: bool | None = None, lead: bool | None = None, linger_ms: float | None = None,
                 company: int | None = None):
        self.engine, self.expected, self.max_batch, self.clock = engine, expected, max_batch, clock
        # SQLite: the writer's own connection commits with synchronous=FULL (WAL synced at each commit), so an
        # answered event survives power loss too, not only a killed process. One fsync per batch, not per event,
        # keeps that cheap. PINGAN_DUTY_FSYNC=0 falls back to the engine's setting (NORMAL).
        self.fsync = os.environ.get("PINGAN_DUTY_FSYNC", "1") != "0" if fsync is None else fsync
        sqlite = engine.dialect.name == "sqlite"
        file = sqlite and sqlite_path(str(engine.url)) is not None
        # a :memory: SQLite connection is per thread (SingletonThreadPool, check_same_thread): no leaders there
        self.lead = (os.environ.get("PINGAN_DUTY_LEADER", "1") != "0" if lead is None else lead) and (file or not sqlite)
        # waiting for company (module docstring, `_lead`); PINGAN_DUTY_LINGER_MS=0 turns it off
        self.linger = (float(os.environ.get("PINGAN_DUTY_LINGER_MS", "20")) if linger_ms is None else linger_ms) / 1000
        # ...but only until this many jobs are queued: the leader is woken by the submit that fills its batch
        self.company = int(os.environ.get("PINGAN_DUTY_BATCH", DEFAULT_COMPANY)) if company is None else company
        self._want = 0  # while a leader lingers: the queue length that wakes it (0: nobody lingers)
        self._joined = threading.Lock()  # released by the submit that fills a lingering leader's batch
        self._joined.acquire()
        self._gap = 1.0  # seconds between submits, smoothed
        self._last_submit = 0.0
        # Several server processes on one SQLite file: their writers take turns through a file lock (a blocked
        # flock wakes the moment it is released, unlike SQLite's busy handler that sleeps in 1–100 ms steps).
        self._lock_file = open(lock_path(engine, "duty-writer"), "a+b") if file else None
        self._pending: collections.deque = collections.deque()
        self._lock = threading.Lock()  # guards _pending, _busy, _closed
        self._busy = False  # a thread (a leader or the writer thread) owns the writing and the connection
        self._closed = False
        self._stop = False
        self._kick = threading.Lock()  # released once per hand-off to the writer thread
        self._kick.acquire()
        self._finished = threading.Event()  # closed, drained, connection closed
        self._raw: Raw | None = None
        self._fairy = None
        self.stats = {"batches": 0, "jobs": 0, "max_batch": 0, "retried_alone": 0, "led": 0, "handed_off": 0,
                      "lingered": 0}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def queued(self) -> int:
        """Jobs waiting for a batch (not the ones being written)."""
        return len(self._pending)

    def submit(self, job: Callable, timeout: float = 30.0):
        """Run `job` in the next batch; its result once the batch is committed (or its exception)."""
        slot = _Slot()
        if self._enqueue([(job, slot)]):
            self._lead()
        return slot.get(timeout)

    def submit_many(self, jobs: list[Callable], timeout: float = 30.0) -> list[tuple[bool, object]]:
        """Queue all `jobs` at once (so they share batches) and wait for every one: a list of (ok, result or
        exception) in order, each available only after the batch holding that job was committed. A job the
        writer has not answered within `timeout` (counted from the start) gets (False, TimeoutError)."""
        slots = [_Slot() for _ in jobs]
        if self._enqueue(list(zip(jobs, slots))):
            self._lead()
        deadline = time.monotonic() + timeout
        out = []
        for slot in slots:
            try:
                out.append((True, slot.get(max(0.0, deadline - time.monotonic()))))
            except Exception as exc:  # noqa: BLE001 - the job's own error (or the timeout) is its result
                out.append((False, exc))
        return out

    def close(self, timeout: float = 10.0) -> None:
        """Refuse new jobs, let the jobs already queued be written, close the connection. Waits up to `timeout`
        for a batch being written (its owner then closes the connection when done)."""
        with self._lock:
            self._closed = True
            idle = not self._busy
            if idle:
                self._busy = True  # nobody is writing: the writer thread closes the connection
        if idle:
            self._kick.release()
        self._finished.wait(timeout)
        self._thread.join(max(0.0, timeout))

    # -- owning the writing ------------------------------------------------------------------------
    def _enqueue(self, items: list) -> bool:
        """Queue `items`; True when the caller is to lead (nobody was writing)."""
        now = time.monotonic()
        with self._lock:
            if self._closed:
                raise WriterClosed("writer stopped")
            self._gap += (min(now - self._last_submit, 1.0) - self._gap) * 0.2
            self._last_submit = now
            self._pending.extend(items)
            if self._busy:
                if self._want and len(self._pending) >= self._want:
                    self._want = 0
                    self._joined.release()  # the lingering leader's batch is full: it need not wait longer
                return False
            self._busy = True
            if self.lead:
                return True
            self.stats["handed_off"] += 1
        self._kick.release()  # no leaders: the writer thread writes
        return False

    def _take(self) -> list:
        """The next batch (call with `_lock` held)."""
        n = min(len(self._pending), self.max_batch)
        return [self._pending.popleft() for _ in range(n)]

    def _lead(self) -> None:
        """On the request thread that found nobody writing: one batch, then hand over or let go."""
        if self.linger and self._gap * COMPANY <= self.linger and len(self._pending) < COMPANY:
            self.stats["lingered"] += 1
            self._linger()  # busy stream, small batch: let the next few submitters join this commit
        with self._lock:
            batch = self._take()
        self.stats["led"] += 1
        try:
            self._write(batch)
        finally:
            with self._lock:
                if self._pending:
                    self.stats["handed_off"] += 1
                    handoff, final = True, False
                else:
                    self._busy, handoff, final = False, False, self._closed
                    if final:
                        self._busy = True  # closed meanwhile: this thread finishes
        if handoff:
            self._kick.release()
        elif final:
            self._finish()

    def _linger(self) -> None:
        """Wait up to `linger` for `company` jobs to be queued (woken by the submit that makes them so many)."""
        with self._lock:
            if len(self._pending) >= self.company:
                return
            self._want = self.company
        self._joined.acquire(timeout=self.linger)
        with self._lock:
            self._want = 0
        self._joined.acquire(blocking=False)  # a release that raced the timeout must not wake the next leader

    def _run(self) -> None:
        """The writer thread: woken by a hand-off, writes batches until nothing is queued."""
        while True:
            self._kick.acquire()
            if self._stop:
                return
            while True:
                with self._lock:
                    batch = self._take()
                    if not batch:
                        self._busy, final = False, self._closed
                        if final:
                            self._busy = True
                        break
                self._write(batch)
            if final:
                self._finish()
                return

    def _finish(self) -> None:
        """Closed and nothing queued, on the thread that owns the writing: close the connection, stop the thread."""
        try:
            if self._fairy is not None:
                self._fairy.close()
        finally:
            self._raw = self._fairy = None
            self._finished.set()
            if threading.current_thread() is not self._thread:
                self._stop = True
                self._kick.release()

    # -- writing (only by the owner) ---------------------------------------------------------------
    def _open(self) -> Raw:
        fairy = self.engine.raw_connection()  # a pooled connection with the engine's pragmas (WAL, busy_timeout)
        raw = Raw(fairy.dbapi_connection, self.engine.dialect.name)
        if raw.sqlite and self.fsync:
            raw.run("PRAGMA synchronous=FULL")
        self._fairy = fairy
        return raw

    def _reopen_if_lost(self, raw: Raw, exc: Exception) -> Raw:
        """A new connection when the server dropped this one (a PostgreSQL restart), else the same one. While the
        server is still down the old one is kept, so the next failing batch tries again."""
        if not self.engine.dialect.is_disconnect(exc, raw.conn, None):
            return raw
        lost = self._fairy
        try:
            raw = self._open()
        except Exception:  # noqa: BLE001 - still unreachable: this batch fails, the next one retries
            log.warning("duty writer: database connection lost, reconnecting failed", exc_info=True)
            return raw
        log.warning("duty writer: database connection lost, reconnected")
        lost.invalidate()
        return raw

    def _write(self, batch: list) -> None:
        """Write one batch and answer every job in it, whatever happens (a job never stays unanswered)."""
        try:
            if self._raw is None:
                self._raw = self._open()  # first batch (opened lazily: a failure fails this batch, not the writer)
            self._batch(batch)
        except BaseException as exc:  # noqa: BLE001 - a bug or an unreachable database: unanswered jobs get it
            log.error("duty writer: batch failed", exc_info=True)
            for _job, slot in batch:
                if not slot.settled:
                    slot.set(False, exc if isinstance(exc, Exception) else RuntimeError("writer interrupted"))

    def _batch(self, batch: list) -> None:
        self.stats["batches"] += 1
        self.stats["jobs"] += len(batch)
        self.stats["max_batch"] = max(self.stats["max_batch"], len(batch))
        try:
            results = self._transaction(self._raw, batch)
        except Exception as failure:  # noqa: BLE001 - isolate the job that broke the batch
            log.warning("duty writer: batch of %d failed, running its jobs alone", len(batch), exc_info=True)
            self.stats["retried_alone"] += 1
            self._raw = self._reopen_if_lost(self._raw, failure)
            for item in batch:
                try:
                    results = self._transaction(self._raw, [item])
                except Exception as exc:  # noqa: BLE001 - this job's own failure goes to its caller
                    results = [(False, exc)]
                    self._raw = self._reopen_if_lost(self._raw, exc)
                self._settle([item], results)
            return
        self._settle(batch, results)

    def _transaction(self, raw: Raw, batch: list) -> list:
        if self._lock_file is None:
            return self._locked_transaction(raw, batch)
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            return self._locked_transaction(raw, batch)
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _locked_transaction(self, raw: Raw, batch: list) -> list:
        results = []
        raw.begin()
        try:
            now = self.clock()
            for job, _slot in batch:
                try:
                    results.append((True, job(raw, now)))
                except self.expected as exc:
                    results.append((False, exc))
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        return results

    @staticmethod
    def _settle(batch: list, results: list) -> None:
        for (_job, slot), (ok, value) in zip(batch, results):
            slot.set(ok, value)
