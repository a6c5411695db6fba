"""特殊人群随访: one row per visit (who, when, how). The cycles are rules (console/duty/rules.toml,
[followup_overdue]); what is due is computed from the last visit (console/services/followup.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

FOLLOWUP_METHODS = {"visit": "入户走访", "phone": "电话随访", "clinic": "门诊随访", "video": "视频随访"}


class FollowupVisit(Base):
    __tablename__ = "followup_visit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    special_person_id: Mapped[int] = mapped_column(ForeignKey("special_person.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(12))  # FOLLOWUP_METHODS key
    worker: Mapped[str] = mapped_column(String(64))  # the account that recorded it
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
