"""Saving a plan: every accepted row in one transaction or none, re-checked inside it (a second import of the same
file, or one that ran in between, changes nothing), audited with the file's hash."""

from __future__ import annotations

from sqlalchemy import select, update

from console.ledgers.reader import Ledger
from console.security import audit
from console.store import AreaScope
from console.store.bulk import insert_rows, where_key_in
from console.store.sensitive import key_match, with_blind_indexes

from . import rowhash
from .kinds import KINDS
from .plan import ImportPlan, RowVerdict, plan_import

STORED = ("lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")


class ImportRefused(ValueError):
    """The import cannot be saved as a whole (a Chinese message naming why)."""


def commit_import(session_factory, ledger: Ledger, *, kind_key: str, data_hash: str, filename: str,
                  scope: AreaScope, actor: str, crs: str = "wgs84") -> ImportPlan:
    """Plan again inside the write transaction and save the new and changed rows. Rows with problems are not saved;
    the returned plan says what was saved. SQLite's write lock (BEGIN IMMEDIATE on the store's engine) or the row
    locks of PostgreSQL make a second import of the same county wait for the first."""
    kind = KINDS[kind_key]
    with session_factory() as s, s.begin():
        plan = plan_import(s, kind, ledger, data_hash=data_hash, filename=filename, scope=scope, crs=crs)
        new = [r.record for r in plan.rows if r.status == "new"]
        changed = [r.record for r in plan.rows if r.status == "changed"]
        (kind.save or save_by_key)(s, kind, new, changed)
        if rowhash.hashed(kind):
            remember_rows(s, kind, plan.rows)
        audit.append(s, actor, "ledger_import", object=f"{kind.label} {filename}", detail={
            "kind": kind.key, "sha256": data_hash, "sheet": plan.sheet, "crs": crs,
            "new": len(new), "changed": len(changed), "unchanged": plan.count("unchanged"),
            "errors": plan.count("error")})
    return plan


def remember_rows(s, kind, verdicts: list[RowVerdict], *, first: bool = False) -> None:
    """The hash of every row whose record now holds its values (saved, or found unchanged by comparing).
    `first`: nothing of this kind was remembered before this import (rowhash.remember)."""
    rows = [r for r in verdicts if not r.skipped and r.row_hash and r.status in ("new", "changed", "unchanged")]
    if not rows:
        return
    # a save that knows the ids it inserted leaves them on the records ("_id"); the others are looked up by key
    unknown = sorted({r.key for r in rows if "_id" not in r.record})
    ids = (kind.ids_by_key or ids_by_key)(s, kind, unknown) if unknown else {}
    pairs = [(r.record["_id"] if "_id" in r.record else ids.get(r.key), r.row_hash) for r in rows]
    rowhash.remember(s, kind, [pair for pair in pairs if pair[0] is not None], first=first)


def ids_by_key(s, kind, keys: list[str]) -> dict[str, int]:
    model = kind.model
    return dict(where_key_in(s, select(getattr(model, kind.natural_key), model.id), model, kind.natural_key, keys))


def save_by_key(s, kind, new: list[dict], changed: list[dict]) -> None:
    """One-table kinds: insert the new records in bulk, update the changed ones by natural key."""
    model = kind.model
    if new:
        insert_rows(s, model, [columns_of(model, rec) for rec in new])
    for rec in changed:
        s.execute(update(model).where(key_match(model, kind.natural_key, [rec[kind.natural_key]]))
                  .values(**columns_of(model, rec)))


def columns_of(model, record: dict) -> dict:
    """The record's stored columns, with the blind index of a sealed key (a phone) beside it."""
    cols = model.__table__.columns.keys()
    return with_blind_indexes(model.__tablename__, {k: val for k, val in record.items() if k in cols and k != "id"})


def stored_count(session, kind_key: str) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(KINDS[kind_key].model)) or 0
