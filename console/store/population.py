"""实有人口 and 以房管人: buildings, households, persons, and their GB/T 31000 sub-records.

Identity numbers, phones and addresses are stored whole but encrypted at rest (`sensitive.py`), identity numbers
with a keyed hash column for exact-match lookups, all shown masked by default; special-population details too.
A building's address (the place, like its coordinates) stays searchable in clear; a household's, with the flat, is sealed. Fields that only some persons have live in side tables so that the
2.5-million-row person table stays narrow.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from console.store.crypto import EncryptedText

from .base import Base, Located
from .identity import id_number_valid
from .sensitive import id_number_index


class Building(Located, Base):
    __tablename__ = "building"
    indexed_levels = ("grid",)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    address: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # BUILDING_KINDS key
    floors: Mapped[int] = mapped_column(Integer)
    dwellings: Mapped[int] = mapped_column(Integer)


class Household(Located, Base):
    __tablename__ = "household"
    indexed_levels = ("grid",)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)  # 户号
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    address: Mapped[str] = mapped_column(EncryptedText("household.address"))  # with the flat: encrypted at rest
    kind: Mapped[str] = mapped_column(String(16))  # HOUSEHOLD_KINDS key
    size: Mapped[int] = mapped_column(Integer)
    is_rental: Mapped[bool] = mapped_column(Boolean, default=False)
    landlord_name: Mapped[str | None] = mapped_column(String(32))
    # when this system last wrote the record (数据质量 stale check); NULL: written by another tool without it
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=datetime.now, onupdate=datetime.now)


class Person(Located, Base):
    __tablename__ = "person"
    indexed_levels = ("grid",)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(EncryptedText("person.id_number"))  # 公民身份号码 / document no.
    id_number_bidx: Mapped[str | None] = mapped_column(String(32), index=True)  # keyed hash, for lookups
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(8))
    native_place: Mapped[str] = mapped_column(String(6))  # region code of 籍贯
    marital: Mapped[str] = mapped_column(String(8))
    education: Mapped[str] = mapped_column(String(8))
    occupation: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(EncryptedText("person.phone"))  # encrypted at rest
    residence_type: Mapped[str] = mapped_column(String(10))  # RESIDENCE_TYPES key
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    relation_to_head: Mapped[str] = mapped_column(String(10))
    registered_here: Mapped[bool] = mapped_column(Boolean)  # 人户一致
    registered_address: Mapped[str | None] = mapped_column(EncryptedText("person.registered_address"))  # when it differs
    # the sealed number's GB 11643 check character holds: set on every ORM write, NULL until checked (rows written
    # in bulk or by other tools are checked once by the 数据质量 refresh, console/services/quality_store.py)
    id_valid: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=datetime.now, onupdate=datetime.now)

    @validates("id_number")
    def _index_id_number(self, _key, value):
        self.id_number_bidx = id_number_index(value)
        self.id_valid = None if value is None else id_number_valid(value)
        return value


class FloatingInfo(Base):
    """流动人口 fields."""

    __tablename__ = "floating_info"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    inflow_reason: Mapped[str] = mapped_column(String(10))
    permit_no: Mapped[str | None] = mapped_column(String(24))  # 居住证号
    registered_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    focus: Mapped[bool] = mapped_column(Boolean, default=False)  # 重点关注


class ForeignInfo(Base):
    """境外人员 fields."""

    __tablename__ = "foreign_info"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    foreign_name: Mapped[str] = mapped_column(String(64))
    nationality: Mapped[str] = mapped_column(String(3))  # ISO 3166 alpha-3
    document_type: Mapped[str] = mapped_column(String(16))
    document_no: Mapped[str] = mapped_column(EncryptedText("foreign_info.document_no"))  # encrypted at rest
    document_expiry: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(10))
    arrived_on: Mapped[date] = mapped_column(Date)
    departs_on: Mapped[date | None] = mapped_column(Date)


class SpecialPerson(Located, Base):
    """特殊人群. Location and area codes are copied from the person for map and scope queries."""

    __tablename__ = "special_person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    category: Mapped[str] = mapped_column(String(12), index=True)  # SPECIAL_CATEGORIES key
    since: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    risk_level: Mapped[int | None] = mapped_column(Integer)  # mental disorder danger level 0–5
    risk_grade: Mapped[str] = mapped_column(String(8))  # RISK_GRADES key, every category
    # category fields as JSON (docs/domain.md §3): medical/criminal facts, encrypted at rest
    details: Mapped[str] = mapped_column(EncryptedText("special_person.details"), default="{}")


class KeyYouth(Located, Base):
    """重点青少年."""

    __tablename__ = "key_youth"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    youth_type: Mapped[str] = mapped_column(String(16))
    concern_level: Mapped[str] = mapped_column(String(8))
    guardian_name: Mapped[str] = mapped_column(String(32))
    guardian_phone: Mapped[str] = mapped_column(EncryptedText("key_youth.guardian_phone"))
    helper_name: Mapped[str] = mapped_column(String(32))
    measures: Mapped[str] = mapped_column(Text, default="")
