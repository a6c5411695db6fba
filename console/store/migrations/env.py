from alembic import context

from console.store.base import Base
import console.store  # noqa: F401  - registers every model on Base.metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER TABLE via batch copy
        compare_type=True,
    )
    context.run_migrations()
