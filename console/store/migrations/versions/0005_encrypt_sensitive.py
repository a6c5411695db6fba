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

from console.store import crypto
from console.store.schema_ops import set_column_type
from console.store.sensitive import SEALED, reseal_table, unseal_table


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _progress(spec, done):
    if done and done % 500000 < 20000:
        print(f"  加密 {spec.aad}: {done} 行", file=sys.stderr)


# What this revision sealed, frozen: later revisions add columns to `SEALED` (0006: foreign_info).
SPECS = [s for s in SEALED if s.table in ("person", "dispute_party", "special_person")]


def upgrade() -> None:
    ring = crypto.require_keyring()  # refuse before any change when no key is configured
    op.drop_index(op.f('ix_person_id_number'), table_name='person')
    for table in ('person', 'dispute_party'):
        op.add_column(table, sa.Column('id_number_bidx', sa.String(length=32), nullable=True))
        set_column_type(table, 'id_number', 'VARCHAR(18)', 'TEXT', sa.VARCHAR(length=18), sa.Text())

    conn = op.get_bind()
    for spec in SPECS:
        reseal_table(conn, spec, ring, progress=_progress)

    op.create_index(op.f('ix_dispute_party_id_number_bidx'), 'dispute_party', ['id_number_bidx'], unique=False)
    op.create_index(op.f('ix_person_id_number_bidx'), 'person', ['id_number_bidx'], unique=False)


def downgrade() -> None:
    ring = crypto.require_keyring()
    conn = op.get_bind()
    for spec in SPECS:
        unseal_table(conn, spec, ring)

    for table in ('person', 'dispute_party'):
        op.drop_index(op.f(f'ix_{table}_id_number_bidx'), table_name=table)
        op.drop_column(table, 'id_number_bidx')
        set_column_type(table, 'id_number', 'TEXT', 'VARCHAR(18)', sa.Text(), sa.VARCHAR(length=18))
    op.create_index(op.f('ix_person_id_number'), 'person', ['id_number'], unique=False)
