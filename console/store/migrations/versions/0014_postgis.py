"""native PostGIS geometry (generated from geom_wkb) with GiST indexes, when PostGIS is available

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:20:00

Based on 0011 because 0012 had not landed when this was written; renumber down_revision to '0012' on merge.
Nothing happens on SQLite or on PostgreSQL without PostGIS (console/store/spatial.py).
"""
from alembic import op
import sqlalchemy as sa

from console.store.spatial import COLUMN, TABLES, enable_postgis

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    enable_postgis(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first():
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {COLUMN}")  # drops its index too
    # the extension too, unless something else in the database uses geometry
    if not bind.execute(sa.text("SELECT 1 FROM geometry_columns")).first():
        op.execute("DROP EXTENSION postgis")
