"""公共安全 tables: key places (重点场所), 护路护线 lines, incidents (突发事件) and their timelines (docs/safety.md).

A key place is a point with its kind and risk level; its grid is the one its point lies in. A line is a railway
or highway section stored as a GeoJSON LineString, located at its midpoint (scope) with every grid it crosses
listed (`grids`, comma-separated), the first being the midpoint's grid. An incident is one alert raised to a
response level of the plan (console/safety/response_plan.py); its actions are its timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Located


class KeyPlace(Located, Base):
    __tablename__ = "key_place"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 场所编号: the ledger's natural key
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), index=True)  # KEY_PLACE_KINDS key
    risk_level: Mapped[str] = mapped_column(String(8))  # RISK_LEVELS key
    address: Mapped[str] = mapped_column(String(128), default="")
    contact: Mapped[str] = mapped_column(String(32), default="")  # 安全负责人 (a name, no phone kept here)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)  # demo data (docs/demo-world.md)


class SafetyLine(Located, Base):
    __tablename__ = "safety_line"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # LINE_KINDS key
    risk_level: Mapped[str] = mapped_column(String(8))
    length_m: Mapped[float] = mapped_column(Float, default=0.0)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON LineString, WGS-84
    grids: Mapped[str] = mapped_column(Text, default="")  # responsible grids, comma-separated
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class Incident(Located, Base):
    """An alert raised to a response level. One per alert (`alert_id` unique): raising it twice is refused."""

    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), unique=True)
    level: Mapped[str] = mapped_column(String(4))  # response_plan.LEVELS key
    state: Mapped[str] = mapped_column(String(8), index=True)  # active | closed
    title: Mapped[str] = mapped_column(String(128))
    raised_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))


class IncidentAction(Base):
    __tablename__ = "incident_action"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))  # INCIDENT_ACTIONS key
    note: Mapped[str] = mapped_column(Text, default="")
