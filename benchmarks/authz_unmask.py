"""The 「显示完整信息」 part of the authorization matrix (benchmarks/authz_matrix.py): every revealable kind × field,
inside and outside each account's scope, through whatever channel the caller passes (Dash callback, the popups'
POST /api/unmask, the service); a full value without the right or without an `unmask` audit row is counted."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from console.security.guard import AccessDenied
from console.store.security_models import AuditLog

ORIGIN = "http://localhost"


def add_unmask_records(factory) -> None:
    """The tiny world has no dispute parties or alerts: add one of each (with a person) per sample grid."""
    from datetime import datetime

    from console.store import Alert, Dispute, DisputeParty, Person
    from console.store.duty_models import AlertInfo

    now = datetime(2026, 11, 26, 9, 0)
    with factory() as s:
        for grid in list(s.scalars(select(Person.grid_code).distinct().order_by(Person.grid_code).limit(4))):
            person = s.scalars(select(Person).where(Person.grid_code == grid).order_by(Person.id)).first()
            case = s.scalars(select(Dispute).where(Dispute.grid_code == grid).order_by(Dispute.id)).first()
            if case is not None:
                s.add(DisputeParty(dispute_id=case.id, role="applicant", name="当事人", id_number=person.id_number,
                                   sex="M"))
            alert = Alert(rule="matrix", kind="matrix", severity="high", state="new", title="矩阵", raised_at=now,
                          updated_at=now, county_code=person.county_code, town_code=person.town_code,
                          village_code=person.village_code, grid_code=person.grid_code)
            s.add(alert)
            s.flush()
            s.add(AlertInfo(alert_id=alert.id, person_id=person.id))
        s.commit()


def unmask_targets(factory, viewer) -> list[tuple[str, int, str, bool, str]]:
    """(kind, record id, field, inside scope, full value) for every revealable kind × field
    (`services.unmask.REVEALABLE`), one record inside and one outside the scope."""
    from console.services.unmask import REVEALABLE
    from console.store import Alert, Dispute, DisputeParty, GridWorker, Household, Organisation, Person
    from console.store.duty_models import AlertInfo

    # kind → (model whose grid decides the scope, select of (record id, value of field) for that kind)
    def query(kind: str, field: str):
        if kind == "party":
            return Dispute, select(DisputeParty.id, getattr(DisputeParty, field)).join(
                Dispute, Dispute.id == DisputeParty.dispute_id)
        if kind == "alert":
            return Alert, select(Alert.id, getattr(Person, field)).join(
                AlertInfo, AlertInfo.alert_id == Alert.id).join(Person, Person.id == AlertInfo.person_id)
        model = {"person": Person, "household": Household, "worker": GridWorker, "org": Organisation}[kind]
        return model, select(model.id, getattr(model, field))

    out = []
    with factory() as s:
        for kind, fields in REVEALABLE.items():
            for field in fields:
                scope_model, stmt = query(kind, field)
                value = stmt.selected_columns[1]
                for inside in (True, False):
                    if not inside and viewer.scope.is_city:
                        continue
                    cond = viewer.scope.clause(scope_model) if inside else ~viewer.scope.clause(scope_model)
                    row = s.execute(stmt.where(cond, value.is_not(None), value != "").limit(1)).first()
                    if row:
                        out.append((kind, row[0], field, inside, row[1]))
    return out


def audit_count_of(factory, actor: str, action: str) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(AuditLog)
                        .where(AuditLog.actor == actor, AuditLog.action == action))


def unmask_over_http(client, callback_key: str, csrf: str, kind: str, rid: int, field: str):
    btn = {"type": "unmask-btn", "kind": kind, "rid": rid, "field": field}
    body = {"output": callback_key,
            "outputs": [{"id": {**btn, "type": "unmask-value"}, "property": "children"},
                        {"id": {**btn, "type": "unmask-note"}, "property": "children"}],
            "inputs": [{"id": btn, "property": "n_clicks", "value": 1}],
            "changedPropIds": [json.dumps(btn, separators=(",", ":"), sort_keys=True) + ".n_clicks"], "state": []}
    return client.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})


def check_unmask(tally, factory, name, viewer, reveal) -> None:
    """One account × every target: `reveal(kind, rid, field)` → text of the answer (or raises AccessDenied)."""
    from console.security.permissions import UNMASK
    from console.services.unmask import VIEW_NEEDS

    for kind, rid, field, inside, full in unmask_targets(factory, viewer):
        # the reveal right, the right to view that kind of record at all, and the record in scope
        may = viewer.can(UNMASK) and all(viewer.can(p) for p in VIEW_NEEDS[kind]) and inside
        before_unmask, before_denied = audit_count_of(factory, name, "unmask"), audit_count_of(factory, name,
                                                                                               "access.denied")
        try:
            text = reveal(kind, rid, field)
        except AccessDenied:
            text = ""
        got = full in text
        audited = audit_count_of(factory, name, "unmask") > before_unmask
        refused_audited = audit_count_of(factory, name, "access.denied") > before_denied
        tally.check("unmask", got == may and (got or refused_audited),
                    f"{name} {kind}:{rid}.{field} inside={inside}: full={got} refusal_audited={refused_audited}",
                    unaudited=got and not audited)
