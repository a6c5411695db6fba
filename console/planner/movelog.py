"""What a re-assignment of records writes besides the records: the move log and the per-grid tallies. A grid commit
(commit.py) and the batch re-assignment (console/batch/reassign.py) both write through here, in their own
transaction.

- `grid_move`: one row per record whose grid changes — (generation, kind, record id, from grid, to grid), the answer to
  "which households went to which grid worker". The generation is the one whose boundaries moved the record: the
  commit's for a commit; for the batch job the destination grid's boundary generation.
- `grid.households` / `grid.residents`: counted from the household table for the grids whose households changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, func, select, update

from console.store import Alert, Building, Camera, Dispute, Grid, Household, KeyYouth, Organisation, Person, \
    SpecialPerson
from console.store.codes import OPEN_DISPUTE_STATES
from console.store.dialect import bulk_insert

# kind → (model, state filter: None / "open" / "closed" disputes). Events stay where they happened (they keep
# their generation stamp).
RECORD_KINDS = {
    "household": (Household, None),
    "person": (Person, None),
    "special": (SpecialPerson, None),
    "dispute": (Dispute, "open"),
    "camera": (Camera, None),
    "dispute_closed": (Dispute, "closed"),
    "building": (Building, None),
    "organisation": (Organisation, None),
    "key_youth": (KeyYouth, None),
    "alert": (Alert, None),
}
MOVE_COLUMNS = ("generation_id", "kind", "record_id", "from_grid", "to_grid")
TALLY_CHUNK = 500  # grid codes per IN (…) list


def kind_of(table: str, state: str | None = None) -> str:
    """The move log's kind of a record of `table`; a dispute is `dispute` while open, `dispute_closed` after."""
    if table == Dispute.__tablename__:
        return "dispute" if state in OPEN_DISPUTE_STATES else "dispute_closed"
    return next(k for k, (model, _) in RECORD_KINDS.items() if model.__tablename__ == table)


def log_moves(conn, generations: int | Sequence[int], kinds: str | Sequence[str], ids: Sequence[int],
              old: Sequence[str | None], new: Sequence[str | None]) -> int:
    """Append one `grid_move` row per record whose grid changes (records whose grid stays are skipped), on the
    caller's connection and transaction; in bulk (COPY on PostgreSQL). `generations`/`kinds`: one for all, or one
    per record. Returns the rows written."""
    n = len(ids)
    gens = [generations] * n if isinstance(generations, int) else generations
    kinds = [kinds] * n if isinstance(kinds, str) else kinds
    rows = [(int(g), k, int(i), o, t) for g, k, i, o, t in zip(gens, kinds, ids, old, new) if o != t]
    bulk_insert(conn, "grid_move", MOVE_COLUMNS, rows)
    return len(rows)


def household_tallies(conn, codes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """{grid code: (households, residents)} of the households now in these grids (grids without any are absent)."""
    codes = sorted({c for c in codes if c})
    out = {}
    for at in range(0, len(codes), TALLY_CHUNK):
        chunk = codes[at:at + TALLY_CHUNK]
        out.update((code, (n, int(r or 0))) for code, n, r in conn.execute(
            select(Household.grid_code, func.count(), func.sum(Household.size))
            .where(Household.grid_code.in_(chunk)).group_by(Household.grid_code)))
    return out


def recount_grids(conn, codes: Iterable[str]) -> int:
    """Set the households and residents of these current grids from their households now. Returns the grids."""
    codes = sorted({c for c in codes if c})
    if not codes:
        return 0
    tallies = household_tallies(conn, codes)
    conn.execute(update(Grid).where(Grid.code == bindparam("c"), Grid.generation_high.is_(None))
                 .values(households=bindparam("h"), residents=bindparam("r")),
                 [{"c": c, "h": tallies.get(c, (0, 0))[0], "r": tallies.get(c, (0, 0))[1]} for c in codes])
    return len(codes)
