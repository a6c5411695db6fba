"""Declarative base and the columns every located record shares.

Geometry is stored portably: polygons as WKB (BLOB on SQLite, bytea on PostgreSQL) with a bounding
box, points as lon/lat floats (CGCS2000 ≈ WGS84, degrees). The spatial work is done by
`geodata.assign`, so neither SpatiaLite nor PostGIS is required; a PostGIS deployment may add a
generated geometry column and GiST index in a migration without touching this code.
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Located:
    """A point on the map and the areas it was assigned to, with the boundary generation used.

    The four area codes are denormalised on purpose: every scoped query filters on them and the
    console counts by them, so they must not need a join through the grid table.
    """

    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    county_code: Mapped[str | None] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(9))
    village_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    assign_generation: Mapped[int | None] = mapped_column(Integer)

    # Which code columns get an index. Codes are prefixes of the grid code, so the grid index alone
    # serves a filter at any level as a range scan (see AreaScope.clause); the multi-million-row
    # population tables keep only that one, smaller tables also index each level for GROUP BY.
    indexed_levels: tuple[str, ...] = ("county", "town", "village", "grid")

    @property
    def finest_area(self) -> str | None:
        """The most precise area code the record has: what decides whether a scope covers it."""
        return self.grid_code or self.village_code or self.town_code or self.county_code

    @declared_attr.directive
    def __table_args__(cls):  # noqa: N805 - SQLAlchemy hook
        name = cls.__tablename__
        return tuple(Index(f"ix_{name}_{level}", f"{level}_code") for level in cls.indexed_levels)


LOCATED_COLUMNS = ("lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")
