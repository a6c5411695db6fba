"""seal phones and street addresses at rest; shared rate buckets for the sensitive-read limits

person.phone, person.registered_address, household.address, key_youth.guardian_phone, organisation.address,
dispute_party.phone, grid_worker.phone → Text holding AES-GCM/SM4-GCM ciphertext like the identity numbers (0005),
plus grid_worker.phone_bidx (keyed blind index, indexed): the roster import matches workers by phone. Existing rows
are sealed in place in batches by primary key (Core UPDATEs, SQLite and PostgreSQL alike); values already sealed
are left as they are, so running it again changes nothing. Needs the data key; without one it stops before
changing anything. rate_bucket: the unmask / duplicate-check allowances, shared by every server process.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:40:00
"""
import sys

from alembic import op
import sqlalchemy as sa

from console.store import crypto
from console.store.schema_ops import set_column_type
from console.store.sensitive import SEALED, reseal_table, unseal_table

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# (table, column, old declared type, nullable): frozen here, later revisions may seal more
COLUMNS = (
    ("person", "phone", 16, True),
    ("person", "registered_address", 128, True),
    ("household", "address", 128, False),
    ("key_youth", "guardian_phone", 16, False),
    ("organisation", "address", 128, False),
    ("dispute_party", "phone", 16, True),
    ("grid_worker", "phone", 16, False),
)
SPECS = [next(s for s in SEALED if (s.table, s.column) == (t, c)) for t, c, _, _ in COLUMNS]


def _progress(spec, done):
    if done and done % 500000 < 20000:
        print(f"  加密 {spec.aad}: {done} 行", file=sys.stderr)


def upgrade() -> None:
    ring = crypto.require_keyring()  # refuse before any change when no key is configured
    conn = op.get_bind()
    for table, column, length, nullable in COLUMNS:
        set_column_type(table, column, f'VARCHAR({length})', 'TEXT', sa.VARCHAR(length=length), sa.Text(),
                        nullable=nullable)
    if 'phone_bidx' not in {c['name'] for c in sa.inspect(conn).get_columns('grid_worker')}:
        op.add_column('grid_worker', sa.Column('phone_bidx', sa.String(length=32), nullable=True))
    for spec in SPECS:
        reseal_table(conn, spec, ring, progress=_progress)
    if 'ix_grid_worker_phone_bidx' not in {i['name'] for i in sa.inspect(conn).get_indexes('grid_worker')}:
        op.create_index(op.f('ix_grid_worker_phone_bidx'), 'grid_worker', ['phone_bidx'], unique=False)
    if 'rate_bucket' not in sa.inspect(conn).get_table_names():
        op.create_table('rate_bucket',
                        sa.Column('name', sa.String(length=32), nullable=False),
                        sa.Column('key', sa.String(length=64), nullable=False),
                        sa.Column('tokens', sa.Float(), nullable=False),
                        sa.Column('stamp', sa.Float(), nullable=False),
                        sa.PrimaryKeyConstraint('name', 'key', name=op.f('pk_rate_bucket')))


def downgrade() -> None:
    ring = crypto.require_keyring()
    conn = op.get_bind()
    op.drop_table('rate_bucket')
    for spec in SPECS:
        unseal_table(conn, spec, ring)
    op.drop_index(op.f('ix_grid_worker_phone_bidx'), table_name='grid_worker')
    op.drop_column('grid_worker', 'phone_bidx')
    for table, column, length, nullable in COLUMNS:
        set_column_type(table, column, 'TEXT', f'VARCHAR({length})', sa.Text(), sa.VARCHAR(length=length),
                        nullable=nullable)
