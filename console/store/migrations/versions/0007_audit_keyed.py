"""audit chain keyed with the data key; DELETE of unarchived audit rows refused by trigger

Existing rows are verified under the old plain SHA-256 chain, then re-chained with HMAC-SHA256 under a key derived
from the data key (`console.store.auditchain`), so that whoever can write the database file can no longer delete
rows and recompute the chain. A trigger refuses DELETE of any row above the archive anchor (archival moves the
anchor first, then deletes; docs/security.md §3). Needs the data key when there are rows; a broken chain stops
the upgrade before anything changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 07:00:00
"""
import sqlalchemy as sa

from console.store import auditchain, crypto

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LOG = sa.table('audit_log', *(sa.column(c, sa.DateTime() if c == 'at' else None)
                               for c in (*auditchain.FIELDS, 'prev_hash', 'hash')))
HEAD = sa.table('audit_head', sa.column('id'), sa.column('last_id'), sa.column('last_hash'),
                sa.column('archived_through_id'), sa.column('archived_hash'))
NO_UPDATE_SQLITE = ("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def _rechain(bind, old_keys, new_keys) -> None:
    head = bind.execute(sa.select(HEAD).where(HEAD.c.id == 1)).first()
    if head is None:
        return
    rows = bind.execute(sa.select(LOG).where(LOG.c.id > head.archived_through_id).order_by(LOG.c.id)).all()
    if not rows:
        return
    prev_old = prev_new = head.archived_hash
    updates = []
    for r in rows:
        row = dict(r._mapping)
        if not auditchain.matches(prev_old, row, row['hash'], old_keys) or row['prev_hash'] != prev_old:
            raise RuntimeError(f"审计链在第 {row['id']} 条已损坏，迁移停止（未做任何改动）；请先运行 audit verify")
        new = auditchain.chain_hash(prev_new, row, new_keys[0] if new_keys else None)
        updates.append({'i': row['id'], 'p': prev_new, 'h': new})
        prev_old, prev_new = row['hash'], new
    dialect = bind.dialect.name
    if dialect == 'sqlite':
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
    elif dialect == 'postgresql':
        bind.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    bind.execute(sa.text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i"), updates)
    bind.execute(sa.update(HEAD).where(HEAD.c.id == 1).values(last_hash=prev_new))
    if dialect == 'sqlite':
        bind.exec_driver_sql(NO_UPDATE_SQLITE)
    elif dialect == 'postgresql':
        bind.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")


def upgrade() -> None:
    from alembic import op

    bind = op.get_bind()
    has_rows = bind.execute(sa.select(sa.func.count()).select_from(LOG)).scalar()
    if has_rows:
        _rechain(bind, [], auditchain.chain_keys(crypto.require_keyring()))
    if bind.dialect.name == 'sqlite':
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "WHEN OLD.id > (SELECT archived_through_id FROM audit_head WHERE id = 1) "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log rows are archived, never deleted'); END")
    elif bind.dialect.name == 'postgresql':
        op.execute("CREATE FUNCTION audit_log_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "IF OLD.id > (SELECT archived_through_id FROM audit_head WHERE id = 1) THEN "
                   "RAISE EXCEPTION 'audit_log rows are archived, never deleted'; END IF; RETURN OLD; END $$")
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_no_delete()")


def downgrade() -> None:
    from alembic import op

    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif bind.dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_no_delete()")
    has_rows = bind.execute(sa.select(sa.func.count()).select_from(LOG)).scalar()
    if has_rows:
        _rechain(bind, auditchain.chain_keys(crypto.require_keyring()), [])
