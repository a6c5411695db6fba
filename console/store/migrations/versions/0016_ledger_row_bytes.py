"""ledger_row: row hashes as 16 bytes, and (SQLite) WITHOUT ROWID

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:30:00

The remembered rows are rebuilt into a new table, their 32-hex-character hashes converted to the 16 bytes they
spell, a batch at a time (nothing remembered is lost: the same file still imports as "unchanged" by hash).
On SQLite the new table keeps its rows in the primary key's B-tree (WITHOUT ROWID): two B-trees written per
remembered row instead of three (docs/import.md).
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 50_000


def _rebuild(hash_type, convert, with_rowid: bool) -> None:
    bind = op.get_bind()
    # SQLite's constraint names belong to their table: the final name now. PostgreSQL's are the old table's
    # index until it is dropped: a temporary name, renamed below.
    pk = 'pk_ledger_row' if bind.dialect.name == 'sqlite' else 'pk_ledger_row_new'
    op.create_table('ledger_row_new',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('row_hash', hash_type, nullable=False),
    sa.PrimaryKeyConstraint('kind', 'record_id', name=pk),
    sqlite_with_rowid=with_rowid,
    )
    old = sa.table('ledger_row', sa.column('kind'), sa.column('record_id'), sa.column('row_hash'))
    new = sa.table('ledger_row_new', sa.column('kind'), sa.column('record_id'), sa.column('row_hash'))
    after = ('', -1)
    while True:  # in key order, a batch at a time (keyset pagination: no OFFSET rescans)
        rows = bind.execute(sa.select(old.c.kind, old.c.record_id, old.c.row_hash)
                            .where(sa.tuple_(old.c.kind, old.c.record_id) > sa.tuple_(*after))
                            .order_by(old.c.kind, old.c.record_id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(new.insert(), [{'kind': k, 'record_id': r, 'row_hash': convert(h)} for k, r, h in rows])
        after = (rows[-1][0], rows[-1][1])
    op.drop_index('ix_ledger_row_hash', table_name='ledger_row')
    op.drop_table('ledger_row')
    op.rename_table('ledger_row_new', 'ledger_row')
    if bind.dialect.name == 'postgresql':  # SQLite's index names are free again with the table; PG's constraint moves
        op.execute('ALTER TABLE ledger_row RENAME CONSTRAINT pk_ledger_row_new TO pk_ledger_row')
    elif bind.dialect.name != 'sqlite':
        raise NotImplementedError(bind.dialect.name)
    op.create_index('ix_ledger_row_hash', 'ledger_row', ['kind', 'row_hash'], unique=False)


def upgrade() -> None:
    _rebuild(sa.LargeBinary(length=16), lambda h: bytes.fromhex(h) if isinstance(h, str) else h, with_rowid=False)


def downgrade() -> None:
    _rebuild(sa.String(length=32), lambda h: bytes(h).hex(), with_rowid=True)
