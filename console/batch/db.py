"""Database access of the batch tasks: one engine per database and process (a worker runs many tasks), plain
DB-API reads, and the one bulk write of a job (COPY on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine

from console.store import make_engine
from console.store.dialect import bulk_insert, placeholder
from console.store.session import database_url

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def engine_for(db: str) -> Engine:
    url = database_url(db)
    with _LOCK:
        eng = _ENGINES.get(url)
        if eng is None:
            eng = _ENGINES[url] = make_engine(url, must_exist=True, pool_pre_ping=True)
        return eng


def fetch_columns(db: str, sql_for_mark, n_cols: int) -> list[list]:
    """Run `sql_for_mark(mark) -> (sql, params)` and return its result column by column."""
    eng = engine_for(db)
    with eng.connect() as conn:
        sql, params = sql_for_mark(placeholder(conn))
        cur = conn.connection.dbapi_connection.cursor()
        try:
            cur.execute(sql, params)
            rows = cur.fetchall()
        finally:
            cur.close()
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(n_cols)]


def floats(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def update_by_id(conn, table: str, columns: Sequence[str], rows: list[tuple], tmp_types: Sequence[str]) -> int:
    """UPDATE `table` SET columns = … for rows (id, *values), through a temporary table filled in bulk (COPY on
    PostgreSQL, executemany on SQLite) and one UPDATE … FROM. On the caller's connection and transaction."""
    if not rows:
        return 0
    tmp = f"_batch_{table}"
    cols = ["id", *columns]
    defs = ", ".join(f"{c} {t}" for c, t in zip(cols, ["BIGINT", *tmp_types]))
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {tmp}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {tmp} ({defs})")
    bulk_insert(conn, tmp, cols, rows)
    sets = ", ".join(f"{c} = {tmp}.{c}" for c in columns)
    conn.exec_driver_sql(f"UPDATE {table} SET {sets} FROM {tmp} WHERE {table}.id = {tmp}.id")
    conn.exec_driver_sql(f"DROP TABLE {tmp}")
    return len(rows)
