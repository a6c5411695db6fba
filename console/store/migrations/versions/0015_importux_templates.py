"""import mapping templates per source; 数据质量: id_valid and updated_at on persons, households and organisations,
and the persisted quality cube

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 12:30:00

Existing rows get updated_at = the time of the upgrade (the stale check starts counting from it) and
id_valid NULL (checked once by the first 数据质量 refresh: console/services/quality_store.py).
"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TOUCHED = ('person', 'household', 'organisation')


def upgrade() -> None:
    op.create_table('import_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('area', sa.String(length=200), nullable=False),
    sa.Column('signature', sa.String(length=32), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('mapping', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_template')),
    sa.UniqueConstraint('name', name=op.f('uq_import_template_name'))
    )
    op.create_index('ix_import_template_match', 'import_template', ['kind', 'signature'], unique=False)
    op.create_table('quality_cell',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('town_code', sa.String(length=9), nullable=True),
    sa.Column('village_code', sa.String(length=12), nullable=True),
    sa.Column('grid_code', sa.String(length=15), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_cell'))
    )
    op.add_column('person', sa.Column('id_valid', sa.Boolean(), nullable=True))
    now = datetime.now().replace(microsecond=0)
    for table in TOUCHED:
        op.add_column(table, sa.Column('updated_at', sa.DateTime(), nullable=True))
        t = sa.table(table, sa.column('updated_at', sa.DateTime()))
        op.execute(t.update().values(updated_at=now))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35, PostgreSQL): a batch copy of person would trip its foreign keys
    for table in TOUCHED:
        op.execute(f'ALTER TABLE {table} DROP COLUMN updated_at')
    op.execute('ALTER TABLE person DROP COLUMN id_valid')
    op.drop_table('quality_cell')
    op.drop_index('ix_import_template_match', table_name='import_template')
    op.drop_table('import_template')
