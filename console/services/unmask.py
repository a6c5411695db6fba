"""显示完整信息: the one server-side path that returns an unmasked identity number, phone number or address.

Every view masks by default, for every role. A permitted user asks for one field of one record; the
answer needs the `unmask` permission, the view permission of that kind of record (`VIEW_NEEDS`: no full
identity number of a resident for a role that may not see residents), every area the answer touches in scope
(an alert's place and its person's registered place), and the account's per-minute allowance (`throttle`);
each answer is audited as ``unmask`` with the record and the field (refusals: ``access.denied``).

`REVEALABLE` is the whole list of what can be asked for: kind → field → label. Records are named by id;
the area that decides the scope always comes from the stored record, never from the request.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard, throttle
from console.security.permissions import (
    LAYER_ORGS, UNMASK, VIEW_ALERTS, VIEW_CASES, VIEW_PERSONS,
)
from console.store import Alert, Dispute, DisputeParty, Household, Organisation, Person
from console.store.areas import GridWorker
from console.store.duty_models import AlertInfo

REVEALABLE: dict[str, dict[str, str]] = {
    "person": {"id_number": "公民身份号码", "phone": "联系电话"},  # a resident, by person id
    "household": {"address": "地址", "landlord_name": "房东"},  # a household (以房管人), by household id
    "party": {"id_number": "身份证号", "phone": "联系电话"},  # a dispute party; the case's area decides
    "alert": {"id_number": "身份证号", "phone": "联系电话"},  # the person linked to a duty alert
    "worker": {"phone": "联系电话"},  # a grid worker, by worker id; the grid decides
    "org": {"address": "地址", "legal_rep": "法定代表人"},  # a social organisation / enterprise
}
KINDS = tuple(REVEALABLE)
# kind → permissions the viewer must hold besides `unmask` (the right to view that kind of record at all)
VIEW_NEEDS: dict[str, tuple[str, ...]] = {
    "person": (VIEW_PERSONS,), "household": (VIEW_PERSONS,), "party": (VIEW_CASES,),
    "alert": (VIEW_ALERTS, VIEW_PERSONS), "worker": (VIEW_PERSONS,), "org": (LAYER_ORGS,),
}
NOT_FOUND = "记录不存在或不在您的管辖范围内。"


class UnmaskError(LookupError):
    """Unknown kind, field or record (non-revealing message)."""


def _locate(s: Session, kind: str, record_id: int) -> tuple[list[str | None], object, dict]:
    """(every area code the answer touches, object holding the revealable fields, audit detail)."""
    if kind in ("person", "household", "org"):
        model = {"person": Person, "household": Household, "org": Organisation}[kind]
        row = s.get(model, record_id)
        if row is None:
            raise UnmaskError(NOT_FOUND)
        return [row.finest_area], row, {}
    if kind == "party":
        row = s.execute(select(DisputeParty.id_number, DisputeParty.phone, Dispute.code, Dispute.grid_code,
                               Dispute.village_code)
                        .join(Dispute, Dispute.id == DisputeParty.dispute_id)
                        .where(DisputeParty.id == record_id)).first()
        if row is None:
            raise UnmaskError(NOT_FOUND)
        return [row.grid_code or row.village_code], row, {"dispute": row.code}
    if kind == "alert":
        alert, info = s.get(Alert, record_id), s.get(AlertInfo, record_id)
        person = s.get(Person, info.person_id) if info is not None and info.person_id is not None else None
        if alert is None or person is None:
            raise UnmaskError(NOT_FOUND)
        # the alert's place and the person's own registered place: both must be in scope
        return [alert.finest_area, person.finest_area], person, {"person": person.id}
    if kind == "worker":
        worker = s.get(GridWorker, record_id)
        if worker is None:
            raise UnmaskError(NOT_FOUND)
        return [worker.grid_code], worker, {}
    raise UnmaskError(NOT_FOUND)


def reveal(session_factory, viewer: guard.Viewer, kind: str, record_id, *, field: str = "id_number",
           via: str = "") -> str:
    """One field of one record in full. Raises AccessDenied (audited) or UnmaskError."""
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise UnmaskError(NOT_FOUND) from None
    obj = f"{kind}:{record_id}"
    guard.require(viewer, UNMASK, obj, log_grant=False, detail={"via": via, "field": str(field)[:32]})
    if field not in REVEALABLE.get(kind, {}):
        raise UnmaskError(NOT_FOUND)
    for permission in VIEW_NEEDS[kind]:
        guard.require(viewer, permission, obj, log_grant=False, detail={"via": via, "field": field})
    throttle.check(viewer, "unmask", obj)
    with session_factory() as s:
        try:
            areas, holder, detail = _locate(s, kind, record_id)
        except UnmaskError:  # an unknown id answers like a record outside the scope: no existence oracle
            raise guard.refuse(viewer, obj, "not_found", {"via": via, "field": field}) from None
        for area in areas:
            guard.require_area(viewer, area, obj, detail={"via": via, "field": field})
        area = areas[0]
        guard.audit(viewer, "unmask", obj, guard.GRANTED, {"field": field, "area": area, "via": via, **detail})
        value = getattr(holder, field)
    return value or ""
