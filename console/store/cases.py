"""Organisations, disputes (矛盾纠纷) with parties and workflow history, cameras, events and alerts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from console.store.crypto import EncryptedText

from .base import Base, Located
from .sensitive import id_number_index


class Organisation(Located, Base):
    """社会组织 / 非公有制企业."""

    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(12), index=True)  # ORG_KINDS key
    org_type: Mapped[str] = mapped_column(String(16))
    registration_authority: Mapped[str] = mapped_column(String(64))
    legal_rep: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(EncryptedText("organisation.address"))  # encrypted at rest
    status: Mapped[str] = mapped_column(String(12))
    security_head: Mapped[str] = mapped_column(String(32))  # 治保负责人
    concern_level: Mapped[str] = mapped_column(String(8))
    has_party_org: Mapped[bool] = mapped_column(Boolean)
    foreign_background: Mapped[bool] = mapped_column(Boolean)
    employees: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=datetime.now, onupdate=datetime.now)


class Dispute(Located, Base):
    """矛盾纠纷 case: one case, one code (JF + county + date + serial)."""

    __tablename__ = "dispute"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    title: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(16), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    registered_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    place: Mapped[str] = mapped_column(String(128))
    scale: Mapped[int] = mapped_column(Integer)  # people involved
    description: Mapped[str] = mapped_column(Text)
    risk_grade: Mapped[str] = mapped_column(String(8))
    complexity: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12), index=True)
    handling_level: Mapped[str | None] = mapped_column(String(8))
    department: Mapped[str | None] = mapped_column(String(64))
    handler: Mapped[str | None] = mapped_column(String(32))
    deadline: Mapped[datetime | None] = mapped_column(DateTime)
    success: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(16), default="grid")


class DisputeParty(Base):
    __tablename__ = "dispute_party"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str] = mapped_column(EncryptedText("dispute_party.id_number"))  # encrypted at rest
    id_number_bidx: Mapped[str | None] = mapped_column(String(32), index=True)  # keyed hash, for duplicate checks
    sex: Mapped[str] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(EncryptedText("dispute_party.phone"))  # encrypted at rest

    @validates("id_number")
    def _index_id_number(self, _key, value):
        self.id_number_bidx = id_number_index(value)
        return value


class DisputeEvent(Base):
    """One workflow step: who moved the case from which state to which, when, with what note."""

    __tablename__ = "dispute_event"
    __table_args__ = (Index("ix_dispute_event_case", "dispute_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class Camera(Located, Base):
    """公共安全视频 channel (雪亮工程), GB/T 28181 20-digit device id."""

    __tablename__ = "camera"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(12))
    direction: Mapped[int] = mapped_column(Integer)  # degrees from north
    status: Mapped[str] = mapped_column(String(8), index=True)
    last_heartbeat: Mapped[datetime | None] = mapped_column(DateTime)


class Event(Located, Base):
    """Something reported by a source system; idempotent by (source, source_event_id)."""

    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("source", "source_event_id", name="uq_event_source_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    person_id: Mapped[int | None] = mapped_column(Integer)
    camera_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text, default="{}")


class Alert(Located, Base):
    """An event a rule judged worth a duty officer's attention."""

    __tablename__ = "alert"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), index=True)
    title: Mapped[str] = mapped_column(String(128))
    raised_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
