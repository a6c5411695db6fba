"""Sensitive columns encrypted at rest (docs/security.md §4) and their keyed lookup hashes ("blind indexes").

Every column in `SEALED` is `EncryptedText` (AES-GCM or SM4-GCM with the key ring of `console.store.crypto`, key
outside the database): identity and document numbers, special-population details, and the phone numbers and street
addresses of persons, households, organisations, grid workers, dispute parties and key youths' guardians. An
encrypted column cannot be compared in SQL, so every equality search goes through its `*_bidx` column:
`id_number_match(Person.id_number_bidx, value)`, `phone_match(GridWorker.phone_bidx, value)`.

Bulk paths that bypass the ORM (the demo world writer, migration 0005, key rotation) use
`seal_frame` / `reseal_table`, so what reaches the database file is always ciphertext.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, column, select, table, update

from console.store import crypto

if TYPE_CHECKING:  # pandas only for the bulk loader; the console's store import stays light
    import pandas as pd


@dataclass(frozen=True)
class Sealed:
    table: str
    column: str
    bidx: str | None  # blind-index column, for columns searched by equality
    pk: str = "id"
    purpose: str = "id_number"  # keys the blind index apart per kind of value (a phone never matches an id)

    @property
    def aad(self) -> str:
        return f"{self.table}.{self.column}"


SEALED = (
    Sealed("person", "id_number", "id_number_bidx"),
    Sealed("dispute_party", "id_number", "id_number_bidx"),
    Sealed("special_person", "details", None),
    Sealed("foreign_info", "document_no", None, pk="person_id"),  # passport / travel document numbers
    # phones and street addresses (migration 0010); a blind index only where something looks a value up
    Sealed("person", "phone", None),
    Sealed("person", "registered_address", None),
    Sealed("household", "address", None),
    Sealed("key_youth", "guardian_phone", None),
    Sealed("organisation", "address", None),
    Sealed("dispute_party", "phone", None),
    Sealed("grid_worker", "phone", "phone_bidx", purpose="phone"),  # the roster import matches workers by phone
)
PHONE_ADDRESS = tuple(s for s in SEALED if s.column in ("phone", "guardian_phone", "address", "registered_address"))


def spec_of(table_name: str, column_name: str) -> Sealed | None:
    return next((s for s in SEALED if s.table == table_name and s.column == column_name), None)


def id_number_index(value: str | None) -> str | None:
    """The blind index to store beside a new or changed identity number (current key)."""
    if value is None:
        return None
    return crypto.require_keyring().blind_index(value)


def phone_index(value: str | None) -> str | None:
    """The blind index to store beside a new or changed phone number that is looked up (`grid_worker.phone`)."""
    if value is None:
        return None
    return crypto.require_keyring().blind_index(value, "phone")


def phone_match(bidx_column, value: str):
    """SQL condition: `bidx_column` holds the phone number `value` (under any key of the ring)."""
    return bidx_column.in_(crypto.require_keyring().blind_indexes(value, "phone"))


def key_match(model, column_name: str, values: Iterable[str]):
    """SQL condition: `model.column_name` is one of `values` — through the blind index when the column is sealed
    (an encrypted column never equals its plaintext in SQL), directly otherwise."""
    spec = spec_of(model.__tablename__, column_name)
    if spec is None:
        return getattr(model, column_name).in_(list(values))
    if not spec.bidx:
        raise ValueError(f"{spec.aad} 加密存储且没有盲索引，不能按值查找")
    ring = crypto.require_keyring()
    return getattr(model, spec.bidx).in_(sorted({b for v in values for b in ring.blind_indexes(v, spec.purpose)}))


def with_blind_indexes(table_name: str, record: dict) -> dict:
    """`record` plus the blind indexes of its sealed, looked-up columns (Core inserts and updates of a typed table:
    the column type seals the value, the index is computed here)."""
    out = dict(record)
    for spec in SEALED:
        if spec.table == table_name and spec.bidx and spec.column in record:
            v = record[spec.column]
            out[spec.bidx] = None if v is None else crypto.require_keyring().blind_index(v, spec.purpose)
    return out


def seal_rows(table_name: str, rows: list[dict], ring: crypto.KeyRing | None = None) -> list[dict]:
    """Rows for an untyped Core insert with every sealed column encrypted and its blind index added."""
    specs = [s for s in SEALED if s.table == table_name and rows and s.column in rows[0]]
    if not specs:
        return rows
    ring = ring or crypto.require_keyring()
    out = [dict(r) for r in rows]
    for spec in specs:
        plain = [r.get(spec.column) for r in rows]
        if spec.bidx:
            for r, b in zip(out, ring.blind_index_many(plain, spec.purpose)):
                r[spec.bidx] = b
        for r, v in zip(out, ring.encrypt_many(plain, spec.aad)):
            r[spec.column] = v
    return out


def id_number_match(bidx_column, value: str):
    """SQL condition: `bidx_column` holds `value` (under any key of the ring, so rotation never hides a row)."""
    return bidx_column.in_(crypto.require_keyring().blind_indexes(value))


def id_numbers_match(bidx_column, values: Iterable[str]):
    ring = crypto.require_keyring()
    return bidx_column.in_(sorted({b for v in values for b in ring.blind_indexes(v)}))


def seal_frame(table_name: str, frame: pd.DataFrame, ring: crypto.KeyRing | None = None) -> pd.DataFrame:
    """A copy of a bulk-load frame with its sensitive columns encrypted and blind indexes added."""
    specs = [s for s in SEALED if s.table == table_name and s.column in frame.columns]
    if not specs or frame.empty:
        return frame
    import pandas as pd

    ring = ring or crypto.require_keyring()
    out = frame.copy(deep=False)
    for spec in specs:
        values = [None if pd.isna(v) else str(v) for v in frame[spec.column].tolist()]
        if spec.bidx:
            out[spec.bidx] = ring.blind_index_many(values, spec.purpose)
        out[spec.column] = ring.encrypt_many(values, spec.aad)
    return out


def _batches(conn, key, value, batch: int):
    """(primary key, value) rows of a table in key order, `batch` at a time (keyset paging)."""
    last = None
    while True:
        q = select(key, value).order_by(key).limit(batch)
        rows = conn.execute(q if last is None else q.where(key > last)).all()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def reseal_table(conn, spec: Sealed, ring: crypto.KeyRing | None = None, *, batch: int = 20000,
                 progress=None) -> int:
    """Encrypt (plaintext rows) or re-encrypt (after a key rotation) one sealed column in place, in
    batches by primary key, and rewrite its blind index. Works on SQLite and PostgreSQL (Core only).
    Returns the number of rows rewritten."""
    ring = ring or crypto.require_keyring()
    cols = [column(spec.pk), column(spec.column)]
    t = table(spec.table, *cols, *([column(spec.bidx)] if spec.bidx else []))
    key = t.c[spec.pk]
    current = crypto.key_id(ring.current)
    stmt = (update(t).where(key == bindparam("pk"))
            .values({spec.column: bindparam("v"), **({spec.bidx: bindparam("b")} if spec.bidx else {})}))
    done = 0
    for rows in _batches(conn, key, t.c[spec.column], batch):
        todo = []
        for pk, value in rows:
            if value is None:
                continue
            if crypto.is_ciphertext(value):
                if value.split(":", 2)[1] == current and not spec.bidx:
                    continue  # already under the current key
                plain = ring.decrypt(value, spec.aad)
            else:
                plain = value[len(crypto.PLAIN_PREFIX):] if value.startswith(crypto.PLAIN_PREFIX) else value
            todo.append((pk, plain))
        if todo:
            sealed = ring.encrypt_many([p for _, p in todo], spec.aad)
            idx = ring.blind_index_many([p for _, p in todo], spec.purpose) if spec.bidx else [None] * len(todo)
            conn.execute(stmt, [{"pk": pk, "v": v, "b": b} for (pk, _), v, b in zip(todo, sealed, idx)])
            done += len(todo)
        if progress is not None:
            progress(spec, done)
    return done


def unseal_table(conn, spec: Sealed, ring: crypto.KeyRing | None = None, *, batch: int = 20000) -> int:
    """Decrypt one sealed column back to plaintext (downgrades of the migrations that sealed it)."""
    ring = ring or crypto.require_keyring()
    t = table(spec.table, column(spec.pk), column(spec.column))
    key = t.c[spec.pk]
    stmt = update(t).where(key == bindparam("pk")).values({spec.column: bindparam("v")})
    done = 0
    for rows in _batches(conn, key, t.c[spec.column], batch):
        plain = [{"pk": pk, "v": ring.decrypt(v, spec.aad)} for pk, v in rows if crypto.is_ciphertext(v)]
        if plain:
            conn.execute(stmt, plain)
            done += len(plain)
    return done


def reencrypt_all(engine, ring: crypto.KeyRing | None = None) -> dict[str, int]:
    """After `keygen --rotate`: rewrite every sealed column and blind index with the current key."""
    out = {}
    for spec in SEALED:
        with engine.begin() as conn:
            out[spec.aad] = reseal_table(conn, spec, ring)
    return out
