"""The 数据质量 cube kept in the database (table `quality_cell`): a cold page reads a few thousand counts instead of
scanning 2.5 M persons (12.7 s at full scale). A refresh checks the identity numbers written without their
check flag (`verify_ids`), builds the cube (quality.build_cube) and replaces the stored one in one transaction.

When: after every saved import (views.records_changed starts one in the background, of the tables the import
changed; requests while one runs are merged into one more), after a grid commit (every table), and when a page
finds the stored cube older than MAX_AGE. Meanwhile pages show the stored cube with its time (the oldest part's).
docs/import.md, 数据质量."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update

from console.store import Person
from console.store.bulk import insert_rows
from console.store.identity import id_number_valid
from console.store.import_models import QualityCell

from . import quality

MAX_AGE = timedelta(minutes=5)
RECORDS = "records:"  # item prefix of the per-table record counts
VERIFY_BATCH = 20_000


def verify_ids(sessions, batch: int = VERIFY_BATCH) -> int:
    """Check the sealed identity numbers of persons whose `id_valid` is unknown (bulk imports, other tools): each
    is decrypted once and its flag stored. 境外人员 carry document numbers, not 公民身份号码: left unknown. Returns the
    number checked. Short transactions, one batch each; `updated_at` is left as it was (not a change of the record)."""
    done = 0
    stmt = (update(Person.__table__).where(Person.__table__.c.id == bindparam("pid"))
            .values(id_valid=bindparam("ok"), updated_at=Person.__table__.c.updated_at))
    last = 0
    while True:
        with sessions() as s, s.begin():
            rows = s.execute(select(Person.id, Person.id_number)
                             .where(Person.id > last, Person.id_valid.is_(None), Person.residence_type != "foreign")
                             .order_by(Person.id).limit(batch)).all()
            if not rows:
                return done
            s.connection().execute(stmt, [{"pid": pid, "ok": id_number_valid(number or "")} for pid, number in rows])
        last = rows[-1][0]
        done += len(rows)


def tables_of(model) -> tuple[str, ...]:
    """The tables the checks read that saving records of `model` changes: a person ledger creates households
    (以房管人); other kinds change their own table, or none the checks read."""
    name = model.__tablename__
    touched = (name, "household") if name == "person" else (name,)
    return tuple(t for t in touched if t in quality.TABLES)


def save_cube(session, cube: quality.QualityCube) -> None:
    """Replace the stored counts of the tables in `cube` (the caller's transaction)."""
    items = [c.key for c in quality.CHECKS if c.model.__tablename__ in cube.records]
    items += [RECORDS + t for t in cube.records]
    session.execute(delete(QualityCell).where(QualityCell.item.in_(items)))
    rows = []
    for item, table in [*cube.problems.items(), *((RECORDS + t, keys) for t, keys in cube.records.items())]:
        for (county, town, village, grid), n in table.items():
            rows.append({"item": item, "county_code": county, "town_code": town, "village_code": village,
                         "grid_code": grid, "n": n, "built_at": cube.built_at})
    insert_rows(session, QualityCell, rows)


def load_cube(session) -> quality.QualityCube | None:
    """The stored cube, or None when there is none (a database never refreshed)."""
    t = QualityCell.__table__.c
    rows = session.execute(select(t.item, t.county_code, t.town_code, t.village_code, t.grid_code, t.n, t.built_at)
                           ).all()
    if not rows:
        return None
    cube = quality.QualityCube(built_at=min(r[6] for r in rows))
    cube.problems = {c.key: {} for c in quality.CHECKS}
    for item, county, town, village, grid, n, _at in rows:
        key = (county, town, village, grid)
        if item.startswith(RECORDS):
            cube.records.setdefault(item[len(RECORDS):], {})[key] = n
        elif item in cube.problems:
            cube.problems[item][key] = n
    if any(k not in cube.records for k in {c.model.__tablename__ for c in quality.CHECKS}):
        return None  # stored by a version with other tables: build again
    return cube


def refresh(sessions, now: datetime | None = None, tables=None, *, verify: bool = True) -> quality.QualityCube:
    """Check unknown identity numbers (unless `verify` is False: a page waiting for its first cube), build the
    cube (of `tables` only, when given) and store it."""
    if verify and (tables is None or "person" in tables):
        verify_ids(sessions)
    with sessions() as s, s.begin():
        cube = quality.build_cube(s, now, tables)
        save_cube(s, cube)
    return cube


class Refresher:
    """One background refresh at a time per database; a request during a refresh runs it once more after."""

    def __init__(self, sessions, on_done=None):
        self.sessions = sessions
        self.on_done = on_done
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending: set[str] | None = set()  # tables asked for; None: all
        self.error: Exception | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def request(self, tables=None) -> None:
        """Recount `tables` (None: every table the checks read); requests during a refresh are merged into one
        more refresh after it."""
        with self._lock:
            if tables is None or self._pending is None:
                self._pending = None
            else:
                self._pending |= set(tables)
            if self._thread is None and self._pending != set():
                self._thread = threading.Thread(target=self._run, name="pingan-quality-refresh", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                tables, self._pending = self._pending, set()
                if tables == set():
                    self._thread = None
                    return
            try:
                with self.sessions() as s:
                    whole = load_cube(s) is None  # nothing stored yet: every table
                cube = refresh(self.sessions, tables=None if whole else tables)
                self.error = None
                if self.on_done is not None:
                    self.on_done(cube)
            except Exception as exc:  # noqa: BLE001 - kept for the page; the stored cube stays as it was
                self.error = exc

    def wait(self, timeout: float = 600) -> None:
        """Until no refresh runs (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                thread = self._thread
            if thread is None:
                return
            thread.join(max(0.0, deadline - time.monotonic()))
