"""数据质量: what is wrong with the registered data, per area, in one registry of checks (like the KPIs: one GROUP BY
per check on the indexed area-code columns, scope always applied). Each check counts the records it finds and can
list them (masked) for the grid workers who fix them. See docs/import.md, 数据质量."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import Session

from console.store import AreaScope, Building, Camera, Household, Organisation, Person
from console.store.masking import mask_address, mask_id

from .areas import CHILD_COLUMN, AreaNode, within

LIST_LIMIT = 500
# A person, household or organisation not written for this many months is 长期未更新 (PINGAN_STALE_MONTHS;
# docs/import.md, 数据质量). Records from before the column came carry the time of the upgrade (migration 0015).
STALE_MONTHS = int(os.environ.get("PINGAN_STALE_MONTHS", "").strip() or 24)


def stale_before(now: datetime, months: int = STALE_MONTHS) -> datetime:
    """The same day `months` back (the month's last day when it has fewer days)."""
    y, m = divmod(now.year * 12 + now.month - 1 - months, 12)
    m += 1
    last = [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return now.replace(year=y, month=m, day=min(now.day, last))


@dataclass(frozen=True)
class Check:
    key: str
    label: str  # what a person reads
    advice: str  # what to do about it
    model: type
    condition: Callable[[datetime], object]  # SQL condition on `model` that marks a problem record (given "now")
    columns: Callable[[], tuple]  # the (masked) columns a problem list shows
    headers: tuple[str, ...]


def _person_cols():
    return (Person.id, Person.name, Person.id_number, Person.grid_code)


def _stale_cols(model, first, second):
    return lambda: (model.id, first, second, model.grid_code, model.updated_at)


def _duplicated_person(_now):
    # one pass over the blind-index column, not one index probe per person (2.5 M at full scale)
    twin = Person.__table__.alias("twin")
    shared = (select(twin.c.id_number_bidx).where(twin.c.id_number_bidx.is_not(None))
              .group_by(twin.c.id_number_bidx).having(func.count() > 1))
    return Person.id_number_bidx.in_(shared)


CHECKS: tuple[Check, ...] = (
    Check("person_outside_grid", "人员未落入网格", "核实现住址，补录经纬度或房屋", Person,
          lambda _now: Person.grid_code.is_(None), _person_cols, ("姓名", "身份证号", "网格")),
    Check("person_no_household", "人员无所属户", "补录户号或核实户籍", Person,
          lambda _now: ~exists(select(literal(1)).where(Household.id == Person.household_id)), _person_cols,
          ("姓名", "身份证号", "网格")),
    Check("person_duplicated", "同一身份证号登记多次", "核实后保留一条（一人一档）", Person, _duplicated_person,
          _person_cols, ("姓名", "身份证号", "网格")),
    # id_valid: set at write time, or by the refresh for rows written without it (quality_store.verify_ids)
    Check("person_id_invalid", "身份证号校验位错误", "核对身份证原件后更正号码（GB 11643 校验位不符）", Person,
          lambda _now: Person.id_valid.is_(False), _person_cols, ("姓名", "身份证号", "网格")),
    Check("person_stale", f"人员信息超过{STALE_MONTHS}个月未更新", "入户核实后更新或注销", Person,
          lambda now: Person.updated_at < stale_before(now), _stale_cols(Person, Person.name, Person.id_number),
          ("姓名", "身份证号", "网格", "最后更新")),
    Check("household_no_building", "住户无所属房屋", "补录房屋编号（以房管人）", Household,
          lambda _now: ~exists(select(literal(1)).where(Building.id == Household.building_id)),
          lambda: (Household.id, Household.code, Household.address, Household.grid_code), ("户号", "地址", "网格")),
    Check("household_empty", "住户下无人员", "补录人员或注销该户", Household,
          lambda _now: ~exists(select(literal(1)).where(Person.household_id == Household.id)),
          lambda: (Household.id, Household.code, Household.address, Household.grid_code), ("户号", "地址", "网格")),
    Check("household_stale", f"住户信息超过{STALE_MONTHS}个月未更新", "入户核实后更新或注销该户", Household,
          lambda now: Household.updated_at < stale_before(now),
          _stale_cols(Household, Household.code, Household.address), ("户号", "地址", "网格", "最后更新")),
    Check("org_unlocated", "社会组织/企业未定位", "补录经纬度", Organisation,
          lambda _now: Organisation.grid_code.is_(None),
          lambda: (Organisation.id, Organisation.name, Organisation.address, Organisation.grid_code),
          ("名称", "地址", "网格")),
    Check("org_stale", f"社会组织/企业信息超过{STALE_MONTHS}个月未更新", "上门核实经营状态后更新", Organisation,
          lambda now: Organisation.updated_at < stale_before(now),
          _stale_cols(Organisation, Organisation.name, Organisation.address), ("名称", "地址", "网格", "最后更新")),
    Check("camera_unlocated", "摄像机未定位", "补录经纬度", Camera, lambda _now: Camera.grid_code.is_(None),
          lambda: (Camera.id, Camera.name, Camera.device_id, Camera.grid_code), ("名称", "设备编码", "网格")),
)
BY_KEY = {c.key: c for c in CHECKS}


def counts(session: Session, node: AreaNode, scope: AreaScope, now: datetime | None = None) -> dict[str, dict]:
    """{check key: {"total": n, "by_child": {child code: n}}} for the area and the viewer's scope."""
    now = now or datetime.now()
    child_col = CHILD_COLUMN.get(node.level)
    out = {}
    for check in CHECKS:
        m = check.model
        cols = [getattr(m, child_col)] if child_col else []
        stmt = select(*cols, func.count()).where(and_(within(m, node, scope), check.condition(now)))
        if cols:
            stmt = stmt.group_by(*cols)
        by_child: dict[str, int] = {}
        total = 0
        for row in session.execute(stmt):
            total += row[-1]
            if cols and row[0]:
                by_child[row[0]] = by_child.get(row[0], 0) + row[-1]
        out[check.key] = {"total": total, "by_child": by_child}
    return out


# ------------------------------------------------------------------ the per-grid cube (what the pages read)
Key = tuple  # (county_code, town_code, village_code, grid_code); any may be None
CHILD_POS = {"city": 0, "county": 1, "town": 2, "village": 3}


@dataclass
class QualityCube:
    """Problems per check and records per table, per grid key, for the whole city: one pass per table (every
    check of a table is a SUM(CASE …) of the same scan). Any area's figures for any scope are sums over the
    keys inside both, as for the KPI cube (console/services/cube.py)."""

    built_at: datetime
    problems: dict[str, dict[Key, int]] = field(default_factory=dict)  # check key → key → n
    records: dict[str, dict[Key, int]] = field(default_factory=dict)  # table name → key → n


TABLES = tuple(dict.fromkeys(c.model.__tablename__ for c in CHECKS))


def build_cube(session: Session, now: datetime | None = None, tables=None) -> QualityCube:
    """The cube of every table the checks read, or of `tables` only (a refresh after an import of one kind)."""
    now = now or datetime.now()
    cube = QualityCube(built_at=now)
    for model in dict.fromkeys(c.model for c in CHECKS):
        if tables is not None and model.__tablename__ not in tables:
            continue
        checks = [c for c in CHECKS if c.model is model]
        codes = (model.county_code, model.town_code, model.village_code, model.grid_code)
        stmt = select(*codes, func.count(), *(func.sum(case((c.condition(now), 1), else_=0)) for c in checks)
                      ).group_by(*codes)
        records: dict[Key, int] = {}
        found: dict[str, dict[Key, int]] = {c.key: {} for c in checks}
        for row in session.execute(stmt):
            key = tuple(row[:4])
            records[key] = row[4]
            for c, n in zip(checks, row[5:]):
                if n:
                    found[c.key][key] = n
        cube.records[model.__tablename__] = records
        cube.problems.update(found)
    return cube


def _inside(key: Key, node: AreaNode, scope: AreaScope) -> bool:
    # as `within` decides: below the city an area holds the records whose grid lies in it
    if node.level != "city" and not (key[3] and key[3].startswith(node.code)):
        return False
    return scope.is_city or (key[3] is not None and scope.allows(key[3]))


def _sum_by_child(table: dict[Key, int], node: AreaNode, scope: AreaScope) -> dict:
    pos = CHILD_POS.get(node.level)
    total, by_child = 0, {}
    for key, n in table.items():
        if not _inside(key, node, scope):
            continue
        total += n
        if pos is not None and key[pos]:
            by_child[key[pos]] = by_child.get(key[pos], 0) + n
    return {"total": total, "by_child": by_child}


def counts_from_cube(cube: QualityCube, node: AreaNode, scope: AreaScope) -> dict[str, dict]:
    """What `counts` answers, from the cube."""
    return {c.key: _sum_by_child(cube.problems.get(c.key, {}), node, scope) for c in CHECKS}


def records_from_cube(cube: QualityCube, node: AreaNode, scope: AreaScope) -> dict[str, dict]:
    """{table: {"total": n, "by_child": {child: n}}}: the records the checks look at."""
    return {t: _sum_by_child(keys, node, scope) for t, keys in cube.records.items()}


def problems(session: Session, key: str, node: AreaNode, scope: AreaScope, limit: int = LIST_LIMIT,
             now: datetime | None = None) -> list[dict]:
    """The records one check finds in the area, masked, for the list the grid workers fix."""
    check = BY_KEY[key]
    rows = session.execute(select(*check.columns()).where(within(check.model, node, scope),
                                                          check.condition(now or datetime.now()))
                           .order_by(check.model.id).limit(limit)).all()
    out = []
    for row in rows:
        values = list(row[1:])
        if check.model is Person:
            values[1] = mask_id(values[1])
        elif check.model in (Household, Organisation):
            values[1] = mask_address(values[1])  # (code or name, address, grid): an organisation's address too
        if len(values) > 3 and isinstance(values[3], datetime):
            values[3] = f"{values[3]:%Y-%m-%d}"  # 最后更新
        out.append(dict(zip(check.headers, values)))
    return out
