"""patrols, check-ins and assessment weights

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:15:02.230714
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'  # 0010 (phones and addresses sealed) was numbered first
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_weight',
    sa.Column('indicator', sa.String(length=32), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('indicator', name=op.f('pk_assessment_weight'))
    )
    op.create_table('patrol',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('track', sa.Text(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('town_code', sa.String(length=9), nullable=True),
    sa.Column('village_code', sa.String(length=12), nullable=True),
    sa.Column('grid_code', sa.String(length=15), nullable=True),
    sa.Column('assign_generation', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol')),
    sa.UniqueConstraint('uuid', name=op.f('uq_patrol_uuid'))
    )
    with op.batch_alter_table('patrol', schema=None) as batch_op:
        batch_op.create_index('ix_patrol_grid', ['grid_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_worker'), ['worker'], unique=False)

    op.create_table('patrol_checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('patrol_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrol.id'], name=op.f('fk_patrol_checkin_patrol_id_patrol')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_checkin')),
    sa.UniqueConstraint('uuid', name=op.f('uq_patrol_checkin_uuid'))
    )
    with op.batch_alter_table('patrol_checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_checkin_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_checkin_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_checkin_patrol_id'), ['patrol_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('patrol_checkin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrol_checkin_patrol_id'))
        batch_op.drop_index(batch_op.f('ix_patrol_checkin_household_id'))
        batch_op.drop_index(batch_op.f('ix_patrol_checkin_at'))

    op.drop_table('patrol_checkin')
    with op.batch_alter_table('patrol', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrol_worker'))
        batch_op.drop_index(batch_op.f('ix_patrol_started_at'))
        batch_op.drop_index('ix_patrol_grid')

    op.drop_table('patrol')
    op.drop_table('assessment_weight')
