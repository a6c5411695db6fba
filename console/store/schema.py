"""Schema migrations (Alembic), driven from code so no alembic.ini is needed at run time."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from .session import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | Connection) -> Config:
    """An Engine: migrations commit on their own. A Connection: they join its open transaction."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def _head() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


SCHEMA_HEAD = _head()


def upgrade_schema(engine: Engine | Connection) -> None:
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Refuse a database from another schema version, with a message that says what to do."""
    rev = current_revision(engine)
    if rev is None:
        raise StoreError("数据库为空或不是本系统的数据库（缺少版本信息）；请先构建演示数据: make world")
    if rev != SCHEMA_HEAD:
        raise StoreError(f"数据库版本 {rev} 与程序版本 {SCHEMA_HEAD} 不一致；请先升级: python -m console.store.upgrade --db …")
