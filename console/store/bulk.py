"""Bulk inserts for imports: one compiled INSERT and the driver's executemany over plain tuples.

SQLAlchemy's `session.execute(table.insert(), [dict, …])` builds and type-processes every row's parameters one by one
(≈ 25 µs a row, more than SQLite's own insert); here each column's bind processor runs once over the whole column, and
encrypted columns are sealed in bulk (`KeyRing.encrypt_many`). Runs on the caller's connection, so inside the caller's
transaction: a failure rolls back with it. Columns not given take their scalar defaults; a callable default
that takes no arguments (`updated_at`'s clock) is called once per call, every row gets the same value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Table, bindparam, insert

from .crypto import EncryptedText, require_keyring

BATCH = 10_000  # rows per executemany: bounds the memory of the converted parameters


def _connection(conn_or_session):
    return conn_or_session.connection() if hasattr(conn_or_session, "get_bind") else conn_or_session


def _iso(value):
    return value.isoformat(" ", "microseconds") if type(value) is datetime and value.tzinfo is None else value


def _sqlite_datetime(process):
    """SQLite stores DateTime as text; for naive datetimes its default format is `isoformat(" ")` with microseconds,
    which C formats ~8x faster than the dialect's processor (checked on a sample, else the processor is kept)."""
    sample = datetime(2001, 2, 3, 4, 5, 6, 7)
    if process(sample) != _iso(sample):
        return process
    return lambda v: _iso(v) if type(v) is datetime else process(v)


def _sqlite_passthrough(kind, process) -> bool:
    """Booleans and dates the driver stores exactly as the dialect's processor would (checked on samples): SQLite's
    driver binds True as 1, and a date's isoformat is the dialect's text; then no Python call per value."""
    if isinstance(kind, Boolean):
        return process(True) == 1 and process(False) == 0
    return False


def _column_values(column, values: list, dialect) -> list:
    kind = column.type
    if isinstance(kind, EncryptedText):
        return kind.seal_many(values)
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    if dialect.name == "sqlite":
        if _sqlite_passthrough(kind, process):
            return values
        if isinstance(kind, DateTime):
            process = _sqlite_datetime(process)
        elif isinstance(kind, Date) and process(date(2001, 2, 3)) == "2001-02-03":
            return [v.isoformat() if type(v) is date else (None if v is None else process(v)) for v in values]
    return [None if v is None else process(v) for v in values]


def insert_rows(conn_or_session, table: Table | type, rows: Sequence[Mapping], *, batch: int = BATCH) -> int:
    """Insert `rows` (dicts keyed by column names of `table` or of a model's table); returns the count."""
    table = getattr(table, "__table__", table)
    if not rows:
        return 0
    conn = _connection(conn_or_session)
    dialect = conn.dialect
    first = rows[0].keys()
    same = all(r.keys() == first for r in rows)
    given = list(first) if same else list(dict.fromkeys(k for r in rows for k in r))
    _known(table, given)
    defaults = _once_per_call(table, given, "default")
    keys = given + list(defaults)
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup) if compiled.positional else keys
    if compiled.positional and sorted(names) != sorted(keys):
        raise ValueError(f"unexpected parameters for {table.name}: {names}")
    sql = compiled.string
    for start in range(0, len(rows), batch):
        part = rows[start:start + batch]
        columns = {}
        for k in keys:
            if k in defaults:
                raw = [defaults[k]] * len(part)
            elif same:
                raw = [r[k] for r in part]
            else:  # rows with fewer keys: the column's scalar default, else NULL
                default = getattr(table.c[k], "default", None)
                fallback = default.arg if default is not None and default.is_scalar else None
                raw = [r.get(k, fallback) for r in part]
            columns[k] = _column_values(table.c[k], raw, dialect)
        if compiled.positional:
            params = list(zip(*(columns[k] for k in names)))
        else:
            params = [dict(zip(keys, values)) for values in zip(*(columns[k] for k in keys))]
        conn.exec_driver_sql(sql, params)
    return len(rows)


def insert_tuples(conn_or_session, table: Table | type, names: Sequence[str], rows: Sequence[tuple], *,
                  batch: int = BATCH, ids: Sequence[int] | None = None, same: Mapping | None = None) -> int:
    """`insert_rows` for rows given as tuples in `names` order: no dict per row (a million-row import). `ids`: the
    rows' primary keys, given beside them (bulk.next_ids) rather than in each tuple; `same`: {column: the value of
    every row}."""
    table = getattr(table, "__table__", table)
    if not rows:
        return 0
    _known(table, names)
    conn = _connection(conn_or_session)
    beside = {"id": ids} if ids is not None else {}
    same = dict(same or {})
    _known(table, same)
    # as insert_rows: a column's default is the same value for every row
    same.update(_once_per_call(table, [*names, *beside, *same], "default"))
    keys = [*beside, *names, *same]
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=keys)
    _execute_columns(conn, compiled, keys, {k: table.c[k] for k in keys}, names, same, rows, batch, beside)
    return len(rows)


def next_ids(conn_or_session, table: Table | type, count: int) -> range | None:
    """The ids SQLite gives the next `count` rows inserted into `table` (an INTEGER PRIMARY KEY "id" without
    AUTOINCREMENT: the largest id + 1 onwards), so a writer can insert them with their ids and need not read them
    back. Inside the caller's transaction: SQLite has one writer at a time, and a transaction that read before
    another's commit cannot write after it (WAL: busy), so no other row takes these ids first. None on other
    databases: their sequences are shared with every other writer."""
    table = getattr(table, "__table__", table)
    conn = _connection(conn_or_session)
    if conn.dialect.name != "sqlite":
        return None
    last = conn.exec_driver_sql(f'SELECT max(id) FROM "{table.name}"').scalar() or 0
    return range(last + 1, last + 1 + count)


def update_tuples(conn_or_session, table: Table | type, names: Sequence[str], key: str, rows: Sequence[tuple], *,
                  batch: int = BATCH) -> int:
    """UPDATE `names` of the rows whose `key` column equals each tuple's last item (tuples: `names` values, then
    the key): one compiled statement and the driver's executemany, each column's bind processor run once over the
    column (SQLAlchemy's executemany of dicts constructs and processes every row's parameters: ≈ 15 µs a row).
    Columns with an onupdate (updated_at's clock) get one value per call, as insert_tuples' defaults."""
    from sqlalchemy import update

    table = getattr(table, "__table__", table)
    if not rows:
        return 0
    _known(table, (*names, key))
    conn = _connection(conn_or_session)
    stamps = _once_per_call(table, names, "onupdate")
    keys = [*names, *stamps, "_key"]
    compiled = (update(table).where(table.c[key] == bindparam("_key"))
                .values({n: bindparam(n) for n in (*names, *stamps)}).compile(dialect=conn.dialect))
    columns_of = {**{n: table.c[n] for n in (*names, *stamps)}, "_key": table.c[key]}
    _execute_columns(conn, compiled, keys, columns_of, (*names, "_key"), stamps, rows, batch)
    return len(rows)


def _known(table: Table, names) -> None:
    unknown = [k for k in names if k not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no columns {unknown}")


def _once_per_call(table: Table, given, attr: str) -> dict:
    """The columns not `given` whose `attr` ("default" or "onupdate") is a scalar or a no-argument callable, with
    their value: the callable called once, so every row of the call gets the same value."""
    out = {}
    for col in table.c:
        spec = getattr(col, attr, None)  # a lightweight table() column has none
        if col.key in given or spec is None:
            continue
        if spec.is_scalar:
            out[col.key] = spec.arg
        elif spec.is_callable:
            out[col.key] = spec.arg(None)  # SQLAlchemy wraps a no-argument callable to take the context
        else:
            raise ValueError(f"{table.name}.{col.key} has a SQL {attr}: give its value")
    return out


def _execute_columns(conn, compiled, keys: list[str], columns_of: dict, given, fixed: dict, rows, batch: int,
                     beside: dict | None = None) -> None:
    """executemany of `compiled` over `rows` (tuples in `given` order) plus the `fixed` values and the columns
    `beside` them (a value per row), a batch at a time, each column bind-processed at once (a fixed value once)."""
    dialect = conn.dialect
    order = list(compiled.positiontup) if compiled.positional else keys
    for start in range(0, len(rows), batch):
        part = rows[start:start + batch]
        columns = {k: _column_values(columns_of[k], list(values), dialect) for k, values in zip(given, zip(*part))}
        columns.update({k: _column_values(columns_of[k], [v], dialect) * len(part) for k, v in fixed.items()})
        columns.update({k: _column_values(columns_of[k], list(values[start:start + batch]), dialect)
                        for k, values in (beside or {}).items()})
        if compiled.positional:
            params = list(zip(*(columns[k] for k in order)))
        else:
            params = [dict(zip(keys, values)) for values in zip(*(columns[k] for k in keys))]
        conn.exec_driver_sql(compiled.string, params)


IN_CHUNK = 5000  # keys per IN (…) query: under SQLite's 32,766 and PostgreSQL's 65,535 parameters


def where_in(session, statement, column, values, *, chunk: int = IN_CHUNK) -> list:
    """The rows of `statement` (a select; or a delete, then []) restricted to `column IN values`, run a chunk of keys
    at a time. One expanding bind parameter: building `column.in_(list)` coerces each key into a bound literal of
    its own, which cost more than the queries themselves for 100,000 keys. On positional drivers (SQLite) the
    statement is compiled once and each chunk's keys are spliced into its parameters: SQLAlchemy's own expansion
    named and type-processed every key again per execution (≈ 3 µs a key, more than the indexed look-up)."""
    values = list(values)
    stmt = statement.where(column.in_(bindparam("_keys", expanding=True)))
    rows = getattr(statement, "is_select", False)
    if not values:
        return []
    conn = _connection(session)
    fast = _spliced(conn, stmt, column, rows)
    out: list = []
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        if fast is None:
            result = session.execute(stmt, {"_keys": part})
            if rows:
                out += result.all()
            continue
        result = fast(part)
        if rows:
            out += result
    return out


_POSTCOMPILE = "__[POSTCOMPILE__keys]"


def _spliced(conn, stmt, column, rows: bool):
    """A runner `keys → rows` for `stmt` on a positional (qmark) driver, or None to take SQLAlchemy's way."""
    dialect = conn.dialect
    if not dialect.positional or dialect.paramstyle != "qmark":
        return None
    compiled = stmt.compile(dialect=dialect)
    if compiled.positiontup is None or compiled.positiontup.count("_keys") != 1 or _POSTCOMPILE not in compiled.string:
        return None
    if column.type._cached_bind_processor(dialect) is not None:  # keys that need converting: not spliced raw
        return None
    given = compiled.construct_params({"_keys": []}, _check=False)
    processors = compiled._bind_processors
    before, after = [], []
    target = before
    for name in compiled.positiontup:
        if name == "_keys":
            target = after
            continue
        value = given[name]
        process = processors.get(name)
        target.append(process(value) if process is not None and value is not None else value)
    results = None
    if rows:
        types = [c.type for c in stmt.selected_columns]
        procs = [t._cached_result_processor(dialect, None) for t in types]
        if any(procs):  # a column at a time; sealed columns opened in bulk (one key-ring look-up per column)
            results = [None if p is None else (t.open_many if isinstance(t, EncryptedText)
                                               else (lambda col, p=p: [None if v is None else p(v) for v in col]))
                       for t, p in zip(types, procs)]
    sqls: dict[int, str] = {}

    def run(keys: list) -> list:
        sql = sqls.get(len(keys))
        if sql is None:
            sql = sqls[len(keys)] = compiled.string.replace(_POSTCOMPILE, ", ".join("?" * len(keys)))
        cursor = conn.exec_driver_sql(sql, (*before, *keys, *after))
        if not rows:
            return []
        got = cursor.fetchall()
        if results is None or not got:
            return [tuple(r) for r in got]
        return list(zip(*[col if p is None else p(col) for p, col in zip(results, zip(*got))]))

    return run


def where_key_in(session, statement, model, column_name: str, values) -> list:
    """`where_in` on a natural key: through its blind index when the column is sealed (an encrypted column never
    equals its plaintext in SQL; sensitive.key_match for one key)."""
    from .sensitive import spec_of

    spec = spec_of(model.__tablename__, column_name)
    if spec is None:
        return where_in(session, statement, getattr(model, column_name), values)
    if not spec.bidx:
        raise ValueError(f"{spec.aad} 加密存储且没有盲索引，不能按值查找")
    indexes = require_keyring().blind_index_map(values, spec.purpose)
    return where_in(session, statement, getattr(model, spec.bidx), indexes)
