"""Group commit: one writer thread turns many concurrent requests into one transaction and one commit.

Request threads `submit(job)` and block; the writer takes everything queued (up to `max_batch`), opens one
write transaction, runs each job, commits, and only then hands each request its result. So every answer a
client sees was committed first (durable before the 2xx, exactly as with a commit per request), but SQLite
takes its write lock, writes its WAL frames and (with synchronous=FULL) syncs once per batch, not per event,
and no request thread ever waits in SQLite's busy loop for the write lock.

A job is `job(raw, now) -> result`. It may raise an expected error (e.g. `IngestError`) only before it has
written anything; that error goes back to its own caller and the batch carries on. Any other exception rolls
the batch back and every job in it is run again alone, in its own transaction, so one bad job fails only itself.
When the failure was a lost connection (a PostgreSQL restart), the writer first opens a new one: ingest jobs are
idempotent (ON CONFLICT), so retrying a batch whose commit may have landed is safe.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import queue
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


class WriterClosed(RuntimeError):
    pass


class _Slot:
    """Where the writer leaves one job's result: a pre-locked lock the writer releases (one futex wake, no
    Condition / callback machinery as in concurrent.futures.Future)."""

    __slots__ = ("done", "ok", "value")

    def __init__(self):
        self.done = threading.Lock()
        self.done.acquire()
        self.ok, self.value = False, None

    def set(self, ok: bool, value) -> None:
        self.ok, self.value = ok, value
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
                 fsync: bool | None = None):
        self.engine, self.expected, self.max_batch, self.clock = engine, expected, max_batch, clock
        # SQLite: the writer's own connection commits with synchronous=FULL (WAL synced at each commit), so an
        # answered event survives power loss too, not only a killed process. One fsync per batch, not per event,
        # keeps that cheap. PINGAN_DUTY_FSYNC=0 falls back to the engine's setting (NORMAL).
        self.fsync = os.environ.get("PINGAN_DUTY_FSYNC", "1") != "0" if fsync is None else fsync
        # Several server processes on one SQLite file: their writers take turns through a file lock (a blocked
        # flock wakes the moment it is released, unlike SQLite's busy handler that sleeps in 1–100 ms steps).
        sqlite = engine.dialect.name == "sqlite" and sqlite_path(str(engine.url)) is not None
        self._lock_file = open(lock_path(engine, "duty-writer"), "a+b") if sqlite else None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.stats = {"batches": 0, "jobs": 0, "max_batch": 0, "retried_alone": 0}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable, timeout: float = 30.0):
        """Run `job` in the next batch; its result once the batch is committed (or its exception)."""
        slot = _Slot()
        with self._lock:
            if self._closed:
                raise WriterClosed("writer stopped")
            self._queue.put((job, slot))
        return slot.get(timeout)

    def submit_many(self, jobs: list[Callable], timeout: float = 30.0) -> list[tuple[bool, object]]:
        """Queue all `jobs` at once (so they share batches) and wait for every one: a list of (ok, result or
        exception) in order, each available only after the batch holding that job was committed. A job the
        writer has not answered within `timeout` (counted from the start) gets (False, TimeoutError)."""
        slots = [_Slot() for _ in jobs]
        with self._lock:
            if self._closed:
                raise WriterClosed("writer stopped")
            for job, slot in zip(jobs, slots):
                self._queue.put((job, slot))
        deadline = time.monotonic() + timeout
        out = []
        for slot in slots:
            try:
                out.append((True, slot.get(max(0.0, deadline - time.monotonic()))))
            except Exception as exc:  # noqa: BLE001 - the job's own error (or the timeout) is its result
                out.append((False, exc))
        return out

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    # -- the writer thread ---------------------------------------------------------------------------
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

    def _run(self) -> None:
        self._raw = self._open()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)  # stop after this batch
                        break
                    batch.append(item)
                self._batch(batch)
        finally:
            self._fairy.close()

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
            for job, _fut in batch:
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
