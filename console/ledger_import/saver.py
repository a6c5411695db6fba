"""Where a chunked import's verdicts are saved (docs/import.md "Two cores: planning beside saving").

`save_chunk` writes one chunk's new and changed records and remembers its rows, inside the caller's transaction.
Two ways to call it:

- **inline** — in the importing process, in the write transaction it opened (small files, in-memory databases);
- **SaveProcess** — a second process that opens its own connection, takes the database's write lock, saves the
  chunks the importing process sends it while that process reads and checks the next ones, and commits only when
  told the file is done (with the audit record, in the same transaction). If either side fails or dies, the
  transaction is rolled back: nothing of the file is stored. A million-row import spends about half its time in
  each half, so the two halves on two cores take about half the time of one.

Planning in the importing process reads the database as it was when the save process took the lock (its own read
transaction), not the chunks saved since: the keys of a file are unique (a key on several rows is refused on all
of them, stream.py) and the rows' buildings and households are looked up by the save itself, so the verdicts are
the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from typing import NamedTuple

from console.security import audit
from console.store.crypto import active_keyring, set_keyring

from . import rowhash
from .commit import remember_rows, save_by_key
from .kinds import KINDS, LedgerKind
from .plan import RowVerdict

SQLITE_CACHE_KIB = 256 * 1024  # page cache while importing: the indexes of a 3-million-person table stay in memory
_SAVED = ("new", "changed", "unchanged")  # what a save writes or remembers; rows with errors are not sent


def save_chunk(s, kind: LedgerKind, verdicts: list[RowVerdict] | list[Saved], state: dict) -> None:
    """One chunk's new and changed records saved, and the rows they were written from remembered (rowhash.py).
    `state`: kept across the chunks of one import for the kind's `finish`."""
    new = [r.record for r in verdicts if r.status == "new"]
    changed = [r.record for r in verdicts if r.status == "changed"]
    if kind.finish is not None:
        kind.save(s, kind, new, changed, state=state)
    else:
        (kind.save or save_by_key)(s, kind, new, changed)
    if rowhash.hashed(kind):
        if "first" not in state:  # asked before this import's first rows are remembered
            state["first"] = not rowhash.remembers(s, kind)
        remember_rows(s, kind, verdicts, first=state["first"])


def finish_import(s, kind: LedgerKind, state: dict, *, actor: str, filename: str, detail: dict) -> None:
    """After the last chunk, in the same transaction: the kind's own finishing step and the audit record."""
    if kind.finish is not None:
        kind.finish(s, state)
    audit.append(s, actor, "ledger_import", object=f"{kind.label} {filename}", detail=detail)


def take_write_lock(conn):
    """SQLite: the write lock before the first chunk is planned (a second import waits, then is refused) and a page
    cache large enough for the indexes; returns the undo for the cache setting. Other databases lock the rows."""
    if conn.dialect.name != "sqlite":
        return lambda: None
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    return lambda: conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


# -- what crosses the pipe ------------------------------------------------------------------------------------
def pack(verdicts: list[RowVerdict]) -> list[tuple[tuple, list[tuple]]]:
    """The verdicts a save needs, as (record field names, rows) groups: a tuple per row pickles several times
    faster than a dict and a dataclass. Rows with errors stay behind (not saved); compared-unchanged rows go
    without their record (only their key and hash are remembered)."""
    groups: dict[tuple, list[tuple]] = {}
    for r in verdicts:
        if r.status not in _SAVED:
            continue
        record = r.record if r.status != "unchanged" else ({"_id": r.record["_id"]} if "_id" in r.record else {})
        names = tuple(record)
        rows = groups.get(names)
        if rows is None:
            rows = groups[names] = []
        rows.append((r.status, r.key, r.row_hash, r.skipped, *record.values()))
    return list(groups.items())


class Saved(NamedTuple):
    """What `save_chunk` reads of a RowVerdict, without its lists of problems and changes (a million of them)."""

    status: str
    key: str | None
    row_hash: bytes | None
    skipped: bool
    record: dict


def unpack(groups: list[tuple[tuple, list[tuple]]]) -> list[Saved]:
    out: list[Saved] = []
    make = Saved._make  # a tuple's constructor: no Python __init__ per row
    for names, rows in groups:
        width = len(names)
        out += [make((row[0], row[1], row[2], row[3], dict(zip(names, row[4:4 + width])))) for row in rows]
    return out


# -- the save process -----------------------------------------------------------------------------------------
class SaveFailed(RuntimeError):
    """The save process stopped with an error: nothing of the import was stored. `busy`: another import held the
    database's write lock."""

    def __init__(self, message: str, busy: bool = False):
        super().__init__(message)
        self.busy = busy


class SaveProcess:
    """The parent's handle on the save process: `wait_locked`, `save` per chunk, `finish` (commit) or `abort`."""

    def __init__(self, url: str, kind_key: str):
        # a fresh interpreter (`python -m console.ledger_import.saver FD`), not multiprocessing's spawn: that one
        # re-runs the caller's main script, and no inherited connections, threads or locks either way
        self._conn, child = multiprocessing.Pipe()
        fd = child.fileno()
        path = os.pathsep.join(p for p in sys.path if p)  # where this process found `console`
        self._proc = subprocess.Popen([sys.executable, "-m", __name__, str(fd)], pass_fds=[fd],
                                      env={**os.environ, "PYTHONPATH": path})
        child.close()
        self._conn.send((url, kind_key, active_keyring()))
        self._locked = self._committed = False
        self.waits: dict[str, float] = {}  # wall seconds the importing process waited for the save process, by why

    def wait_locked(self) -> None:
        """Block until the save process holds the write lock (before the first read that depends on it)."""
        if not self._locked:
            self._expect("locked", "lock")
            self._locked = True

    def save(self, verdicts: list[RowVerdict]) -> None:
        """Hand a chunk over; blocks while the previous one is still being read by the save process, so at most
        two chunks are in flight. Raises SaveFailed if the save process has stopped with an error."""
        self.wait_locked()
        if self._conn.poll():  # an error from an earlier chunk: stop reading the file now
            self._expect("never")
        self._send(("chunk", pack(verdicts)), "chunks")

    def finish(self, *, actor: str, filename: str, detail: dict) -> dict:
        """The last chunk was sent: finish, audit and commit; returns once committed, with what the save process
        spent ({"cpu_s", "peak_rss_mb", "waited_s"}: the last is this process's wait for it, and "waits" that wait
        for the write lock, for a chunk to be taken and for the last chunks' save and the commit)."""
        self.wait_locked()
        self._send(("finish", actor, filename, detail), "commit")
        spent = self._expect("committed", "commit")[1]
        self._committed = True
        return {**spent, "waited_s": round(sum(self.waits.values()), 2),
                "waits": {k: round(v, 2) for k, v in self.waits.items()}}

    def abort(self) -> None:
        """Stop without committing (the transaction rolls back with the process). After `finish` it is left to
        copy its WAL back (`checkpoint`) and exit on its own; subprocess reaps it."""
        if self._committed:
            self._conn.close()
            return
        if self._proc.poll() is None:
            try:
                self._conn.send(("abort",))
            except OSError:
                pass
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._conn.close()

    def _send(self, message, why: str) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)  # read by the other side's `recv`
        started = time.perf_counter()
        try:
            self._conn.send_bytes(data)
        except OSError:
            self._expect("never")  # the process is gone: its last word says why
        self._waited(why, started)

    def _waited(self, why: str, since: float) -> None:
        self.waits[why] = self.waits.get(why, 0.0) + time.perf_counter() - since

    def _expect(self, what: str, why: str = "error") -> tuple:
        started = time.perf_counter()
        try:
            message = self._conn.recv()
        except (EOFError, OSError):
            try:
                code = self._proc.wait(5)
            except subprocess.TimeoutExpired:
                code = None
            raise SaveFailed(f"保存进程意外退出（退出码 {code}），本次未保存任何数据") from None
        finally:
            self._waited(why, started)
        if message[0] == "error":
            raise SaveFailed(message[1], busy=message[2])
        if message[0] != what:
            raise SaveFailed(f"保存进程答复异常：{message[0]}")
        return message


@contextmanager
def save_process(url: str, kind_key: str):
    """A SaveProcess that is aborted (its transaction rolled back) unless `finish` committed it."""
    saver = SaveProcess(url, kind_key)
    try:
        yield saver
    finally:
        saver.abort()


def _serve(conn) -> None:
    """The save process: lock, save each chunk, finish and commit on "finish"; roll back on "abort", on an error
    or when the importing process goes away."""
    import gc

    from sqlalchemy.exc import OperationalError

    from console.store import make_engine, make_session_factory

    gc.disable()  # as the importing side (stream._no_gc): millions of live values, no cycles worth collecting
    engine = None
    try:
        url, kind_key, ring = conn.recv()
        if ring is not None:
            set_keyring(ring)  # the importing process's key ring, whatever its source (a file, a test's own)
        kind = KINDS[kind_key]
        engine = make_engine(url, must_exist=True)
        with make_session_factory(engine)() as s:
            s.begin()
            take_write_lock(s.connection())
            conn.send(("locked",))
            _warm_indexes(s.connection(), kind, until=conn.poll)
            state: dict = {}
            while True:
                try:
                    message = conn.recv()
                except EOFError:  # the importing process is gone: roll back
                    return
                if message[0] == "chunk":
                    save_chunk(s, kind, unpack(message[1]), state)
                elif message[0] == "finish":
                    _tag, actor, filename, detail = message
                    finish_import(s, kind, state, actor=actor, filename=filename, detail=detail)
                    checkpoint_later(s.connection())
                    s.commit()
                    conn.send(("committed", {"cpu_s": round(time.process_time(), 2), "peak_rss_mb": peak_rss_mb()}))
                    checkpoint(s.connection())
                    return
                else:
                    return
    except OperationalError as exc:
        busy = "locked" in str(exc)
        _say(conn, "数据库正由另一个导入写入，请待其完成后再导入（本次未保存任何数据）" if busy
             else f"保存失败：{exc.orig}（本次未保存任何数据）", busy)
    except BaseException as exc:  # noqa: BLE001 - said to the importing process, which raises it
        traceback.print_exc()  # the whole story (statements without their values) in the command's error output
        reason = getattr(exc, "orig", None) or exc  # a database error: the database's words, not the statement
        _say(conn, f"保存失败：{type(reason).__name__}: {reason}（本次未保存任何数据）", False)
    finally:
        if engine is not None:
            engine.dispose()
        conn.close()


def checkpoint_later(conn) -> None:
    """SQLite: no automatic checkpoint inside this COMMIT. A million-row import leaves a WAL of several hundred MB,
    and copying it back into the database (~1.5 s) is the database's housekeeping, not part of the import: the save
    process does it after it has answered "committed" (`checkpoint`), while the importing process reports."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")


def checkpoint(conn) -> None:
    """After the answer: the WAL copied back (PASSIVE: never waits for, nor blocks, readers or a next writer). The
    import is committed whatever happens here: a checkpoint that fails is left to the next one."""
    from sqlalchemy.exc import DBAPIError

    if conn.dialect.name == "sqlite":
        try:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except DBAPIError:
            pass


def _warm_indexes(conn, kind: LedgerKind, until) -> None:
    """SQLite: read the indexes of the kind's table into the page cache while the importing process still scans
    the file (until the first chunk is waiting): every insert then finds its index pages in memory instead of
    reading them one at a time."""
    from sqlalchemy.exc import OperationalError

    if conn.dialect.name != "sqlite":
        return
    table = kind.model.__tablename__
    names = [n for (n,) in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))]
    for name in names:
        if until():
            return
        try:
            conn.exec_driver_sql(f'SELECT count(*) FROM "{table}" INDEXED BY "{name}"').scalar()
        except OperationalError:  # an index the planner cannot use for this: only a missed warm-up
            continue


def peak_rss_mb() -> int | None:
    """This process's own peak resident memory (VmHWM): getrusage's ru_maxrss would include the peak of the
    process it was forked from, whose memory it never used."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


def _say(conn, message: str, busy: bool) -> None:
    try:
        conn.send(("error", message, busy))
    except OSError:
        pass


if __name__ == "__main__":
    from multiprocessing.connection import Connection

    if os.environ.get("PINGAN_SAVER_PROFILE"):  # a developer's profile of the save process (docs/import.md)
        import cProfile

        cProfile.run("_serve(Connection(int(sys.argv[1])))", os.environ["PINGAN_SAVER_PROFILE"])
    else:
        _serve(Connection(int(sys.argv[1])))
