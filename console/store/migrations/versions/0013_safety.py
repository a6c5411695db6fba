"""key places, 护路护线 lines, incidents and their timelines (docs/safety.md)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

LOCATED = ('county', 'town', 'village', 'grid')


def _located() -> list:
    return [sa.Column('lon', sa.Float(), nullable=True), sa.Column('lat', sa.Float(), nullable=True),
            sa.Column('county_code', sa.String(length=6), nullable=True),
            sa.Column('town_code', sa.String(length=9), nullable=True),
            sa.Column('village_code', sa.String(length=12), nullable=True),
            sa.Column('grid_code', sa.String(length=15), nullable=True),
            sa.Column('assign_generation', sa.Integer(), nullable=True)]


def _area_indexes(table: str) -> None:
    for level in LOCATED:
        op.create_index(f'ix_{table}_{level}', table, [f'{level}_code'], unique=False)


def upgrade() -> None:
    op.create_table('key_place',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('risk_level', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=128), nullable=False),
    sa.Column('contact', sa.String(length=32), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    *_located(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_place')),
    sa.UniqueConstraint('code', name=op.f('uq_key_place_code'))
    )
    op.create_index(op.f('ix_key_place_kind'), 'key_place', ['kind'], unique=False)
    _area_indexes('key_place')
    op.create_table('safety_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('risk_level', sa.String(length=8), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.Column('grids', sa.Text(), nullable=False),
    sa.Column('min_lon', sa.Float(), nullable=False),
    sa.Column('min_lat', sa.Float(), nullable=False),
    sa.Column('max_lon', sa.Float(), nullable=False),
    sa.Column('max_lat', sa.Float(), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    *_located(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_line')),
    sa.UniqueConstraint('code', name=op.f('uq_safety_line_code'))
    )
    _area_indexes('safety_line')
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    *_located(),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_incident_alert_id_alert')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident')),
    sa.UniqueConstraint('alert_id', name=op.f('uq_incident_alert_id'))
    )
    op.create_index(op.f('ix_incident_raised_at'), 'incident', ['raised_at'], unique=False)
    op.create_index(op.f('ix_incident_state'), 'incident', ['state'], unique=False)
    _area_indexes('incident')
    op.create_table('incident_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_action_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_action'))
    )
    op.create_index(op.f('ix_incident_action_incident_id'), 'incident_action', ['incident_id'], unique=False)


def downgrade() -> None:
    op.drop_table('incident_action')
    op.drop_table('incident')
    op.drop_table('safety_line')
    op.drop_table('key_place')
