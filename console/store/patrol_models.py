"""巡查 (patrols) and their check-ins, synced from the phone app, and the assessment's weights (督导考评).

A patrol is one walk of one grid worker: started and stopped on the phone, its GPS track kept as a GeoJSON
LineString. A check-in records that the worker was at a household or a key place during a patrol; 巡查覆盖率 counts
the households checked in per month (docs/assessment.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Located

# key_place: an organisation (社会组织/企业); safety_place: a 公共安全 key place (`key_place` table, docs/safety.md)
CHECKIN_KINDS = {"household": "住户", "key_place": "重点场所", "safety_place": "公共安全重点场所"}
PLACE_CHECKINS = ("key_place", "safety_place")  # check-ins whose target is `place_id`


class Patrol(Located, Base):
    """One patrol. `uuid` is made on the phone (the idempotency key); the area columns are the worker's grid."""

    __tablename__ = "patrol"
    indexed_levels = ("grid",)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    worker: Mapped[str] = mapped_column(String(64), index=True)  # the account username
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    track: Mapped[str] = mapped_column(Text, default="")  # GeoJSON LineString of the fixes, WGS-84


class PatrolCheckin(Base):
    __tablename__ = "patrol_checkin"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrol.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # CHECKIN_KINDS key
    household_id: Mapped[int | None] = mapped_column(Integer, index=True)
    place_id: Mapped[int | None] = mapped_column(Integer)  # organisation.id or key_place.id, by `kind`
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)


class AssessmentWeight(Base):
    """An administrator's weight for one indicator (console/assessment/indicators.py holds the defaults); every
    change is also written to the audit chain."""

    __tablename__ = "assessment_weight"
    indicator: Mapped[str] = mapped_column(String(32), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime)
