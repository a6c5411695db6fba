"""Grid planner (网格规划) tables: drafts with their undo/redo steps, and who moved where at each commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class PlannerDraft(Base):
    """An uncommitted redraw of one village's grids.

    `steps` is a JSON list of draft states (each a list of grids with code and GeoJSON geometry) and
    `cursor` the index of the current one, so undo/redo survive a reload. `base_generation` is the
    village's generation when the draft started: a commit is refused if another one landed since.
    """

    __tablename__ = "planner_draft"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    base_generation: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / committed / abandoned
    title: Mapped[str] = mapped_column(String(128), default="")
    steps: Mapped[str] = mapped_column(Text)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class GridMove(Base):
    """One record that changed grid in a commit: the answer to 'which households went to which worker'."""

    __tablename__ = "grid_move"
    __table_args__ = (Index("ix_grid_move_generation", "generation_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # household / person / special / dispute / camera / ...
    record_id: Mapped[int] = mapped_column(Integer)
    from_grid: Mapped[str | None] = mapped_column(String(15))
    to_grid: Mapped[str | None] = mapped_column(String(15))
