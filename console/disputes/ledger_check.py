"""Check the rows of a dispute 台账 read by console.ledgers.reader: one Chinese reason list per bad row, clean
values for the good ones. Pure apart from the `locate_many` and `scope` passed in. Messages: docs/disputes.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from console.ledgers.reader import Column, Ledger, LedgerSpec
from console.ledgers.values import parse_date, parse_datetime, text
from console.store.codes import DISPUTE_STATES, HANDLING_LEVELS, PARTY_ROLES
from console.store.identity import valid_id_numbers
from geodata.planner.gcj02 import gcj02_to_wgs84

from . import codes
from .validation import validate_case

COLUMNS = (  # (field, header) — the order of the export
    ("code", "案件编号"), ("title", "事件名称"), ("category", "纠纷类别"), ("occurred_on", "发生日期"),
    ("registered_at", "登记时间"), ("place", "发生地点"), ("lon", "经度"), ("lat", "纬度"), ("grid_code", "所属网格"),
    ("scale", "涉及人数"), ("risk_grade", "风险等级"), ("complexity", "复杂程度"), ("description", "事件简述"),
    ("parties", "当事人"), ("state", "办理状态"), ("handling_level", "交办层级"), ("department", "承办部门"),
    ("handler", "责任人"), ("deadline", "办理时限"), ("outcome", "化解结果"),
)
REQUIRED = ("事件名称", "纠纷类别", "发生日期", "发生地点", "经度", "纬度", "涉及人数", "事件简述", "当事人")
_ALIASES = {"title": ("事件名称/纠纷名称", "纠纷名称"), "parties": ("当事人信息",), "scale": ("涉及人数(人)",)}
SPEC = LedgerSpec("矛盾纠纷台账", tuple(Column(f, h, h in REQUIRED, _ALIASES.get(f, ())) for f, h in COLUMNS))

CRS_WGS84, CRS_GCJ02 = "wgs84", "gcj02"
CRS_OPTIONS = {CRS_WGS84: "WGS84 / CGCS2000（GPS、天地图、本系统导出）", CRS_GCJ02: "GCJ-02（高德、腾讯地图导出）"}
_GCJ_HINTS = ("高德", "gcj", "火星", "腾讯")


@dataclass
class ImportReport:
    accepted: list[dict] = field(default_factory=list)  # clean rows ready to save
    numbers: list[int] = field(default_factory=list)  # the file's row number of each accepted row
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row number in the file, reasons)
    file_error: str | None = None
    sheets: list[str] = field(default_factory=list)  # sheets to choose from when the ledger sheet is ambiguous
    notices: list[str] = field(default_factory=list)
    sheet: str | None = None
    header_row: int | None = None
    crs: str = CRS_WGS84
    crs_hint: str | None = None  # why the file looks like GCJ-02
    saved: int = 0

    @property
    def summary(self) -> str:
        if self.file_error:
            return self.file_error
        where = f"工作表“{self.sheet}”第{self.header_row}行为表头；" if self.sheet and self.sheet != "CSV" else ""
        return (where + f"可导入{len(self.accepted)}行，拒绝{len(self.rejected)}行"
                + (f"，已保存{self.saved}行" if self.saved else ""))


_SUSPECT = re.compile("[\u00c0-\u00ff\ufffd]")


def mojibake(value: str) -> bool:
    """UTF-8 read as Latin-1/GBK leaves telltale characters ("å®‰åº·", "瀹夊悍")."""
    if not _SUSPECT.search(value):  # the common case, at C speed
        return False
    if any("\u00c0" <= ch <= "\u00ff" for ch in value):
        try:
            value.encode("latin-1").decode("utf-8")
            return True
        except (UnicodeEncodeError, UnicodeDecodeError):
            return any(ch in value for ch in "åäæçéè")
    return "\ufffd" in value


def _by_key_or_label(table: dict[str, str]) -> dict[str, str]:
    return {**{label: key for key, label in table.items()}, **{key: key for key in table}}


_ROLE = _by_key_or_label(PARTY_ROLES)
_STATE = _by_key_or_label(DISPUTE_STATES)
_LEVEL = _by_key_or_label(HANDLING_LEVELS)


def parse_parties(value: str) -> list[dict]:
    out = []
    for part in str(value or "").replace(";", "；").split("；"):
        if not part.strip():
            continue
        bits = [b.strip() for b in part.replace("：", ":").split(":")]
        if len(bits) != 3:
            out.append({"role": "?", "name": part, "id_number": ""})
            continue
        role = _ROLE.get(bits[0], bits[0])
        out.append({"role": role, "name": bits[1], "id_number": bits[2]})
    return out


def _duplicate_codes(ledger: Ledger) -> dict[int, str]:
    """Row → reason, for every row whose 案件编号 appears more than once in the file."""
    rows_of: dict[str, list[int]] = {}
    for row in ledger.rows:
        code = text(row.values.get("code"))
        if code:
            rows_of.setdefault(code, []).append(row.number)
    out = {}
    for code, numbers in rows_of.items():
        if len(numbers) > 1:
            for n in numbers:
                out[n] = f"案件编号{code}在本文件第{'、'.join(map(str, numbers))}行重复"
    return out


def gcj_hint(ledger: Ledger, filename: str) -> str | None:
    names = [filename, *ledger.columns.values(), *ledger.ignored]
    hit = next((n for n in names if any(h in n.lower() for h in _GCJ_HINTS)), None)
    return f"“{hit}”提示坐标来自高德/腾讯地图（GCJ-02）" if hit else None


CHUNK = 10_000  # rows whose parties are parsed and identity numbers checked at once


def _with_parties(rows, today: date):
    """(row, its parties, the valid identity numbers of its chunk) for every row, a chunk of rows at a time."""
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        parties = [parse_parties(_text_of(row.values.get("parties"))) for row in chunk]
        valid = valid_id_numbers([str(p["id_number"] or "").strip().upper() for ps in parties for p in ps],
                                 today=today)
        for row, row_parties in zip(chunk, parties):
            yield row, row_parties, valid


def _text_of(value):
    """A cell as `_row` reads it: strings as they are (stripped by the reader), anything else as text."""
    return value if value is None or type(value) is str else text(value)


def _row(values: dict, today: date, parties: list[dict] | None = None, valid_ids: set[str] | None = None
         ) -> tuple[dict, list[str]]:
    """(clean, reasons) of one row before locating; `parties` parsed and `valid_ids` checked for all rows at once."""
    raw = {k: (v if k in ("lon", "lat") or type(v) is str else text(v)) for k, v in values.items()}  # str: stripped
    reasons = []
    day, day_problem = parse_date(values.get("occurred_on"))
    if day_problem:
        reasons.append(f"发生日期{day_problem}")
    raw["occurred_on"] = day
    when = {}
    for key, label in (("registered_at", "登记时间"), ("deadline", "办理时限")):
        when[key], problem = parse_datetime(values.get(key))
        if problem:
            reasons.append(f"{label}{problem}")
    strings = [(k, v) for k, v in values.items() if type(v) is str]
    suspect = _SUSPECT.search("".join(v for _, v in strings))  # one C-speed test for the whole row
    bad_text = [k for k, v in strings if mojibake(v)] if suspect else []
    raw["parties"] = parse_parties(raw.get("parties")) if parties is None else parties
    clean, errors = validate_case(raw, today, valid_ids=valid_ids)
    if day is None and not day_problem:
        errors["occurred_on"] = "发生日期不能为空"
    elif day is None:
        errors.pop("occurred_on", None)  # the precise reason is already in `reasons`
    if any("*" in p["id_number"] for p in raw["parties"]):
        errors["parties"] = "当事人身份证号码已脱敏（含*），请填写完整号码"
    reasons += list(errors.values())
    if bad_text:
        reasons.append("疑似乱码（编码错误）：" + "、".join(dict(COLUMNS)[k] for k in bad_text))
    for key, table, label in (("state", _STATE, "办理状态"), ("handling_level", _LEVEL, "交办层级")):
        value = raw.get(key, "")
        if value and value not in table:
            reasons.append(f"未知的{label}：{value}")
        clean[key] = table.get(value) if value else None
    clean.update(code=raw.get("code") or None, department=raw.get("department") or None,
                 handler=raw.get("handler") or None, outcome=raw.get("outcome") or None, **when)
    return clean, reasons


def check(ledger: Ledger, today: date, locate_many: Callable, scope, existing_codes: set[str], *,
          crs: str = CRS_WGS84, filename: str = "") -> ImportReport:
    """Every row checked; `locate_many(lon[], lat[])` → area dict or None per point; `scope` an AreaScope."""
    report = ImportReport(sheet=ledger.sheet, header_row=ledger.header_row, crs=crs,
                          notices=list(ledger.notices), crs_hint=gcj_hint(ledger, filename))
    if not ledger.rows and not ledger.formulas:
        report.file_error = (f"工作表“{ledger.sheet}”第{ledger.header_row}行有表头，但下面没有数据行"
                             if ledger.sheet != "CSV" else "文件只有表头，没有数据行")
        return report
    dup = _duplicate_codes(ledger)
    pending: list[tuple[int, dict, list[str]]] = []
    for row, row_parties, valid_ids in _with_parties(ledger.rows, today):
        clean, reasons = _row(row.values, today, row_parties, valid_ids)
        if row.number in ledger.merged_rows:
            reasons.insert(0, "含合并单元格")
        if row.number in ledger.formulas:
            reasons.insert(0, f"{'、'.join(ledger.formulas[row.number])}为公式，公式不读取（请粘贴为数值）")
        code = clean["code"]
        if code:
            if codes.parse_code(code) is None:
                reasons.append(f"案件编号格式错误：{code}")
            elif row.number in dup:
                reasons.append(dup[row.number])
            elif code in existing_codes:
                reasons.append(f"案件编号已存在：{code}")
        pending.append((row.number, clean, reasons))
    seen = {r.number for r in ledger.rows}
    for n in sorted(set(ledger.formulas) - seen):  # formula rows whose formulas had no value
        report.rejected.append((n, f"{'、'.join(ledger.formulas[n])}为公式，公式不读取（请粘贴为数值）"))
    _locate(pending, locate_many, crs)
    shifted = 0
    for n, clean, reasons in pending:
        if "where" in clean and not any("经度" in r or "纬度" in r or "安康市范围" in r for r in reasons):
            where = clean.pop("where")
            if where is None:
                reasons.append("地点不在安康市任何网格内")
                shifted += bool(clean.pop("gcj_inside", False))
            elif not scope.allows(where["village_code"]):
                reasons.append("地点超出您的管辖范围")
            clean["where"] = where
        if reasons:
            report.rejected.append((n, "；".join(dict.fromkeys(reasons))))
        else:
            clean.pop("gcj_inside", None)
            report.accepted.append(clean)
            report.numbers.append(n)
    report.rejected.sort()
    if crs == CRS_WGS84 and shifted and report.crs_hint is None:
        report.crs_hint = f"{shifted}行按GCJ-02（高德坐标）换算后落入网格"
    return report


def _locate(pending, locate_many, crs: str) -> None:
    todo = [c for _, c, _r in pending if isinstance(c.get("lon"), float) and isinstance(c.get("lat"), float)
            and -180 <= c["lon"] <= 180 and -90 <= c["lat"] <= 90]  # NaN fails too
    if not todo:
        return
    lon = np.array([c["lon"] for c in todo], dtype=float)
    lat = np.array([c["lat"] for c in todo], dtype=float)
    if crs == CRS_GCJ02:
        lon, lat = gcj02_to_wgs84(lon, lat)
        lon, lat = np.round(lon, 6), np.round(lat, 6)
        for c, x, y in zip(todo, lon.tolist(), lat.tolist()):
            c["lon"], c["lat"] = x, y
    found = locate_many(lon, lat)
    for c, where in zip(todo, found):
        c["where"] = where
    missing = [i for i, w in enumerate(found) if w is None]
    if crs == CRS_WGS84 and missing:  # would 高德 coordinates explain the misses?
        gl, ga = gcj02_to_wgs84(lon[missing], lat[missing])
        for i, w in zip(missing, locate_many(gl, ga)):
            todo[i]["gcj_inside"] = w is not None
