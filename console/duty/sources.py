"""Per-source API keys for POST /api/events (`pak_<prefix>.<secret>`, only the SHA-256 stored).

    python -m console.duty.sources --db data/ankang.sqlite add gridapp "网格通 App"    # prints the key once
    python -m console.duty.sources --db … rotate NAME    # new key (creates the source when missing)
    python -m console.duty.sources --db … list | disable NAME
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security.hardening import api_key_prefix, generate_api_key, verify_api_key
from console.store.duty_models import DutySource


def add_source(s: Session, name: str, title: str = "") -> str:
    """Create a source and return its key (shown once). Commit after."""
    key, prefix, digest = generate_api_key()
    s.add(DutySource(name=name, title=title or name, prefix=prefix, key_hash=digest, enabled=True,
                     created_at=datetime.utcnow()))
    return key


def rotate_source(s: Session, name: str, title: str = "") -> str:
    """New key for a source (created when missing); the old key stops working at once. Commit after."""
    row = s.scalar(select(DutySource).where(DutySource.name == name))
    if row is None:
        return add_source(s, name, title)
    key, prefix, digest = generate_api_key()
    row.prefix, row.key_hash, row.enabled = prefix, digest, True
    return key


class SourceKeys:
    """Key → source name.

    `source_for(key)` checks against the table on every call (`ttl=0`, the default): a rotated or disabled key
    stops at once, in every process (docs/security.md §5). The ingest endpoint uses `verify(key)` instead: the
    table cached for `ttl` seconds (refreshed at once on an unknown prefix) gives the source and the hash the key
    matched, and the writer re-checks that hash inside the transaction that stores the event (`Raw.key_current`,
    once per batch and key). So a rotated or disabled key still stores nothing from the moment its change is
    committed, and the request thread no longer pays a database round trip per event (docs/duty.md §2)."""

    def __init__(self, sessions, ttl: float = 0.0):
        self.sessions, self.ttl = sessions, ttl
        self._rows: dict[str, tuple[str, str]] = {}
        self._stamp = 0.0
        self._lock = threading.Lock()
        self._verified: dict[str, str] = {}  # key → the stored hash it was verified against

    def _refresh(self) -> None:
        with self.sessions() as s:
            rows = s.execute(select(DutySource.prefix, DutySource.name, DutySource.key_hash)
                             .where(DutySource.enabled.is_(True))).all()
        self._rows = {r.prefix: (r.name, r.key_hash) for r in rows}
        self._stamp = time.monotonic()

    def _current(self, prefix: str) -> tuple[str, str] | None:
        with self.sessions() as s:
            row = s.execute(select(DutySource.name, DutySource.key_hash)
                            .where(DutySource.prefix == prefix, DutySource.enabled.is_(True))).first()
        return (row.name, row.key_hash) if row else None

    def source_for(self, key: str | None) -> str | None:
        prefix = api_key_prefix(key or "")
        if prefix is None:
            return None
        if self.ttl <= 0:
            return self._checked(key, self._current(prefix))
        return self._checked(key, self._cached(prefix))

    def verify(self, key: str | None, ttl: float = 5.0) -> tuple[str, str, str] | None:
        """(source, prefix, stored hash) of a key that matches the cached table, or None. The caller must have
        the hash re-checked where it writes (`Raw.key_current`)."""
        prefix = api_key_prefix(key or "")
        if prefix is None:
            return None
        found = self._cached(prefix, ttl)
        source = self._checked(key, found)
        return None if source is None else (source, prefix, found[1])

    def _cached(self, prefix: str, ttl: float | None = None) -> tuple[str, str] | None:
        ttl = self.ttl if ttl is None else ttl
        found = self._rows.get(prefix)  # a dict read: no lock needed on the hot path
        if found is not None and time.monotonic() - self._stamp <= ttl:
            return found
        with self._lock:
            if time.monotonic() - self._stamp > ttl or prefix not in self._rows:
                self._refresh()
            return self._rows.get(prefix)

    def _checked(self, key: str, found: tuple[str, str] | None) -> str | None:
        if found is None:
            return None
        # A key verified once is remembered with the hash it matched: later requests with it skip the SHA-256
        # while that hash is still the source's current one (a rotated or disabled key stops as before).
        if self._verified.get(key) == found[1]:
            return found[0]
        if not verify_api_key(key, found[1]):
            return None
        if len(self._verified) >= 1024:
            self._verified.clear()
        self._verified[key] = found[1]
        return found[0]


def main(argv=None) -> None:
    from console.store import make_engine, make_session_factory

    ap = argparse.ArgumentParser(prog="python -m console.duty.sources", description="值班事件接入：来源系统与接口密钥")
    ap.add_argument("--db", required=True)
    sub = ap.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add")
    add.add_argument("name")
    add.add_argument("title", nargs="?", default="")
    rot = sub.add_parser("rotate", help="new key (creates the source when missing)")
    rot.add_argument("name")
    rot.add_argument("title", nargs="?", default="")
    sub.add_parser("list")
    dis = sub.add_parser("disable")
    dis.add_argument("name")
    args = ap.parse_args(argv)
    sessions = make_session_factory(make_engine(args.db, must_exist=True))
    with sessions() as s, s.begin():
        if args.cmd == "add":
            print(add_source(s, args.name, args.title))
        elif args.cmd == "rotate":
            print(rotate_source(s, args.name, args.title))
        elif args.cmd == "list":
            for r in s.scalars(select(DutySource).order_by(DutySource.name)):
                print(f"{r.name}\t{r.prefix}\t{'启用' if r.enabled else '停用'}\t{r.title}")
        else:
            row = s.scalar(select(DutySource).where(DutySource.name == args.name))
            if row is None:
                raise SystemExit(f"没有来源 {args.name}")
            row.enabled = False


if __name__ == "__main__":
    main()
