"""ledger rows already imported (row hashes)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:35:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_row',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'record_id', name=op.f('pk_ledger_row'))
    )
    op.create_index('ix_ledger_row_hash', 'ledger_row', ['kind', 'row_hash'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ledger_row_hash', table_name='ledger_row')
    op.drop_table('ledger_row')
