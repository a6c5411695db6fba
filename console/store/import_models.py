"""What ledger imports remember between files: the hash of the ledger row each record was last written from, so a
row seen before is recognised without converting, locating and comparing it again (docs/import.md)."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class LedgerRow(Base):
    __tablename__ = "ledger_row"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # console.ledger_import.kinds key
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the id in the kind's table
    row_hash: Mapped[str] = mapped_column(String(32))  # BLAKE2b of the row's cells (console/ledger_import/rowhash.py)

    __table_args__ = (Index("ix_ledger_row_hash", "kind", "row_hash"),)
