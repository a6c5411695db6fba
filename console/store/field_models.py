"""Field (网格员 phone app) tables: synced records with their versions, conflicts kept for the supervisor, photos
uploaded in chunks, tasks. See docs/field.md. What a worker typed about people (the payloads) is encrypted at
rest like every other personal field (`EncryptedText`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Located
from .crypto import EncryptedText


class FieldRecord(Located, Base):
    """The server's current copy of one record a worker made on a phone (an event report, a household).

    `uuid` is made on the phone and is the idempotency key; `version` counts accepted changes. Times: the
    phone's own clock (`client_time`, may be hours off), when the server received it (`received_at`) and the
    measured offset (`clock_skew_s` = server time − phone time at sending)."""

    __tablename__ = "field_record"
    indexed_levels = ("grid",)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # field.records.KINDS key
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(EncryptedText("field_record.payload"))  # JSON of the form (names, phones)
    household_id: Mapped[int | None] = mapped_column(Integer, index=True)  # an update of a known household
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    accuracy_flag: Mapped[bool] = mapped_column(Boolean, default=False)  # coarser than the limit: never picks a grid
    location_source: Mapped[str | None] = mapped_column(String(8))  # gps / map
    client_time: Mapped[datetime | None] = mapped_column(DateTime)
    clock_skew_s: Mapped[int] = mapped_column(Integer, default=0)
    clock_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(64))
    has_conflict: Mapped[bool] = mapped_column(Boolean, default=False)


class FieldRecordVersion(Base):
    """Every accepted change, keyed by the phone's operation id: a replayed operation is answered from here."""

    __tablename__ = "field_record_version"
    __table_args__ = (Index("ix_field_record_version_record", "record_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("field_record.id"))
    record: Mapped[FieldRecord] = relationship()
    op_id: Mapped[str] = mapped_column(String(36), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(EncryptedText("field_record_version.payload"))
    author: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime)


class FieldConflict(Base):
    """A change made on a phone against a version the server had already moved past: both copies, for the
    supervisor to decide. The server's copy is left as it was."""

    __tablename__ = "field_conflict"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("field_record.id"), index=True)
    record: Mapped[FieldRecord] = relationship()
    op_id: Mapped[str] = mapped_column(String(36), unique=True)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    base_version: Mapped[int] = mapped_column(Integer)
    server_version: Mapped[int] = mapped_column(Integer)
    server_payload: Mapped[str] = mapped_column(EncryptedText("field_conflict.server_payload"))
    client_payload: Mapped[str] = mapped_column(EncryptedText("field_conflict.client_payload"))
    author: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / resolved
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class FieldPhoto(Base):
    """A photo of a record, sent separately in chunks; complete once its bytes match the declared SHA-256."""

    __tablename__ = "field_photo"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    record_uuid: Mapped[str] = mapped_column(String(36), index=True)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer, default=0)  # bytes stored so far: the resume offset
    mime: Mapped[str | None] = mapped_column(String(32))  # from the magic bytes, not from the phone
    status: Mapped[str] = mapped_column(String(12), default="partial")  # partial / complete
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class FieldPhotoChunk(Base):
    __tablename__ = "field_photo_chunk"
    __table_args__ = (Index("ix_field_photo_chunk_photo", "photo_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("field_photo.id"))
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class FieldTask(Located, Base):
    """A task sent from the duty desk (派单) to one grid worker's phone; its states are kept in FieldTaskStep."""

    __tablename__ = "field_task"
    indexed_levels = ("grid",)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True)
    assignee: Mapped[str] = mapped_column(String(64), index=True)  # the worker's account username
    title: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12))  # field.tasks.STATES key
    due_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    report: Mapped[str] = mapped_column(Text, default="")


class FieldTaskStep(Base):
    __tablename__ = "field_task_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("field_task.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(12))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
