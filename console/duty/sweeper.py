"""The duty desk's background sweeper: cameras silent for too long become alerts, unacknowledged alerts past their
limit escalate (every `[camera_offline] sweep_seconds`, 30 s); overdue follow-ups become alerts once an hour
(`[followup_overdue] sweep_minutes`): they fall due by the day, and the query reads every special-population record.
One process sweeps at a time: on SQLite through a file lock beside the database, on PostgreSQL through a
session-level advisory lock, which reaches every console node of the database (docs/deploy.md)."""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from datetime import datetime

from .actions import auto_escalate
from .followup_sweep import followup_sweep
from .ingest import Ingestor, offline_sweep
from .task_sweep import task_sweep
from console.store.dialect import DUTY_SWEEP_LOCK

from .writer import lock_path

SWEEP_CHUNK = 200
log = logging.getLogger(__name__)


STEPS = ("offline", "escalated", "followup", "task_overdue")


def due_steps(config: dict, now: float, last_run: dict[str, float]) -> list[str]:
    """Which sweep steps are due at monotonic time `now`, given when each last ran (absent: never)."""
    every = {"offline": float((config.get("camera_offline") or {}).get("sweep_seconds", 30)),
             "escalated": float((config.get("camera_offline") or {}).get("sweep_seconds", 30)),
             "followup": 60.0 * float((config.get("followup_overdue") or {}).get("sweep_minutes", 60)),
             "task_overdue": float((config.get("task_overdue") or {}).get("sweep_seconds", 60))}
    return [name for name in STEPS if name not in last_run or now - last_run[name] >= every[name]]


def sweep_once(ingestor: Ingestor, steps: tuple[str, ...] | list[str] = STEPS) -> dict:
    # In rounds of at most SWEEP_CHUNK rows, each its own short transaction: a sweep that finds thousands of
    # silent cameras or overdue alerts must not hold SQLite's write lock for seconds while ingest waits.
    now = datetime.utcnow()
    out: dict = {name: [] for name in steps}
    for name, step in (("offline", lambda s: offline_sweep(s, ingestor.config, now, SWEEP_CHUNK)),
                       ("escalated", lambda s: auto_escalate(s, now, SWEEP_CHUNK)),
                       ("followup", lambda s: followup_sweep(s, ingestor.config, _beijing_today(now),
                                                             SWEEP_CHUNK)),
                       ("task_overdue", lambda s: task_sweep(s, ingestor.config, now, SWEEP_CHUNK))):
        if name not in steps:
            continue
        while True:
            with ingestor.sessions() as s, s.begin():
                done = step(s)
            out[name] += done
            if len(done) < SWEEP_CHUNK:
                break
    return out


class SweepLock:
    """The one-sweeper-at-a-time lock. SQLite: an exclusive flock on `<db>.duty-sweep.lock`, held while this
    process lives. PostgreSQL: `pg_advisory_lock` on a connection of its own, held while that connection lives;
    when the node dies (or the database restarts) the lock is gone and another node's sweeper takes over."""

    def __init__(self, engine):
        self.engine, self._held = engine, None

    def ensure(self) -> None:
        """Block until this process holds the lock (again, after a lost PostgreSQL connection)."""
        if self.engine.dialect.name != "postgresql":
            if self._held is None:
                self._held = open(lock_path(self.engine, "duty-sweep"), "a+b")
                fcntl.flock(self._held, fcntl.LOCK_EX)  # held until this process exits (the file stays open)
            return
        while True:
            if self._held is not None:
                try:
                    cur = self._held.cursor()
                    cur.execute("SELECT 1")
                    cur.close()
                    self._held.commit()
                    return
                except Exception:  # noqa: BLE001 - connection lost: so is the lock
                    log.warning("duty sweep lock connection lost; waiting for the lock again")
                    self._held = None
            try:
                raw = self.engine.raw_connection()
                raw.detach()  # held for the process's life, not the pool's
                cur = raw.cursor()
                cur.execute("SELECT pg_advisory_lock(%s)", (DUTY_SWEEP_LOCK,))
                cur.close()
                raw.commit()  # a session-level lock outlives the transaction
                self._held = raw
                return
            except Exception:  # noqa: BLE001 - the database is away; try again
                log.warning("duty sweep lock unavailable; retrying", exc_info=True)
                time.sleep(2.0)

    def held_by_me(self) -> bool:
        return self._held is not None


def start_sweeper(ingestor: Ingestor) -> threading.Thread:
    """The sweeper thread. Every server process starts one, but it first waits for an exclusive file lock on the
    database (`<db>.duty-sweep.lock`) or, on PostgreSQL, an advisory lock (`SweepLock`), so exactly one process
    sweeps at a time; when that process dies, the lock is released and another one's sweeper takes over."""
    every = float((ingestor.config.get("camera_offline") or {}).get("sweep_seconds", 30))

    def run():
        hold = SweepLock(ingestor.engine)
        last_run: dict[str, float] = {}
        while True:
            hold.ensure()
            started = time.monotonic()
            steps = due_steps(ingestor.config, started, last_run)
            try:
                sweep_once(ingestor, steps)
            except Exception:  # a failed sweep must not stop ingest; the next round retries
                log.exception("duty sweep failed")
            last_run.update(dict.fromkeys(steps, started))
            time.sleep(every)

    thread = threading.Thread(target=run, name="pingan-duty-sweep", daemon=True)
    thread.start()
    return thread


def _beijing_today(utc_now: datetime):
    """Follow-ups fall due by the calendar day in Ankang (UTC+8), not by UTC."""
    from datetime import timedelta

    return (utc_now + timedelta(hours=8)).date()
