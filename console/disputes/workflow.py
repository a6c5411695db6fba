"""The dispute state machine, defined in ONE table (docs/domain.md §4).

Each row of `TRANSITIONS` is an action: the states it may start from, the state it leads to, the
permission needed, the deadline it starts and the fields the actor must fill in. Everything else
(buttons on the case page, the service, the tests) is derived from this table.

登记 → 受理 → 分流交办 → 调处中 → 化解成功 / 化解不成功 (→ 提级会商 → 调处中, or 转诉讼/信访)
     → 反馈 → 回访 → 归档
"""

from __future__ import annotations

from dataclasses import dataclass

from console.security.permissions import DISPUTE_REGISTER, DISPUTE_ROUTE
from console.store.codes import DISPUTE_STATES

# Deadline kinds: KEEP leaves the case's deadline; COMPLEXITY restarts it from the complexity's time limit
# (deadlines.py); an int restarts it with that many days.
KEEP = "keep"
COMPLEXITY = "complexity"

INITIAL_STATE = "registered"
FINAL_STATES = frozenset({"archived"})


@dataclass(frozen=True)
class Transition:
    action: str
    label: str  # button text
    sources: tuple[str, ...]
    target: str
    permission: str
    deadline: str | int = KEEP
    requires: tuple[str, ...] = ()  # fields the actor must give (note, level, department, outcome, satisfaction)


TRANSITIONS: tuple[Transition, ...] = (
    Transition("accept", "受理", ("registered",), "accepted", DISPUTE_REGISTER),
    Transition("assign", "分流交办", ("accepted",), "assigned", DISPUTE_ROUTE, COMPLEXITY, ("level",)),
    Transition("start", "开始调处", ("assigned",), "mediating", DISPUTE_REGISTER),
    Transition("resolve", "化解成功", ("mediating",), "resolved", DISPUTE_REGISTER, KEEP, ("outcome",)),
    Transition("fail", "化解不成功", ("mediating",), "unresolved", DISPUTE_REGISTER, KEEP, ("note",)),
    Transition("escalate", "提级会商", ("unresolved", "assigned", "mediating"), "escalated", DISPUTE_ROUTE, 7,
               ("note",)),
    Transition("remediate", "重新调处", ("escalated",), "mediating", DISPUTE_ROUTE, COMPLEXITY),
    Transition("refer", "转诉讼/信访", ("unresolved", "escalated", "mediating"), "referred", DISPUTE_ROUTE, KEEP,
               ("note",)),
    Transition("feedback", "结果反馈", ("resolved", "referred"), "feedback", DISPUTE_REGISTER, KEEP, ("note",)),
    Transition("revisit", "回访", ("feedback",), "revisited", DISPUTE_REGISTER, KEEP, ("satisfaction",)),
    Transition("archive", "归档", ("revisited", "referred"), "archived", DISPUTE_ROUTE),
)

BY_ACTION = {t.action: t for t in TRANSITIONS}
STATES = tuple(DISPUTE_STATES)
REQUIRED_LABELS = {"note": "办理意见", "level": "交办层级", "department": "承办部门", "outcome": "化解结果",
                   "satisfaction": "回访满意度"}


class TransitionError(ValueError):
    """A transition the state machine does not allow (message in Chinese, for the user)."""


def allowed_pairs() -> frozenset[tuple[str, str]]:
    """Every (from, to) the machine allows."""
    return frozenset((s, t.target) for t in TRANSITIONS for s in t.sources)


def actions_from(state: str, permissions: frozenset[str] | set[str] | None = None) -> list[Transition]:
    """The actions offered on a case in `state` (to a holder of `permissions`, when given)."""
    return [t for t in TRANSITIONS if state in t.sources and (permissions is None or t.permission in permissions)]


def check(state: str, action: str, permissions: frozenset[str] | set[str] | None = None,
          values: dict | None = None) -> Transition:
    """The transition for `action` from `state`, or TransitionError saying why not."""
    if state not in DISPUTE_STATES:
        raise TransitionError(f"未知状态：{state}")
    t = BY_ACTION.get(action)
    if t is None:
        raise TransitionError(f"未知操作：{action}")
    if state not in t.sources:
        raise TransitionError(f"当前状态“{DISPUTE_STATES[state]}”不能执行“{t.label}”")
    if permissions is not None and t.permission not in permissions:
        raise TransitionError(f"无权限执行“{t.label}”")
    missing = [REQUIRED_LABELS[f] for f in t.requires if not str((values or {}).get(f) or "").strip()]
    if missing:
        raise TransitionError(f"“{t.label}”需要填写：{'、'.join(missing)}")
    return t


def is_history_valid(steps: list[str]) -> bool:
    """Does a sequence of states (registered first) follow the machine? Used to check imported histories."""
    if not steps or steps[0] != INITIAL_STATE:
        return False
    pairs = allowed_pairs()
    return all((a, b) in pairs for a, b in zip(steps, steps[1:]))


assert all(s in DISPUTE_STATES for t in TRANSITIONS for s in (*t.sources, t.target)), "unknown state in table"
assert len(BY_ACTION) == len(TRANSITIONS), "duplicate action"
