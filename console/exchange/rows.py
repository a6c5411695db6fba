"""Stored records → rows under a ledger kind's canonical headers, with code-table labels (the import maps labels
back to keys). One function per kind; each yields dicts keyed by the kind's column fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.ledger_import.linked import DETAIL_FIELDS
from console.ledger_import.lines import wkt_of
from console.store import (
    AreaScope, Building, Camera, GridWorker, Household, KeyYouth, Organisation, Person, SpecialPerson, Survey,
)
from console.store.codes import (
    CAMERA_KINDS, CAMERA_STATUS, CONCERN_LEVELS, EDUCATION, GRID_ROLES, KEY_PLACE_KINDS, LINE_KINDS, MARITAL,
    ORG_KINDS, ORG_STATUS, RELATIONS, RESIDENCE_TYPES, RISK_GRADES, RISK_LEVELS, SEXES, SPECIAL_CATEGORIES,
    SURVEY_INDICATORS, YOUTH_TYPES,
)
from console.store.safety_models import KeyPlace, SafetyLine

CHUNK = 5_000


def _label(table: dict, key):
    return table.get(key, key) if key is not None else ""


def _yes(flag) -> str:
    return "是" if flag else "否"


def _num(x) -> str:
    return "" if x is None else f"{x:.6f}"


def organisations(s: Session, scope: AreaScope) -> Iterator[dict]:
    for o in s.scalars(select(Organisation).where(scope.clause(Organisation)).order_by(Organisation.id)
                       .execution_options(yield_per=CHUNK)):
        yield {"credit_code": o.credit_code, "name": o.name, "kind": _label(ORG_KINDS, o.kind), "org_type": o.org_type,
               "registration_authority": o.registration_authority or "", "legal_rep": o.legal_rep,
               "address": o.address, "status": _label(ORG_STATUS, o.status), "security_head": o.security_head or "",
               "concern_level": _label(CONCERN_LEVELS, o.concern_level), "has_party_org": _yes(o.has_party_org),
               "foreign_background": _yes(o.foreign_background), "employees": o.employees, "lon": _num(o.lon),
               "lat": _num(o.lat)}


def cameras(s: Session, scope: AreaScope) -> Iterator[dict]:
    for c in s.scalars(select(Camera).where(scope.clause(Camera)).order_by(Camera.id)
                       .execution_options(yield_per=CHUNK)):
        yield {"device_id": c.device_id, "name": c.name, "kind": _label(CAMERA_KINDS, c.kind),
               "direction": c.direction, "status": _label(CAMERA_STATUS, c.status), "lon": _num(c.lon),
               "lat": _num(c.lat)}


def grid_workers(s: Session, scope: AreaScope) -> Iterator[dict]:
    for w in s.scalars(select(GridWorker).where(scope.clause(GridWorker)).order_by(GridWorker.id)):
        yield {"grid_code": w.grid_code, "name": w.name, "role": _label(GRID_ROLES, w.role), "phone": w.phone}


def surveys(s: Session, scope: AreaScope) -> Iterator[dict]:
    """One row per county and year; only real (imported) results — synthetic demo figures are not exchanged."""
    rows: dict[tuple[str, int], dict] = {}
    for sv in s.scalars(select(Survey).where(Survey.synthetic.is_(False)).order_by(Survey.county_code, Survey.year)):
        if not scope.overlaps(sv.county_code):
            continue
        row = rows.setdefault((sv.county_code, sv.year), {"county": sv.county_code, "year": sv.year})
        if sv.indicator in SURVEY_INDICATORS:
            row[sv.indicator] = f"{sv.rate:g}"
    yield from rows.values()


def persons(s: Session, scope: AreaScope) -> Iterator[dict]:
    """实有人口 with its household and building (以房管人): what the person ledger carries."""
    stmt = (select(Person, Household.code, Household.address, Building.code)
            .join(Household, Household.id == Person.household_id)
            .outerjoin(Building, Building.id == Household.building_id)
            .where(scope.clause(Person)).order_by(Person.id).execution_options(yield_per=CHUNK))
    for p, household, address, building in s.execute(stmt):
        yield {"name": p.name, "id_number": p.id_number, "sex": _label(SEXES, p.sex),
               "ethnicity": p.ethnicity or "", "residence_type": _label(RESIDENCE_TYPES, p.residence_type),
               "household_code": household, "relation_to_head": _label(RELATIONS, p.relation_to_head),
               "address": address, "building_code": building or "",
               "registered_address": p.registered_address or "", "phone": p.phone or "",
               "marital": _label(MARITAL, p.marital), "education": _label(EDUCATION, p.education),
               "occupation": p.occupation or "", "native_place": p.native_place or "", "lon": _num(p.lon),
               "lat": _num(p.lat)}


def specials(s: Session, scope: AreaScope) -> Iterator[dict]:
    """特殊人群: one row per person and category, with the category's facts from the sealed details."""
    stmt = (select(SpecialPerson, Person.id_number, Person.name).join(Person, Person.id == SpecialPerson.person_id)
            .where(scope.clause(SpecialPerson)).order_by(SpecialPerson.id).execution_options(yield_per=CHUNK))
    for sp, number, name in s.execute(stmt):
        details = json.loads(sp.details or "{}")
        yield {"id_number": number, "name": name, "category": _label(SPECIAL_CATEGORIES, sp.category),
               "since": sp.since.isoformat() if sp.since else "", "status": sp.status or "",
               "risk_level": "" if sp.risk_level is None else sp.risk_level,
               "risk_grade": _label(RISK_GRADES, sp.risk_grade),
               **{k: details.get(k, "") for k in DETAIL_FIELDS}}


def key_youth(s: Session, scope: AreaScope) -> Iterator[dict]:
    stmt = (select(KeyYouth, Person.id_number, Person.name).join(Person, Person.id == KeyYouth.person_id)
            .where(scope.clause(KeyYouth)).order_by(KeyYouth.id).execution_options(yield_per=CHUNK))
    for y, number, name in s.execute(stmt):
        yield {"id_number": number, "name": name, "youth_type": _label(YOUTH_TYPES, y.youth_type),
               "concern_level": _label(CONCERN_LEVELS, y.concern_level), "guardian_name": y.guardian_name or "",
               "guardian_phone": y.guardian_phone or "", "helper_name": y.helper_name or "",
               "measures": y.measures or ""}


def key_places(s: Session, scope: AreaScope) -> Iterator[dict]:
    """公共安全重点场所, placed by their point (the grid they lie in is their responsible grid)."""
    for p in s.scalars(select(KeyPlace).where(scope.clause(KeyPlace)).order_by(KeyPlace.id)
                       .execution_options(yield_per=CHUNK)):
        yield {"code": p.code, "name": p.name, "kind": _label(KEY_PLACE_KINDS, p.kind),
               "risk_level": _label(RISK_LEVELS, p.risk_level), "address": p.address or "", "contact": p.contact or "",
               "lon": _num(p.lon), "lat": _num(p.lat)}


def safety_lines(s: Session, scope: AreaScope) -> Iterator[dict]:
    """护路护线 sections: the line as WKT in WGS-84 degrees; in scope by the grid of its midpoint."""
    for line in s.scalars(select(SafetyLine).where(scope.clause(SafetyLine)).order_by(SafetyLine.id)):
        yield {"code": line.code, "name": line.name, "kind": _label(LINE_KINDS, line.kind),
               "risk_level": _label(RISK_LEVELS, line.risk_level), "geometry": wkt_of(line.geometry)}


ROWS = {"person": persons, "special": specials, "key_youth": key_youth, "organisation": organisations,
        "camera": cameras, "grid_worker": grid_workers, "survey": surveys, "key_place": key_places,
        "safety_line": safety_lines}
