"""A month of patrols, events and tasks written straight into a copy of the small world with sqlite3 (as
another tool would write them: whole-second times, no SQLAlchemy), for the 督导考评 tests."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

from console.services.assessment import Month

MONTH = Month(2026, 10)
COUNTIES = ("610902", "610921")  # 汉滨区, 汉阴县


def write_month(small_world_db: str, path: Path) -> str:
    shutil.copy(small_world_db, path)
    db = sqlite3.connect(path)
    for table in ("patrol_checkin", "patrol", "field_task_step", "field_task", "event"):  # the world's own month
        db.execute(f"DELETE FROM {table}")
    by_county = [db.execute("SELECT id, county_code, grid_code FROM household WHERE county_code = ? ORDER BY id",
                            (c,)).fetchall() for c in COUNTIES]
    households = [h for pair in zip(*by_county) for h in pair]  # both counties from the first row on
    start = MONTH.start_utc
    for n, (hid, county, grid) in enumerate(households[::7]):
        pid = db.execute("INSERT INTO patrol (uuid, worker, started_at, ended_at, distance_m, points, track, "
                         "county_code, town_code, village_code, grid_code) VALUES (?,?,?,?,0,0,'',?,?,?,?)",
                         (str(uuid.uuid4()), f"gw{n % 5}", start + timedelta(minutes=20 * n),
                          start + timedelta(minutes=20 * n + 60),
                          county, grid[:9], grid[:12], grid)).lastrowid
        for k in range(2 if n % 3 == 0 else 1):  # visited twice: still one household
            at = start + timedelta(minutes=20 * n + k) if n % 11 else start - timedelta(hours=1)  # some before
            db.execute("INSERT INTO patrol_checkin (uuid, patrol_id, kind, household_id, at) VALUES (?,?,?,?,?)",
                       (str(uuid.uuid4()), pid, "household", hid, at))
    for n, (hid, county, grid) in enumerate(households[:300]):
        occurred = start + timedelta(hours=n * 2)
        delay = timedelta(minutes=(n * 37) % 300)  # 0 … 5 h: some beyond 2 h
        db.execute("INSERT INTO event (source, source_event_id, kind, occurred_at, received_at, payload, "
                   "county_code, town_code, village_code, grid_code) VALUES ('t', ?, 'patrol', ?, ?, '{}', ?,?,?,?)",
                   (f"e{n}", occurred, occurred + delay, county, grid[:9], grid[:12], grid))
    for n, (hid, county, grid) in enumerate(households[:120]):
        due = start + timedelta(days=n % 30, hours=12)
        tid = db.execute("INSERT INTO field_task (assignee, title, note, state, due_at, created_by, created_at, "
                         "updated_at, report, county_code, town_code, village_code, grid_code) "
                         "VALUES (?, '核查', '', ?, ?, 'duty', ?, ?, '', ?,?,?,?)",
                         (f"gw{n % 5}", "reported" if n % 4 else "accepted", due, due - timedelta(days=2), due,
                          county, grid[:9], grid[:12], grid)).lastrowid
        if n % 4:
            done = due - timedelta(hours=1) if n % 4 != 3 else due + timedelta(hours=5)
            db.execute("INSERT INTO field_task_step (task_id, at, actor, action, from_state, to_state, text) "
                       "VALUES (?,?,?,'report','handling','reported','')", (tid, done, f"gw{n % 5}"))
    db.commit()
    db.close()
    return str(path)
