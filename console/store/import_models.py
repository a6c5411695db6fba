"""What ledger imports remember between files: the hash of the ledger row each record was last written from, so a
row seen before is recognised without converting, locating and comparing it again (docs/import.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class LedgerRow(Base):
    __tablename__ = "ledger_row"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # console.ledger_import.kinds key
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the id in the kind's table
    row_hash: Mapped[bytes] = mapped_column(LargeBinary(16))  # BLAKE2b of the row's cells, 16 bytes (rowhash.py)

    # SQLite: WITHOUT ROWID, the rows kept in their primary key's B-tree — two B-trees written per remembered row
    # instead of three (rowid table, key, hash), and 16-byte hashes instead of 32 hex characters: a million rows
    # remembered ~35 % faster (docs/import.md). Ignored by PostgreSQL.
    __table_args__ = (Index("ix_ledger_row_hash", "kind", "row_hash"), {"sqlite_with_rowid": False})


class ImportTemplate(Base):
    """A column mapping the clerk made for one source: the file's header signature (the normalised headers it
    writes its own way, console/ledger_import/templates.py), the ledger kind and the importing account's area.
    Applied to the next file with the same signature, kind and area."""

    __tablename__ = "import_template"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    area: Mapped[str] = mapped_column(String(200))  # the importing account's scope codes, comma-separated
    signature: Mapped[str] = mapped_column(String(32))  # BLAKE2b of the sorted normalised headers
    headers: Mapped[str] = mapped_column(Text)  # JSON list: the file's headers, as written
    mapping: Mapped[str] = mapped_column(Text)  # JSON object: header → field
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_import_template_match", "kind", "signature"),)


class QualityCell(Base):
    """The persisted 数据质量 cube (console/services/quality_store.py): per check (or `records:<table>`) and grid key,
    the count; every row of one build carries the same `built_at`. Read by a cold page instead of scanning."""

    __tablename__ = "quality_cell"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item: Mapped[str] = mapped_column(String(40))
    county_code: Mapped[str | None] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(9))
    village_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    n: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(DateTime)
