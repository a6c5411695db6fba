"""Where SQLite and PostgreSQL differ, in one place. Everything else in the store is portable SQL or Core.

- `year_month(col)`: 'YYYY-MM' of a timestamp (SQLite strftime, PostgreSQL to_char).
- `seconds_between(later, earlier)`: seconds from one timestamp to another (SQLite julianday, PostgreSQL epoch).
- `instant(dt)`: a timestamp bound for range filters. SQLite keeps timestamps as text, with microseconds when
  SQLAlchemy wrote them and without when sqlite3 or another tool did ('… 16:00:00' sorts before
  '… 16:00:00.000000'): a whole-second bound is sent without microseconds, so both spellings compare right.
- `placeholder(conn)`: the DB-API parameter mark of a raw statement ('?' sqlite3, '%s' psycopg).
- `serialise_writers(cursor, dialect)`: the duty writer's lock for one transaction (SQLite: BEGIN IMMEDIATE takes
  the database write lock; PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback).
- `bulk_insert(conn, table, columns, rows)`: COPY on PostgreSQL (psycopg), executemany elsewhere.
- `after_bulk_load(conn, tables)`: PostgreSQL serial sequences moved past rows inserted with explicit ids (else
  the next ORM insert would reuse id 1), then ANALYZE; SQLite: ANALYZE.

Row locks need no switch: a no-op `UPDATE … WHERE pk = …` (planner commit, audit head) takes SQLite's database
write lock and PostgreSQL's row lock, both held to the end of the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from datetime import datetime

from sqlalchemy import DateTime, Float, String, TypeDecorator, bindparam, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# pg_advisory_xact_lock key of the duty ingest writers ("pingan" + 1); any constant unique to this purpose.
DUTY_WRITER_LOCK = 0x70696E67616E0001
# pg_advisory_lock key (session-level) of the one duty sweeper among all console nodes (console/duty/sweeper.py).
DUTY_SWEEP_LOCK = 0x70696E67616E0002


class year_month(FunctionElement):  # noqa: N801 - used like a SQL function: year_month(column)
    """'YYYY-MM' of a timestamp column, for GROUP BY month."""

    type = String()
    inherit_cache = True
    name = "year_month"


# The format is a literal, not a bound parameter: PostgreSQL must see the SELECT and GROUP BY expressions as equal.
@compiles(year_month)
def _year_month_sqlite(element, compiler, **kw):
    return compiler.process(func.strftime(literal_column("'%Y-%m'"), *element.clauses.clauses), **kw)


@compiles(year_month, "postgresql")
def _year_month_postgresql(element, compiler, **kw):
    return compiler.process(func.to_char(*element.clauses.clauses, literal_column("'YYYY-MM'")), **kw)


class seconds_between(FunctionElement):  # noqa: N801 - used like a SQL function
    """Seconds from `earlier` to `later` (two timestamp columns or expressions), as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_sqlite(element, compiler, **kw):
    later, earlier = element.clauses.clauses
    return compiler.process((func.julianday(later) - func.julianday(earlier)) * 86400.0, **kw)


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element, compiler, **kw):
    later, earlier = element.clauses.clauses
    return compiler.process(func.extract("epoch", later - earlier), **kw)


class _WholeSeconds(TypeDecorator):
    """A bound timestamp: text without microseconds on SQLite when it has none, a timestamp elsewhere."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(String() if dialect.name == "sqlite" else DateTime())

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return value.isoformat(" ", timespec="microseconds" if value.microsecond else "seconds")


def instant(when: datetime):
    """A timestamp to compare stored timestamps with (see the module docstring)."""
    return bindparam(None, when, type_=_WholeSeconds())


def placeholder(conn) -> str:
    """The parameter mark for `exec_driver_sql` / a DB-API cursor on this SQLAlchemy connection or engine."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def serialise_writers(cursor, dialect: str) -> None:
    """Begin a write transaction that no other duty writer (thread or process) runs beside."""
    if dialect == "sqlite":
        cursor.execute("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DUTY_WRITER_LOCK,))


def bulk_insert(conn, table: str, columns: Sequence[str], rows: Iterable[Sequence], executemany_chunk: int = 50_000):
    """Append rows (tuples in `columns` order, None for NULL) to `table` on a SQLAlchemy connection."""
    cols = ", ".join(columns)
    dbapi = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql" and hasattr(dbapi, "cursor") and conn.dialect.driver == "psycopg":
        with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = placeholder(conn)
    sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join([mark] * len(columns))})"
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= executemany_chunk:
            conn.exec_driver_sql(sql, chunk)
            chunk = []
    if chunk:
        conn.exec_driver_sql(sql, chunk)


def after_bulk_load(conn, tables) -> None:
    """Bring the database's bookkeeping up to date after rows were loaded with explicit ids (`tables`: Core
    Table objects)."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            pk = table.autoincrement_column
            if pk is None:
                continue
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk.name}'),"
                f" coalesce(max({pk.name}), 0) + 1, false) FROM {table.name}")
        conn.exec_driver_sql("ANALYZE")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=2000")
        conn.exec_driver_sql("ANALYZE")
