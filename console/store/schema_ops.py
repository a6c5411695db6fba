"""Schema operations shared by migrations (run inside an Alembic migration context)."""

import re

from alembic import op


def set_column_type(table: str, column: str, old: str, new: str, old_type, new_type, *, nullable: bool = False) -> None:
    """Change a column's declared type. SQLite: edit the stored CREATE TABLE text in place (VARCHAR and
    TEXT have the same affinity, so the file format is unchanged) instead of a batch copy, which would
    rewrite millions of rows and cannot drop a table other tables reference while foreign keys are on.
    Already of the new type: nothing to do (a migration run again after an interruption)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(table, column, existing_type=old_type, type_=new_type, existing_nullable=nullable)
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).scalar()
    tail = " NOT NULL" if not nullable else ""
    pattern = re.compile(rf'(?<![\w"]){re.escape(column)} {re.escape(old)}{tail}(?=[,\s)])')
    if re.search(rf'(?<![\w"]){re.escape(column)} {re.escape(new)}{tail}(?=[,\s)])', sql):
        return
    changed = pattern.sub(f"{column} {new}{tail}", sql, count=1)
    if changed == sql:
        raise RuntimeError(f"迁移：无法识别 {table}.{column} 的列定义")
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql=? WHERE type='table' AND name=?", (changed, table))
    bind.exec_driver_sql(f"PRAGMA schema_version={version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
