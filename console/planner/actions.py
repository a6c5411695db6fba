"""One planner action on a stored draft: run the pure edit, store the new step, say what happened.

The page's dispatcher callback turns clicks and EditControl reports into calls of `apply`; so do the
tests and the benchmark. Edit errors come back as `EditError` with the planner's message.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from console.security.guard import Viewer
from geodata.planner import draft as drafting, propose as proposing
from geodata.planner.draft import EditError, State
from geodata.planner.rules import DEFAULT_RULES, Rules

from . import drafts
from .village import VillageData, grids_at

LABELS = {"redraw": "调整边界", "create": "新建网格", "delete": "删除网格", "merge": "合并网格", "split": "拆分网格",
          "propose": "自动方案", "import": "导入边界", "restore": "恢复历史版本"}


@dataclass(frozen=True)
class Outcome:
    message: str
    state: State
    draft_id: int


def edit(state: State, village: VillageData, action: str, payload: dict, rules: Rules = DEFAULT_RULES) -> State:
    """The pure part: the new state for an action (raises EditError)."""
    g = village.geometry
    if action == "redraw":
        return drafting.redraw(state, g, payload["index"], payload["geometry"], rules)
    if action == "create":
        return drafting.create(state, g, payload["geometry"], rules, name=payload.get("name", ""))
    if action == "delete":
        return drafting.delete(state, payload["index"], payload.get("to"))
    if action == "merge":
        i, j = payload["indices"]
        return drafting.merge(state, i, j)
    if action == "split":
        return drafting.split(state, g, payload["geometry"], rules)
    if action == "propose":
        new, _ = proposing.propose(g, village.lon, village.lat, rules.band_for(village.kind), payload.get("k"),
                                   current=village.grids)
        return new
    if action in ("import", "restore"):
        return drafting.replace_all(payload["state"])
    raise EditError(f"未知操作 {action}")


def apply(session: Session, viewer: Viewer, draft_id: int, village: VillageData, action: str, payload: dict,
          rules: Rules = DEFAULT_RULES) -> Outcome:
    row = drafts.get(session, viewer, draft_id, for_update=True)
    if action == "undo" or action == "redo":
        drafts.move_cursor(session, viewer, draft_id, -1 if action == "undo" else 1)
        return Outcome("已撤销" if action == "undo" else "已重做", drafts.state_of(row), draft_id)
    if action == "restart":
        row = drafts.start(session, viewer, row.village_code)
        return Outcome("已按现行网格重新开始草稿", drafts.state_of(row), row.id)
    state = drafts.state_of(row)
    new = edit(state, village, action, payload, rules)
    label = LABELS.get(action, action)
    if action == "propose":
        label = f"自动方案（{len(new)} 个网格）"
    drafts.push(session, viewer, draft_id, new, label)
    return Outcome(f"{label}：完成，草稿现有 {len(new)} 个网格", new, draft_id)


def restore_state(session: Session, village_code: str, generation: int) -> State:
    state = grids_at(session, village_code, generation)
    if not state:
        raise EditError(f"第{generation}版中没有本村（社区）的网格")
    return state
