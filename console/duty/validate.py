"""One event body → the normalised event, or every problem with it (pure: no database).

`check` walks the whole body and collects a problem per bad or missing field (field, code, reason), so one
answer names all of them (docs/duty.md, "校验"); `refuse` turns the list into the 4xx. References (person,
camera, grid, place) are checked afterwards by the ingestor and join the same list.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

from . import text, when
from .body import MAX_DEPTH

KINDS = {
    "tag_position": "电子定位", "mental_incident": "精神障碍患者异常", "missing_person": "人员走失",
    "dispute_report": "矛盾纠纷上报", "case_update": "案件进展", "camera_heartbeat": "摄像机心跳",
    "grid_report": "网格员上报",
}
NEEDS = {"tag_position": ("person_id", "location"), "mental_incident": ("person_id",),
         "camera_heartbeat": ("camera_id",), "case_update": ("payload",), "dispute_report": ("payload",)}
FIELDS = ("event_id", "type", "occurred_at", "location", "grid_code", "person_id", "camera_id", "payload")
MAX_PAYLOAD = 16_000   # characters of the stored payload text
MAX_ID = 64            # characters of event_id (the column's width) and of a payload key
MAX_PERSON = 2 ** 31 - 1  # person.id is a 32-bit INTEGER on PostgreSQL
MAX_NAMED = 50         # problems listed in one answer
PAYLOAD_CODES = ("case_code", "category", "status")  # payload strings that are identifiers, not free text
_GRID = re.compile(r"[0-9]{15}")
_CAMERA = re.compile(r"[0-9]{20}")

Problem = tuple[str, str, str]  # (field, code, reason: starts with the field's name)


class IngestError(Exception):
    """A 4xx with a machine code, a human reason and, for field problems, one entry per field."""

    def __init__(self, status: int, code: str, reason: str, fields: list[dict] | None = None):
        super().__init__(reason)
        self.status, self.code, self.reason, self.fields = status, code, reason, fields

    def body(self) -> dict:
        out = {"error": self.code, "reason": self.reason}
        if self.fields:
            out["fields"] = self.fields
        return out


def refuse(problems: list[Problem]) -> IngestError:
    """The answer naming every problem: 413 when the payload's size is all that is wrong, else 422; `error` is
    the first problem's code."""
    status = 413 if all(code == "too_large" for _f, code, _r in problems) else 422
    shown = problems[:MAX_NAMED]
    reason = "；".join(r for _f, _c, r in shown)
    if len(problems) > len(shown):
        reason += f"；……另有 {len(problems) - len(shown)} 处问题"
    return IngestError(status, problems[0][1], reason,
                       [{"field": f, "error": c, "reason": r} for f, c, r in shown])


def validate(body, now: datetime | None = None, window: when.Window = when.Window()) -> dict:
    """The normalised event; raises IngestError naming every problem of shape, type, text and time."""
    ev, problems = check(body, now or datetime.utcnow(), window)
    if problems:
        raise refuse(problems)
    return ev


def check(body, now: datetime, window: when.Window) -> tuple[dict, list[Problem]]:
    """(event with the fields that passed, problems). Raises IngestError 400 when the body is not an object."""
    if not isinstance(body, dict):
        raise IngestError(400, "wrong_type", "请求体必须是 JSON 对象")
    problems: list[Problem] = []

    def bad(field: str, code: str, reason: str) -> None:
        problems.append((field, code, f"{field} {reason}"))

    ev = {"event_id": None, "kind": None, "occurred_at": None, "lon": None, "lat": None, "grid_code": None,
          "person_id": None, "camera_id": None, "payload": {}, "payload_text": "{}"}
    eid = body.get("event_id")
    if eid is None or eid == "":
        bad("event_id", "missing_field", "缺少（必填）")
    elif not isinstance(eid, str) or len(eid) > MAX_ID:
        bad("event_id", "wrong_type", f"必须是 1–{MAX_ID} 个字符的字符串")
    elif why := text.identifier_problem(eid):
        bad("event_id", "bad_text", why)
    else:
        ev["event_id"] = eid
    kind = body.get("type")
    if kind is None or kind == "":
        bad("type", "missing_field", "缺少（必填）")
    elif not isinstance(kind, str) or kind not in KINDS:
        bad("type", "unknown_type", f"必须是: {', '.join(KINDS)}")
    else:
        ev["kind"] = kind
    if body.get("occurred_at") in (None, ""):
        bad("occurred_at", "missing_field", "缺少（必填）")
    else:
        try:
            t = when.utc_naive(body["occurred_at"])
        except ValueError as exc:
            bad("occurred_at", "bad_time", str(exc))
        else:
            out = window.problem(t, now)
            if out:
                bad("occurred_at", *out)
            else:
                ev["occurred_at"] = t
    _location(body.get("location"), ev, bad)
    _codes(body, ev, bad)
    _payload(body, ev, bad, problems)
    for name in body:
        if name not in FIELDS:
            shown = name if isinstance(name, str) and not text.identifier_problem(name) else repr(name)
            problems.append((shown[:MAX_ID], "unknown_field", f"未知字段 {shown[:MAX_ID]}"))
    if ev["kind"]:
        _needs(body, ev, problems, bad)
    return ev, problems


def _location(loc, ev: dict, bad) -> None:
    if loc is None:
        return
    if not isinstance(loc, dict) or set(loc) - {"lon", "lat"}:
        bad("location", "wrong_type", "必须是 {\"lon\": 数字, \"lat\": 数字}")
        return
    ok = True
    for axis, lim in (("lon", 180), ("lat", 90)):
        v = loc.get(axis)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not -lim <= v <= lim:
            bad(f"location.{axis}", "wrong_type", f"必须是 ±{lim} 以内的数字")
            ok = False
    if ok:
        ev["lon"], ev["lat"] = float(loc["lon"]), float(loc["lat"])


def _codes(body: dict, ev: dict, bad) -> None:
    g = body.get("grid_code")
    if g is not None:
        if isinstance(g, str) and _GRID.fullmatch(g):
            ev["grid_code"] = g
        else:
            bad("grid_code", "wrong_type", "必须是 15 位数字（0–9）字符串")
    p = body.get("person_id")
    if p is not None:
        if isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= MAX_PERSON:
            ev["person_id"] = p
        else:
            bad("person_id", "wrong_type", f"必须是 1–{MAX_PERSON} 的整数")
    c = body.get("camera_id")
    if c is not None:
        if isinstance(c, int) and not isinstance(c, bool) and c > 0:
            c = str(c)  # exact: the body parser keeps integers beyond 64 bits
        if isinstance(c, str) and _CAMERA.fullmatch(c):
            ev["camera_id"] = c
        else:
            bad("camera_id", "wrong_type", "必须是 20 位 GB/T 28181 设备编码（数字字符串或整数）")


def _payload(body: dict, ev: dict, bad, problems: list[Problem]) -> None:
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        bad("payload", "wrong_type", "必须是 JSON 对象")
        return
    before = len(problems)
    _walk_payload(payload, bad)
    reported = {f for f, _c, _r in problems[before:]}
    kind = ev["kind"]
    if kind == "dispute_report" and "payload" in body and "payload.scale" not in reported:
        scale = payload.get("scale")
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 0:
            bad("payload.scale", "wrong_type", "必须是非负整数")
    if kind == "camera_heartbeat" and "payload.status" not in reported \
            and payload.get("status") not in ("online", "offline"):
        bad("payload.status", "wrong_type", "必须是 online 或 offline")
    if kind == "case_update" and payload.get("deadline") is not None and "payload.deadline" not in reported:
        try:
            when.utc_naive(payload["deadline"])
        except ValueError as exc:
            bad("payload.deadline", "bad_time", str(exc))
    if len(problems) > before:
        return
    payload_text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    if len(payload_text) > MAX_PAYLOAD:
        bad("payload", "too_large", f"超过 {MAX_PAYLOAD} 字符")
        return
    ev["payload"], ev["payload_text"] = payload, payload_text


def _walk_payload(payload: dict, bad) -> None:
    """Check every key and value under payload (iteratively)."""
    stack = [(payload, "payload", 1)]
    while stack:
        node, path, level = stack.pop()
        if level > MAX_DEPTH:
            bad(path, "too_deep", f"嵌套超过 {MAX_DEPTH} 层")
            continue
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(node, dict):
                if not isinstance(key, str) or not key or len(key) > MAX_ID:
                    bad(path, "wrong_type", f"的键必须是 1–{MAX_ID} 个字符的字符串：{str(key)[:MAX_ID]!r}")
                    continue
                why = text.identifier_problem(key)
                if why:
                    bad(path, "bad_text", f"的键 {key!r} {why}")
                    continue
                here = f"{path}.{key}"
            else:
                here = f"{path}[{key}]"
            if isinstance(value, str):
                why = (text.identifier_problem(value) if path == "payload" and key in PAYLOAD_CODES
                       else text.text_problem(value))
                if why:
                    bad(here, "bad_text", why)
            elif isinstance(value, (dict, list)):
                stack.append((value, here, level + 1))
            elif isinstance(value, float) and not math.isfinite(value):
                bad(here, "not_finite", "不接受 NaN 或 Infinity")
            elif value is not None and not isinstance(value, (bool, int, float)):
                bad(here, "wrong_type", "不是 JSON 值")


def _needs(body: dict, ev: dict, problems: list[Problem], bad) -> None:
    named = {f.split(".")[0] for f, _c, _r in problems}  # already reported as bad: not "missing" as well
    for need in NEEDS.get(ev["kind"], ()):
        given = ev["payload"] if need == "payload" else body.get(need) is not None
        if need not in named and not given:
            bad(need, "missing_field", f"缺少：type={ev['kind']} 需要这个字段")
