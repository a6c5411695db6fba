"""Ledgers of people already registered in 实有人口: 特殊人群 (one category per ledger row) and 重点青少年. A row names the
person by identity number; the record takes the person's place and areas (it is where the person lives), and the
import refuses a person that is not registered or lives outside the clerk's scope. Category facts go into the
sealed `details` JSON (docs/domain.md §3)."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from console.ledgers.reader import Column, LedgerSpec
from console.store import KeyYouth, Person, SpecialPerson
from console.store.codes import CONCERN_LEVELS, MENTAL_RISK_LEVELS, RISK_GRADES, SPECIAL_CATEGORIES, YOUTH_TYPES
from console.store.bulk import where_in
from console.store.crypto import require_keyring

from . import values as v
from .kinds import Converted, LedgerKind, _collect

LOCATED = ("lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")
CATEGORY_ALIASES = {"刑释人员": "released", "刑满释放": "released", "安置帮教对象": "released", "社区矫正": "correction",
                    "矫正对象": "correction", "吸毒": "drug", "社区戒毒": "drug", "社区康复": "drug",
                    "精神障碍": "mental", "严重精神障碍": "mental", "肇事肇祸精神病人": "mental", "艾滋病": "aids"}
DETAIL_FIELDS = {"original_charge": "原罪名", "release_date": "释放日期", "case_no": "矫正案号",
                 "correction_type": "矫正类别", "control": "管控状态", "diagnosis": "诊断", "guardian": "监护人",
                 "guardian_phone": "监护人电话"}


def _person_key(values: dict) -> tuple[dict, list[str]]:
    out: dict = {}
    problems: list[str] = []
    _collect(out, problems, "id_number", v.id_number(values.get("id_number")))
    return out, problems


def _special(values: dict) -> Converted:
    out, problems = _person_key(values)
    _collect(out, problems, "category", v.code(values.get("category"), SPECIAL_CATEGORIES, "人员类别",
                                               CATEGORY_ALIASES))
    since, problem = v.parse_date(values.get("since"))
    if problem:
        problems.append(f"列入管理日期：{problem}")
    out["since"] = since.date() if hasattr(since, "date") else since
    _collect(out, problems, "status", v.plain(values.get("status", "在管"), 16, "管理状态"))
    level = values.get("risk_level")
    if out.get("category") == "mental":
        if level in (None, ""):
            problems.append("严重精神障碍患者须填写危险性评估等级（0–5级）")
        else:
            text = v.cell_text(level).rstrip("级")
            _collect(out, problems, "risk_level", v.integer(text, "危险性评估等级", 0, max(MENTAL_RISK_LEVELS)))
    else:
        out["risk_level"] = None
    if values.get("risk_grade") not in (None, ""):
        _collect(out, problems, "risk_grade", v.code(values["risk_grade"], RISK_GRADES, "风险等级"))
    elif out.get("risk_level") is not None:
        out["risk_grade"] = "high" if out["risk_level"] >= 3 else ("medium" if out["risk_level"] >= 1 else "low")
    else:
        out["risk_grade"] = "low"
    details = {k: v.cell_text(values[k]) for k in DETAIL_FIELDS if values.get(k) not in (None, "")}
    out["details"] = json.dumps(details, ensure_ascii=False, sort_keys=True)
    if out.get("id_number") and out.get("category"):
        out["key"] = f"{out['id_number']}:{out['category']}"
    return out, problems


def _youth(values: dict) -> Converted:
    out, problems = _person_key(values)
    _collect(out, problems, "youth_type", v.code(values.get("youth_type"), YOUTH_TYPES, "青少年类型",
                                                 {"留守儿童": "left_behind", "闲散": "idle", "不良行为": "misbehaving"}))
    _collect(out, problems, "concern_level", v.code(values.get("concern_level", "一般"), CONCERN_LEVELS, "关注程度"))
    _collect(out, problems, "guardian_name", v.plain(values.get("guardian_name", ""), 32, "监护人"))
    _collect(out, problems, "guardian_phone", v.plain(values.get("guardian_phone", ""), 16, "监护人电话"))
    _collect(out, problems, "helper_name", v.plain(values.get("helper_name", ""), 32, "帮扶人"))
    _collect(out, problems, "measures", v.plain(values.get("measures", ""), 500, "帮扶措施"))
    if out.get("id_number"):
        out["key"] = out["id_number"]
    return out, problems


def _persons_by_number(session, numbers: list[str]) -> dict[str, tuple]:
    """identity number → (person id, located values) for registered persons."""
    by_index = require_keyring().blind_index_map(numbers)
    found: dict[str, tuple] = {}
    for row in where_in(session, select(Person.id_number_bidx, Person.id, *[getattr(Person, c) for c in LOCATED]),
                        Person.id_number_bidx, by_index):
        found[by_index[row[0]]] = (row[1], dict(zip(LOCATED, row[2:])))
    return found


def _locate_by_person(session, rows, scope, refuse) -> None:
    """The pipeline's placement for these kinds: the registered person's place, within the clerk's scope."""
    persons = _persons_by_number(session, sorted({r.record["id_number"] for r in rows}))
    for r in rows:
        hit = persons.get(r.record["id_number"])
        if hit is None:
            refuse(r, "实有人口中没有此身份证号：请先导入或登记该人员")
            continue
        r.record["person_id"], place = hit
        r.record.update(place)
        if not scope.allows(place.get("grid_code")):
            refuse(r, "该人员不在您的数据范围内")


def _lookup(model, extra_key):
    def lookup(session, kind, keys: list[str]) -> dict[str, dict]:
        numbers = sorted({k.split(":")[0] for k in keys})
        persons = _persons_by_number(session, numbers)
        ids = {pid: n for n, (pid, _) in persons.items()}
        cols = [getattr(model, c) for c in kind.compared if c not in ("lon", "lat")]
        if extra_key:
            cols.append(getattr(model, extra_key))
        stored: dict[str, dict] = {}
        for row in where_in(session, select(model.person_id, model.grid_code, *cols), model.person_id, ids):
            values = dict(zip([c.key for c in cols], row[2:]))
            key = ids[row[0]] + (f":{values[extra_key]}" if extra_key else "")
            stored[key] = {"_grid": row[1], **values}
        return stored
    return lookup


def _save(model, extra_key):
    def save(s, kind, new: list[dict], changed: list[dict]) -> None:
        cols = set(model.__table__.columns.keys()) - {"id"}
        if new:
            s.execute(model.__table__.insert(), [{k: r[k] for k in cols if k in r} for r in new])
        for r in changed:
            cond = [model.person_id == r["person_id"]]
            if extra_key:
                cond.append(getattr(model, extra_key) == r[extra_key])
            s.execute(update(model).where(*cond).values(**{k: r[k] for k in cols if k in r and k != "person_id"}))
    return save


ID_COLUMN = Column("id_number", "公民身份号码", True, ("身份证号", "身份证号码", "证件号码"))
NAME_COLUMN = Column("name", "姓名", False)

SPECIAL = LedgerKind(
    key="special", label="特殊人群台账", model=SpecialPerson, natural_key="key", convert=_special,
    lookup=_lookup(SpecialPerson, "category"), save=_save(SpecialPerson, "category"), placement=_locate_by_person,
    compared=("since", "status", "risk_level", "risk_grade", "details"),
    spec=LedgerSpec("特殊人群台账", (
        NAME_COLUMN, ID_COLUMN,
        Column("category", "人员类别", True, ("类别", "人员类型", "特殊人群类别")),
        Column("since", "列入管理日期", True, ("纳入管理日期", "列管日期", "登记日期")),
        Column("status", "管理状态", False, ("状态", "管控状态（在管/脱管）")),
        Column("risk_level", "危险性评估等级", False, ("危险性等级", "危险等级", "评估等级")),
        Column("risk_grade", "风险等级", False, ("风险程度",)),
        *(Column(k, label, False) for k, label in DETAIL_FIELDS.items()),
    )))

KEY_YOUTH = LedgerKind(
    key="key_youth", label="重点青少年台账", model=KeyYouth, natural_key="key", convert=_youth,
    lookup=_lookup(KeyYouth, None), save=_save(KeyYouth, None), placement=_locate_by_person,
    compared=("youth_type", "concern_level", "guardian_name", "guardian_phone", "helper_name", "measures"),
    spec=LedgerSpec("重点青少年台账", (
        NAME_COLUMN, ID_COLUMN,
        Column("youth_type", "青少年类型", True, ("类型", "人员类型")),
        Column("concern_level", "关注程度", False, ("关注等级",)),
        Column("guardian_name", "监护人", False, ("监护人姓名",)),
        Column("guardian_phone", "监护人电话", False, ("监护人联系电话",)),
        Column("helper_name", "帮扶人", False, ("帮扶责任人",)),
        Column("measures", "帮扶措施", False, ("帮扶情况",)),
    )))
