"""Excel 台账: export in the layout staff use, import with row-by-row validation.

Layout: row 1 title (merged), row 2 watermark, row 3 headers, data from row 4. Parties in one cell:
``申请人:张三:610924198001011234；被申请人:李四:...``. The normal export masks identity numbers; the
exchange export (full numbers, for re-import elsewhere) needs `unmask` and is audited as such.
Import: wrong columns reject the file; each bad row is reported with its reasons; the accepted rows are
saved in one transaction (all or nothing).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from console.security import guard
from console.security.masking import watermark_text
from console.security.permissions import DISPUTE_REGISTER, EXPORT, UNMASK
from console.store import Dispute, DisputeEvent, DisputeParty
from console.store.codes import (
    DISPUTE_CATEGORIES, DISPUTE_COMPLEXITY, DISPUTE_STATES, HANDLING_LEVELS, PARTY_ROLES, RISK_GRADES,
)
from console.store.masking import mask_id

from . import codes, xlsx
from .validation import validate_case

TITLE = "安康市矛盾纠纷排查化解工作台账"
HEADER_ROW = 3
COLUMNS = (  # (field, header)
    ("code", "案件编号"), ("title", "事件名称"), ("category", "纠纷类别"), ("occurred_on", "发生日期"),
    ("registered_at", "登记时间"), ("place", "发生地点"), ("lon", "经度"), ("lat", "纬度"), ("grid_code", "所属网格"),
    ("scale", "涉及人数"), ("risk_grade", "风险等级"), ("complexity", "复杂程度"), ("description", "事件简述"),
    ("parties", "当事人"), ("state", "办理状态"), ("handling_level", "交办层级"), ("department", "承办部门"),
    ("handler", "责任人"), ("deadline", "办理时限"), ("outcome", "化解结果"),
)
HEADERS = [h for _, h in COLUMNS]
REQUIRED = ("事件名称", "纠纷类别", "发生日期", "发生地点", "经度", "纬度", "涉及人数", "事件简述", "当事人")
EXPORT_FIELDS = [f for f, _ in COLUMNS]
MAX_IMPORT_ROWS = 5000


def _label(table, key):
    return table.get(key or "", key or "")


def export_rows(session, scope, conds: Iterable, *, unmask: bool = False, limit: int = 100000) -> list[dict]:
    """Cases under the ledger filter `conds` (already scope-restricted) as export rows."""
    cols = ("id", "code", "title", "category", "occurred_on", "registered_at", "place", "lon", "lat", "grid_code",
            "scale", "risk_grade", "complexity", "description", "state", "handling_level", "department", "handler",
            "deadline", "outcome")
    cases = session.execute(select(*(getattr(Dispute, c) for c in cols)).where(*conds)
                            .order_by(Dispute.registered_at, Dispute.id).limit(limit)).all()
    ids = [c.id for c in cases]
    parties: dict[int, list[str]] = {}
    for i in range(0, len(ids), 900):
        for p in session.execute(select(DisputeParty.dispute_id, DisputeParty.role, DisputeParty.name,
                                        DisputeParty.id_number).where(DisputeParty.dispute_id.in_(ids[i:i + 900]))
                                 .order_by(DisputeParty.id)):
            idn = p.id_number if unmask else mask_id(p.id_number)
            parties.setdefault(p.dispute_id, []).append(f"{_label(PARTY_ROLES, p.role)}:{p.name}:{idn}")
    return [{
        "code": c.code, "title": c.title, "category": _label(DISPUTE_CATEGORIES, c.category),
        "occurred_on": c.occurred_on.isoformat(),
        "registered_at": c.registered_at.isoformat(sep=" ", timespec="seconds"),
        "place": c.place, "lon": c.lon, "lat": c.lat, "grid_code": c.grid_code, "scale": c.scale,
        "risk_grade": _label(RISK_GRADES, c.risk_grade), "complexity": _label(DISPUTE_COMPLEXITY, c.complexity),
        "description": c.description, "parties": "；".join(parties.get(c.id, [])),
        "state": _label(DISPUTE_STATES, c.state), "handling_level": _label(HANDLING_LEVELS, c.handling_level),
        "department": c.department or "", "handler": c.handler or "",
        "deadline": c.deadline.isoformat(sep=" ", timespec="seconds") if c.deadline else "", "outcome": c.outcome or "",
    } for c in cases]


def _safe(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


WIDTHS = (22, 24, 10, 11, 19, 24, 11, 11, 17, 8, 8, 9, 30, 50, 10, 8, 18, 8, 19, 20)


def write_workbook(rows: list[Mapping], mark: str) -> bytes:
    return xlsx.write(TITLE, mark, HEADERS, ([_safe(r.get(f)) for f in EXPORT_FIELDS] for r in rows),
                      sheet="纠纷台账", widths=WIDTHS)


def export(session, viewer, conds: Iterable, *, unmask: bool = False, when: datetime | None = None, limit: int = 100000
           ) -> tuple[str, bytes]:
    """The 台账 workbook for the ledger filter; needs `export` (+ `unmask` for full identity numbers); audited."""
    guard.require(viewer, EXPORT, "export:disputes", log_grant=False)
    if unmask:
        guard.require(viewer, UNMASK, "export:disputes", log_grant=False)
    rows = export_rows(session, viewer.scope, conds, unmask=unmask, limit=limit)
    when = when or datetime.now()
    guard.audit(viewer, "unmask.export" if unmask else "export", "export:disputes", guard.GRANTED,
                {"format": "xlsx", "rows": len(rows)})
    return f"纠纷台账-{when:%Y%m%d%H%M%S}.xlsx", write_workbook(rows, watermark_text(viewer, when))


# -- import ------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    accepted: list[dict] = field(default_factory=list)  # clean rows ready to save
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (Excel row number, reasons)
    file_error: str | None = None
    saved: int = 0

    @property
    def summary(self) -> str:
        if self.file_error:
            return self.file_error
        return f"可导入{len(self.accepted)}行，拒绝{len(self.rejected)}行" + (f"，已保存{self.saved}行" if self.saved else "")


def _mojibake(text: str) -> bool:
    """UTF-8 read as Latin-1/GBK leaves telltale characters ("å®‰åº·", "瀹夊悍")."""
    if any("\u00c0" <= ch <= "\u00ff" for ch in text):
        try:
            text.encode("latin-1").decode("utf-8")
            return True
        except (UnicodeEncodeError, UnicodeDecodeError):
            return any(ch in text for ch in "åäæçéè")
    return "\ufffd" in text


def parse_parties(text: str) -> list[dict]:
    out = []
    for part in str(text or "").replace(";", "；").split("；"):
        if not part.strip():
            continue
        bits = [b.strip() for b in part.replace("：", ":").split(":")]
        if len(bits) != 3:
            out.append({"role": "?", "name": part, "id_number": ""})
            continue
        role = next((k for k, v in PARTY_ROLES.items() if bits[0] in (k, v)), bits[0])
        out.append({"role": role, "name": bits[1], "id_number": bits[2]})
    return out


def read_workbook(data: bytes, today, locate, scope, existing_codes: set[str]) -> ImportReport:
    """Validate every row. `locate(lon, lat)` → area dict or None; `scope` an AreaScope."""
    report = ImportReport()
    try:
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        report.file_error = "文件不是有效的Excel工作簿（.xlsx）"
        return report
    ws = wb.worksheets[0]
    header_row, headers = None, []
    for r in range(1, 6):
        values = [str(c.value).strip() if c.value is not None else "" for c in ws[r]] if ws.max_row >= r else []
        if "事件名称" in values:
            header_row, headers = r, values
            break
    if header_row is None:
        report.file_error = "未找到表头行（应包含“事件名称”等列），请使用系统导出的台账模板"
        return report
    missing = [h for h in REQUIRED if h not in headers]
    unknown = [h for h in headers if h and h not in HEADERS]
    if missing or unknown:
        report.file_error = "列不符合模板：" + "；".join(
            x for x in (f"缺少列 {'、'.join(missing)}" if missing else "",
                        f"无法识别的列 {'、'.join(unknown)}" if unknown else "") if x)
        return report
    merged_rows = set()
    for rng in ws.merged_cells.ranges:
        if rng.max_row > header_row:
            merged_rows.update(range(max(rng.min_row, header_row + 1), rng.max_row + 1))
    field_of = {h: f for f, h in COLUMNS}
    seen = set()
    for n, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        if n - header_row > MAX_IMPORT_ROWS:
            report.rejected.append((n, f"单次最多导入{MAX_IMPORT_ROWS}行"))
            break
        raw = {field_of[h]: v for h, v in zip(headers, row) if h in field_of}
        reasons = []
        if n in merged_rows:
            reasons.append("含合并单元格")
        bad_text = [h for h, v in zip(headers, row) if isinstance(v, str) and _mojibake(v)]
        if bad_text:
            reasons.append(f"疑似乱码（编码错误）：{'、'.join(bad_text)}")
        raw["parties"] = parse_parties(raw.get("parties"))
        clean, errors = validate_case(raw, today)
        if any("*" in p["id_number"] for p in raw["parties"]):
            errors["parties"] = "当事人身份证号码已脱敏（含*），请填写完整号码"
        reasons += list(errors.values())
        code = str(raw.get("code") or "").strip()
        if code:
            if codes.parse_code(code) is None:
                reasons.append(f"案件编号格式错误：{code}")
            elif code in existing_codes or code in seen:
                reasons.append(f"案件编号已存在：{code}")
        for key, table, label in (("state", DISPUTE_STATES, "办理状态"), ("handling_level", HANDLING_LEVELS, "交办层级")):
            value = str(raw.get(key) or "").strip()
            if value and not any(value in (k, v) for k, v in table.items()):
                reasons.append(f"未知的{label}：{value}")
            clean[key] = next((k for k, v in table.items() if value in (k, v)), None) if value else None
        where = None
        if not errors:
            where = locate(clean["lon"], clean["lat"])
            if where is None:
                reasons.append("地点不在安康市任何网格内")
            elif not scope.allows(where["village_code"]):
                reasons.append("地点超出您的管辖范围")
        if reasons:
            report.rejected.append((n, "；".join(dict.fromkeys(reasons))))
            continue
        seen.add(code)
        clean.update(code=code or None, where=where, department=str(raw.get("department") or "").strip() or None,
                     handler=str(raw.get("handler") or "").strip() or None,
                     outcome=str(raw.get("outcome") or "").strip() or None,
                     registered_at=_when(raw.get("registered_at")), deadline=_when(raw.get("deadline")))
        report.accepted.append(clean)
    return report


def _when(value):
    if isinstance(value, datetime):
        return value
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def import_workbook(session_factory, viewer, data: bytes, *, now: datetime, commit: bool = True) -> ImportReport:
    """Validate, then save all accepted rows in ONE transaction (or none when anything fails)."""
    from . import routing, service
    from .deadlines import DEFAULT_POLICY
    from .locate import locator_for

    gv = service.as_guard_viewer(viewer, session_factory)
    guard.require(gv, DISPUTE_REGISTER, "import:disputes", log_grant=False)
    with session_factory() as s:
        locator = locator_for(s)
        existing = set(s.scalars(select(Dispute.code)))
    report = read_workbook(data, now.date(), locator.locate, gv.scope, existing)
    if report.file_error or not report.accepted or not commit:
        return report
    with session_factory() as s, s.begin():
        for row in report.accepted:
            reg = row["registered_at"] if row["registered_at"] and row["registered_at"] <= now else now
            case = service.build_case(s, row, row["where"], now=reg, actor=gv.username, source="excel",
                                      policy=DEFAULT_POLICY)
            if row["code"]:
                case.code = row["code"]
            if row["state"] and row["state"] != case.state:
                case.state = row["state"]
                s.add(DisputeEvent(dispute_id=case.id, seq=1, at=now, from_state="registered", to_state=row["state"],
                                   actor=gv.username, note="Excel台账导入（原办理状态）"))
            case.handling_level = row["handling_level"]
            case.department, case.handler, case.outcome = row["department"], row["handler"], row["outcome"]
            if row["deadline"]:
                case.deadline = row["deadline"]
            if row["handling_level"] is None and row["state"] not in (None, "registered", "accepted"):
                case.handling_level = routing.LEVEL_BY_COMPLEXITY[case.complexity]
            s.flush()
        guard.audit(gv, "dispute.import", "import:disputes", guard.GRANTED,
                    {"accepted": len(report.accepted), "rejected": len(report.rejected)}, session=s)
    report.saved = len(report.accepted)
    return report
