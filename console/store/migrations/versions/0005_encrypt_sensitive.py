"""encrypt identity numbers and special-population details at rest

person.id_number, dispute_party.id_number → Text holding AES-GCM/SM4-GCM ciphertext, plus a keyed
blind index (id_number_bidx, indexed) for exact-match lookups; special_person.details → ciphertext.
The data step encrypts existing rows in batches (Core UPDATEs by primary key, SQLite and PostgreSQL
alike) and needs the data key (PINGAN_DATA_KEY_FILE or the default key file); without one it stops
before changing anything. Indexes on the blind index are built after the data step (faster).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:33:20.357179
"""
import sys

from alembic import op
import sqlalchemy as sa

from console.security import crypto
from console.store.sensitive import SEALED, reseal_table, unseal_table


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _progress(spec, done):
    if done and done % 500000 < 20000:
        print(f"  加密 {spec.aad}: {done} 行", file=sys.stderr)


def _set_type(table: str, column: str, old: str, new: str, old_type, new_type) -> None:
    """Change a column's declared type. SQLite: edit the stored CREATE TABLE text in place (VARCHAR and
    TEXT have the same affinity, so the file format is unchanged) instead of a batch copy, which would
    rewrite millions of rows and cannot drop a table other tables reference while foreign keys are on."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(table, column, existing_type=old_type, type_=new_type, existing_nullable=False)
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).scalar()
    changed = sql.replace(f"{column} {old} NOT NULL", f"{column} {new} NOT NULL", 1)
    if changed == sql:
        raise RuntimeError(f"迁移 0005：无法识别 {table}.{column} 的列定义")
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql=? WHERE type='table' AND name=?", (changed, table))
    bind.exec_driver_sql(f"PRAGMA schema_version={version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    ring = crypto.require_keyring()  # refuse before any change when no key is configured
    op.drop_index(op.f('ix_person_id_number'), table_name='person')
    for table in ('person', 'dispute_party'):
        op.add_column(table, sa.Column('id_number_bidx', sa.String(length=32), nullable=True))
        _set_type(table, 'id_number', 'VARCHAR(18)', 'TEXT', sa.VARCHAR(length=18), sa.Text())

    conn = op.get_bind()
    for spec in SEALED:
        reseal_table(conn, spec, ring, progress=_progress)

    op.create_index(op.f('ix_dispute_party_id_number_bidx'), 'dispute_party', ['id_number_bidx'], unique=False)
    op.create_index(op.f('ix_person_id_number_bidx'), 'person', ['id_number_bidx'], unique=False)


def downgrade() -> None:
    ring = crypto.require_keyring()
    conn = op.get_bind()
    for spec in SEALED:
        unseal_table(conn, spec, ring)

    for table in ('person', 'dispute_party'):
        op.drop_index(op.f(f'ix_{table}_id_number_bidx'), table_name=table)
        op.drop_column(table, 'id_number_bidx')
        _set_type(table, 'id_number', 'TEXT', 'VARCHAR(18)', sa.Text(), sa.VARCHAR(length=18))
    op.create_index(op.f('ix_person_id_number'), 'person', ['id_number'], unique=False)
