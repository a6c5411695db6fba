"""Shared per-account allowances for sensitive reads (docs/security.md §2): one token bucket per (limit, account)
in the database, so every server process draws from the same bucket (`console.security.throttle`)."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class RateBucket(Base):
    __tablename__ = "rate_bucket"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # throttle.DEFAULTS key, or "<key>:alert"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the account's username
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)  # wall-clock seconds (shared by processes; monotonic is not)
