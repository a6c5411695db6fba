"""Revision 0002 creates exactly the security models, seeds the audit head and protects audit rows."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text

import console.store.security_models as sm
from console.security.audit import GENESIS
from console.store import make_engine, upgrade_schema
from console.store.base import Base
from console.store.schema import alembic_config

SECURITY_TABLES = {"account", "account_role", "account_scope", "auth_session", "audit_log", "audit_head", "api_key",
                   "security_setting"}


def _security_metadata() -> MetaData:
    md = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in SECURITY_TABLES:
        Base.metadata.tables[name].to_metadata(md)
    return md


def test_security_models_equal_migration(tmp_path):
    assert {t for t in Base.metadata.tables if t in SECURITY_TABLES} == SECURITY_TABLES
    assert {m.__tablename__ for m in (sm.Account, sm.AccountRole, sm.AccountScope, sm.AuthSession, sm.AuditLog,
                                      sm.AuditHead, sm.ApiKey, sm.SecuritySetting)} == SECURITY_TABLES
    engine = make_engine(tmp_path / "m.sqlite")
    upgrade_schema(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_name": lambda n, t, p: t != "table" or n in SECURITY_TABLES})
        diff = compare_metadata(ctx, _security_metadata())
    assert diff == [], f"security models and migration 0002 differ: {diff}"


def test_head_row_trigger_and_round_trip(tmp_path):
    engine = make_engine(tmp_path / "r.sqlite")
    upgrade_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(text("select last_id, last_hash, archived_hash from audit_head")).one() == (0, GENESIS, GENESIS)
        assert conn.execute(text("select name from sqlite_master where type='trigger' order by name")).scalars().all() == \
            ["audit_log_no_delete", "audit_log_no_update"]
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0001")
    assert not SECURITY_TABLES & set(inspect(engine).get_table_names())
    command.upgrade(cfg, "head")
    assert SECURITY_TABLES <= set(inspect(engine).get_table_names())
