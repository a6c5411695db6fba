"""Duty (值班) tables: ingest sources with hashed API keys, alert bookkeeping, alert history, change feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .cases import Event


class DutySource(Base):
    """A source system allowed to POST events; only the SHA-256 of its key is stored (security.hardening)."""

    __tablename__ = "duty_source"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)  # becomes Event.source
    title: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AlertInfo(Base):
    """What the `alert` table does not hold: dedup key, references, rule detail, acknowledge deadline."""

    __tablename__ = "alert_info"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), primary_key=True)
    dedup_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    person_id: Mapped[int | None] = mapped_column(Integer)
    camera_id: Mapped[int | None] = mapped_column(Integer)
    dispute_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    ack_due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    assignee: Mapped[str | None] = mapped_column(String(64))


class AlertHistory(Base):
    """One step in an alert's life: who did what, when, from which state to which, with what note."""

    __tablename__ = "alert_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")


class AlertChange(Base):
    """Append-only change feed: the id is the cursor the duty page polls/streams from."""

    __tablename__ = "alert_change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(DateTime)


# "Repeated events in one grid within a window" counts by grid, kind and time on every ingest.
Index("ix_event_grid_kind_time", Event.grid_code, Event.kind, Event.occurred_at)
