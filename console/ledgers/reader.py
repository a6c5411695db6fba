"""One reader for every ledger (台账) file: .xlsx/.xlsm/.xls/.ods and CSV, parsed into sheets by sheets.py (calamine
keeps only cells that hold a value, so a formatted empty tail of a million rows costs nothing).

The reader knows nothing about disputes: a `LedgerSpec` names the columns. It finds the sheet by its header row
(notes and a merged title may sit above it), maps known headers to fields, ignores other columns with a notice,
names every missing required column, and returns the non-empty rows with their spreadsheet row numbers, the rows that
touch merged cells and the formula cells (formulas are not read). Limits and messages: docs/disputes.md.

`read_ledger` holds every row (the browser's path, up to `MAX_ROWS`); `open_ledger` finds the header the same way
and reads the rows on demand, in batches, as often as asked (the command line's chunked import, docs/import.md).
"""

from __future__ import annotations

import itertools
import marshal
import operator
import pickle
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .formulas import formula_scan
# LedgerError, NOT_A_WORKBOOK, OpenedFile and open_file are imported from here by the importers
from .sheets import HEADER_SCAN_ROWS, NOT_A_WORKBOOK, LedgerError, OpenedFile, Sheet, open_file  # noqa: F401
from .values import text as cell_text

MAX_ROWS = 100_000  # rows per import; stated before the import (docs/disputes.md)
FORMATS = ".xlsx、.xlsm、.xls、.ods、.csv"
GEO_FORMATS = ".gpkg、.zip（Shapefile）"  # point layers, for kinds with coordinates (geofile.py)


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerSpec:
    name: str  # e.g. 矛盾纠纷台账, used in messages
    columns: tuple[Column, ...]
    max_rows: int = MAX_ROWS

    @property
    def required(self) -> list[str]:
        return [c.header for c in self.columns if c.required]


@dataclass(slots=True)  # one per data row: no per-instance __dict__
class Row:
    number: int  # the row number the user sees in Excel (1-based)
    values: dict  # field → raw cell value (str stripped, float, datetime, …); empty cells absent (`by_field`)


def by_field(fields, cells) -> dict:
    """A row's cells given in `fields` order (None: empty) as `Row.values`: the non-empty ones by field."""
    return {f: x for f, x in zip(fields, cells) if x is not None}


@dataclass
class _Header:
    sheet: str
    header_row: int
    columns: dict[str, str]  # field → header as written in the file
    letters: dict[str, str]  # field → column letter
    ignored: list[str] = field(default_factory=list)  # headers of columns that are not part of the spec
    formulas: dict[int, list[str]] = field(default_factory=dict)  # row → ["E7（涉及人数）", …] in known columns
    ignored_formulas: int = 0  # formula cells in ignored columns
    encoding: str | None = None  # CSV only
    fmt: str = "xlsx"
    extra_notices: list[str] = field(default_factory=list)  # said by a format's own reader (geofile.py)

    @property
    def notices(self) -> list[str]:
        out = list(self.extra_notices)
        if self.ignored:
            out.append(f"以下列不属于台账模板，已忽略：{'、'.join(self.ignored)}")
        if self.formulas or self.ignored_formulas:
            n = sum(map(len, self.formulas.values())) + self.ignored_formulas
            out.append(f"文件含{n}个公式单元格，公式不读取（请复制后“粘贴为数值”再导入）")
        if self.encoding == "gb18030":
            out.append("文件按GBK（GB18030）编码读取")
        return out


@dataclass
class Ledger(_Header):
    """A whole file's rows in memory: the browser's preview and the dispute import (files up to `MAX_ROWS`)."""
    rows: list[Row] = field(default_factory=list)
    merged_rows: set[int] = field(default_factory=set)


@dataclass
class LedgerStream(_Header):
    """A ledger whose header is found and whose rows are read on demand, a chunk at a time and as often as asked
    (`chunks`): the command line's path for files of a million rows. Only the workbook's own compact cell store
    (calamine's, in Rust) or the decoded CSV text is held, never the rows as Python objects; after a pass with
    `keep=True`, the cleaned cells in compact form instead (`_held`, ~150 MB a million rows against calamine's
    ~600 MB), and the workbook is let go."""
    max_rows: int = MAX_ROWS
    _every_row: Callable[[], Iterator[list]] | None = None
    _held: list[bytes] | None = None  # the batches of a `keep` pass, serialised (`_pack`), and their size
    _held_size: int = 0
    _fields: tuple = ()
    _picks: tuple = ()
    _first_row: int = 0
    _skip: int = 0
    _merged: list = field(default_factory=list)
    _data_start: int = 0
    _formula_job: tuple | None = None  # (the background scan for formula cells, this sheet's name): xlsx
    rows_hint: int = 0  # the sheet's rows below the header, empty ones included (how large an import will be)

    def settle(self) -> None:
        """Wait for the formula scan and file its cells under `formulas` (called before the notices are read)."""
        job, self._formula_job = self._formula_job, None
        if job is None:
            return
        by_letter = {self.letters[f]: f for f in self.letters}
        scan, name = job
        for letter, n in scan.result()[name]:
            if n <= self._data_start:
                continue
            f = by_letter.get(letter)
            if f is None:
                self.ignored_formulas += 1
            else:
                self.formulas.setdefault(n, []).append(f"{letter}{n}（{self.columns[f]}）")

    @property
    def notices(self) -> list[str]:
        self.settle()
        return super().notices

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields of the file's template columns, in the order `raw_chunks` gives their cells."""
        return self._fields

    def chunks(self, size: int = 50_000) -> Iterator[list[Row]]:
        """The non-empty data rows as `Row`s, from `size` rows of the sheet at a time, in file order."""
        names = self._fields
        for numbers, cells in self.raw_chunks(size):
            yield [Row(n, by_field(names, row)) for n, row in zip(numbers, cells)]

    def raw_chunks(self, size: int = 50_000, wanted: Callable[[int], bool] | None = None, *, keep: bool = False
                   ) -> Iterator[tuple[list[int], list[tuple]] | None]:
        """(row numbers, cells) of the non-empty data rows among the next `size` rows of the sheet: each row's
        template cells as a tuple in `fields` order, text stripped, empty cells None. Cleaned a column at a time
        (a list comprehension per column is ~10x cheaper than a dict per row). `wanted(i)` False: the i-th batch
        is passed over (None), not cleaned. `keep`: a pass read to its end keeps its batches compact and lets the
        workbook go; later passes (of the same `size`) read them back, 3–4× cheaper than cleaning the cells again."""
        if self._held is not None:
            yield from self._replay(size, wanted)
            return
        held: list[bytes] | None = [] if keep else None
        for batch in self._clean_batches(size, None if keep else wanted):
            if held is not None:
                held.append(_pack(batch))
            yield batch
        if held is not None:
            self._held, self._held_size, self._every_row = held, size, None

    def column_chunks(self, name: str, size: int = 50_000) -> Iterator[tuple[list[int], list]]:
        """(row numbers, cells) of one template column's non-empty cells, `size` rows of the sheet at a time, text
        stripped: the same cells `raw_chunks` gives in that column, for a pass that wants one column alone (a
        million rows' keys in ~1 s, against ~5 s to clean every column)."""
        at = self._fields.index(name)
        if self._held is not None:
            for numbers, cells in self._replay(self._held_size, None):
                pairs = [(n, row[at]) for n, row in zip(numbers, cells) if row[at] is not None]
                yield [n for n, _ in pairs], [x for _, x in pairs]
            return
        column = self._picks[at]
        source = itertools.islice(self._every_row(), self._skip, None)
        number = self._first_row + self._skip  # the next source row's number is this + 1
        while batch := list(itertools.islice(source, size)):
            cells = [r[column] if len(r) > column else None for r in batch]
            cells = [(x.strip() or None) if type(x) is str else x for x in cells]
            yield [number + i + 1 for i, x in enumerate(cells) if x is not None], [x for x in cells if x is not None]
            number += len(batch)

    def _replay(self, size: int, wanted) -> Iterator[tuple[list[int], list[tuple]] | None]:
        if size != self._held_size:
            raise ValueError(f"rows kept in batches of {self._held_size}, asked for {size}")
        for index, blob in enumerate(self._held):
            yield None if wanted is not None and not wanted(index) else _unpack(blob)

    def _clean_batches(self, size: int, wanted) -> Iterator[tuple[list[int], list[tuple]] | None]:
        columns = self._picks
        pick = operator.itemgetter(*columns) if len(columns) > 1 else (lambda r: (r[columns[0]],))
        width = max(columns) + 1
        blank = (None,) * len(columns)
        source = itertools.islice(self._every_row(), self._skip, None)
        number = self._first_row + self._skip  # the next source row's number is this + 1
        for index in itertools.count():
            batch = list(itertools.islice(source, size))
            if not batch:
                return
            start, number = number, number + len(batch)
            if wanted is not None and not wanted(index):
                yield None
                continue
            if min(map(len, batch)) < width:  # CSV rows (and ragged sheets) may stop early
                batch = [r if len(r) >= width else [*r, *([None] * (width - len(r)))] for r in batch]
            cleaned = [[(x.strip() or None) if type(x) is str else x for x in col] for col in zip(*map(pick, batch))]
            rows = list(zip(*cleaned))
            keep = [i for i, row in enumerate(rows) if row != blank]  # blank rows, and rows with only ignored columns
            yield [start + i + 1 for i in keep], ([rows[i] for i in keep] if len(keep) < len(rows) else rows)

    def too_many(self, count: int) -> LedgerError | None:
        if count > self.max_rows:
            return LedgerError(f"文件有{count}行数据，超过单次导入上限{self.max_rows}行，请拆分后分批导入")
        return None

    def _rows(self) -> Iterator[Row]:
        for chunk in self.chunks():
            yield from chunk


def _pack(batch: tuple[list[int], list[tuple]]) -> bytes:
    """A batch as bytes: marshal when its cells are plain (text, numbers: twice as fast back as pickle), pickle
    when they are not (dates and times from a workbook)."""
    try:
        return b"m" + marshal.dumps(batch)
    except ValueError:
        return b"p" + pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(blob: bytes) -> tuple[list[int], list[tuple]]:
    return marshal.loads(memoryview(blob)[1:]) if blob[:1] == b"m" else pickle.loads(memoryview(blob)[1:])


def col_letter(i: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def normalize_header(value) -> str:
    """'＊事件 名称（必填）' → '事件名称': width, spaces, line breaks, required marks and a bracketed note dropped."""
    text = unicodedata.normalize("NFKC", cell_text(value))
    text = re.sub(r"\s+", "", text).strip("*")
    return re.sub(r"\([^()]*\)$", "", text) or text


# -- header ---------------------------------------------------------------------------------------------------
def _lookup(spec: LedgerSpec) -> dict[str, Column]:
    out = {}
    for c in spec.columns:
        for name in (c.header, *c.aliases):
            out[normalize_header(name)] = c
    return out


def _header_cells(sheet: Sheet, r: int) -> list[str]:
    """Headers of sheet row r (index into rows); a cell covered by a merge from above takes its top-left value."""
    values = [cell_text(v) for v in sheet.rows[r]]
    absolute = sheet.first_row + r
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 < absolute <= r1:
            top = r0 - sheet.first_row
            if not (0 <= top < len(sheet.rows) and 0 <= c0 - sheet.first_col < len(sheet.rows[top])):
                continue
            for c in range(c0, c1 + 1):
                j = c - sheet.first_col
                if 0 <= j < len(values) and not values[j]:
                    values[j] = cell_text(sheet.rows[top][c0 - sheet.first_col])
    return values


def _best_header(sheet: Sheet, known: dict[str, Column]) -> tuple[int, int]:
    """(row index, number of distinct known headers) of the most header-like of the first rows."""
    best = (-1, 0)
    for r in range(min(HEADER_SCAN_ROWS, len(sheet.rows))):
        hits = {known[h].field for h in map(normalize_header, _header_cells(sheet, r)) if h in known}
        if len(hits) > best[1]:
            best = (r, len(hits))
    return best


def _choose(sheets: list[Sheet], spec: LedgerSpec, known: dict[str, Column], wanted: str | None
            ) -> tuple[Sheet, int]:
    if wanted is not None:
        sheet = next((s for s in sheets if s.name == wanted), None)
        if sheet is None:
            raise LedgerError(f"文件中没有名为“{wanted}”的工作表", [s.name for s in sheets])
        r, hits = _best_header(sheet, known)
        if hits == 0:
            raise LedgerError(f"工作表“{wanted}”前{HEADER_SCAN_ROWS}行中没有台账表头（应包含"
                              f"{'、'.join(spec.required)}等列）", [s.name for s in sheets])
        return sheet, r
    scored = sorted(((_best_header(s, known), i) for i, s in enumerate(sheets)), key=lambda x: (-x[0][1], x[1]))
    good = [(rh, i) for rh, i in scored if rh[1] >= 1]
    if not good:
        names = "、".join(f"“{s.name}”" for s in sheets) or "（无）"
        raise LedgerError(f"未找到{spec.name}的表头行：已查看工作表{names}的前{HEADER_SCAN_ROWS}行，"
                          f"表头应包含{'、'.join(spec.required)}等列；请使用系统导出的台账模板")
    complete = [(rh, i) for rh, i in good if rh[1] >= len(spec.required)]
    if len(good) > 1 and (good[0][0][1] == good[1][0][1] or len(complete) > 1):
        names = [sheets[i].name for _, i in good]
        raise LedgerError(f"多个工作表都像{spec.name}（{'、'.join(names)}），请选择要导入的工作表", names)
    (r, _), i = good[0]
    return sheets[i], r


def _map_columns(cells: list[str], sheet: Sheet, spec: LedgerSpec, known: dict[str, Column], header_row: int
                 ) -> tuple[dict[str, int], dict[str, str], list[str]]:
    index: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for j, raw in enumerate(cells):
        name = normalize_header(raw)
        if not name:
            continue
        col = known.get(name)
        if col is None:
            ignored.append(raw)
            continue
        if col.field in index:
            first = col_letter(sheet.first_col + index[col.field])
            raise LedgerError(f"列“{col.header}”出现了两次（第{header_row}行 {first}列和"
                              f"{col_letter(sheet.first_col + j)}列），请删去一列")
        index[col.field], headers[col.field] = j, raw
    missing = [c.header for c in spec.columns if c.required and c.field not in index]
    if missing:
        other = f"；这些列不属于模板：{'、'.join(ignored)}" if ignored else ""
        raise LedgerError(f"缺少必填列：{'、'.join(missing)}（表头在工作表“{sheet.name}”第{header_row}行）{other}")
    return index, headers, ignored


# -- the reader -------------------------------------------------------------------------------------------------
def is_geofile(data: bytes, filename: str) -> bool:
    """A GeoPackage or a zipped Shapefile (geofile.py reads those whole; the chunked path takes sheets and CSV)."""
    from . import geofile

    return geofile.is_geofile(data, filename)


def open_ledger(data: bytes, filename: str, spec: LedgerSpec, *, sheet: str | None = None,
                max_rows: int | None = None, opened: OpenedFile | None = None, formulas: bool = True
                ) -> LedgerStream:
    """Find the sheet, its header and its formula cells; the rows are read later, in chunks (LedgerStream.chunks).
    Raises LedgerError (a Chinese message) when the file cannot be imported at all. `opened`: the file already
    parsed by `open_file` (of these same bytes); `formulas=False`: only the header is wanted, no formula scan."""
    opened = opened or open_file(data, filename, formulas=formulas)
    kind, sheets, encoding = opened.kind, opened.sheets, opened.encoding
    known = _lookup(spec)
    chosen, r = _choose(sheets, spec, known, sheet)
    header_row = chosen.first_row + r + 1
    cells = _header_cells(chosen, r)
    index, headers, ignored = _map_columns(cells, chosen, spec, known, header_row)
    # a header merged downwards (two header rows) pushes the data start below the merge
    data_start = header_row
    for (r0, _c0), (r1, _c1) in chosen.merged:
        if r0 <= header_row - 1 <= r1:
            data_start = max(data_start, r1 + 1)
    letters = {f: col_letter(chosen.first_col + j) for f, j in index.items()}
    stream = LedgerStream(chosen.name, header_row, headers, letters, ignored, encoding=encoding, fmt=kind,
                          max_rows=spec.max_rows if max_rows is None else max_rows, _every_row=chosen.every_row,
                          _fields=tuple(index), _picks=tuple(index.values()), _first_row=chosen.first_row,
                          _skip=data_start - chosen.first_row, _merged=chosen.merged, _data_start=data_start,
                          rows_hint=max(0, chosen.height - (data_start - chosen.first_row)))
    if kind == "xlsx" and formulas:  # the scan open_file started; the chosen sheet's alone if it was not asked to
        stream._formula_job = (opened.formulas or formula_scan(data, [chosen.name]), chosen.name)
    return stream


def read_ledger(data: bytes, filename: str, spec: LedgerSpec, *, sheet: str | None = None) -> Ledger:
    """Parse a ledger file once, every row in memory (up to `spec.max_rows`); raises LedgerError (a Chinese message)
    when the file cannot be imported at all."""
    if data and is_geofile(data, filename):  # GIS layers: their own reader, the same Ledger out
        from . import geofile

        return geofile.read_geofile(data, filename, spec, sheet=sheet)
    stream = open_ledger(data, filename, spec, sheet=sheet)
    rows = list(stream._rows())
    too_many = stream.too_many(len(rows))
    if too_many is not None:
        raise too_many
    stream.settle()
    ledger = Ledger(stream.sheet, stream.header_row, stream.columns, stream.letters, stream.ignored,
                    stream.formulas, stream.ignored_formulas, stream.encoding, stream.fmt, rows=rows)
    data_start = stream._data_start
    last = rows[-1].number if rows else data_start
    for (r0, _c0), (r1, _c1) in stream._merged:
        if r1 + 1 > data_start:
            ledger.merged_rows.update(range(max(r0 + 1, data_start + 1), min(r1 + 1, last) + 1))
    return ledger
