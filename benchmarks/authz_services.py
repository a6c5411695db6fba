"""The authorisation matrix's service-level sections (below HTTP): guard, oracles, unmask, store scope, planner
drafts and 三员 actions, for every account. Called by benchmarks/authz_matrix.py, which owns the tally."""

from __future__ import annotations

from datetime import datetime, timedelta

import shapely
from sqlalchemy import func, select

import authz_registry
from authz_unmask import check_unmask
from console.planner import drafts as planner_drafts
from console.planner.village import PlannerError
from console.security import admin, audit, guard
from console.security.guard import AccessDenied
from console.security.permissions import ALL_PERMISSIONS, GRID_EDIT
from console.security.roles import ROLES
from console.services import unmask as unmask_service
from console.store import Dispute, DisputeParty, Grid
from console.store import base as store_base
from console.store.codes import CITY_CODE
from console.store.identity import id_check_char
from console.store.security_models import AuditLog


def audit_count(factory, actor: str) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor == actor))


def run_all(tally, factory, viewers, accounts, areas, sample_codes) -> None:
    for section in (guard_matrix, duplicate_oracles, unmask_service_section, store_scope, planner_drafts_section,
                    admin_actions):
        section(tally, factory, viewers, accounts, areas, sample_codes)


def guard_matrix(tally, factory, viewers, accounts, areas, sample_codes) -> None:
    """guard: every role × every permission; refusals audited."""
    for name, viewer in viewers.items():
        for permission in ALL_PERMISSIONS:
            expected = permission in ROLES[accounts[name][0]].permissions
            before = audit_count(factory, name)
            try:
                guard.require(viewer, permission, "matrix", log_grant=False)
                got = True
            except AccessDenied:
                got = False
            audited = got or audit_count(factory, name) == before + 1
            tally.check("guard", got == expected and audited, f"{name} {permission}: {got} (audited={audited})")
        for code in sample_codes:
            try:
                guard.require_area(viewer, code, "matrix")
                got = True
            except AccessDenied:
                got = False
            tally.check("guard.area", got == viewer.scope.allows(code), f"{name} area {code}")


def duplicate_oracles(tally, factory, viewers, accounts, areas, sample_codes) -> None:
    """Oracles: the duplicate check must answer the same for a hidden party's number and a random one."""
    probe_now = datetime(2026, 11, 26, 9, 0)
    with factory() as s, s.begin():
        party = s.scalars(select(DisputeParty).order_by(DisputeParty.id)).first()
        s.get(Dispute, party.dispute_id).registered_at = probe_now - timedelta(days=1)
        hidden = "610924198501016" + "55"
        party.id_number = hidden_id = hidden + id_check_char(hidden)  # a valid number: the probe passes validation
        grids = [(g.code, g.geom_wkb) for g in s.scalars(select(Grid).where(Grid.generation_high.is_(None)))]
    fresh = "610925199001017" + "78"
    fresh_id = fresh + id_check_char(fresh)

    for name, viewer in viewers.items():
        code = next(iter(sorted(viewer.scope.codes)), None)
        wkb = next((w for g, w in grids if code and (code == CITY_CODE or g.startswith(code))), None)
        if wkb is None:
            continue
        p = shapely.from_wkb(wkb).representative_point()
        authz_registry.oracle_duplicates(tally, factory, name, viewer, hidden_id, fresh_id, (p.x, p.y), probe_now)


def unmask_service_section(tally, factory, viewers, accounts, areas, sample_codes) -> None:
    """The unmask service itself, for every account (the 三员 included: none may unmask)."""
    for name, viewer in viewers.items():
        check_unmask(tally, factory, name, viewer,
                     lambda kind, rid, field, v=viewer: unmask_service.reveal(factory, v, kind, rid, field=field,
                                                                              via="matrix"))


def store_scope(tally, factory, viewers, accounts, areas, sample_codes) -> None:
    """Store: every scoped query returns only in-scope rows."""
    located = [m.class_ for m in store_base.Base.registry.mappers
               if issubclass(m.class_, store_base.Located)]
    with factory() as s:
        for name, viewer in viewers.items():
            for model in located:
                rows = s.execute(select(model.grid_code, model.village_code, model.town_code, model.county_code)
                                 .where(viewer.scope.clause(model)).limit(300)).all()
                bad = [r for r in rows if not viewer.scope.allows(r.grid_code or r.village_code or r.town_code
                                                                    or r.county_code)]
                tally.check("store.scope", not bad, f"{name} {model.__tablename__}: {len(bad)} rows outside scope")


def planner_drafts_section(tally, factory, viewers, accounts, areas, sample_codes) -> None:
    """Grid planner: a draft of a village only with grid:edit and the village in scope; never someone else's."""
    villages = areas.get("village", [])
    owner_draft = None
    for name, viewer in viewers.items():
        for code in villages:
            before = audit_count(factory, name)
            try:
                with factory() as s, s.begin():
                    row = planner_drafts.start(s, viewer, code)
                    owner_draft = owner_draft or (name, row.id)
                got = True
            except AccessDenied:
                got = False
            expected = viewer.can(GRID_EDIT) and viewer.scope.allows(code)
            audited = got or audit_count(factory, name) == before + 1
            tally.check("planner.draft", got == expected and audited, f"{name} draft {code}: {got}")
    if owner_draft:
        for name, viewer in viewers.items():
            if name == owner_draft[0]:
                continue
            try:
                with factory() as s:
                    planner_drafts.get(s, viewer, owner_draft[1])
                got = True
            except (AccessDenied, PlannerError):
                got = False
            tally.check("planner.other_draft", not got, f"{name} opened {owner_draft[0]}'s draft")


def admin_actions(tally, factory, viewers, accounts, areas, sample_codes) -> None:
    """三员 actions by everyone: only the owning role succeeds, every attempt audited."""
    target = next(n for n, (r, _) in accounts.items() if r == "grid_worker")
    actions = {
        "account:manage": lambda v: admin.unlock(factory, v, target),
        "role:assign": lambda v: admin.set_roles_and_scope(factory, v, target, ["grid_worker"], accounts[target][1]),
        "config:manage": lambda v: admin.set_setting(factory, v, "idle_minutes", 30),
        "audit:read": lambda v: audit.search(factory(), v, limit=1),
    }
    for name, viewer in viewers.items():
        for permission, act in actions.items():
            before = audit_count(factory, name)
            try:
                act(viewer)
                got = True
            except (AccessDenied, admin.AdminError):
                got = False
            tally.check("admin", got == viewer.can(permission) and audit_count(factory, name) > before,
                        f"{name} {permission}: {got}")
    with factory() as s:
        tally.check("audit.chain", audit.verify(s).ok, "audit chain broken")
