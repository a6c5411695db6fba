"""console/store/bulk.update_tuples: the bulk UPDATE of a million-row import (docs/import.md) stores exactly what
an ORM update would — sealed columns encrypted, the updated_at clock stamped, only the rows named by key."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text

from console.store import Person
from console.store.bulk import update_tuples


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
