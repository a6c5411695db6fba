"""Rules that turn one event (plus facts about it) into alerts. Pure: no database, no Flask.

The thresholds live in `rules.toml` (or the file named by PINGAN_DUTY_RULES); `evaluate(config, event, facts)`
returns the `AlertSpec`s to raise. Facts are gathered by `ingest.py`: the person's special-population record,
the camera, and how many events of the same kind the grid saw in the rule's window.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from datetime import date, datetime, timedelta
from pathlib import Path

from .when import utc_naive

DEFAULT_FILE = Path(__file__).with_name("rules.toml")
SEVERITY_ORDER = ("info", "low", "medium", "high", "critical")
RULE_LABELS = {
    "geofence": "矫正对象越界", "mental_risk": "精神障碍高风险", "missing_person": "人员走失",
    "dispute_scale": "纠纷升级", "case_overdue": "案件超期", "camera_offline": "摄像机离线",
    "repeated_in_grid": "网格内重复事件", "followup_overdue": "随访超期", "task_overdue": "任务超期",
}


@dataclass(frozen=True)
class AlertSpec:
    rule: str
    kind: str
    severity: str
    title: str
    dedup_key: str | None = None
    detail: dict = field(default_factory=dict)


def load_config(path: str | os.PathLike | None = None) -> dict:
    path = Path(path or os.environ.get("PINGAN_DUTY_RULES") or DEFAULT_FILE)
    with open(path, "rb") as fh:
        config = tomllib.load(fh)
    for name, rule in config.items():
        sev = rule.get("severity")
        if sev is not None and sev not in SEVERITY_ORDER:
            raise ValueError(f"{path}: [{name}] severity {sev!r} not in {SEVERITY_ORDER}")
    return config


def mental_risk_alert_level(config: dict | None = None) -> int:
    """The 危险性评估 level from which a severe-mental-disorder patient counts as high risk: the alert rule's
    threshold, also used by the map's special-population layer and the KPIs so that they all agree."""
    return int((config or _default_config())["mental_risk"]["min_level"])


@lru_cache(maxsize=1)
def _default_config() -> dict:
    return load_config()


def _on(config: dict, name: str, kind: str | None = None) -> dict | None:
    rule = config.get(name) or {}
    if not rule.get("enabled", False):
        return None
    if kind is not None and "kinds" in rule and kind not in rule["kinds"]:
        return None
    return rule


def point_in_polygon(lon: float, lat: float, ring: list) -> bool:
    """Ray casting on one ring [[lon, lat], …]."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def geofence(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    rule = _on(config, "geofence", event["kind"])
    person = facts.get("person")
    if not rule or not person or person.get("category") != "correction" or event.get("lon") is None:
        return []
    fence = person.get("fence")
    if fence:
        outside = not point_in_polygon(event["lon"], event["lat"], fence)
        where = "电子围栏"
    else:
        outside = event["areas"].get("county") != person.get("county_code")
        where = "户籍县区"
    if not outside:
        return []
    return [AlertSpec("geofence", "geofence_exit", rule["severity"], f"社区矫正对象离开{where}",
                      detail={"permitted": where, "home_county": person.get("county_code"),
                              "at_county": event["areas"].get("county")})]


def mental_risk(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    rule = _on(config, "mental_risk", event["kind"])
    person = facts.get("person")
    if not rule or not person or person.get("category") != "mental":
        return []
    level = person.get("risk_level") or 0
    if level < rule.get("min_level", 3):
        return []
    sev = "critical" if level >= rule.get("critical_level", 5) else rule["severity"]
    return [AlertSpec("mental_risk", "mental_risk", sev, f"严重精神障碍患者（{level}级）{_verb(event)}",
                      detail={"risk_level": level})]


def _verb(event: dict) -> str:
    return "走失" if event["kind"] == "missing_person" else "肇事肇祸风险"


def missing_person(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    rule = _on(config, "missing_person", event["kind"])
    if not rule:
        return []
    person = facts.get("person") or {}
    if person.get("category") == "mental" and _on(config, "mental_risk") and \
            (person.get("risk_level") or 0) >= config["mental_risk"].get("min_level", 3):
        return []  # mental_risk already raised the stronger alert for this report
    return [AlertSpec("missing_person", "missing_person", rule["severity"], "人员走失/失联报告")]


def dispute_scale(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    rule = _on(config, "dispute_scale", event["kind"])
    if not rule:
        return []
    p = event.get("payload") or {}
    scale = int(p.get("scale") or 0)
    category = p.get("category")
    hot = category in rule.get("categories", ()) and scale >= rule.get("category_min_scale", 10)
    if scale < rule.get("min_scale", 30) and not hot:
        return []
    return [AlertSpec("dispute_scale", "dispute", rule["severity"], f"矛盾纠纷升级：{scale}人",
                      detail={"scale": scale, "category": category})]


def case_overdue(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    rule = _on(config, "case_overdue", event["kind"])
    deadline = (event.get("payload") or {}).get("deadline")
    if not rule or not deadline:
        return []
    due = utc_naive(str(deadline))  # checked by the ingest; without an offset it is Beijing time
    if due >= event["occurred_at"] or (event["payload"].get("state") in ("resolved", "archived")):
        return []
    case = event["payload"].get("case_code", "")
    return [AlertSpec("case_overdue", "case_overdue", rule["severity"], f"案件超期未办结 {case}".strip(),
                      dedup_key=f"case_overdue:{case}" if case else None, detail={"deadline": str(deadline)})]


def camera_offline(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    rule = _on(config, "camera_offline")
    camera = facts.get("camera")
    if not rule or event["kind"] != "camera_heartbeat" or not camera:
        return []
    p = event.get("payload") or {}
    minutes = float(p.get("offline_minutes") or 0)
    if p.get("status") != "offline" or minutes < rule.get("minutes", 30):
        return []
    return [offline_spec(config, camera, minutes)]


def followup_cycle_days(config: dict, category: str, risk_level: int | None) -> int | None:
    """Days between follow-up visits for a special-population category (severe mental disorder: by danger level);
    None when the rule is off or the category has no cycle. The one home of the cycles: rules.toml."""
    rule = config.get("followup_overdue") or {}
    if not rule.get("enabled"):
        return None
    if category == "mental":
        levels = rule.get("mental_by_level") or []
        level = min(max(int(risk_level or 0), 0), len(levels) - 1) if levels else None
        return int(levels[level]) if level is not None else None
    days = rule.get(category)
    return int(days) if days else None


def followup_overdue_spec(config: dict, person: dict, due: date, today: date) -> AlertSpec:
    """One alert per missed due date: the key holds the special-population record and the date it fell due."""
    rule = config["followup_overdue"]
    critical = person.get("category") == "mental" and (person.get("risk_level") or 0) >= mental_risk_alert_level(config)
    days = (today - due).days
    return AlertSpec("followup_overdue", "followup_overdue", rule.get("critical_severity", "high") if critical
                     else rule["severity"], f"{person.get('category_label', '')}随访超期 {days} 天",
                     dedup_key=f"followup:{person['id']}:{due.isoformat()}",
                     detail={"special_person_id": person["id"], "due": due.isoformat(), "days_overdue": days})


def offline_spec(config: dict, camera: dict, minutes: float) -> AlertSpec:
    """One alert per offline spell: the key holds the camera and when it was last seen."""
    return AlertSpec("camera_offline", "camera_offline", config["camera_offline"]["severity"],
                     f"摄像机离线 {int(minutes)} 分钟：{camera.get('name', '')}",
                     dedup_key=f"camera_offline:{camera['id']}:{camera.get('last_seen', '')}",
                     detail={"offline_minutes": int(minutes)})


def repeated_in_grid(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    rule = _on(config, "repeated_in_grid", event["kind"])
    grid = event["areas"].get("grid")
    if not rule or not grid or facts.get("grid_recent", 0) < rule.get("count", 3):
        return []
    window = rule.get("window_minutes", 60)
    bucket = int(event["occurred_at"].timestamp() // (window * 60))
    return [AlertSpec("repeated_in_grid", "repeated", rule["severity"],
                      f"网格 {window} 分钟内重复上报 {facts['grid_recent']} 起",
                      dedup_key=f"repeated:{grid}:{event['kind']}:{bucket}", detail={"count": facts["grid_recent"]})]


RULES = (geofence, mental_risk, missing_person, dispute_scale, case_overdue, camera_offline, repeated_in_grid)


def evaluate(config: dict, event: dict, facts: dict) -> list[AlertSpec]:
    out: list[AlertSpec] = []
    for rule in RULES:
        out.extend(rule(config, event, facts))
    return out


def window(config: dict) -> timedelta:
    return timedelta(minutes=(config.get("repeated_in_grid") or {}).get("window_minutes", 60))


def escalate_after(config: dict) -> timedelta:
    return timedelta(minutes=(config.get("escalation") or {}).get("unacknowledged_minutes", 10))


def worse(a: str, b: str) -> str:
    return a if SEVERITY_ORDER.index(a) >= SEVERITY_ORDER.index(b) else b


def task_due_hours(rule: str | None, severity: str | None, config: dict | None = None) -> float:
    """Hours a grid worker has for a task from an alert of this rule (type) and severity: the one home of the
    deadlines is rules.toml [task_deadline]."""
    table = (config or _default_config()).get("task_deadline") or {}
    by_rule, by_severity = table.get("by_rule") or {}, table.get("by_severity") or {}
    if rule in by_rule:
        return float(by_rule[rule])
    if severity in by_severity:
        return float(by_severity[severity])
    return float(table.get("default", 24))


def task_overdue_spec(config: dict, task: dict, now: datetime) -> AlertSpec:
    """One alert per overdue task: the duty desk hears that a worker's task ran past its deadline."""
    rule = config["task_overdue"]
    hours = (now - task["due_at"]).total_seconds() / 3600
    who = task.get("assignee_name") or task["assignee"]  # the duty officer reads the worker's name
    return AlertSpec("task_overdue", "task_overdue", rule.get("severity", "medium"),
                     f"任务超期 {hours:.0f} 小时未回报：{task['title']}（{who}）"[:128],
                     dedup_key=f"task_overdue:{task['id']}",
                     detail={"task_id": task["id"], "alert_id": task.get("alert_id"), "assignee": task["assignee"],
                             "due_at": task["due_at"].isoformat(timespec="minutes")})
