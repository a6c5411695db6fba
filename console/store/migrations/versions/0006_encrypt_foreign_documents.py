"""encrypt foreign residents' document numbers (passports) at rest

foreign_info.document_no → Text holding AES-GCM/SM4-GCM ciphertext, like person.id_number (0005). No blind
index: nothing searches by passport number. Needs the data key; without one it stops before changing anything.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 05:45:00
"""
import sqlalchemy as sa

from console.store import crypto
from console.store.schema_ops import set_column_type
from console.store.sensitive import SEALED, reseal_table, unseal_table

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SPEC = next(s for s in SEALED if s.table == "foreign_info" and s.column == "document_no")


def upgrade() -> None:
    ring = crypto.require_keyring()
    from alembic import op

    set_column_type('foreign_info', 'document_no', 'VARCHAR(24)', 'TEXT', sa.VARCHAR(length=24), sa.Text())
    reseal_table(op.get_bind(), SPEC, ring)


def downgrade() -> None:
    ring = crypto.require_keyring()
    from alembic import op

    unseal_table(op.get_bind(), SPEC, ring)
    set_column_type('foreign_info', 'document_no', 'TEXT', 'VARCHAR(24)', sa.Text(), sa.VARCHAR(length=24))
