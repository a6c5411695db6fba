"""Stored drafts: one row per draft, its steps (states) as JSON and a cursor, so undo/redo survive reloads.

Every function takes the viewer: only a holder of `grid:edit` with the village in scope may touch a
draft, and only its owner may change it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security.guard import Viewer, require, require_area
from console.security.permissions import GRID_EDIT
from console.store.planner_models import PlannerDraft
from geodata.planner import draft as drafting
from geodata.planner.draft import State

from .village import PlannerError, current_generation, grids_at, village_row

MAX_STEPS = 200  # older steps fall off the undo history


def authorise(viewer: Viewer, village_code: str) -> None:
    require(viewer, GRID_EDIT, f"village:{village_code}", log_grant=False)
    require_area(viewer, village_code, f"village:{village_code}")


def _steps(row: PlannerDraft) -> list[dict]:
    return json.loads(row.steps)


def state_of(row: PlannerDraft, cursor: int | None = None) -> State:
    steps = _steps(row)
    return drafting.state_from_json(steps[row.cursor if cursor is None else cursor]["grids"])


def step_labels(row: PlannerDraft) -> list[str]:
    return [s["label"] for s in _steps(row)]


def stale(session: Session, row: PlannerDraft) -> int | None:
    """The village's current generation when another commit landed after the draft started (else None)."""
    now = current_generation(session, row.village_code)
    return now if now != row.base_generation else None


def open_draft(session: Session, viewer: Viewer, village_code: str) -> PlannerDraft | None:
    authorise(viewer, village_code)
    return session.scalars(select(PlannerDraft).where(
        PlannerDraft.village_code == village_code, PlannerDraft.owner == viewer.username,
        PlannerDraft.status == "open").order_by(PlannerDraft.id.desc())).first()


def start(session: Session, viewer: Viewer, village_code: str, state: State | None = None,
          label: str = "现行网格", now: datetime | None = None) -> PlannerDraft:
    """A new draft from the current grids (or a given state: proposal, import, past generation).
    An open draft of the same owner for the village is abandoned: one working draft at a time."""
    authorise(viewer, village_code)
    village_row(session, village_code)
    now = now or datetime.now()
    for old in session.scalars(select(PlannerDraft).where(
            PlannerDraft.village_code == village_code, PlannerDraft.owner == viewer.username,
            PlannerDraft.status == "open")):
        old.status = "abandoned"
        old.updated_at = now
    base = grids_at(session, village_code)
    steps = [{"label": "现行网格", "grids": drafting.state_to_json(base)}]
    if state is not None:
        steps.append({"label": label, "grids": drafting.state_to_json(state)})
    row = PlannerDraft(village_code=village_code, base_generation=current_generation(session, village_code),
                       owner=viewer.username, status="open", title="", steps=json.dumps(steps, ensure_ascii=False),
                       cursor=len(steps) - 1, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def get(session: Session, viewer: Viewer, draft_id: int, *, for_update: bool = False) -> PlannerDraft:
    row = session.get(PlannerDraft, draft_id)
    if row is None:
        raise PlannerError("草稿不存在")
    authorise(viewer, row.village_code)
    if row.owner != viewer.username:
        raise PlannerError("这是其他规划员的草稿，不能修改")
    if for_update and row.status != "open":
        raise PlannerError("草稿已提交或已放弃，请新建草稿")
    return row


def push(session: Session, viewer: Viewer, draft_id: int, state: State, label: str,
         now: datetime | None = None) -> PlannerDraft:
    """Append a step after the cursor (dropping any redo tail)."""
    row = get(session, viewer, draft_id, for_update=True)
    steps = _steps(row)[: row.cursor + 1]
    steps.append({"label": label, "grids": drafting.state_to_json(state)})
    if len(steps) > MAX_STEPS:
        steps = steps[:1] + steps[-(MAX_STEPS - 1):]   # keep the base state for "show what changed"
    row.steps = json.dumps(steps, ensure_ascii=False)
    row.cursor = len(steps) - 1
    row.updated_at = now or datetime.now()
    return row


def move_cursor(session: Session, viewer: Viewer, draft_id: int, delta: int) -> PlannerDraft:
    """Undo (-1) or redo (+1); a no-op at either end."""
    row = get(session, viewer, draft_id, for_update=True)
    row.cursor = max(0, min(len(_steps(row)) - 1, row.cursor + delta))
    row.updated_at = datetime.now()
    return row


def abandon(session: Session, viewer: Viewer, draft_id: int) -> None:
    row = get(session, viewer, draft_id, for_update=True)
    row.status = "abandoned"
    row.updated_at = datetime.now()
