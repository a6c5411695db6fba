"""Engine and session handling. A plain file path means the embedded SQLite default."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


class StoreError(RuntimeError):
    """The database cannot be used (missing, unwritable, wrong schema)."""


def database_url(db: str | os.PathLike) -> str:
    """Accept a SQLAlchemy URL or a file path; return a URL."""
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_writable_folder(path: Path) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"数据目录无法创建: {folder} ({exc.strerror})") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"数据目录不可写: {folder}")


def _sqlite_pragmas(journal: str, synchronous: str):
    def on_connect(dbapi_connection, _record) -> None:
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA journal_mode={journal}")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()

    return on_connect


def make_engine(db: str | os.PathLike, *, must_exist: bool = False, bulk: bool = False, **kwargs) -> Engine:
    """`bulk=True` is for a scratch file being built (no journal, no fsync): never for live data."""
    url = database_url(db)
    path = sqlite_path(url)
    if path is not None:
        if must_exist and not path.exists():
            raise StoreError(f"数据库文件不存在: {path}（请先运行 make world 或 python -m world）")
        check_writable_folder(path)
    # a failed statement's error (logged, or shown to an operator) names the statement, never its values: they
    # carry personal data (docs/security.md)
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas("OFF", "OFF") if bulk else _sqlite_pragmas("WAL", "NORMAL"))
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
