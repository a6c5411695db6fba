"""The duty desk's background sweeper: cameras silent for too long become alerts, unacknowledged alerts past their
limit escalate. One process sweeps at a time (a file lock beside the database; an advisory lock on PostgreSQL is
the writer's business, see docs/postgresql.md)."""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from datetime import datetime

from .actions import auto_escalate
from .followup_sweep import followup_sweep
from .ingest import Ingestor, offline_sweep
from .writer import lock_path

SWEEP_CHUNK = 200
log = logging.getLogger(__name__)


def sweep_once(ingestor: Ingestor) -> dict:
    # In rounds of at most SWEEP_CHUNK rows, each its own short transaction: a sweep that finds thousands of
    # silent cameras or overdue alerts must not hold SQLite's write lock for seconds while ingest waits.
    now = datetime.utcnow()
    out: dict = {"offline": [], "escalated": [], "followup": []}
    for name, step in (("offline", lambda s: offline_sweep(s, ingestor.config, now, SWEEP_CHUNK)),
                       ("escalated", lambda s: auto_escalate(s, now, SWEEP_CHUNK)),
                       ("followup", lambda s: followup_sweep(s, ingestor.config, _beijing_today(now),
                                                             SWEEP_CHUNK))):
        while True:
            with ingestor.sessions() as s, s.begin():
                done = step(s)
            out[name] += done
            if len(done) < SWEEP_CHUNK:
                break
    return out


def start_sweeper(ingestor: Ingestor) -> threading.Thread:
    """The sweeper thread. Every server process starts one, but it first waits for an exclusive file lock on the
    database (`<db>.duty-sweep.lock`), so exactly one process sweeps at a time; when that process dies, the lock
    is released and another one's sweeper takes over."""
    every = float((ingestor.config.get("camera_offline") or {}).get("sweep_seconds", 30))

    def run():
        lock = open(lock_path(ingestor.engine, "duty-sweep"), "a+b")
        fcntl.flock(lock, fcntl.LOCK_EX)  # held until this process exits (the file stays open)
        while True:
            try:
                sweep_once(ingestor)
            except Exception:  # a failed sweep must not stop ingest; the next round retries
                log.exception("duty sweep failed")
            time.sleep(every)

    thread = threading.Thread(target=run, name="pingan-duty-sweep", daemon=True)
    thread.start()
    return thread


def _beijing_today(utc_now: datetime):
    """Follow-ups fall due by the calendar day in Ankang (UTC+8), not by UTC."""
    from datetime import timedelta

    return (utc_now + timedelta(hours=8)).date()
