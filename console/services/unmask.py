"""显示完整号码: the one server-side path that returns an unmasked identity number.

Every view masks by default, for every role. A permitted user asks for one record's full number; the
answer needs the `unmask` permission and the record's area in scope, and each answer is audited as
``unmask`` with the record (refusals are audited by the guard as ``access.denied``).

Kinds: ``person`` (a resident, by person id), ``party`` (a dispute party, by party id; the case's area
decides), ``alert`` (the person linked to a duty alert, by alert id; the alert's area decides).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.permissions import UNMASK
from console.store import Alert, Dispute, DisputeParty, Person
from console.store.duty_models import AlertInfo

KINDS = ("person", "party", "alert")
NOT_FOUND = "记录不存在或不在您的管辖范围内。"


class UnmaskError(LookupError):
    """Unknown kind or record (non-revealing message)."""


def _locate(s: Session, kind: str, record_id: int) -> tuple[str | None, str | None, dict]:
    """(area code that decides the scope, full identity number, audit detail) for one record."""
    if kind == "person":
        p = s.get(Person, record_id)
        if p is None:
            raise UnmaskError(NOT_FOUND)
        return p.grid_code or p.village_code, p.id_number, {}
    if kind == "party":
        row = s.execute(select(DisputeParty.id_number, Dispute.code, Dispute.grid_code, Dispute.village_code)
                        .join(Dispute, Dispute.id == DisputeParty.dispute_id)
                        .where(DisputeParty.id == record_id)).first()
        if row is None:
            raise UnmaskError(NOT_FOUND)
        return row.grid_code or row.village_code, row.id_number, {"dispute": row.code}
    if kind == "alert":
        alert, info = s.get(Alert, record_id), s.get(AlertInfo, record_id)
        person = s.get(Person, info.person_id) if info is not None and info.person_id is not None else None
        if alert is None or person is None:
            raise UnmaskError(NOT_FOUND)
        return alert.grid_code or alert.village_code or alert.county_code, person.id_number, {"person": person.id}
    raise UnmaskError(NOT_FOUND)


def reveal(session_factory, viewer: guard.Viewer, kind: str, record_id, *, via: str = "") -> str:
    """The full identity number of one record. Raises AccessDenied (audited) or UnmaskError."""
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise UnmaskError(NOT_FOUND) from None
    obj = f"{kind}:{record_id}"
    guard.require(viewer, UNMASK, obj, log_grant=False, detail={"via": via})
    if kind not in KINDS:
        raise UnmaskError(NOT_FOUND)
    with session_factory() as s:
        area, value, detail = _locate(s, kind, record_id)
        guard.require_area(viewer, area, obj, detail={"via": via})
        guard.audit(viewer, "unmask", obj, guard.GRANTED, {"field": "id_number", "area": area, "via": via, **detail})
    return value or ""
