"""The assessment's period: one calendar month in Beijing time, stored timestamps being naive UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

BEIJING = timedelta(hours=8)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, today: date) -> "Month":
        """'2026-11' → that month; anything else → the last complete month before `today`."""
        try:
            y, m = (int(p) for p in str(text).split("-"))
            if 2000 <= y <= 2100 and 1 <= m <= 12:
                return cls(y, m)
        except (TypeError, ValueError):
            pass
        return cls(today.year, today.month).previous()

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def start_utc(self) -> datetime:
        """Beijing midnight of the first day, as the naive UTC the store keeps."""
        return datetime.combine(self.first_day, datetime.min.time()) - BEIJING

    @property
    def end_utc(self) -> datetime:
        return self.next().start_utc

    def previous(self) -> "Month":
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> "Month":
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def back(self, n: int) -> list["Month"]:
        """This month and the n−1 before it, oldest first."""
        out = [self]
        for _ in range(n - 1):
            out.append(out[-1].previous())
        return out[::-1]
