"""Rows seen before: each saved record remembers the hash of the ledger row it was written from (table ledger_row),
so importing the same file again recognises its rows by hash and skips converting, locating and comparing them.

A row is skipped only when its hash is stored for a record that still exists, inside the clerk's scope, and the hash
occurs once in the file; anything else takes the full check. Docs: docs/import.md ("Importing the same file again").
"""

from __future__ import annotations

import hashlib
import marshal
import operator
from collections import Counter

from sqlalchemy import delete, func, select

from console.store import LedgerRow
from console.store.bulk import insert_tuples, where_in



def _cells_bytes(cells: tuple) -> bytes:
    """A row's cells as bytes, types included (12 ≠ 12.0 ≠ "12" ≠ True): marshal's version 2 (no references, so
    equal cells give equal bytes; twice as fast as repr), repr for what marshal cannot write (a workbook's dates).
    Hashes remembered before this encoding simply do not match: those rows are checked in full once."""
    try:
        return b"m" + marshal.dumps(cells, 2)
    except ValueError:
        return b"r" + repr(cells).encode("utf-8")


def row_hashes(kind, crs: str, rows: list[dict]) -> list[bytes]:
    """Each row's cells (in the kind's column order, types included) with what their meaning depends on: the kind
    and the coordinate system; 16 bytes of BLAKE2b each."""
    fields = [c.field for c in kind.spec.columns]
    prefix = hashlib.blake2b(repr((kind.key, crs)).encode("utf-8"), digest_size=16)
    out = []
    for values in rows:
        h = prefix.copy()
        h.update(_cells_bytes(tuple(map(values.get, fields))))
        out.append(h.digest())
    return out


def tuple_hashes(kind, crs: str, fields: tuple[str, ...], rows: list[tuple]) -> list[bytes]:
    """`row_hashes` of rows given as cell tuples in `fields` order (the reader's raw chunks; empty cells None)."""
    order = [c.field for c in kind.spec.columns]
    pos = {f: i for i, f in enumerate(fields)}
    missing = len(fields)
    index = [pos.get(f, missing) for f in order]
    pick = operator.itemgetter(*index)
    pad = (None,) if missing in index else None
    prefix = hashlib.blake2b(repr((kind.key, crs)).encode("utf-8"), digest_size=16)
    out = []
    for cells in rows:
        h = prefix.copy()
        h.update(_cells_bytes(pick(cells + pad if pad else cells)))
        out.append(h.digest())
    return out


def remembers(session, kind) -> bool:
    """Whether any row of this kind was remembered (a county's first import: none, nothing to look up)."""
    return session.scalar(select(LedgerRow.record_id).where(LedgerRow.kind == kind.key).limit(1)) is not None


def remembered_count(session, kind) -> int:
    """How many rows of this kind are remembered (the choice between a look-up per hash and one pass)."""
    return session.scalar(select(func.count()).select_from(LedgerRow).where(LedgerRow.kind == kind.key)) or 0


def hashed(kind) -> bool:
    """Kinds whose rows are records of their own table (not surveys, not rows tied to another person)."""
    return kind.raw_key is not None


def _remembered(kind):
    """(row hash, record id, grid, the record's key column) of the kind's remembered rows."""
    model = kind.model
    return (select(LedgerRow.row_hash, model.id, model.grid_code, getattr(model, kind.key_column or kind.natural_key))
            .join(model, model.id == LedgerRow.record_id).where(LedgerRow.kind == kind.key))


def remembered_rows(session, kind) -> list[tuple]:
    """Every remembered row of the kind (`_remembered`), in record id order: the records' pages are then read in
    the order they lie (by hash order, each record read was a jump; 10 % faster on the full world)."""
    return _driver_rows(session, _remembered(kind).order_by(LedgerRow.record_id))


def seen_before(session, kind, rows: list[tuple[bytes, object]], scope, *, key=None, scan: bool | None = None,
                stored: list[tuple] | None = None) -> dict[bytes, dict]:
    """row hash → {"id": record id, "grid_code": …, "key": …} for the (hash, cells) rows that may be skipped: the
    record still holds the row's key (an id reused after a deletion is not taken for the old record) and lies
    inside the scope. `key`: the row's key from its second item (default: the kind's raw key of the cells);
    `scan`: read every remembered row in one pass (default: when the rows are most of what is remembered);
    `stored`: that pass already read (`remembered_rows`, e.g. while the file was being scanned)."""
    counts = Counter(h for h, _ in rows)
    cells = {h: values for h, values in rows if counts[h] == 1}
    if not cells:
        return {}
    if stored is not None:
        stored = [row for row in stored if row[0] in cells]
    else:
        if scan is None:
            scan = len(cells) * 4 >= remembered_count(session, kind)
        if scan:  # the file is most of what is remembered: one pass beats a look-up per hash
            stored = [row for row in remembered_rows(session, kind) if row[0] in cells]
        else:
            stored = where_in(session, _remembered(kind), LedgerRow.row_hash, sorted(cells))
    raw_key = key or kind.raw_key
    keys = [raw_key(cells[row[0]]) for row in stored]
    # what the record's key column holds for each row's key: the key itself, or its blind index under the ring's
    # current key; a record indexed under an older key of the ring (a rotation not yet re-indexed) is matched
    # through every key of the ring, for those rows only
    current = kind.current_key(keys) if kind.current_key else keys
    stale = [k for (*_, value), k, c in zip(stored, keys, current) if value != c and k]
    older = kind.key_values(stale) if stale and kind.key_values else {}
    allowed: dict[str | None, bool] = {}
    found: dict[str, dict] = {}
    for (h, rid, grid, value), k, c in zip(stored, keys, current):
        if value != c and older.get(value) != k:
            continue  # the record no longer holds this row's key
        if grid not in allowed:
            allowed[grid] = scope.allows(grid)
        if allowed[grid]:
            found[h] = {"id": rid, "grid_code": grid, "key": k}
    return found


def _driver_rows(session, query) -> list[tuple]:
    """Every row of `query` as the driver's tuples: a million remembered rows without a Row object each (their
    columns are bytes, text and integers, nothing to convert)."""
    result = session.connection().execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def remember(session, kind, pairs: list[tuple[int, bytes]], *, first: bool = False) -> None:
    """Store (record id, row hash) for the records this import wrote or confirmed (one hash per record), in id
    order (the key's index appended to, not split at random). `first`: nothing of the kind was remembered before
    this import, so no record has a hash to replace (a file's keys are unique: no two of its rows share a record)."""
    if not pairs:
        return
    pairs = sorted(pairs)
    if not first:
        where_in(session, delete(LedgerRow).where(LedgerRow.kind == kind.key), LedgerRow.record_id,
                 [rid for rid, _ in pairs])
    insert_tuples(session, LedgerRow, ("record_id", "row_hash"), pairs, same={"kind": kind.key})
