"""以房管人: a building → its households → their residents, and back from a person or a household to the building.
Scoped on every record (a building in scope may still hold a household registered elsewhere: that one is left
out), masked like every other list (full values: one audited request per field, console/services/unmask.py)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from console.store import AreaScope, Building, Household, Person, SpecialPerson
from console.store.codes import BUILDING_KINDS, HOUSEHOLD_KINDS, RELATIONS, RESIDENCE_TYPES, SEXES, SPECIAL_CATEGORIES
from console.store.masking import mask_address, mask_id, mask_phone
from console.store.sensitive import id_number_match
from console.store.identity import validate_id_number

SEARCH_LIMIT = 50


def find_buildings(session: Session, scope: AreaScope, text: str) -> list[dict]:
    """Buildings whose 房屋编号 or address contains `text`, or the building of the person whose full identity number
    or of the household whose 户号 it is — within scope."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    conds = [Building.code == text, Building.address.contains(text)]
    hh = select(Household.building_id).where(Household.code == text, scope.clause(Household))
    conds.append(Building.id.in_(hh))
    if validate_id_number(text) is None:
        by_person = (select(Household.building_id).join(Person, Person.household_id == Household.id)
                     .where(id_number_match(Person.id_number_bidx, text), scope.clause(Person)))
        conds.append(Building.id.in_(by_person))
    rows = session.scalars(select(Building).where(or_(*conds), scope.clause(Building))
                           .order_by(Building.code).limit(SEARCH_LIMIT))
    return [{"id": b.id, "房屋编号": b.code, "地址": mask_address(b.address),
             "类型": BUILDING_KINDS.get(b.kind, b.kind), "grid_code": b.grid_code} for b in rows]


def building_tree(session: Session, scope: AreaScope, building_id: int) -> dict | None:
    """The building, its households in scope, and each household's residents in scope (masked); None when the
    building is unknown or outside the scope."""
    b = session.get(Building, building_id)
    if b is None or not scope.allows(b.grid_code):
        return None
    households = session.scalars(select(Household).where(Household.building_id == b.id, scope.clause(Household))
                                 .order_by(Household.code)).all()
    ids = [h.id for h in households]
    people = session.scalars(select(Person).where(Person.household_id.in_(ids), scope.clause(Person))
                             .order_by(Person.household_id, Person.id)).all() if ids else []
    special = dict(session.execute(select(SpecialPerson.person_id, SpecialPerson.category)
                                   .where(SpecialPerson.person_id.in_([p.id for p in people]),
                                          scope.clause(SpecialPerson))).all()) if people else {}
    members: dict[int, list[dict]] = {}
    for p in people:
        members.setdefault(p.household_id, []).append({
            "_rid": p.id, "姓名": p.name, "性别": SEXES.get(p.sex, p.sex), "公民身份号码": mask_id(p.id_number),
            "与户主关系": RELATIONS.get(p.relation_to_head, p.relation_to_head),
            "人口类型": RESIDENCE_TYPES.get(p.residence_type, p.residence_type), "联系电话": mask_phone(p.phone),
            "特殊人群": SPECIAL_CATEGORIES.get(special.get(p.id), "")})
    return {"id": b.id, "房屋编号": b.code, "地址": mask_address(b.address), "类型": BUILDING_KINDS.get(b.kind, b.kind),
            "层数": b.floors, "套数": b.dwellings, "grid_code": b.grid_code,
            "households": [{"_rid": h.id, "户号": h.code, "类型": HOUSEHOLD_KINDS.get(h.kind, h.kind),
                            "出租房": "是" if h.is_rental else "否", "地址": mask_address(h.address),
                            "members": members.get(h.id, [])} for h in households]}
