"""分流交办: suggest the level and department from place and category (属地管理, 分级负责), staff may override."""

from __future__ import annotations

from dataclasses import dataclass

from console.store.codes import DISPUTE_CATEGORIES, DISPUTE_COMPLEXITY, HANDLING_LEVELS, ancestor_code

# Categories that are hard by nature (policy names 劳资, 医患, 环境污染, 交通事故, 征地拆迁).
HARD_CATEGORIES = frozenset({"labour", "medical", "environment", "traffic", "demolition"})
# Level by complexity: simple → village, ordinary / 人民调解 → town, complex → county.
LEVEL_BY_COMPLEXITY = {"simple": "village", "ordinary": "town", "mediation": "town", "complex": "county"}
LEVEL_ORDER = ("village", "town", "county")
# Department per category at each level (the 综治中心's usual partners).
DEPARTMENT_BY_CATEGORY = {
    "labour": "人社局劳动监察", "medical": "卫健局医调委", "environment": "生态环境分局", "traffic": "交警大队",
    "demolition": "征收办", "land": "自然资源局", "homestead": "自然资源所", "property": "住建局",
    "fire": "消防救援大队", "contract": "司法所", "business": "市场监管所",
}
DEFAULT_DEPARTMENT = {"village": "村（社区）人民调解委员会", "town": "镇（街道）综治中心", "county": "县（区）综治中心"}


@dataclass(frozen=True)
class Route:
    level: str
    department: str
    area_code: str  # the village / town / county that owns the case
    reason: str


def complexity_of(category: str, scale: int, risk_grade: str) -> str:
    """Default complexity: hard categories, many people or high risk → complex; else simple / ordinary."""
    if category in HARD_CATEGORIES or scale >= 30 or risk_grade == "high":
        return "complex"
    if scale <= 3 and risk_grade == "low":
        return "simple"
    return "ordinary"


def suggest(category: str, complexity: str, village_code: str) -> Route:
    """The suggested handler: level by complexity, department by category at that level, area by place."""
    if category not in DISPUTE_CATEGORIES:
        raise ValueError(f"未知的纠纷类别：{category}")
    if complexity not in DISPUTE_COMPLEXITY:
        raise ValueError(f"未知的复杂程度：{complexity}")
    if not (village_code and len(village_code) == 12 and village_code.isdigit()):
        raise ValueError("案件未落入任何村（社区），无法按属地分流")
    level = LEVEL_BY_COMPLEXITY[complexity]
    dept = DEFAULT_DEPARTMENT[level]
    if level != "village" and category in DEPARTMENT_BY_CATEGORY:
        dept = DEPARTMENT_BY_CATEGORY[category]
    area = ancestor_code(village_code, level)
    reason = f"{DISPUTE_COMPLEXITY[complexity]}案件按分级负责交{HANDLING_LEVELS[level]}办理（属地：{area}）"
    return Route(level, dept, area, reason)


def override(suggested: Route, level: str | None, department: str | None, village_code: str) -> Route:
    """Staff's choice over the suggestion; empty fields keep the suggestion."""
    level = level or suggested.level
    if level not in HANDLING_LEVELS:
        raise ValueError(f"未知的交办层级：{level}")
    department = (department or "").strip() or (suggested.department if level == suggested.level
                                                 else DEFAULT_DEPARTMENT[level])
    if len(department) > 64:
        raise ValueError("承办部门名称过长（最多64字）")
    area = ancestor_code(village_code, level)
    changed = (level, department) != (suggested.level, suggested.department)
    return Route(level, department, area, "人工调整交办" if changed else suggested.reason)
