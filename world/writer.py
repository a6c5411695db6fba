"""Writing a built world: bulk inserts, and an all-or-nothing swap so no half-built database is ever opened.

SQLite (the default): the world is written to `<file>.building-<pid>` by Arrow bulk ingest (ADBC), then
moved over the target with `os.replace` only after it is complete; an interrupted build leaves the
previous file (or none). PostgreSQL (a URL): the schema migrations, the index drops, the rows (COPY) and
the index builds all run in ONE transaction on one connection (PostgreSQL's DDL is transactional), so an
interrupted build leaves the database exactly as it was. A URL database that already holds a world is
refused, with or without --force: drop and re-create the database to rebuild (docs/postgresql.md).
Sensitive columns are encrypted (and their blind indexes added) on the way in (`seal_frame`), so the
file never holds a plaintext identity number or special-population detail; this needs the data key.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, inspect, select

from console.store import crypto
from console.store import Base, WorldMeta, make_engine, upgrade_schema
from console.store.dialect import after_bulk_load, bulk_insert
from console.store.sensitive import seal_frame
from console.store.session import StoreError, database_url, sqlite_path

CHUNK = 50_000


class WorldExistsError(StoreError):
    """The target database already holds a world."""


def existing_world(url: str) -> str | None:
    """Describe the world stored at `url`, or None when there is none."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("world_meta"):
            return None
        with engine.connect() as conn:
            meta = dict(conn.execute(select(WorldMeta.key, WorldMeta.value)).all())
        return f"seed {meta.get('seed')}, scale {meta.get('scale')}, built {meta.get('built_at')}" if meta else None
    finally:
        engine.dispose()


def insert_frame(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """Bulk insert of a DataFrame (columns named as in the table): COPY on PostgreSQL, executemany elsewhere."""
    if frame.empty:
        return
    cols = list(frame.columns)

    def rows():
        for start in range(0, len(frame), CHUNK):
            part = frame.iloc[start:start + CHUNK]
            values = [part[c].astype(object).where(part[c].notna(), None).tolist() for c in cols]
            yield from zip(*values)

    bulk_insert(conn, table, cols, rows())


def check_target(db: str, *, force: bool) -> None:
    """Fail early (before minutes of building) if the world could not be written to `db`."""
    crypto.require_keyring()  # sensitive columns are written encrypted
    url = database_url(db)
    path = sqlite_path(url)
    if path is not None:
        make_engine(url).dispose()  # checks that the folder exists and is writable
    found = existing_world(url)
    if found and path is None:
        raise WorldExistsError(f"目标数据库已有演示数据（{found}）；非 SQLite 数据库不支持 --force 覆盖："
                               "请删除并重建该数据库（dropdb/createdb）后再构建")
    if found and not force:
        raise WorldExistsError(f"目标数据库已有演示数据（{found}）；如需重建请加 --force（新数据构建完成后才替换旧文件）")


@contextlib.contextmanager
def atomic_target(db: str, *, force: bool) -> Iterator[Engine | Connection]:
    """Yield a fresh, migrated database that becomes `db` only if the block succeeds: an engine on a scratch
    SQLite file, or (any other database) a connection whose single transaction commits at the end."""
    check_target(db, force=force)
    url = database_url(db)
    path = sqlite_path(url)
    if path is None:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                upgrade_schema(conn)
                yield conn
        finally:
            engine.dispose()
        return
    temp = path.with_name(f"{path.name}.building-{os.getpid()}")
    for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
        leftover.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{temp}", bulk=True)
    try:
        upgrade_schema(engine)
        yield engine
        engine.dispose()
        for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        os.replace(temp, path)
    except BaseException:
        engine.dispose()
        for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
            leftover.unlink(missing_ok=True)
        raise


def _indexes_of(table_names) -> list:
    return [ix for name in table_names for ix in Base.metadata.tables[name].indexes]


def ingest_table(target, table: str, frame: pd.DataFrame) -> None:
    """Append `frame` to `table`: Arrow bulk ingest (ADBC, in C) on SQLite, `insert_frame` elsewhere."""
    if frame.empty:
        return
    frame = seal_frame(table, frame)
    if isinstance(target, Connection):
        insert_frame(target, table, frame)
    else:
        with target.cursor() as cur:
            cur.adbc_ingest(table, pa.Table.from_pandas(frame, preserve_index=False), mode="append")


def _transaction(target: Engine | Connection):
    """A transaction on an engine, or the connection whose transaction is already open (`atomic_target`)."""
    return target.begin() if isinstance(target, Engine) else contextlib.nullcontext(target)


class TableLoader:
    """Loads tables on a background thread while the world is still being synthesised.

    Arrow ingest (SQLite) and COPY (PostgreSQL) run in C, so writing persons overlaps with drawing the
    special populations and cases. Indexes are dropped first and built after the last table
    (several times faster than maintaining them row by row). Any error, in either thread, reaches
    the caller; the scratch file (or the transaction) is then thrown away by `atomic_target`.
    `engine`: the scratch SQLite engine, or the connection `atomic_target` yields (only one thread uses it
    at a time: the drops before the loader thread starts, the index builds after it has ended).
    """

    def __init__(self, engine: Engine | Connection, progress=None):
        self.engine, self.progress = engine, progress
        self.indexes = _indexes_of(engine_tables(engine))
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="world-writer", daemon=True)

    def __enter__(self) -> TableLoader:
        with _transaction(self.engine) as conn:
            for ix in self.indexes:
                ix.drop(conn)
        if self.engine.dialect.name == "sqlite":
            self.engine.dispose()  # the scratch file is ours alone while ADBC writes it
        self.thread.start()
        return self

    def put(self, name: str, frame: pd.DataFrame) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((name, frame))

    def _run(self) -> None:
        try:
            if self.engine.dialect.name == "sqlite":
                with adbc_sqlite.connect(self.engine.url.database, autocommit=True) as adbc:
                    with adbc.cursor() as cur:
                        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-500000"):
                            cur.execute(f"PRAGMA {pragma}")
                            cur.fetchall()
                    self._drain(adbc)
            else:
                with _transaction(self.engine) as conn:
                    self._drain(conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            while self.queue.get() is not None:  # let the producer finish putting
                pass

    def _drain(self, target) -> None:
        while (item := self.queue.get()) is not None:
            if item is _ABORT:
                raise RuntimeError("world build aborted")
            name, frame = item
            ingest_table(target, name, frame)
            if self.progress is not None:
                self.progress.set_postfix_str(name)

    def __exit__(self, exc_type, exc, tb) -> None:
        self.queue.put(_ABORT if exc_type else None)
        if exc_type:
            self.queue.put(None)
        self.thread.join()
        if exc_type:
            return
        if self.error is not None:
            raise self.error
        with _transaction(self.engine) as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA cache_size=-500000")
                conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
            for ix in self.indexes:
                ix.create(conn)
            after_bulk_load(conn, [Base.metadata.tables[name] for name in engine_tables(conn)])


_ABORT = ("", None)


def engine_tables(engine: Engine | Connection) -> list[str]:
    return list(Base.metadata.tables)


def load_tables(engine: Engine, tables: dict[str, pd.DataFrame], progress=None) -> None:
    """Load frames that are already built (tests, re-writes of a built world)."""
    with TableLoader(engine, progress) as loader:
        for name, frame in tables.items():
            loader.put(name, frame)
