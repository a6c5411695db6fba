"""Import a dispute 台账 file: read it once (console.ledgers.reader, cached between preview and save), check every
row (ledger_check), then save all accepted rows in ONE transaction with bulk inserts (or nothing at all)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import column, select, table

from dataclasses import replace

from console.ledgers.cache import PARSED, LedgerCache, file_key
from console.ledgers.reader import Ledger, LedgerError, read_ledger
from console.security import guard
from console.security.permissions import DISPUTE_REGISTER
from console.store import Dispute, DisputeEvent, DisputeParty
from console.store import crypto
from console.store.bulk import insert_rows
from console.store.sensitive import SEALED, seal_rows

from . import codes, routing, workflow
from .ledger_check import CRS_WGS84, SPEC, ImportReport, check

SOURCE = "excel"
_PARTY = next(spec for spec in SEALED if spec.table == DisputeParty.__tablename__)
# untyped columns: identity numbers and phones are sealed in bulk below, not one by one by the ORM type
# (docs/security.md)
_PARTY_TABLE = table(_PARTY.table, *(column(c) for c in ("dispute_id", "role", "name", _PARTY.column, _PARTY.bidx,
                                                          "sex", "phone")))


# The check of a preview, reused by the save when nothing it depends on changed (same file, sheet, coordinate
# system, viewer and scope, day, grid index); the save then only re-checks case codes against the store.
CHECKED = LedgerCache()


def parse(data: bytes, filename: str = "", sheet: str | None = None, digest: str | None = None) -> Ledger:
    """The parsed file, from the cache when this exact file (and sheet choice) was read before."""
    key = (digest or file_key(data), sheet)
    ledger = PARSED.get(key)
    if ledger is None:
        ledger = read_ledger(data, filename, SPEC, sheet=sheet)
        PARSED.put(key, ledger, len(ledger.rows))
        PARSED.put((key[0], ledger.sheet), ledger, len(ledger.rows))  # the page names the found sheet next time
    return ledger


def read_file(data: bytes, today, locate_many, scope, existing_codes: set[str], *, filename: str = "",
              sheet: str | None = None, crs: str = CRS_WGS84, digest: str | None = None) -> ImportReport:
    try:
        ledger = parse(data, filename, sheet, digest)
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
    digest = file_key(data)
    key = (digest, sheet, crs, gv.username, gv.scope, now.date(), locator)
    report = CHECKED.get(key) if commit else None
    if report is not None:
        report = _recheck_codes(report, existing)
    else:
        report = read_file(data, now.date(), locator.locate_many, gv.scope, existing, filename=filename, sheet=sheet,
                           crs=crs, digest=digest)
    if report.file_error or not report.accepted or not commit:
        if not commit and not report.file_error:
            for sheet_key in {sheet, report.sheet}:
                CHECKED.put((digest, sheet_key, *key[2:]), report, len(report.accepted) + len(report.rejected))
        return report
    CHECKED.discard(key)  # a saved check is never reused
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


def _recheck_codes(report: ImportReport, existing: set[str]) -> ImportReport:
    """The cached check with rows whose 案件编号 was taken since the preview moved to the refused ones."""
    taken = [(i, r) for i, r in enumerate(report.accepted) if r["code"] and r["code"] in existing]
    if not taken:
        return replace(report, accepted=list(report.accepted), rejected=list(report.rejected))
    gone = {i for i, _ in taken}
    rejected = report.rejected + [(report.numbers[i], f"案件编号已存在：{r['code']}") for i, r in taken]
    return replace(report, accepted=[r for i, r in enumerate(report.accepted) if i not in gone],
                   numbers=[n for i, n in enumerate(report.numbers) if i not in gone], rejected=sorted(rejected))


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


SAVE_BATCH = 5000  # rows built and inserted at a time: bounds the memory of a 100,000-row save


def save_rows(s, rows: list[dict], case_codes: list[str], *, actor: str, now: datetime, policy) -> None:
    """Insert cases, parties and history in batches of plain executemany (console/store/bulk.py; no per-row
    RETURNING: SQLite then inserts one row per statement); the caller's transaction commits or rolls back all of it."""
    ring = crypto.require_keyring()
    for i in range(0, len(rows), SAVE_BATCH):
        _save_batch(s, rows[i:i + SAVE_BATCH], case_codes[i:i + SAVE_BATCH], ring, actor=actor, now=now,
                    policy=policy)


def _save_batch(s, rows, case_codes, ring, *, actor, now, policy) -> None:
    cases = []
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
            "deadline": row["deadline"] or reg + policy.limit(complexity), "source": SOURCE, "success": None,
            "satisfaction": None, "closed_at": None, "lon": row["lon"], "lat": row["lat"], **row["where"]})
    insert_rows(s, Dispute, cases)
    id_of = {}
    for j in range(0, len(case_codes), 900):  # codes are unique: read the new ids back by code
        id_of.update(s.execute(select(Dispute.code, Dispute.id).where(Dispute.code.in_(case_codes[j:j + 900]))).all())
    parties, steps = [], []
    for row, case in zip(rows, cases):
        case_id = id_of[case["code"]]
        parties += ({"dispute_id": case_id, **p} for p in row["parties"])
        steps.append({"dispute_id": case_id, "seq": 0, "at": case["registered_at"], "from_state": None,
                      "to_state": workflow.INITIAL_STATE, "actor": actor, "note": f"登记（来源：{SOURCE}）"})
        if case["state"] != workflow.INITIAL_STATE:
            steps.append({"dispute_id": case_id, "seq": 1, "at": now, "from_state": workflow.INITIAL_STATE,
                          "to_state": case["state"], "actor": actor, "note": "Excel台账导入（原办理状态）"})
    if parties:  # identity numbers and phones sealed, blind indexes added (docs/security.md §4)
        insert_rows(s, _PARTY_TABLE, seal_rows(_PARTY.table, parties, ring))
    insert_rows(s, DisputeEvent, steps)
