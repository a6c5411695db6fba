"""Helpers for tests and benchmarks: a migrated store, a settable clock, a cheap hasher, accounts."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher, Type
from sqlalchemy import select

from console.store import make_engine, make_session_factory, upgrade_schema
import console.store.security_models  # noqa: F401  (until console.store imports it)
from console.store.security_models import Account, AccountRole, AccountScope

from console.security import passwords
from console.security.audit import Auditor
from console.security.config import Settings
from console.security.guard import Viewer
from world.names import name_for

STRONG = "Pingan#2026x"  # meets every rule; tests use it as "the password"


class Clock:
    def __init__(self, start: datetime = datetime(2026, 11, 26, 8, 0, 0)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def use_fast_hasher() -> None:
    passwords.set_hasher(PasswordHasher(time_cost=1, memory_cost=256, parallelism=1, type=Type.ID))


_TEMPLATE: dict[str, Path] = {}


def migrated_db(folder: Path) -> str:
    """Path of a fresh SQLite database at schema head (alembic once, then file copies)."""
    folder.mkdir(parents=True, exist_ok=True)
    template = _TEMPLATE.get("db")
    if template is None or not template.exists():
        import tempfile

        template = Path(tempfile.mkdtemp(prefix="pingan-sec-")) / "template.sqlite"
        engine = make_engine(template)
        upgrade_schema(engine)
        engine.dispose()
        _TEMPLATE["db"] = template
    target = folder / "store.sqlite"
    shutil.copy(template, target)
    return str(target)


def store(folder: Path):
    engine = make_engine(migrated_db(folder))
    return engine, make_session_factory(engine)


def worker_name(username: str) -> str:
    """The synthetic Chinese name (world/names.py, never a real person) of a test 网格员 account: the same for the
    same login name, so a test can expect it."""
    return name_for(username)


def add_account(session_factory, username: str, roles=(), scope=(), *, password: str = STRONG,
                must_change: bool = False, totp_secret: str | None = None, now: datetime | None = None,
                display_name: str | None = None) -> int:
    """An active account. Its display name: `display_name`; for a 网格员 (`grid_worker`) without one a synthetic
    Chinese name (`worker_name`), as the roster and the duty desk show real workers' names; else the login name."""
    now = now or datetime(2026, 11, 26, 8, 0, 0)
    if display_name is None:
        display_name = worker_name(username) if "grid_worker" in roles else username
    with session_factory() as s, s.begin():
        account = Account(username=username, display_name=display_name,
                          password_hash=passwords.hash_password(password),
                          password_changed_at=now, must_change_password=must_change, enabled=True, failed_logins=0,
                          created_at=now, created_by="test", totp_secret=totp_secret, totp_enabled=bool(totp_secret))
        s.add(account)
        s.flush()
        for role in roles:
            s.add(AccountRole(account_id=account.id, role=role, granted_at=now, granted_by="test"))
        for code in scope:
            s.add(AccountScope(account_id=account.id, area_code=code, granted_at=now, granted_by="test"))
        return account.id


def viewer_of(session_factory, username: str, clock=None, ip: str = "10.0.0.1") -> Viewer:
    from console.security.accounts import viewer_for

    with session_factory() as s:
        account = s.scalar(select(Account).where(Account.username == username))
        return viewer_for(account, ip, Auditor(session_factory, clock or Clock()))


def settings(clock, **kw) -> Settings:
    return Settings(clock=clock, secret_key="test-secret", **kw)
