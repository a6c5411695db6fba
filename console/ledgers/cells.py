"""A chunk of data rows as the reader gives them (`LedgerStream.raw_chunks`): their row numbers and each row's cells
in `fields` order, None where empty, read a column at a time. A conversion in bulk (实有人口) takes whole columns:
a dict per row, and the same dicts read back a column at a time, cost ~3 s a million rows (docs/import.md)."""

from __future__ import annotations

from collections.abc import Sequence

from .reader import Row, by_field


class Cells:
    __slots__ = ("numbers", "fields", "_rows", "_columns")

    def __init__(self, numbers: list[int], fields: Sequence[str], rows: Sequence[Sequence]):
        self.numbers, self.fields, self._rows = numbers, tuple(fields), rows
        self._columns: dict[str, tuple] | None = None

    @classmethod
    def of_rows(cls, rows: Sequence[Row]) -> Cells:
        """`Row`s (a dict of the non-empty cells each) as cells: every field any row has."""
        fields = tuple(dict.fromkeys(f for row in rows for f in row.values))
        return cls([row.number for row in rows], fields, [tuple(map(row.values.get, fields)) for row in rows])

    def __len__(self) -> int:
        return len(self.numbers)

    def column(self, name: str, default=None) -> Sequence:
        """The cells of field `name` in row order, `default` where empty (and on every row if the file lacks it)."""
        if self._columns is None:  # one transposition for every column
            self._columns = dict(zip(self.fields, zip(*self._rows)))
        found = self._columns.get(name)
        if found is None:
            return [default] * len(self.numbers)
        return found if default is None else [default if x is None else x for x in found]

    def values(self, i: int) -> dict:
        """Row i as `Row.values`: the non-empty cells by field."""
        return by_field(self.fields, self._rows[i])

    def rows(self) -> list[Row]:
        return [Row(n, self.values(i)) for i, n in enumerate(self.numbers)]
