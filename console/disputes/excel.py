"""Excel 台账: export in the layout staff use, import with row-by-row validation.

Layout: row 1 title (merged), row 2 watermark, row 3 headers, data from row 4. Parties in one cell:
``申请人:张三:610924198001011234；被申请人:李四:...``. The normal export masks identity numbers; the
exchange export (full numbers, for re-import elsewhere) needs `unmask` and is audited as such.
Import (console/ledgers/reader.py + ledger_check.py + ledger_import.py): the sheet is found by its header row,
unknown columns are ignored with a notice, each bad row is reported with its reasons; the accepted rows are saved in
one transaction (all or nothing). docs/disputes.md lists the limits and messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select

from console.security import guard
from console.security.masking import watermark_text
from console.security.permissions import EXPORT, UNMASK
from console.store import Dispute, DisputeParty
from console.store.codes import (
    DISPUTE_CATEGORIES, DISPUTE_COMPLEXITY, DISPUTE_STATES, HANDLING_LEVELS, PARTY_ROLES, RISK_GRADES,
)
from console.store.masking import mask_id

from . import ledger_import, xlsx
from .ledger_check import COLUMNS, CRS_WGS84, REQUIRED, ImportReport, parse_parties  # noqa: F401 - re-exported

TITLE = "安康市矛盾纠纷排查化解工作台账"
HEADER_ROW = 3
HEADERS = [h for _, h in COLUMNS]
EXPORT_FIELDS = [f for f, _ in COLUMNS]


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


# -- import (console/disputes/ledger_import.py; kept here under the names callers know) ---------------------
def import_workbook(session_factory, viewer, data: bytes, *, now: datetime, commit: bool = True, filename: str = "",
                    sheet: str | None = None, crs: str = CRS_WGS84) -> ImportReport:
    """Validate, then save all accepted rows in ONE transaction (or none when anything fails)."""
    return ledger_import.import_file(session_factory, viewer, data, now=now, commit=commit, filename=filename,
                                     sheet=sheet, crs=crs)
