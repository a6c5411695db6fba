"""Administrative areas, grids and their boundary generations (MapIt's model, for grids).

A redraw never edits a grid in place: it ends the old rows' validity (`generation_high`) and adds
new rows from the next generation on, so any past generation can still be drawn and audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from .base import Base
from .crypto import EncryptedText
from .sensitive import phone_index


class BBoxMixin:
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    label_lon: Mapped[float] = mapped_column(Float)  # a point inside, for labels and zoom
    label_lat: Mapped[float] = mapped_column(Float)
    area_km2: Mapped[float] = mapped_column(Float)


class Area(BBoxMixin, Base):
    """城市 / 县区 / 镇办 / 村社区, keyed by NBS code (6, 6, 9, 12 digits)."""

    __tablename__ = "area"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(8), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # TOWN_KINDS / VILLAGE_KINDS key
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)  # geometry made up by the demo world
    population: Mapped[int | None] = mapped_column(Integer)
    population_source: Mapped[str | None] = mapped_column(String(16))  # census / estimated
    households: Mapped[int | None] = mapped_column(Integer)
    geom_wkb: Mapped[bytes] = mapped_column(LargeBinary)


class Generation(Base):
    """One version of grid boundaries. Generation 1 is the initial drawing of the whole city."""

    __tablename__ = "generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_code: Mapped[str] = mapped_column(String(12))  # the area whose grids were redrawn
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    rollback_of: Mapped[int | None] = mapped_column(Integer)


class Grid(BBoxMixin, Base):
    __tablename__ = "grid"
    __table_args__ = (
        Index("ix_grid_code_gen", "code", "generation_low"),
        Index("ix_grid_village_gen", "village_code", "generation_low"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15))  # village code + 3-digit serial
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="comprehensive")
    village_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    generation_low: Mapped[int] = mapped_column(ForeignKey("generation.id"))
    generation_high: Mapped[int | None] = mapped_column(Integer)  # None: still current
    households: Mapped[int] = mapped_column(Integer, default=0)
    residents: Mapped[int] = mapped_column(Integer, default=0)
    drawn_by: Mapped[str] = mapped_column(String(64), default="")
    drawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    geom_wkb: Mapped[bytes] = mapped_column(LargeBinary)


class GridWorker(Base):
    """网格长 / 网格员. Tied to the grid code, which survives redraws that keep the grid."""

    __tablename__ = "grid_worker"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    role: Mapped[str] = mapped_column(String(16))  # GRID_ROLES key
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(EncryptedText("grid_worker.phone"))  # encrypted at rest
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)  # keyed hash: the roster import's key

    @validates("phone")
    def _index_phone(self, _key, value):
        self.phone_bidx = phone_index(value)
        return value


class Survey(Base):
    """两率两度 per county and year. The demo's figures are synthetic and flagged."""

    __tablename__ = "survey"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    year: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(16))  # SURVEY_INDICATORS key
    rate: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=True)


class WorldMeta(Base):
    """Key/value facts about the stored world (seed, scale, build time, schema)."""

    __tablename__ = "world_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
