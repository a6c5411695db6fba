"""Masking by default, audited unmasking, watermarked and masked exports.

The console shows records through `mask_record`; the full value of a masked field appears only through
`unmask_record`, which requires the `unmask` permission and the record's area in scope, and audits
each view. Every export format goes through `export_table`, which masks, watermarks and audits.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from console.store.masking import mask_address, mask_id, mask_phone

from . import guard
from .config import utcnow
from .guard import GRANTED, Viewer
from .hardening import safe_filename
from .permissions import EXPORT, UNMASK

# Field name → masking function. Names follow the store's columns.
MASKERS: dict[str, Callable[[str | None], str]] = {
    "id_number": mask_id,
    "document_no": mask_id,
    "permit_no": mask_id,
    "phone": mask_phone,
    "guardian_phone": mask_phone,
    "address": mask_address,
    "registered_address": mask_address,
}
SECRET_FIELDS = frozenset({"details", "password_hash", "totp_secret", "key_hash"})  # never exported


def mask_record(record: Mapping, fields: Mapping[str, Callable] = MASKERS) -> dict:
    """A copy with every maskable field masked and secret fields removed."""
    out = {}
    for key, value in record.items():
        if key in SECRET_FIELDS:
            continue
        masker = fields.get(key)
        out[key] = masker(value) if masker and value is not None else value
    return out


def unmask_record(viewer: Viewer, record: Mapping, *, area_code: str | None, obj: str,
                  fields: Iterable[str] | None = None) -> dict:
    """The record with the requested fields in full — audited (`unmask`), permission- and scope-checked."""
    wanted = tuple(fields) if fields is not None else tuple(k for k in record if k in MASKERS)
    guard.require(viewer, UNMASK, obj, log_grant=False)
    guard.require_area(viewer, area_code, obj)
    guard.audit(viewer, "unmask", obj, GRANTED, {"fields": list(wanted), "area": area_code})
    out = mask_record(record)
    for key in wanted:
        if key in record:
            out[key] = record[key]
    return out


def watermark_text(viewer: Viewer, when: datetime | None = None) -> str:
    """The line every export carries: who exported, when (UTC+8 shown as 北京时间), marking."""
    from datetime import timedelta

    when = (when or utcnow()) + timedelta(hours=8)
    who = viewer.display_name if viewer.display_name == viewer.username else f"{viewer.display_name}({viewer.username})"
    return f"平安一张图 · 导出人 {who} · {when:%Y-%m-%d %H:%M:%S} 北京时间 · 内部资料 注意保密"


def xlsx_bytes(title: str, mark: str, labels: Sequence[str], rows: Iterable[Sequence], creator: str) -> bytes:
    """A one-sheet workbook: the watermark as first row, page header/footer and document properties,
    then the labels and the rows (formula-neutralised, control characters dropped)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value):
        return ILLEGAL_CHARACTERS_RE.sub("", _cell(value))

    wb = Workbook()
    ws = wb.active
    ws.title = safe_filename(title)[:31] or "export"
    ws.append([mark])
    ws.append(list(labels))
    for r in rows:
        ws.append([cell(v) for v in r])
    ws.oddHeader.center.text = mark
    ws.oddFooter.center.text = mark
    wb.properties.creator = creator
    wb.properties.description = mark
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):  # CSV / spreadsheet formula injection
        return "'" + text
    return text


def export_table(viewer: Viewer, name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Mapping],
                 fmt: str = "csv", *, area_code: str | None = None, when: datetime | None = None,
                 obj: str = "") -> tuple[str, bytes]:
    """Export rows (already scope-filtered by the caller's query) as csv / json / xlsx.

    `columns` are (field, label) pairs. Masked fields are always masked in exports (unmasked export is
    not offered). Requires `export` and, when given, the area in scope; audited with the row count.
    """
    if fmt not in ("csv", "json", "xlsx"):
        raise ValueError(f"不支持的导出格式: {fmt}")
    obj = obj or f"export:{name}"
    guard.require(viewer, EXPORT, obj, log_grant=False)
    if area_code is not None:
        guard.require_area(viewer, area_code, obj)
    when = when or (viewer.auditor.clock() if viewer.auditor else utcnow())
    mark = watermark_text(viewer, when)
    fields = [f for f, _ in columns if f not in SECRET_FIELDS]
    labels = [lab for f, lab in columns if f not in SECRET_FIELDS]
    masked = [mask_record({f: r.get(f) for f in fields}) for r in rows]
    base = safe_filename(f"{name}-{when:%Y%m%d%H%M%S}")
    guard.audit(viewer, "export", obj, GRANTED, {"format": fmt, "rows": len(masked), "area": area_code,
                                                 "columns": fields})
    if fmt == "csv":
        buf = io.StringIO()
        buf.write(f"# {mark}\n")
        w = csv.writer(buf)
        w.writerow(labels)
        for r in masked:
            w.writerow([_cell(r[f]) for f in fields])
        buf.write(f"# {mark}\n")
        return base + ".csv", ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "json":
        body = {"watermark": mark, "columns": dict(columns),
                "rows": [{f: (r[f].isoformat() if isinstance(r[f], datetime) else r[f]) for f in fields}
                         for r in masked]}
        return base + ".json", json.dumps(body, ensure_ascii=False, indent=1, default=str).encode("utf-8")
    if fmt == "xlsx":
        return base + ".xlsx", xlsx_bytes(name, mark, labels, ([r[f] for f in fields] for r in masked), viewer.username)
    raise ValueError(f"不支持的导出格式: {fmt}")
