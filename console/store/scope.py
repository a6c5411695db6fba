"""Area scope: the set of area codes a viewer may see.

Codes are prefix-hierarchical (county 6, town 9, village 12, grid 15 digits), so a scope of
mixed levels becomes one OR of IN-lists on the denormalised code columns of `Located` records.
Every read function that returns people or cases takes a scope; there is no default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement

from .codes import AREA_COLUMN, CITY_CODE, LEVEL_BY_LENGTH

_COLUMN_BY_LENGTH = {n: AREA_COLUMN[level] for n, level in LEVEL_BY_LENGTH.items()}  # valid lengths


def code_range(code: str) -> tuple[str, str | None]:
    """[low, high) of the codes that start with `code`, as a range any collation orders alike: the upper bound
    is the next code of the same length (610924 → 610925), not `code + ':'`, which sorts after the digits only
    bytewise (PostgreSQL databases with a zh_CN / en_US or ICU collation ignore the ':'). None: no upper bound."""
    following = str(int(code) + 1).zfill(len(code))
    return code, following if len(following) == len(code) else None


class ScopeError(ValueError):
    """A scope code that is not an area code."""


@dataclass(frozen=True)
class AreaScope:
    codes: frozenset[str]

    @classmethod
    def of(cls, codes: Iterable[str]) -> AreaScope:
        codes = frozenset(str(c).strip() for c in codes)
        bad = sorted(c for c in codes if not (c.isdigit() and len(c) in _COLUMN_BY_LENGTH))
        if bad:
            raise ScopeError(f"不是有效的区划代码: {', '.join(bad[:5])}")
        return cls(codes)

    @classmethod
    def city(cls) -> AreaScope:
        return cls(frozenset({CITY_CODE}))

    @property
    def is_city(self) -> bool:
        return CITY_CODE in self.codes

    def allows(self, code: str | None) -> bool:
        """May the viewer see the area (or a record assigned to the area) with this code?"""
        if self.is_city:
            return bool(code) and code.startswith(CITY_CODE[:4])
        return bool(code) and any(code.startswith(c) for c in self.codes)

    def overlaps(self, code: str) -> bool:
        """True when the area contains part of the scope or lies inside it (for navigation)."""
        if self.is_city or code == CITY_CODE:
            return self.is_city or bool(self.codes)
        return any(code.startswith(c) or c.startswith(code) for c in self.codes)

    def clause(self, model) -> ColumnElement[bool]:
        """SQL condition restricting a `Located` model (or any with a `grid_code` column) to the scope.

        Every area code is a prefix of the grid codes inside it, so each scope code becomes one range
        on the grid index: `code <= grid_code < next code` (see `code_range`)."""
        if self.is_city:
            return true()
        if not self.codes:
            return false()
        column = model.grid_code
        return or_(*(_within(column, code) for code in sorted(self.codes)))


def _within(column, code: str) -> ColumnElement[bool]:
    low, high = code_range(code)
    return column >= low if high is None else and_(column >= low, column < high)
