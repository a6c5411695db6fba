import contextlib

from alembic import context
from sqlalchemy import Engine

from console.store.base import Base
import console.store  # noqa: F401  - registers every model on Base.metadata
from console.store.spatial import include_object

# An Engine (the migrations commit in their own transaction) or a Connection (they run inside the caller's
# transaction and commit with it: the demo world builder on PostgreSQL, whose DDL is transactional).
bind = context.config.attributes["engine"]
with bind.begin() if isinstance(bind, Engine) else contextlib.nullcontext(bind) as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER TABLE via batch copy
        compare_type=True,
        include_object=include_object,  # PostGIS's native columns are the database's (console/store/spatial.py)
    )
    context.run_migrations()
