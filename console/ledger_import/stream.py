"""The chunked pipeline for ledgers too large to hold at once (the command line's path; docs/import.md "A million
rows: the chunked pipeline"): the file is read twice, a batch of rows at a time, and no pass keeps the rows.

1. **Scan** — the keys on several rows, with every row number, are known before the first row is checked, so a
   duplicate is refused on all its rows however far apart. A file that is most of what is remembered (the same
   ledger again) is scanned whole: each row's hash (rowhash.py), matched against the remembered rows, and its
   cells kept for pass 2; any other file only for its key column, its rows seen before (if anything is remembered)
   looked up as pass 2 reads them.
2. **Plan and save, chunk by chunk** — rows seen before are counted and passed over; the others are converted and
   checked, located, compared (plan.plan_rows), then the chunk's new and changed records saved and their rows
   remembered, all inside ONE transaction: a failure in any chunk rolls back every chunk. On SQLite the transaction
   takes the write lock first (BEGIN IMMEDIATE): a second import of the same database waits (busy timeout) or is
   refused, never interleaved.

The result keeps the counts and the rows with problems (their numbers and messages), not every row's record.
Kinds without a raw key of their own (特殊人群, 重点青少年, 两率两度, 重点场所) are planned as one chunk: their
files are small and their keys are only known after converting.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.exc import OperationalError

from console.ledgers.cells import Cells
from console.ledgers.reader import LedgerError, LedgerStream
from console.store import AreaScope
from console.store.session import sqlite_path

from . import rowhash
from .kinds import KINDS, LedgerKind
from .plan import EMPTY, STATUS_LABELS, RowVerdict, check_crs, plan_rows, remember_places
from .saver import SaveFailed, finish_import, save_chunk, save_process, take_write_lock

CHUNK = 50_000  # rows planned and saved together: ~50 MB of cells and records in flight
# the first chunk and those of the file's last CHUNK rows are smaller: the save process has nothing to do until the
# first is planned, and the importing process nothing after the last is, but wait for it to be saved
SMALL_CHUNK = 10_000
BATCH = 5_000  # rows read (and, when all were seen before, passed over) together
# rows per command-line import: the largest county's 实有人口 fits; calamine holds an .xlsx sheet at ~1.05 GB per
# million rows (docs/import.md)
MAX_ROWS = 1_500_000


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
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per phase: scan, read, plan, save
    save_process: dict = field(default_factory=dict)  # saved by a second process: its CPU, peak RSS, our wait

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def summary(self) -> str:
        parts = [f"{STATUS_LABELS[s]} {self.count(s)} 行" for s in STATUS_LABELS if self.count(s)]
        return "，".join(parts) or "没有数据行"


@dataclass
class FileScan:
    """Pass 1's findings, kept for pass 2: the keys on several rows with all their numbers and, when the scan looked
    up the rows seen before (the same file again), per row (in file order) whether it may be passed over and its
    hash (about 25 bytes a row), and per batch of the reader's rows whether all of them may."""
    duplicates: dict[str, list[int]]
    key_of: Callable[[tuple], str]  # a row's key as written, from its cells
    look_up: bool = False  # rows seen before are looked up as pass 2 reads them (`seen` is None)
    seen: bytearray | None = None  # 1: the row's record was written from this very row (rowhash.seen_before)
    digests: bytearray | None = None  # each row's hash, 16 bytes (rowhash.tuple_hashes); None: hashed when read
    batches: list[int] = field(default_factory=list)  # per reader batch: its non-empty rows (with `seen`)
    all_seen: set[int] = field(default_factory=set)  # reader batches whose rows all may be passed over

    def to_check(self, session, kind: LedgerKind, crs: str, fields, scope: AreaScope, first: int, cells: list[tuple]
                 ) -> tuple[list[int], list[bytes]]:
        """Of a batch of rows read again (`first`: the index of its first row in the file), the indexes of those
        to check and their hashes; the others were seen before. A repeated key is checked (and refused) on every
        row."""
        if self.seen is not None:  # looked up by the scan
            todo = [i for i in range(len(cells)) if not self.seen[first + i]]
            if self.digests is not None:
                return todo, [bytes(self.digests[16 * (first + i):16 * (first + i) + 16]) for i in todo]
            return todo, rowhash.tuple_hashes(kind, crs, fields, [cells[i] for i in todo])
        hashes = rowhash.tuple_hashes(kind, crs, fields, cells)
        if not self.look_up:  # nothing of this kind remembered: nothing to recognise
            return list(range(len(cells))), hashes
        keys = [self.key_of(row) for row in cells]
        found = rowhash.seen_before(session, kind, [(h, k) for h, k in zip(hashes, keys) if k], scope, key=str,
                                    scan=False)
        todo = [i for i, (h, k) in enumerate(zip(hashes, keys)) if h not in found or k in self.duplicates]
        return todo, [hashes[i] for i in todo]


def scan(session, kind: LedgerKind, stream: LedgerStream, crs: str, scope: AreaScope, chunk: int = CHUNK,
         ready=None) -> FileScan | None:
    """Pass 1: the keys on several rows, so a duplicate is known before any row is checked. None for kinds without
    a raw key. A file that is most of what is remembered (the same county's ledger again) is read whole: each row's
    hash, matched in one pass over the remembered rows, and its cells kept for pass 2 (`_scan_rows`); any other
    file only for its keys, one column of the sheet (`_scan_keys`), its rows seen before looked up as pass 2 reads
    them. `ready()`: called before the first look-up (the save process's write lock, saver.py)."""
    if not rowhash.hashed(kind):
        return None
    fields = stream.fields
    key_at, raw_key, natural = fields.index(kind.natural_key), kind.raw_key, kind.natural_key

    def key_of(row: tuple) -> str:
        return raw_key({natural: row[key_at]})

    # asked before the write lock (saver.py): an import committed in between only means its rows are checked in
    # full, not passed over
    remembered = rowhash.remembered_count(session, kind)
    # a file that is most of what is remembered is matched in one pass over the remembered rows after the scan
    # (1,000,000 rows: 4.9 s against 10.9 s a chunk at a time); a small file against many remembered rows, a
    # look-up per hash a batch at a time
    if remembered and (stream.rows_hint or 0) * 4 >= remembered:
        return _scan_rows(session, kind, stream, crs, scope, chunk, ready, key_of)
    return _scan_keys(kind, stream, chunk, key_of, look_up=bool(remembered))


def _scan_keys(kind: LedgerKind, stream: LedgerStream, chunk: int, key_of, *, look_up: bool) -> FileScan:
    """The keys alone. The workbook stays for pass 2 to read the rows again (a county's first import: its save
    process starts ~5 s sooner than after cleaning and keeping every cell)."""
    if stream.too_many(stream.rows_hint or 0) is not None:  # the sheet's rows, empty ones included, may be past it
        error = _count_all(stream, chunk)
        if error is not None:
            raise error
    natural, raw_key = kind.natural_key, kind.raw_key
    key_hashes, numbers = array("q"), array("l")  # per row with a key cell (CPython's string hash, stable within a process)

    def keys():
        for chunk_numbers, cells in stream.column_chunks(natural, min(BATCH, chunk)):
            yield chunk_numbers, [raw_key({natural: x}) for x in cells]

    for chunk_numbers, found in keys():
        numbers.extend(chunk_numbers)
        key_hashes.extend([hash(k) if k else 0 for k in found])
    duplicates = _duplicates(key_hashes, lambda: (k for _n, found in keys() for k in found))
    return FileScan({key: [numbers[i] for i in indexes] for key, indexes in duplicates.items()}, key_of,
                    look_up=look_up)


def _scan_rows(session, kind: LedgerKind, stream: LedgerStream, crs: str, scope: AreaScope, chunk: int, ready,
               key_of) -> FileScan:
    """Every row's hash and key, the rows seen before matched in one pass over the remembered rows (read beside
    the scan), the cells kept for pass 2. Keys are kept as 64-bit hashes only: rows whose key hash repeats are read
    once more for their keys (a clean file: never)."""
    fields = stream.fields
    key_hashes = array("q")  # hash(key) per row, 0 without a key
    numbers = array("l")
    seen = bytearray()
    batches: list[int] = []
    pending: list[tuple[bytes, str]] = []  # (hash, key) of the rows to look up
    digests = bytearray()
    # the remembered rows are read while this thread scans: SQLite reads its pages without the GIL (2–3 s for a
    # million rows, mostly hidden behind the scan); this thread does not use the session meanwhile
    beside = ThreadPoolExecutor(1, thread_name_prefix="pingan-remembered")
    prefetch = beside.submit(_remembered_rows, session, kind, ready)
    try:
        # kept: the second pass (and a look for duplicates) read the cleaned cells back instead of the workbook
        for chunk_numbers, cells in stream.raw_chunks(min(BATCH, chunk), keep=True):
            numbers.extend(chunk_numbers)
            batches.append(len(chunk_numbers))
            keys = [key_of(row) for row in cells]
            key_hashes.extend([hash(k) if k else 0 for k in keys])
            hashes = rowhash.tuple_hashes(kind, crs, fields, cells)
            digests += b"".join(hashes)
            pending += [(h, k) for h, k in zip(hashes, keys)]
            if stream.too_many(len(numbers)) is not None:  # counted to the end for the message, keeping nothing more
                raise _count_all(stream, chunk)
        stored = prefetch.result()  # first: the thread waits for the write lock (`ready`), never two waiting at once
        found = rowhash.seen_before(session, kind, [(h, k) for h, k in pending if k], scope, key=str, scan=True,
                                    stored=stored)
        seen.extend([h in found for h, _k in pending])
    finally:
        beside.shutdown(wait=True)  # never leave the thread on the session (an error above, too)
    duplicates = _duplicates(key_hashes, lambda: (key_of(row) for _n, cells in stream.raw_chunks(min(BATCH, chunk))
                                                  for row in cells))
    for indexes in duplicates.values():
        for i in indexes:
            seen[i] = 0  # a repeated key is checked (and refused) on every row
    duplicates = {key: [numbers[i] for i in indexes] for key, indexes in duplicates.items()}
    all_seen, start = set(), 0
    for b, n in enumerate(batches):
        if n and seen.count(1, start, start + n) == n:
            all_seen.add(b)
        start += n
    return FileScan(duplicates, key_of, seen=seen, digests=digests, batches=batches, all_seen=all_seen)


def _remembered_rows(session, kind: LedgerKind, ready) -> list[tuple]:
    if ready is not None:
        ready()  # the save process holds the write lock: nothing changes under this read
    return rowhash.remembered_rows(session, kind)


def _duplicates(key_hashes: array, keys_again: Callable[[], Iterator[str]]) -> dict[str, list[int]]:
    """key → row indexes (in `key_hashes`), for the keys on several rows: rows whose key hash repeats are read
    again for their keys (`keys_again`: every row's key once more, in the same order; equal hashes need not be
    equal keys)."""
    every = np.frombuffer(key_hashes, dtype=np.int64)
    values, counts = np.unique(every[every != 0], return_counts=True)
    repeated = values[counts > 1]
    if not len(repeated):
        return {}
    suspects = set(np.flatnonzero(np.isin(every, repeated)).tolist())
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys_again()):
        if index in suspects:
            groups.setdefault(key, []).append(index)
    return {key: indexes for key, indexes in groups.items() if len(indexes) > 1}


def _count_all(stream: LedgerStream, chunk: int) -> LedgerError:
    return stream.too_many(sum(len(numbers) for numbers, _ in stream.raw_chunks(chunk)))


def plan_stream(session, kind: LedgerKind, stream: LedgerStream, *, data_hash: str, filename: str,
                scope: AreaScope, crs: str = "wgs84", chunk: int = CHUNK) -> StreamedPlan:
    """A preview of the whole file, chunk by chunk, reading only."""
    check_crs(crs)
    with _no_gc():
        return _run(session, kind, stream, data_hash=data_hash, filename=filename, scope=scope, crs=crs, chunk=chunk)


def import_stream(session_factory, stream: LedgerStream, *, kind_key: str, data_hash: str, filename: str,
                  scope: AreaScope, actor: str, crs: str = "wgs84", chunk: int = CHUNK,
                  split: bool | None = None) -> StreamedPlan:
    """Plan and save chunk by chunk inside one write transaction (all or nothing), audited like commit_import.
    `split`: save in a second process while this one plans the next chunk (saver.py); None: when the file has
    more than one chunk of rows and the database is one a second process can open."""
    check_crs(crs)
    kind = KINDS[kind_key]
    engine = session_factory.kw["bind"]
    if split is None:
        split = (stream.rows_hint or 0) > chunk and _shareable(engine)
    if split:
        return _import_split(session_factory, engine, stream, kind, data_hash=data_hash, filename=filename,
                             scope=scope, actor=actor, crs=crs, chunk=chunk)
    state: dict = {}
    with _no_gc(), session_factory() as s, s.begin():
        restore = take_write_lock(s.connection())
        try:
            plan = _run(s, kind, stream, data_hash=data_hash, filename=filename, scope=scope, crs=crs, chunk=chunk,
                        save=lambda verdicts: save_chunk(s, kind, verdicts, state))
            finish_import(s, kind, state, actor=actor, filename=filename, detail=_audit_detail(kind, plan, crs))
        finally:
            restore()
    return plan


def _import_split(session_factory, engine, stream: LedgerStream, kind: LedgerKind, *, data_hash: str, filename: str,
                  scope: AreaScope, actor: str, crs: str, chunk: int) -> StreamedPlan:
    """This process reads and plans; the save process (saver.py) holds the write transaction and saves."""
    url = engine.url.render_as_string(hide_password=False)
    with _no_gc(), save_process(url, kind.key) as saver, session_factory() as reads:
        try:
            plan = _run(reads, kind, stream, data_hash=data_hash, filename=filename, scope=scope, crs=crs,
                        chunk=chunk, save=saver.save, ready=saver.wait_locked)
            # every chunk is planned: end this side's read transaction before the save process commits (PostgreSQL
            # holds a snapshot open until then; SQLite's driver reads outside a transaction, a no-op there)
            reads.rollback()
            plan.save_process = saver.finish(actor=actor, filename=filename, detail=_audit_detail(kind, plan, crs))
        except SaveFailed as exc:
            if exc.busy:
                raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")) from None
            raise
    return plan


def _shareable(engine) -> bool:
    """A database a second process can open by URL: a SQLite file or a server, not an in-memory SQLite."""
    return engine.dialect.name != "sqlite" or sqlite_path(str(engine.url)) is not None


def _audit_detail(kind: LedgerKind, plan: StreamedPlan, crs: str) -> dict:
    return {"kind": kind.key, "sha256": plan.file_hash, "sheet": plan.sheet, "crs": crs, "new": plan.count("new"),
            "changed": plan.count("changed"), "unchanged": plan.count("unchanged"), "errors": plan.count("error")}


def _run(session, kind: LedgerKind, stream: LedgerStream, *, data_hash: str, filename: str, scope: AreaScope,
         crs: str, chunk: int, save=None, ready=None) -> StreamedPlan:
    clock = time.process_time
    cpu: Counter = Counter()
    started = clock()
    file = scan(session, kind, stream, crs, scope, chunk, ready)
    if ready is not None:
        ready()
    cpu["scan"] = clock() - started
    counts: Counter = Counter()
    problems: list[RowVerdict] = []
    fields = stream.fields
    if file is None:  # kinds without a raw key: the whole file in one chunk (their keys are known only after converting)
        batches = stream.raw_chunks(stream.max_rows + 1)
    else:
        batches = stream.raw_chunks(min(BATCH, chunk), wanted=lambda b: b not in file.all_seen)
    offset = 0  # index of the batch's first row in the file (its non-empty rows)
    small = min(chunk, SMALL_CHUNK)
    limit, tail = small, (stream.rows_hint or 0) - chunk  # past `tail` rows read, the chunks are small again
    numbers: list[int] = []  # the rows to plan next: their numbers and cells
    rows: list[tuple] = []
    hashes: list[str] | None = [] if file is not None else None
    # saved by another process, the earlier chunks' buildings are not in what this session reads (saver.py)
    placed: dict[str, tuple] | None = {} if ready is not None and kind.located and kind.placement is None else None

    def plan_and_save() -> None:
        t0 = clock()
        verdicts = plan_rows(session, kind, Cells(numbers, fields, rows), crs=crs, scope=scope,
                             written=stream.columns, hashes=hashes,
                             duplicates=file.duplicates if file is not None else None, placed=placed)
        if placed is not None:
            remember_places(placed, verdicts)
        if ready is not None and kind.carry is not None:  # saved by another process
            kind.carry(verdicts)
        t1 = clock()
        if save is not None:
            save(verdicts)
        cpu["plan"] += t1 - t0
        cpu["save"] += clock() - t1
        counts.update(r.status for r in verdicts)
        problems.extend(RowVerdict(r.number, r.status, r.key, r.problems) for r in verdicts if r.problems)
        numbers.clear()
        rows.clear()
        if hashes is not None:
            hashes.clear()

    for b, batch in enumerate(batches):
        if batch is None:  # every row seen before
            n = file.batches[b]
            counts["unchanged"] += n
            offset += n
            continue
        batch_numbers, cells = batch
        read = offset + len(batch_numbers)
        if stream.too_many(read) is not None:  # the scan counted the rows of a sheet that might be past it
            raise stream.too_many(read) if file is None else _count_all(stream, chunk)
        if file is not None:
            todo, todo_hashes = file.to_check(session, kind, crs, fields, scope, offset, cells)
            counts["unchanged"] += len(batch_numbers) - len(todo)
            if len(todo) < len(batch_numbers):
                batch_numbers, cells = [batch_numbers[i] for i in todo], [cells[i] for i in todo]
            hashes += todo_hashes
        offset = read
        numbers += batch_numbers
        rows += cells
        if len(rows) >= limit:
            plan_and_save()
            limit = chunk if offset < tail else small
    if rows:
        plan_and_save()
    cpu["read"] = clock() - started - cpu["scan"] - cpu["plan"] - cpu["save"]
    notices = list(stream.notices)
    if not offset:
        notices.append(EMPTY)
    return StreamedPlan(kind.key, data_hash, filename, stream.sheet, crs, notices, counts, problems,
                        {k: round(v, 2) for k, v in cpu.items()})


@contextmanager
def _no_gc():
    """The cyclic collector off for the import: its full passes over millions of live cells tripled the time of
    cleaning a chunk, and an import makes no garbage cycles worth collecting midway."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
