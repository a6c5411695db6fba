"""Import a dispute 台账 file: read it once (console.ledgers.reader, cached between preview and save), check every
row (ledger_check), then save all accepted rows in ONE transaction with bulk inserts (or nothing at all)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from console.ledgers.cache import PARSED, file_key
from console.ledgers.reader import Ledger, LedgerError, read_ledger
from console.security import guard
from console.security.permissions import DISPUTE_REGISTER
from console.store import Dispute, DisputeEvent, DisputeParty
from console.store.sensitive import id_number_index

from . import codes, routing, workflow
from .ledger_check import CRS_WGS84, SPEC, ImportReport, check

SOURCE = "excel"


def parse(data: bytes, filename: str = "", sheet: str | None = None) -> Ledger:
    """The parsed file, from the cache when this exact file (and sheet choice) was read before."""
    key = (file_key(data), sheet)
    ledger = PARSED.get(key)
    if ledger is None:
        ledger = read_ledger(data, filename, SPEC, sheet=sheet)
        PARSED.put(key, ledger, len(ledger.rows))
    return ledger


def read_file(data: bytes, today, locate_many, scope, existing_codes: set[str], *, filename: str = "",
              sheet: str | None = None, crs: str = CRS_WGS84) -> ImportReport:
    try:
        ledger = parse(data, filename, sheet)
    except LedgerError as exc:
        return ImportReport(file_error=exc.message, sheets=exc.sheets)
    return check(ledger, today, locate_many, scope, existing_codes, crs=crs, filename=filename)


def import_file(session_factory, viewer, data: bytes, *, now: datetime, commit: bool = True, filename: str = "",
                sheet: str | None = None, crs: str = CRS_WGS84) -> ImportReport:
    """Check (preview, `commit=False`) or check and save. The save re-checks against the store as it is then."""
    from . import service
    from .deadlines import DEFAULT_POLICY
    from .locate import locator_for

    gv = service.as_guard_viewer(viewer, session_factory)
    guard.require(gv, DISPUTE_REGISTER, "import:disputes", log_grant=False)
    with session_factory() as s:
        locator = locator_for(s)
        existing = set(s.scalars(select(Dispute.code)))
    report = read_file(data, now.date(), locator.locate_many, gv.scope, existing, filename=filename, sheet=sheet,
                       crs=crs)
    if report.file_error or not report.accepted or not commit:
        return report
    try:
        serials = _serials(report.accepted, existing, now)
    except ValueError as exc:
        report.file_error = f"无法编号：{exc}"
        return report
    with session_factory() as s, s.begin():
        save_rows(s, report.accepted, serials, actor=gv.username, now=now, policy=DEFAULT_POLICY)
        guard.audit(gv, "dispute.import", "import:disputes", guard.GRANTED,
                    {"accepted": len(report.accepted), "rejected": len(report.rejected), "sheet": report.sheet,
                     "crs": report.crs}, session=s)
    report.saved = len(report.accepted)
    return report


def _registered(row: dict, now: datetime) -> datetime:
    reg = row.get("registered_at")
    return reg if reg and reg <= now else now


def _serials(rows: list[dict], existing: set[str], now: datetime) -> list[str]:
    """The code of every row: its own, or the next free serial of its county and registration day."""
    last: dict[str, int] = {}
    for code in (*existing, *(r["code"] for r in rows if r["code"])):
        parsed = codes.parse_code(code or "")
        if parsed:
            prefix = code[:-4]
            last[prefix] = max(last.get(prefix, 0), parsed[2])
    out = []
    for r in rows:
        if r["code"]:
            out.append(r["code"])
            continue
        day = _registered(r, now).date()
        prefix = f"{codes.PREFIX}{r['where']['county_code']}{day:%Y%m%d}"
        last[prefix] = last.get(prefix, 0) + 1
        out.append(codes.make_code(r["where"]["county_code"], day, last[prefix]))
    return out


def save_rows(s, rows: list[dict], case_codes: list[str], *, actor: str, now: datetime, policy) -> None:
    """Bulk-insert cases, parties and history; the caller's transaction commits or rolls back all of it."""
    cases, steps = [], []
    for row, code in zip(rows, case_codes):
        reg = _registered(row, now)
        complexity = row.get("complexity") or routing.complexity_of(row["category"], row["scale"], row["risk_grade"])
        state = row["state"] or workflow.INITIAL_STATE
        level = row["handling_level"]
        if level is None and row["state"] not in (None, "registered", "accepted"):
            level = routing.LEVEL_BY_COMPLEXITY[complexity]
        cases.append({
            "code": code, "title": row["title"], "category": row["category"], "occurred_on": row["occurred_on"],
            "registered_at": reg, "place": row["place"], "scale": row["scale"], "description": row["description"],
            "risk_grade": row["risk_grade"], "complexity": complexity, "state": state, "handling_level": level,
            "department": row["department"], "handler": row["handler"], "outcome": row["outcome"],
            "deadline": row["deadline"] or reg + policy.limit(complexity), "source": SOURCE,
            "lon": row["lon"], "lat": row["lat"], **row["where"]})
    ids = s.scalars(insert(Dispute).returning(Dispute.id, sort_by_parameter_order=True), cases).all()
    parties = []
    for case_id, row, case in zip(ids, rows, cases):
        for p in row["parties"]:
            parties.append({"dispute_id": case_id, **p, "id_number_bidx": id_number_index(p["id_number"])})
        steps.append({"dispute_id": case_id, "seq": 0, "at": case["registered_at"], "from_state": None,
                      "to_state": workflow.INITIAL_STATE, "actor": actor, "note": f"登记（来源：{SOURCE}）"})
        if case["state"] != workflow.INITIAL_STATE:
            steps.append({"dispute_id": case_id, "seq": 1, "at": now, "from_state": workflow.INITIAL_STATE,
                          "to_state": case["state"], "actor": actor, "note": "Excel台账导入（原办理状态）"})
    if parties:
        s.execute(insert(DisputeParty), parties)
    s.execute(insert(DisputeEvent), steps)
