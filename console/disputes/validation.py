"""One validator for every way a case comes in (form, Excel row, Open311): clean values or a Chinese
message per field. Pure: the clock (`today`) is passed in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from console.store.codes import DISPUTE_CATEGORIES, DISPUTE_COMPLEXITY, PARTY_ROLES, RISK_GRADES
from console.store.identity import id_sex, validate_id_number

FIELD_LABELS = {
    "title": "事件名称", "category": "纠纷类别", "occurred_on": "发生日期", "place": "发生地点", "lon": "经度",
    "lat": "纬度", "scale": "涉及人数", "description": "事件简述", "risk_grade": "风险等级", "complexity": "复杂程度",
    "parties": "当事人",
}
MAX_PARTIES = 20


_BY_LABEL: dict[int, tuple[Mapping, int, dict[str, str]]] = {}


def _by_key_or_label(value, table: Mapping[str, str]) -> str | None:
    text = str(value or "").strip()
    if text in table:
        return text
    cached = _BY_LABEL.get(id(table))
    if cached is None or cached[0] is not table or cached[1] != len(table):
        by_label: dict[str, str] = {}
        for key, label in table.items():
            by_label.setdefault(label, key)  # the first key of a label, as a scan would find
        cached = _BY_LABEL[id(table)] = (table, len(table), by_label)
    return cached[2].get(text)


def parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _text(raw, key, errors, clean, max_len, required=True):
    text = str(raw.get(key) or "").strip()
    if required and not text:
        errors[key] = f"{FIELD_LABELS[key]}不能为空"
    elif len(text) > max_len:
        errors[key] = f"{FIELD_LABELS[key]}过长（最多{max_len}字）"
    else:
        clean[key] = text


def validate_parties(parties, today: date, valid_ids: set[str] | None = None) -> tuple[list[dict], str | None]:
    """`valid_ids`: identity numbers already found valid in bulk (identity.valid_id_numbers), not checked again."""
    if not isinstance(parties, list) or not parties:
        return [], "至少登记一名当事人"
    if len(parties) > MAX_PARTIES:
        return [], f"当事人最多{MAX_PARTIES}名"
    out, problems = [], []
    for n, p in enumerate(parties, 1):
        if not isinstance(p, Mapping):
            problems.append(f"第{n}名当事人格式错误")
            continue
        name = str(p.get("name") or "").strip()
        idn = str(p.get("id_number") or "").strip().upper()
        role = _by_key_or_label(p.get("role") or "applicant", PARTY_ROLES)
        phone = str(p.get("phone") or "").strip() or None
        if not name or len(name) > 64:
            problems.append(f"第{n}名当事人姓名为空或过长")
        if role is None:
            problems.append(f"第{n}名当事人角色应为申请人或被申请人")
        reason = None if valid_ids is not None and idn in valid_ids else validate_id_number(idn, today=today)
        if reason:
            problems.append(f"第{n}名当事人{reason}")
        if phone and not (phone.isdigit() and 7 <= len(phone) <= 16):
            problems.append(f"第{n}名当事人联系电话应为7–16位数字")
        if not problems:
            out.append({"role": role, "name": name, "id_number": idn, "sex": id_sex(idn), "phone": phone})
    return out, ("；".join(problems) if problems else None)


def validate_case(raw: Mapping, today: date, *, need_point: bool = True, valid_ids: set[str] | None = None
                  ) -> tuple[dict, dict[str, str]]:
    """(clean, errors). `errors` maps field → Chinese message; clean is complete only when errors is empty."""
    clean: dict = {}
    errors: dict[str, str] = {}
    _text(raw, "title", errors, clean, 128)
    _text(raw, "place", errors, clean, 128)
    _text(raw, "description", errors, clean, 2000)
    cat = _by_key_or_label(raw.get("category"), DISPUTE_CATEGORIES)
    if cat is None:
        errors["category"] = f"未知的纠纷类别：{raw.get('category') or '（空）'}"
    else:
        clean["category"] = cat
    risk = _by_key_or_label(raw.get("risk_grade") or "low", RISK_GRADES)
    if risk is None:
        errors["risk_grade"] = "风险等级应为高、中、低之一"
    else:
        clean["risk_grade"] = risk
    if raw.get("complexity"):
        cx = _by_key_or_label(raw.get("complexity"), DISPUTE_COMPLEXITY)
        if cx is None:
            errors["complexity"] = "复杂程度应为简易、一般、复杂、人民调解之一"
        else:
            clean["complexity"] = cx
    day = parse_date(raw.get("occurred_on"))
    if day is None:
        errors["occurred_on"] = "发生日期格式应为 YYYY-MM-DD"
    elif day > today:
        errors["occurred_on"] = "发生日期不能晚于今天"
    elif day.year < 2000:
        errors["occurred_on"] = "发生日期过早"
    else:
        clean["occurred_on"] = day
    try:
        scale = int(str(raw.get("scale") or "").strip())
        if not 1 <= scale <= 100000:
            raise ValueError
        clean["scale"] = scale
    except ValueError:
        errors["scale"] = "涉及人数应为1–100000的整数"
    for key, lo, hi in (("lon", 105.0, 111.0), ("lat", 31.0, 34.0)):
        value = raw.get(key)
        if value in (None, ""):
            if need_point:
                errors[key] = f"{FIELD_LABELS[key]}不能为空（请在地图上选点）"
            continue
        try:
            clean[key] = round(float(value), 6)  # ~0.1 m; survives an Excel round trip
        except (TypeError, ValueError):
            errors[key] = f"{FIELD_LABELS[key]}应为数字"
            continue
        if not lo <= clean[key] <= hi:
            errors[key] = "地点不在安康市范围内"
    parties, problem = validate_parties(raw.get("parties"), today, valid_ids)
    if problem:
        errors["parties"] = problem
    else:
        clean["parties"] = parties
    return clean, errors
