"""A ledger file's sheets, parsed once: .xlsx/.xlsm/.xls/.ods through calamine (Rust; it keeps only the cells that
hold a value), CSV decoded as UTF-8, UTF-16 or GB18030 (what WPS and Excel write for GBK) with its delimiter guessed.
Each sheet gives its first rows (for finding the header, reader.py) and its rows again on demand, never held as
Python lists."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import python_calamine

from .formulas import Job, formula_scan

HEADER_SCAN_ROWS = 30  # the header row must be among the first rows of a sheet
NOT_A_WORKBOOK = "文件不是有效的Excel工作簿（.xlsx）"


class LedgerError(Exception):
    """The file cannot be imported as a whole. `sheets`: the candidate sheets when the caller must choose one."""

    def __init__(self, message: str, sheets: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.sheets = list(sheets)


# -- sources: (sheet name, row offset, column offset, rows, merged ranges) ------------------------------------
@dataclass
class Sheet:
    name: str
    rows: list  # the first HEADER_SCAN_ROWS rows (lists of cell values)
    first_row: int  # 0-based row number of rows[0]
    first_col: int  # 0-based column of rows[i][0]
    merged: list  # [((r0, c0), (r1, c1)), …] 0-based, inclusive
    every_row: Callable[[], Iterator[list]]  # all rows again, streamed (not kept as Python lists)
    height: int = 0  # rows in the sheet (CSV: lines), known without reading them


def _kind(data: bytes, filename: str) -> str:
    name = filename.lower()
    if data[:4] == b"PK\x03\x04":
        return "ods" if name.endswith(".ods") or b"opendocument" in data[:100] else "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if name.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    raise LedgerError(NOT_A_WORKBOOK + "；CSV文件请以 .csv 为扩展名")


def _workbook_sheets(data: bytes, opened: Callable[[list[str]], None] | None = None) -> Iterator[Sheet]:
    """The visible worksheets, parsed one after the other; `opened(names)` is told their names before the first is
    parsed."""
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        metas = [m for m in wb.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
                 and m.visible == python_calamine.SheetVisibleEnum.Visible]
        if opened is not None:
            opened([meta.name for meta in metas])
        for meta in metas:
            sheet = wb.get_sheet_by_name(meta.name)
            # rows from the sheet's first row (or row 1), columns from `start`
            head = list(itertools.islice(sheet.iter_rows(), HEADER_SCAN_ROWS)) if sheet.height else []
            first_row = sheet.end[0] + 1 - sheet.height if head else 0
            yield Sheet(meta.name, head, first_row, sheet.start[1] if head else 0, sheet.merged_cell_ranges or [],
                         sheet.iter_rows, sheet.height)
    except python_calamine.PasswordError:
        raise LedgerError("文件有打开密码，请取消密码后再导入") from None
    except (python_calamine.CalamineError, python_calamine.ZipError, python_calamine.XmlError, ValueError,
            zipfile.BadZipFile) as exc:
        raise LedgerError(NOT_A_WORKBOOK) from exc


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"  # a superset of GBK and GB2312, what WPS and Excel write
    except UnicodeDecodeError:
        raise LedgerError("无法识别文件编码：CSV应为UTF-8或GBK编码") from None


def _csv_sheet(data: bytes) -> tuple[Sheet, str]:
    text, encoding = _decode(data)
    head = text[:4096].split("\n", 1)[0]
    delimiter = max("\t,;", key=head.count) if any(d in head for d in "\t,;") else ","
    def every_row() -> Iterator[list]:  # parsed again for each pass: a million rows as lists would cost a GB
        return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    head = list(itertools.islice(every_row(), HEADER_SCAN_ROWS))
    return Sheet("CSV", head, 0, 0, [], every_row, text.count("\n") + 1), encoding


@dataclass
class OpenedFile:
    """A workbook's sheets (or a CSV) parsed once: `open_ledger(..., opened=)` finds headers in it as often as asked
    (the command line looks for the source's template first, then reads with it) without parsing it again."""
    kind: str
    sheets: list
    encoding: str | None = None
    formulas: Job | None = None  # .xlsx: {sheet name: formula cells}, scanned in the background (formulas.py)


def open_file(data: bytes, filename: str, *, formulas: bool = True) -> OpenedFile:
    """`formulas`: an .xlsx's formula cells are looked for beside the parse of its sheets (calamine releases the
    GIL: a million-row sheet's 7 s parse hides the ~1 s scan)."""
    if not data:
        raise LedgerError("文件是空的")
    kind = _kind(data, filename)
    if kind == "csv":
        one, encoding = _csv_sheet(data)
        return OpenedFile(kind, [one], encoding)
    scan: list[Job] = []
    look = (lambda names: scan.append(formula_scan(data, names))) if formulas and kind == "xlsx" else None
    sheets = list(_workbook_sheets(data, look))
    return OpenedFile(kind, sheets, formulas=scan[0] if scan else None)
