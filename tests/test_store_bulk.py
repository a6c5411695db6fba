"""console/store/bulk.update_tuples: the bulk UPDATE of a million-row import (docs/import.md) stores exactly what
an ORM update would — sealed columns encrypted, the updated_at clock stamped, only the rows named by key."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text

from console.store import Building, LedgerRow, Person
from console.store.bulk import insert_tuples, next_ids, update_tuples


def test_update_tuples_seals_stamps_and_touches_only_the_named_rows(world_sessions):
    with world_sessions() as s:
        a, b, c = s.scalars(select(Person).order_by(Person.id).limit(3)).all()
        keys = (a.id_number_bidx, b.id_number_bidx)
        untouched = (c.id, c.name, c.phone, c.updated_at)
    before = datetime.now() - timedelta(seconds=1)
    with world_sessions() as s, s.begin():
        assert update_tuples(s, Person, ("name", "phone"), "id_number_bidx",
                             [("改名甲", "13900000001", keys[0]), ("改名乙", None, keys[1])]) == 2
    with world_sessions() as s:
        got = {p.id_number_bidx: p for p in s.scalars(select(Person).where(Person.id_number_bidx.in_(keys)))}
        assert (got[keys[0]].name, got[keys[0]].phone) == ("改名甲", "13900000001")
        assert (got[keys[1]].name, got[keys[1]].phone) == ("改名乙", None)
        assert all(p.updated_at >= before for p in got.values())
        raw = s.execute(text("SELECT phone FROM person WHERE id_number_bidx = :k"), {"k": keys[0]}).scalar()
        assert raw != "13900000001" and raw.startswith(("aes1:", "sm41:"))  # sealed at rest
        other = s.get(Person, untouched[0])
        assert (other.id, other.name, other.phone, other.updated_at) == untouched


def test_insert_tuples_takes_ids_beside_the_rows_and_values_every_row_shares(world_sessions):
    """A million-row import gives ids (bulk.next_ids) and a shared value (the ledger kind) without rebuilding each
    row's tuple: they land on the right rows, batches included."""
    with world_sessions() as s, s.begin():
        ids = next_ids(s, Building, 3)
        insert_tuples(s, Building, ("code", "address", "kind", "floors", "dwellings"),
                      [(f"TB{i}", f"测试路{i}号", "house", i, 1) for i in range(3)], ids=ids, batch=2)
        insert_tuples(s, LedgerRow, ("record_id", "row_hash"), [(ids[0], b"a" * 16), (ids[2], b"c" * 16)],
                      same={"kind": "test"}, batch=1)
    with world_sessions() as s:
        got = s.execute(select(Building.id, Building.code, Building.floors).where(Building.code.like("TB%"))
                        .order_by(Building.id)).all()
        assert [tuple(r) for r in got] == [(ids[0], "TB0", 0), (ids[1], "TB1", 1), (ids[2], "TB2", 2)]
        kept = s.execute(select(LedgerRow.kind, LedgerRow.record_id, LedgerRow.row_hash)
                         .where(LedgerRow.kind == "test").order_by(LedgerRow.record_id)).all()
        assert [tuple(r) for r in kept] == [("test", ids[0], b"a" * 16), ("test", ids[2], b"c" * 16)]
