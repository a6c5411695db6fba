"""The chunked pipeline for ledgers too large to hold at once (the command line's path; docs/import.md "A million
rows"): the file is read twice, a chunk of rows at a time, and no pass keeps the rows.

1. **Scan** — each row's hash and natural key as written (rowhash.py): the keys on several rows, with every row
   number, are known before the first row is checked, so a duplicate is refused on all its rows however far apart.
   Only the hashes, the keys and the repeated keys' row numbers are kept.
2. **Plan and save, chunk by chunk** — rows seen before, convert and check, locate, compare (plan.plan_rows), then
   the chunk's new and changed records saved and their rows remembered, all inside ONE transaction: a failure in
   any chunk rolls back every chunk. On SQLite the transaction takes the write lock first (BEGIN IMMEDIATE): a
   second import of the same database waits (busy timeout) or is refused, never interleaved.

The result keeps the counts and the rows with problems (their numbers and messages), not every row's record.
Kinds without a raw key of their own (特殊人群, 重点青少年, 两率两度, 重点场所) are planned as one chunk: their
files are small and their keys are only known after converting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from console.ledgers.reader import LedgerError, LedgerStream
from console.security import audit
from console.store import AreaScope

from . import rowhash
from .commit import remember_rows, save_by_key
from .kinds import KINDS, LedgerKind
from .plan import EMPTY, STATUS_LABELS, FileKeys, RowVerdict, check_crs, plan_rows

CHUNK = 50_000  # rows per chunk: ~50 MB of cells and records in flight
MAX_ROWS = 3_000_000  # rows per command-line import (the city's whole 实有人口 fits); stated in docs/import.md
SQLITE_CACHE_KIB = 256 * 1024  # page cache while importing: the indexes of a 3-million-person table stay in memory


@dataclass
class StreamedPlan:
    """What a chunked import found (and saved): counts per verdict and the rows with problems."""
    kind: str
    file_hash: str
    filename: str
    sheet: str
    crs: str
    notices: list[str]
    counts: Counter
    problem_rows: list[RowVerdict]  # number, status, key and problems; no record

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def summary(self) -> str:
        parts = [f"{STATUS_LABELS[s]} {self.count(s)} 行" for s in STATUS_LABELS if self.count(s)]
        return "，".join(parts) or "没有数据行"


def scan(kind: LedgerKind, stream: LedgerStream, crs: str, chunk: int = CHUNK) -> FileKeys | None:
    """Pass 1: every row's hash and key, and the keys on several rows (None for kinds without a raw key)."""
    if not rowhash.hashed(kind):
        return None
    hashes: list[str] = []
    keys: list[str] = []
    first: dict[str, int] = {}
    duplicates: dict[str, list[int]] = {}
    raw_key = kind.raw_key
    for rows in stream.chunks(chunk):
        hashes += rowhash.row_hashes(kind, crs, [row.values for row in rows])
        for row in rows:
            key = raw_key(row.values)
            keys.append(key)
            if key:
                n = first.setdefault(key, row.number)
                if n != row.number:
                    duplicates.setdefault(key, [n]).append(row.number)
        if stream.too_many(len(keys)) is not None:  # counted to the end for the message, keeping nothing more
            raise _count_all(stream, chunk)
    return FileKeys(hashes, keys, duplicates)


def _count_all(stream: LedgerStream, chunk: int) -> LedgerError:
    return stream.too_many(sum(len(rows) for rows in stream.chunks(chunk)))


def plan_stream(session, kind: LedgerKind, stream: LedgerStream, *, data_hash: str, filename: str,
                scope: AreaScope, crs: str = "wgs84", chunk: int = CHUNK) -> StreamedPlan:
    """A preview of the whole file, chunk by chunk, reading only."""
    check_crs(crs)
    return _run(session, kind, stream, scan(kind, stream, crs, chunk), data_hash=data_hash, filename=filename,
                scope=scope, crs=crs, chunk=chunk)


def import_stream(session_factory, stream: LedgerStream, *, kind_key: str, data_hash: str, filename: str,
                  scope: AreaScope, actor: str, crs: str = "wgs84", chunk: int = CHUNK) -> StreamedPlan:
    """Plan and save chunk by chunk inside one write transaction (all or nothing), audited like commit_import."""
    check_crs(crs)
    kind = KINDS[kind_key]
    file = scan(kind, stream, crs, chunk)  # before the write lock: reading the file holds nobody up
    state: dict = {}
    with session_factory() as s, s.begin():
        conn = s.connection()
        restore = _take_write_lock(conn)
        try:
            def save(verdicts: list[RowVerdict]) -> None:
                new = [r.record for r in verdicts if r.status == "new"]
                changed = [r.record for r in verdicts if r.status == "changed"]
                if kind.finish is not None:
                    kind.save(s, kind, new, changed, state=state)
                else:
                    (kind.save or save_by_key)(s, kind, new, changed)
                if rowhash.hashed(kind):
                    remember_rows(s, kind, verdicts)

            plan = _run(s, kind, stream, file, data_hash=data_hash, filename=filename, scope=scope, crs=crs,
                        chunk=chunk, save=save)
            if kind.finish is not None:
                kind.finish(s, state)
            audit.append(s, actor, "ledger_import", object=f"{kind.label} {filename}", detail={
                "kind": kind.key, "sha256": data_hash, "sheet": plan.sheet, "crs": crs,
                "new": plan.count("new"), "changed": plan.count("changed"), "unchanged": plan.count("unchanged"),
                "errors": plan.count("error")})
        finally:
            restore()
    return plan


def _run(session, kind: LedgerKind, stream: LedgerStream, file: FileKeys | None, *, data_hash: str, filename: str,
         scope: AreaScope, crs: str, chunk: int, save=None) -> StreamedPlan:
    counts: Counter = Counter()
    problems: list[RowVerdict] = []
    offset = 0
    # kinds without a raw key: the whole file in one chunk (their keys are known only after converting)
    size = chunk if file is not None else stream.max_rows + 1
    for rows in stream.chunks(size):
        if file is None:
            too_many = stream.too_many(len(rows))
            if too_many is not None:
                raise too_many
        verdicts = plan_rows(session, kind, rows, crs=crs, scope=scope, written=stream.columns, file=file,
                             offset=offset)
        if save is not None:
            save(verdicts)
        offset += len(rows)
        counts.update(r.status for r in verdicts)
        problems += [RowVerdict(r.number, r.status, r.key, r.problems) for r in verdicts if r.problems]
    notices = list(stream.notices)
    if not offset:
        notices.append(EMPTY)
    return StreamedPlan(kind.key, data_hash, filename, stream.sheet, crs, notices, counts, problems)


def _take_write_lock(conn):
    """SQLite: the write lock before the first chunk is planned (a second import waits, then is refused) and a page
    cache large enough for the indexes; returns the undo for the cache setting. Other databases lock the rows."""
    if conn.dialect.name != "sqlite":
        return lambda: None
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    return lambda: conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
