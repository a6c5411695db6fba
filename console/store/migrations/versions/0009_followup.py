"""follow-up visits of special-population records (特殊人群随访)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('followup_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('special_person_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['special_person_id'], ['special_person.id'],
                            name=op.f('fk_followup_visit_special_person_id_special_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_visit'))
    )
    with op.batch_alter_table('followup_visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_visit_special_person_id'), ['special_person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('followup_visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_visit_special_person_id'))
    op.drop_table('followup_visit')
