"""Map popups that list people (docs/console.md, "Map symbols"): a grid's workers and counts, and a building's
households and residents (以房管人). Scoped on every record, masked for everyone (a 「显示」 button asks
/api/unmask for one field: permission, scope and audit are checked there); the route audits each read.

A popup is {"title", "rows": [[label, text, reveal?]], "sections": [{"title", "rows"}]}; assets/pingan_map.js
builds it from text nodes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.services import housing
from console.store import AreaScope, Camera, Dispute, Household, Person, SpecialPerson, names
from console.store.areas import Grid, GridWorker
from console.store.codes import GRID_ROLES, OPEN_DISPUTE_STATES
from console.store.masking import mask_name, mask_phone

from console.services.areas import current_grid_clause

MEMBERS_SHOWN = 200  # residents listed in one building popup (a tower block); the 以房管人 page lists all


def _reveal(kind: str, record_id: int, field: str) -> dict:
    return {"kind": kind, "id": record_id, "field": field}


def _count(session: Session, model, scope: AreaScope, grid_code: str, *where) -> int:
    return session.scalar(select(func.count()).select_from(model)
                          .where(model.grid_code == grid_code, scope.clause(model), *where)) or 0


def grid_popup(session: Session, scope: AreaScope, grid_code: str, *, workers: bool) -> dict | None:
    """The current grid's name, where it is, its counts in scope and (with `workers`) its grid workers, phones
    masked. None for a grid that is not current or not in scope."""
    if not scope.allows(grid_code):
        return None
    grid = session.execute(select(Grid.code, Grid.name).where(Grid.code == grid_code, current_grid_clause())).first()
    if grid is None:
        return None
    where = names.path_names(session, [grid_code[:12]]).get(grid_code[:12], "")
    rows = [["所在", where],
            ["户数", f"{_count(session, Household, scope, grid_code):,}"],
            ["实有人口", f"{_count(session, Person, scope, grid_code):,}"],
            ["特殊人群", f"{_count(session, SpecialPerson, scope, grid_code):,}"],
            ["在办纠纷", f"{_count(session, Dispute, scope, grid_code, Dispute.state.in_(OPEN_DISPUTE_STATES)):,}"],
            ["摄像机", f"{_count(session, Camera, scope, grid_code):,}"]]
    out = {"title": grid.name, "code": grid_code, "rows": rows, "sections": []}
    if workers:
        staff = session.scalars(select(GridWorker).where(GridWorker.grid_code == grid_code)
                                .order_by(GridWorker.role, GridWorker.id)).all()
        out["sections"].append({"title": f"网格员（{len(staff)} 人）", "rows": [
            [GRID_ROLES.get(w.role, w.role), f"{w.name} {mask_phone(w.phone)}", _reveal("worker", w.id, "phone")]
            for w in staff] or [["", "暂无网格员"]]})
    return out


def building_popup(session: Session, scope: AreaScope, building_id: int) -> dict | None:
    """The building, its households in scope and their residents in scope (以房管人): names, identity numbers and
    phones masked. None when the building is unknown or outside the scope."""
    tree = housing.building_tree(session, scope, building_id)
    if tree is None:
        return None
    people = sum(len(h["members"]) for h in tree["households"])
    grid = names.names(session, [tree["grid_code"]]).get(tree["grid_code"], "")
    rows = [["地址", tree["地址"]], ["类型", tree["类型"]], ["层数 / 套数", f"{tree['层数']} / {tree['套数']}"],
            ["网格", grid], ["住户 / 人员", f"{len(tree['households'])} 户 / {people} 人"]]
    sections, shown = [], 0
    for h in tree["households"]:
        members = []
        for m in h["members"][:max(0, MEMBERS_SHOWN - shown)]:
            members.append([m["与户主关系"], f"{mask_name(m['姓名'])} {m['公民身份号码']}",
                            _reveal("person", m["_rid"], "id_number")])
        shown += len(members)
        title = f"{h['户号']} · {h['类型']}" + (" · 出租" if h["出租房"] == "是" else "") + f" · {len(h['members'])} 人"
        sections.append({"title": title, "rows": members or [["", "暂无登记人员"]]})
    if shown < people:
        sections.append({"title": f"另有 {people - shown} 人未列出，见「以房管人」页", "rows": []})
    return {"title": f"房屋 {tree['房屋编号']}", "rows": rows, "sections": sections or
            [{"title": "暂无住户", "rows": []}]}


def household_building(session: Session, household_id: int) -> int | None:
    """The building of a household (for the household popup's link to its building)."""
    return session.scalar(select(Household.building_id).where(Household.id == household_id))
