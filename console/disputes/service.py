"""Transactional operations on disputes: register, transition, import. Each one is checked (permission,
scope, state machine), audited in the same transaction, and saved entirely or not at all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from console.security import guard, throttle
from console.security.audit import Auditor
from console.security.permissions import DISPUTE_REGISTER, UNMASK
from console.store import Dispute, DisputeEvent, DisputeParty
from console.store.codes import DISPUTE_STATES, SATISFACTION
from console.store.sensitive import id_numbers_match

from . import codes, deadlines, duplicates, routing, workflow
from .validation import validate_case


@dataclass
class Result:
    ok: bool
    errors: dict[str, str] = field(default_factory=dict)
    duplicates: list[duplicates.Duplicate] = field(default_factory=list)
    dispute_id: int | None = None
    code: str | None = None

    @property
    def message(self) -> str:
        if self.ok:
            return f"已保存：{self.code}"
        if self.errors:
            return "；".join(self.errors.values())
        return "可能重复：" + "；".join(f"{d.code}（{d.reason}）" for d in self.duplicates)


# Where a case came in, as the history reads it (the stored `source` stays the short key)
SOURCE_LABELS = {"form": "台账登记", "excel": "Excel 导入", "open311": "Open311 接口", "duty": "值班事件"}


def as_guard_viewer(viewer, session_factory) -> guard.Viewer:
    """The console's demo Viewer carries no audit sink; give it one so every check is audited."""
    if isinstance(viewer, guard.Viewer):
        return viewer
    return guard.Viewer(viewer.username, viewer.display_name, frozenset(viewer.roles), frozenset(viewer.permissions),
                        viewer.scope, None, "", Auditor(session_factory))


def _clock(now: datetime | Callable[[], datetime] | None) -> datetime:
    if callable(now):
        return now()
    return now or datetime.now().replace(microsecond=0)


def recent_cases(session, village_code: str, since: datetime, party_ids: set[str], scope=None) -> list[dict]:
    """Cases of the village, or with one of the parties, registered since `since` (for duplicate checks);
    with `scope`, only cases inside it (a check never names a case the viewer may not see)."""
    # identity numbers are encrypted at rest: match through the keyed blind index
    near = Dispute.village_code == village_code
    if party_ids:
        by_party = select(DisputeParty.dispute_id).where(id_numbers_match(DisputeParty.id_number_bidx, party_ids))
        near = near | Dispute.id.in_(by_party)
    stmt = (select(Dispute.id, Dispute.code, Dispute.category, Dispute.village_code, Dispute.place,
                   Dispute.lon, Dispute.lat, Dispute.registered_at)
            .where(Dispute.registered_at >= since).where(near))
    if scope is not None:
        stmt = stmt.where(scope.clause(Dispute))
    rows = session.execute(stmt).all()
    ids = [r.id for r in rows]
    parties: dict[int, set[str]] = {}
    if ids:
        for did, idn in session.execute(select(DisputeParty.dispute_id, DisputeParty.id_number)
                                        .where(DisputeParty.dispute_id.in_(ids))):
            parties.setdefault(did, set()).add(idn)
    return [{**r._mapping, "party_ids": parties.get(r.id, set())} for r in rows]


def _next_code(session, county: str, day) -> str:
    prefix = f"{codes.PREFIX}{county}{day:%Y%m%d}"
    last = session.scalar(select(func.max(Dispute.code)).where(Dispute.code.like(prefix + "%")))
    return codes.next_code([last] if last else [], county, day)


def build_case(session, clean: Mapping, where: Mapping, *, now: datetime, actor: str, source: str,
               policy: deadlines.DeadlinePolicy) -> Dispute:
    """Add one registered case (+ parties, + first history step) to the session; no commit."""
    complexity = clean.get("complexity") or routing.complexity_of(clean["category"], clean["scale"],
                                                                  clean["risk_grade"])
    case = Dispute(code=_next_code(session, where["county_code"], now.date()), title=clean["title"],
                   category=clean["category"], occurred_on=clean["occurred_on"], registered_at=now,
                   place=clean["place"], scale=clean["scale"], description=clean["description"],
                   risk_grade=clean["risk_grade"], complexity=complexity, state=workflow.INITIAL_STATE,
                   deadline=now + policy.limit(complexity), source=source, lon=clean["lon"], lat=clean["lat"],
                   **where)
    session.add(case)
    session.flush()
    for p in clean["parties"]:
        session.add(DisputeParty(dispute_id=case.id, **p))
    session.add(DisputeEvent(dispute_id=case.id, seq=0, at=now, from_state=None, to_state=workflow.INITIAL_STATE,
                             actor=actor, note=f"登记（来源：{SOURCE_LABELS.get(source, source)}）"))
    return case


def register(session_factory, viewer, raw: Mapping, *, locator=None, now=None, source: str = "form",
             allow_duplicate: bool = False, policy: deadlines.DeadlinePolicy = deadlines.DEFAULT_POLICY,
             window_days: int = duplicates.DEFAULT_WINDOW_DAYS, on_saved=None) -> Result:
    """登记受理 one case. Duplicates are reported (not saved) unless `allow_duplicate`.
    `on_saved(session, case)` runs inside the same transaction (e.g. an idempotency record)."""
    from .locate import locator_for

    now = _clock(now)
    gv = as_guard_viewer(viewer, session_factory)
    guard.require(gv, DISPUTE_REGISTER, "dispute:new", log_grant=False)
    clean, errors = validate_case(raw, now.date())
    if errors:
        return Result(False, errors)
    with session_factory() as s:
        where = (locator or locator_for(s)).locate(clean["lon"], clean["lat"])
    if where is None:
        return Result(False, {"lon": "地点不在安康市任何网格内，请重新选点"})
    guard.require_area(gv, where["village_code"], "dispute:new")
    throttle.check(gv, "duplicate_check", "dispute:new")
    with session_factory() as s, s.begin():
        # The check matches only what the viewer may see (docs/security.md §2): cases inside the scope, and a
        # shared party identity number only for a viewer who may reveal identity numbers — otherwise the
        # answer would confirm a hidden number (an oracle) to whoever can guess it.
        ids = {p["id_number"] for p in clean["parties"]} if gv.can(UNMASK) else set()
        recent = recent_cases(s, where["village_code"], now - timedelta(days=window_days), ids, gv.scope)
        cand = {**clean, **where, "registered_at": now, "party_ids": ids}
        dups = duplicates.find(cand, recent, window_days=window_days)
        guard.audit(gv, "dispute.duplicate_check", "dispute:new", guard.GRANTED,
                    {"area": where["village_code"], "found": [d.code for d in dups], "by_party": bool(ids),
                     "saved": bool(allow_duplicate or not dups)}, session=s)
        if dups and not allow_duplicate:
            return Result(False, duplicates=dups)
        case = build_case(s, clean, where, now=now, actor=gv.username, source=source, policy=policy)
        if on_saved is not None:
            on_saved(s, case)
        guard.audit(gv, "dispute.register", f"dispute:{case.code}", guard.GRANTED,
                    {"area": where["village_code"], "category": clean["category"], "source": source,
                     "duplicates": [d.code for d in dups]}, session=s)
        return Result(True, dispute_id=case.id, code=case.code, duplicates=dups)


def transition(session_factory, viewer, dispute_id: int, action: str, values: Mapping | None = None, *, now=None,
               policy: deadlines.DeadlinePolicy = deadlines.DEFAULT_POLICY) -> Result:
    """Move a case along the state machine; history + audit in the same transaction."""
    now = _clock(now)
    values = dict(values or {})
    gv = as_guard_viewer(viewer, session_factory)
    with session_factory() as s:
        case = s.get(Dispute, dispute_id)
        if case is None:
            return Result(False, {"case": "案件不存在"})
        code, state, village = case.code, case.state, case.village_code
    obj = f"dispute:{code}"
    guard.require_area(gv, village, obj)
    t = workflow.BY_ACTION.get(action)
    if t is not None:
        guard.require(gv, t.permission, obj, log_grant=False)
    try:
        t = workflow.check(state, action, gv.permissions, values)
    except workflow.TransitionError as exc:
        return Result(False, {"action": str(exc)})
    if action == "revisit":
        sat = next((k for k, v in SATISFACTION.items() if values["satisfaction"] in (k, v)), None)
        if sat is None:
            return Result(False, {"satisfaction": "回访满意度应为非常满意、满意、基本满意、不满意之一"})
        values["satisfaction"] = sat
    with session_factory() as s, s.begin():
        case = s.get(Dispute, dispute_id)
        if case.state != state:  # someone else moved it meanwhile
            return Result(False, {"action": "案件状态已被他人更新，请刷新后重试"})
        if action == "assign":
            try:
                suggested = routing.suggest(case.category, case.complexity, case.village_code)
                route = routing.override(suggested, values.get("level"), values.get("department"), case.village_code)
            except ValueError as exc:
                return Result(False, {"level": str(exc)})
            case.handling_level, case.department = route.level, route.department
            case.handler = (str(values.get("handler") or "").strip() or None)
        if action == "resolve":
            case.success, case.outcome, case.closed_at = True, str(values["outcome"]).strip(), now
        if action == "refer":
            case.success, case.closed_at = False, now
        if action == "escalate":
            case.handling_level = "county"
        if action == "revisit":
            case.satisfaction = values["satisfaction"]
        case.deadline = deadlines.next_deadline(t.deadline, case.deadline, case.complexity, now, policy)
        case.state = t.target
        seq = s.scalar(select(func.coalesce(func.max(DisputeEvent.seq), -1))
                       .where(DisputeEvent.dispute_id == dispute_id)) + 1
        note = str(values.get("note") or values.get("outcome") or "").strip()[:2000]
        s.add(DisputeEvent(dispute_id=dispute_id, seq=seq, at=now, from_state=state, to_state=t.target,
                           actor=gv.username, note=note))
        guard.audit(gv, f"dispute.{action}", obj, guard.GRANTED,
                    {"from": state, "to": t.target, "area": village}, session=s)
    return Result(True, dispute_id=dispute_id, code=code)


def state_label(state: str) -> str:
    return DISPUTE_STATES.get(state, state)
