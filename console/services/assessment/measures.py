"""The SQL behind each indicator (indicators.py): numerator and denominator per unit of the table an assessment
shows — the area's children (one GROUP BY on their indexed code column, scope always applied) or its grid
workers. `Figures` maps a unit to (numerator, denominator); TOTAL is the whole area."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from console.duty import rules
from console.field.tasks import STATES as TASK_STATES
from console.store import (
    AreaScope, Camera, Event, GridWorker, Household, Organisation, Person, SpecialPerson, Survey,
)
from console.store.dialect import instant, seconds_between
from console.store.field_models import FieldRecord, FieldTask, FieldTaskStep
from console.store.followup_models import FollowupVisit
from console.store.patrol_models import Patrol, PatrolCheckin
from console.store.security_models import Account, AccountRole, AccountScope

from .. import quality
from ..areas import CHILD_COLUMN, AreaNode, within
from .indicators import TIMELY_REPORT_S
from .period import Month

TOTAL = ""
PATROL_MONTHS = 3
Figures = dict[str, tuple[float, float]]
DONE = "reported"  # the task state that ends a task (console/field/tasks.py)
assert DONE in TASK_STATES


def _child(model, node: AreaNode):
    col = CHILD_COLUMN.get(node.level)
    return getattr(model, col) if col else None


def _grouped(s: Session, model, node: AreaNode, scope: AreaScope, num, den, *where) -> Figures:
    """One GROUP BY on the child column: {child: (Σ num, Σ den)} plus TOTAL."""
    child = _child(model, node)
    cols = [child] if child is not None else []
    stmt = select(*cols, num, den).select_from(model).where(within(model, node, scope), *where)
    if cols:
        stmt = stmt.group_by(*cols)
    return _collect(s.execute(stmt), bool(cols))


def _merge(num: Figures, den: Figures) -> Figures:
    return {k: (num.get(k, (0, 0))[0], den[k][1]) for k in den}


# ------------------------------------------------------------------ areas
def patrol_window(month: Month) -> tuple:
    """Households are expected to be visited once a quarter (docs/domain.md §11): a month's coverage counts the
    check-ins of that month and the two before it."""
    return instant(month.back(PATROL_MONTHS)[0].start_utc), instant(month.end_utc)


def patrol_coverage(s: Session, node: AreaNode, scope: AreaScope, month: Month) -> Figures:
    den = _grouped(s, Household, node, scope, func.count(), func.count())
    lo, hi = patrol_window(month)
    visited = (select(PatrolCheckin.household_id).where(PatrolCheckin.kind == "household",
                                                         PatrolCheckin.at >= lo, PatrolCheckin.at < hi)
               .distinct().scalar_subquery())
    num = _grouped(s, Household, node, scope, func.count(), func.count(), Household.id.in_(visited))
    return _merge(num, den)


def _timely(seconds):
    # rounded: SQLite's julianday arithmetic puts exactly two hours a few microseconds either side
    return func.sum(case((func.round(seconds) <= TIMELY_REPORT_S, 1), else_=0))


def report_timely(s: Session, node: AreaNode, scope: AreaScope, month: Month) -> Figures:
    return _grouped(s, Event, node, scope, _timely(seconds_between(Event.received_at, Event.occurred_at)),
                    func.count(), Event.occurred_at >= instant(month.start_utc), Event.occurred_at < instant(month.end_utc))


def _finished_at():
    return (select(FieldTaskStep.task_id.label("task_id"), func.min(FieldTaskStep.at).label("at"))
            .where(FieldTaskStep.to_state == DONE).group_by(FieldTaskStep.task_id).subquery())


def task_on_time(s: Session, node: AreaNode, scope: AreaScope, month: Month) -> Figures:
    done = _finished_at()
    on_time = func.sum(case((and_(done.c.at.is_not(None), done.c.at <= FieldTask.due_at), 1), else_=0))
    child = _child(FieldTask, node)
    cols = [child] if child is not None else []
    stmt = (select(*cols, on_time, func.count()).select_from(FieldTask)
            .outerjoin(done, done.c.task_id == FieldTask.id)
            .where(within(FieldTask, node, scope), FieldTask.due_at >= instant(month.start_utc),
                   FieldTask.due_at < instant(month.end_utc)))
    if cols:
        stmt = stmt.group_by(*cols)
    return _collect(s.execute(stmt), bool(cols))


def _collect(rows: Iterable, keyed: bool) -> Figures:
    out: Figures = {}
    total_n = total_d = 0.0
    for row in rows:
        n, d = float(row[-2] or 0), float(row[-1] or 0)
        total_n, total_d = total_n + n, total_d + d
        if keyed and row[0]:
            out[row[0]] = (n, d)
    out[TOTAL] = (total_n, total_d)
    return out


RECORD_MODELS = (Person, Household, Organisation, Camera)


def completeness(s: Session, node: AreaNode, scope: AreaScope, month: Month,
                 cube: quality.QualityCube | None = None) -> Figures:
    """Current state (the data-quality checks), not the month's. With the pages' cached per-grid `cube`, no
    table is scanned."""
    records: dict[str, float] = defaultdict(float)
    if cube is not None:
        for figures in quality.records_from_cube(cube, node, scope).values():
            records[TOTAL] += figures["total"]
            for k, n in figures["by_child"].items():
                records[k] += n
        found = quality.counts_from_cube(cube, node, scope)
    else:
        for model in RECORD_MODELS:
            for k, (_n, d) in _grouped(s, model, node, scope, func.count(), func.count()).items():
                records[k] += d
        found = quality.counts(s, node, scope)
    problems: dict[str, float] = defaultdict(float)
    for figures in found.values():
        problems[TOTAL] += figures["total"]
        for k, n in figures["by_child"].items():
            problems[k] += n
    return {k: (max(d - problems.get(k, 0), 0.0), d) for k, d in records.items()}


def followup_on_time(s: Session, node: AreaNode, scope: AreaScope, month: Month, config: dict | None = None
                     ) -> Figures:
    by_grid = _followup_by(s, node, scope, month, config)
    if CHILD_COLUMN.get(node.level) is None:
        return {TOTAL: _sum(by_grid.values())}
    width = {"city": 6, "county": 9, "town": 12, "village": 15}[node.level]
    out: dict[str, list] = defaultdict(lambda: [0.0, 0.0])
    for grid, (n, d) in by_grid.items():
        if grid:
            out[grid[:width]][0] += n
            out[grid[:width]][1] += d
    figures = {k: (v[0], v[1]) for k, v in out.items()}
    figures[TOTAL] = _sum(by_grid.values())
    return figures


def _sum(pairs) -> tuple[float, float]:
    pairs = list(pairs)
    return (sum(p[0] for p in pairs), sum(p[1] for p in pairs))


def _followup_by(s: Session, node, scope, month: Month, config) -> dict[str, tuple[float, float]]:
    """Per grid: follow-ups that fell due in the month (due = the previous visit, or the day the person was
    listed, + the category's cycle) and how many of them were made by the due date. A person whose visits
    stopped counts once, at the first due date missed (as the duty sweep raises one alert per missed date)."""
    config = config or rules.load_config()
    people = s.execute(select(SpecialPerson.id, SpecialPerson.grid_code, SpecialPerson.category,
                              SpecialPerson.risk_level, SpecialPerson.since)
                       .where(within(SpecialPerson, node, scope))).all()
    if not people:
        return {}
    horizon = month.first_day - timedelta(days=400)  # longer than any cycle
    visits: dict[int, list] = defaultdict(list)
    visit_rows = s.execute(select(FollowupVisit.special_person_id, FollowupVisit.visited_on)
                           .join(SpecialPerson, SpecialPerson.id == FollowupVisit.special_person_id)
                           .where(within(SpecialPerson, node, scope), FollowupVisit.visited_on >= horizon,
                                  FollowupVisit.visited_on <= month.last_day))
    for pid, day in visit_rows:
        visits[pid].append(day)
    out: dict[str, list] = defaultdict(lambda: [0.0, 0.0])
    first, last = month.first_day, month.last_day
    for pid, grid, category, level, since in people:
        days = rules.followup_cycle_days(config, category, level)
        if not days or since is None:
            continue
        anchors = sorted({since, *visits.get(pid, ())})
        for i, a in enumerate(anchors):
            due = a + timedelta(days=days)
            if due < first:
                continue
            if due > last:
                break
            made = i + 1 < len(anchors) and anchors[i + 1] <= due
            out[grid][1] += 1
            out[grid][0] += 1 if made else 0
            if not made:
                break
    return {k: (v[0], v[1]) for k, v in out.items()}


def satisfaction(s: Session, node: AreaNode, scope: AreaScope, month: Month) -> Figures:
    """A county's survey of the month's year (the latest earlier one when that year's is not in yet). Only
    counties are surveyed: the city's figure is the mean of its counties', a town has none."""
    if node.level not in ("city", "county"):
        return {}
    rows = s.execute(select(Survey.county_code, Survey.year, Survey.rate)
                     .where(Survey.indicator == "satisfaction", Survey.year <= month.year)).all()
    best: dict[str, tuple[int, float]] = {}
    for county, year, rate in rows:
        if _inside(county, node, scope) and (county not in best or year > best[county][0]):
            best[county] = (year, rate)
    if node.level == "county":
        return {TOTAL: (best[node.code][1] / 100.0, 1.0)} if node.code in best else {}
    out: Figures = {c: (rate / 100.0, 1.0) for c, (_y, rate) in best.items()}
    if out:
        out[TOTAL] = _sum(out.values())
    return out


# ------------------------------------------------------------------ grid workers
def worker_grids(s: Session, node: AreaNode, scope: AreaScope, month: Month) -> dict[str, set[str]]:
    """Each grid worker of the area and the grids they answer for: their account's grid scopes, and the grids
    of their patrols and tasks in the month (a worker without an account still shows)."""
    out: dict[str, set[str]] = defaultdict(set)
    rows = s.execute(select(Account.username, AccountScope.area_code)
                     .join(AccountRole, AccountRole.account_id == Account.id)
                     .join(AccountScope, AccountScope.account_id == Account.id)
                     .where(AccountRole.role == "grid_worker", func.length(AccountScope.area_code) == 15))
    for user, grid in rows:
        if _inside(grid, node, scope):
            out[user].add(grid)
    for model, who, when in ((Patrol, Patrol.worker, Patrol.started_at), (FieldTask, FieldTask.assignee,
                                                                         FieldTask.due_at)):
        for user, grid in s.execute(select(who, model.grid_code).where(within(model, node, scope),
                                                                      when >= instant(month.start_utc),
                                                                      when < instant(month.end_utc)).distinct()):
            if grid:
                out[user].add(grid)
    return dict(out)


def worker_labels(s: Session, usernames) -> dict[str, str]:
    """What a person reads for each worker: the account's display name; for a worker without an account whose
    name carries their grid code (the demo world's `wg<grid code>`, world/fieldmonth.py), the grid's 专职网格员 on
    the roster."""
    users = sorted(set(usernames))
    out = {u: (d or u) for u, d in s.execute(select(Account.username, Account.display_name)
                                             .where(Account.username.in_(users)))}
    grids = {u[-15:]: u for u in users if u not in out and len(u) > 15 and u[-15:].isdigit()}
    if grids:
        for grid, name in s.execute(select(GridWorker.grid_code, GridWorker.name)
                                    .where(GridWorker.grid_code.in_(sorted(grids)), GridWorker.role == "worker")):
            out.setdefault(grids[grid], name)
    return {u: out.get(u, u) for u in users}


def _inside(code: str, node: AreaNode, scope: AreaScope) -> bool:
    """The area `code` (a grid, or a county for the survey) lies in the node and in the scope."""
    in_node = node.level == "city" or code.startswith(node.code) or node.code.startswith(code)
    return in_node and scope.overlaps(code)


def by_worker(s: Session, node: AreaNode, scope: AreaScope, month: Month, grids: dict[str, set[str]]
              ) -> dict[str, Figures]:
    """{indicator key: {worker: (numerator, denominator)}} for the indicators that apply to workers."""
    all_grids = sorted(set().union(*grids.values())) if grids else []
    households = dict(s.execute(select(Household.grid_code, func.count()).where(Household.grid_code.in_(all_grids))
                                .group_by(Household.grid_code)).all()) if all_grids else {}
    window = (instant(month.start_utc), instant(month.end_utc))
    lo, hi = patrol_window(month)
    visited = dict(s.execute(
        select(Patrol.worker, func.count(distinct(PatrolCheckin.household_id)))
        .join(Patrol, Patrol.id == PatrolCheckin.patrol_id)
        .where(PatrolCheckin.kind == "household", PatrolCheckin.at >= lo, PatrolCheckin.at < hi,
               within(Patrol, node, scope))
        .group_by(Patrol.worker)).all())
    sent = seconds_between(FieldRecord.received_at, FieldRecord.client_time) - FieldRecord.clock_skew_s
    reports = {w: (float(n or 0), float(d)) for w, n, d in s.execute(
        select(FieldRecord.created_by, _timely(sent), func.count())
        .where(FieldRecord.kind == "event", FieldRecord.client_time.is_not(None),
               FieldRecord.received_at >= window[0], FieldRecord.received_at < window[1],
               within(FieldRecord, node, scope))
        .group_by(FieldRecord.created_by))}
    done = _finished_at()
    tasks = {w: (float(n or 0), float(d)) for w, n, d in s.execute(
        select(FieldTask.assignee, func.sum(case((and_(done.c.at.is_not(None), done.c.at <= FieldTask.due_at), 1),
                                                 else_=0)), func.count())
        .outerjoin(done, done.c.task_id == FieldTask.id)
        .where(FieldTask.due_at >= window[0], FieldTask.due_at < window[1], within(FieldTask, node, scope))
        .group_by(FieldTask.assignee))}
    follow = _followup_by(s, node, scope, month, None)
    out: dict[str, Figures] = {"patrol_coverage": {}, "report_timely": {}, "task_on_time": {},
                               "followup_on_time": {}}
    for worker, gs in grids.items():
        out["patrol_coverage"][worker] = (float(visited.get(worker, 0)), float(sum(households.get(g, 0) for g in gs)))
        out["report_timely"][worker] = reports.get(worker, (0.0, 0.0))
        out["task_on_time"][worker] = tasks.get(worker, (0.0, 0.0))
        out["followup_on_time"][worker] = _sum(follow.get(g, (0.0, 0.0)) for g in gs)
    return out


AREA_MEASURES = {"patrol_coverage": patrol_coverage, "report_timely": report_timely, "task_on_time": task_on_time,
                 "completeness": completeness, "followup_on_time": followup_on_time, "satisfaction": satisfaction}
