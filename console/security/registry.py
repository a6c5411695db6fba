"""Who may reach what: the one table of every Flask route, Dash callback and page (docs/security.md §2).

The gate (`web.install`) looks every request up here before any view or callback runs: a route or callback
that is not listed is refused (fail closed), so a new one cannot ship without a declared permission, and
`benchmarks/authz_matrix.py` lists the running app's routes and callbacks and reports any that are missing.

A `Need` is checked by the gate (all of `all_of`, at least one of `any_of`). Views and callbacks still check
each record's scope themselves (`guard.require_area`); a `Need` with `sensitive=True` also makes the gate write
a `record.read` audit row for every answered request (personal data or case details read in bulk).
Callbacks are named `<module>.<function>` (last part of the module: pages are imported as ``pages.X``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .permissions import (
    ACCOUNT_MANAGE, ALERT_ACT, AUDIT_READ, DISPUTE_REGISTER, DISPUTE_ROUTE, EXPORT, FIELD_REVIEW, FIELD_SYNC,
    GRID_EDIT, IMPORT_LEDGERS, LAYER_AREAS, LAYER_CAMERAS, LAYER_DISPUTES, LAYER_GRIDS, VIEW_VIDEO,
    LAYER_PERMISSIONS, ROLE_ASSIGN, UNMASK, VIEW_ALERTS, VIEW_CASES, VIEW_KPI, VIEW_PERSONS, WALL_DISPLAY,
    CONFIG_MANAGE, LAYER_SPECIAL, VIEW_ASSESSMENT, INCIDENT_COMMAND, VIDEO_PTZ,
)


@dataclass(frozen=True)
class Need:
    any_of: frozenset[str] = frozenset()
    all_of: frozenset[str] = frozenset()
    none_of: frozenset[str] = frozenset()  # e.g. the hall screen's marker: no record views
    sensitive: bool = False  # a personal-data / case read: the gate audits every answer
    kind: str = "permission"  # "permission" | PUBLIC | LOGGED_IN | SOURCE_KEY | CLIENTSIDE

    def allows(self, permissions) -> bool:
        if self.kind == CLIENTSIDE:
            return False
        return (self.all_of <= permissions and (not self.any_of or bool(self.any_of & permissions))
                and not (self.none_of & permissions))

    @property
    def label(self) -> str:
        if self.kind != "permission":
            return self.kind
        parts = sorted(self.all_of) + (["|".join(sorted(self.any_of))] if self.any_of else [])
        return "+".join(parts)


PUBLIC = "public"  # before login (login pages): the gate lets them through
LOGGED_IN = "logged-in"  # any active session; nothing per person or per case in the answer
SOURCE_KEY = "source-key"  # ingest sources authenticate with their own keys, never as a person
CLIENTSIDE = "clientside"  # runs in the browser; the server refuses to run it


def need(*any_of: str, all_of=(), sensitive: bool = False) -> Need:
    return Need(any_of=frozenset(any_of), all_of=frozenset(all_of), sensitive=sensitive)


def _kind(kind: str) -> Need:
    return Need(kind=kind)


PUBLIC_NEED, LOGGED_IN_NEED, SOURCE_KEY_NEED, CLIENTSIDE_NEED = map(_kind, (PUBLIC, LOGGED_IN, SOURCE_KEY, CLIENTSIDE))
ANY_LAYER = frozenset(LAYER_PERMISSIONS.values())
ADMIN_ACCOUNTS = need(ACCOUNT_MANAGE, ROLE_ASSIGN)

# Flask url rules (as `app.url_map` spells them) → need.
ROUTES: dict[str, Need] = {
    # login flow: before a session is active (the gate's stage logic decides which step is reachable)
    "/login": PUBLIC_NEED, "/login/totp": PUBLIC_NEED, "/totp/setup": PUBLIC_NEED, "/password": PUBLIC_NEED,
    "/logout": PUBLIC_NEED, "/favicon.ico": PUBLIC_NEED,
    # the page shell, scripts and styles: no data; every page's own data comes through callbacks below
    "/": LOGGED_IN_NEED, "/<path:path>": LOGGED_IN_NEED, "/static/<path:filename>": LOGGED_IN_NEED,
    "/assets/<path:filename>": LOGGED_IN_NEED, "/_dash-layout": LOGGED_IN_NEED,
    "/_dash-dependencies": LOGGED_IN_NEED, "/_reload-hash": LOGGED_IN_NEED, "/_favicon.ico": LOGGED_IN_NEED,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": LOGGED_IN_NEED,
    "/_dash-update-component": LOGGED_IN_NEED,  # then CALLBACKS decides
    # map data (the view checks the one layer's permission and the area's scope)
    "/api/basemap/<name>.geojson": LOGGED_IN_NEED,
    "/api/layers/<key>.geojson": Need(any_of=ANY_LAYER),
    "/api/layers/<key>/<int:fid>": Need(any_of=ANY_LAYER, none_of=frozenset({WALL_DISPLAY})),  # record rows
    "/api/areas": need(LAYER_AREAS),
    # map popups that list people (routes/popups.py): the record's area is checked and each answer audited there
    "/api/popup/grid/<code>": Need(any_of=frozenset({LAYER_AREAS, LAYER_GRIDS}), none_of=frozenset({WALL_DISPLAY})),
    "/api/popup/building/<int:bid>": Need(all_of=frozenset({VIEW_PERSONS}), none_of=frozenset({WALL_DISPLAY})),
    "/api/unmask": need(UNMASK),  # + the record kind's view permission and scope (services.unmask)
    "/api/alerts/changes": need(VIEW_ALERTS, sensitive=True),
    "/api/open311/services.json": need(DISPUTE_REGISTER, VIEW_CASES),
    "/api/open311/requests.json": need(DISPUTE_REGISTER),
    "/api/open311/requests/<code>.json": need(VIEW_CASES),
    "/api/events": SOURCE_KEY_NEED, "/api/events/batch": SOURCE_KEY_NEED,
    # the grid worker's phone app and its sync (docs/field.md): each record's grid is checked by the service
    "/m/": need(FIELD_SYNC), "/m/manifest.webmanifest": need(FIELD_SYNC), "/m/sw.js": need(FIELD_SYNC),
    "/m/static/<path:name>": need(FIELD_SYNC),
    "/api/field/sync": need(FIELD_SYNC), "/api/field/records/<uuid>": need(FIELD_SYNC),
    "/api/field/photos": need(FIELD_SYNC), "/api/field/photos/<uuid>": need(FIELD_SYNC),
    "/api/field/grid": need(FIELD_SYNC, sensitive=True), "/api/field/tasks": need(FIELD_SYNC),
    "/api/field/tasks/<int:task_id>": need(FIELD_SYNC),
    # 特殊人群随访 due on the phone (docs/field.md §8): special-population records, masked, own grids only
    "/api/field/followups": need(all_of=(FIELD_SYNC, LAYER_SPECIAL), sensitive=True),
    "/api/field/conflicts": need(FIELD_REVIEW, sensitive=True),
    "/api/field/conflicts/<int:conflict_id>": need(FIELD_REVIEW),
    # video (docs/video.md): every camera is re-checked against the viewer's scope, every play address audited
    "/api/video/cameras": need(VIEW_VIDEO), "/api/video/config": need(VIEW_VIDEO),
    "/api/video/nearby": need(VIEW_VIDEO), "/api/video/play/<int:camera_id>": need(VIEW_VIDEO),
    "/video/stream/<token>": need(VIEW_VIDEO), "/api/video/webrtc/<token>": need(VIEW_VIDEO),
    "/api/video/playback/<int:camera_id>": need(VIEW_VIDEO),  # audited per range (video.playback)
    "/api/video/playback/<int:camera_id>/stop": need(VIEW_VIDEO),
    "/api/video/ptz/<int:camera_id>": need(all_of=(VIEW_VIDEO, VIDEO_PTZ)),  # every command audited (video.ptz)
    "/api/status": need(CONFIG_MANAGE),  # this node's database, spatial path and cache sync (docs/deploy.md)
    "/api/coverage": need(LAYER_CAMERAS),  # counts of households per grid, no personal data
    # the duty desk sends tasks to grid workers
    "/api/duty/roster": need(all_of=(VIEW_ALERTS, ALERT_ACT), sensitive=True),
    "/api/duty/tasks": need(all_of=(VIEW_ALERTS, ALERT_ACT)),
}

# The only routes an API key reaches (intake sources: Open311 case intake and status).
KEY_ROUTES = frozenset({"/api/open311/services.json", "/api/open311/requests.json",
                        "/api/open311/requests/<code>.json"})

# Dash server callbacks, `<module>.<function>` → need.
CALLBACKS: dict[str, Need] = {
    "dash.update": LOGGED_IN_NEED,  # Dash pages' router: each page's layout is guarded by PAGES
    # 「显示完整号码」: every logged-in page has the button; the service checks unmask + the kind's view permission
    # + scope for the one record and answers a refusal in words (audited) — the button must say why, not go blank
    "_unmask.reveal_one": LOGGED_IN_NEED, "_unmask.reveal_selected": LOGGED_IN_NEED,
    "overview.show_area": need(LAYER_AREAS, VIEW_KPI), "overview.show_charts": need(VIEW_KPI),
    "overview.show_grid_table": need(VIEW_PERSONS, VIEW_CASES),
    "disputes.search": need(all_of=(VIEW_CASES,), sensitive=True),
    "disputes.show_case": need(all_of=(VIEW_CASES,), sensitive=True),
    "disputes.export": need(all_of=(VIEW_CASES, EXPORT)),
    "_dispute_import.import_ledger": need(DISPUTE_REGISTER),
    "disputes.act": need(DISPUTE_ROUTE, DISPUTE_REGISTER, all_of=(VIEW_CASES,)),
    "disputes.register": need(DISPUTE_REGISTER), "disputes.pick_point": need(DISPUTE_REGISTER),
    "dispute_stats.run": need(all_of=(VIEW_CASES,), sensitive=True),
    "dispute_stats.monthly_print": need(all_of=(VIEW_CASES,), sensitive=True),
    "dispute_stats.monthly_xlsx": need(all_of=(VIEW_CASES, EXPORT)),
    "duty.show_detail": need(all_of=(VIEW_ALERTS,), sensitive=True),
    "duty.handover": need(all_of=(VIEW_ALERTS,), sensitive=True),
    "duty.act": need(all_of=(VIEW_ALERTS, ALERT_ACT)),
    "planner.open_village": need(GRID_EDIT), "planner.act": need(GRID_EDIT), "planner.show": need(GRID_EDIT),
    "planner.show_preview": need(GRID_EDIT), "planner.commit": need(GRID_EDIT),
    "planner.show_history": need(GRID_EDIT), "planner.show_generation": need(GRID_EDIT),
    "planner.preview_rollback": need(GRID_EDIT),
    "planner.export": need(GRID_EDIT), "planner.sniff_upload": need(GRID_EDIT),
    "admin_accounts.list_accounts": ADMIN_ACCOUNTS, "admin_accounts.select": ADMIN_ACCOUNTS,
    "admin_accounts.create": need(ACCOUNT_MANAGE), "admin_accounts.account_action": need(ACCOUNT_MANAGE),
    "admin_accounts.save_roles": need(ROLE_ASSIGN), "admin_accounts.approve_reset": need(ROLE_ASSIGN),
    "admin_audit.search": need(AUDIT_READ), "admin_audit.verify": need(AUDIT_READ),
    "admin_audit.export": need(AUDIT_READ),
    # real data in (docs/import.md): the import wizard checks the permission and every row's scope itself
    "ledger_import.check": need(IMPORT_LEDGERS),
    "housing.search": need(all_of=(VIEW_PERSONS,), sensitive=True),
    "housing.show_building": need(all_of=(VIEW_PERSONS,), sensitive=True),
    # the command hall (docs/console.md, 指挥大厅): counts and counted map cells only, never a record; the
    # search box checks each kind of hit's own permission and the scope, masks people and audits itself
    "_search.run_search": need(LAYER_AREAS),
    "hall.refresh_banner": need(VIEW_KPI, WALL_DISPLAY), "hall.rotate": need(VIEW_KPI, WALL_DISPLAY),
    "analysis.show_heat": need(VIEW_KPI),
    "replay.show": need(VIEW_ALERTS, LAYER_DISPUTES, WALL_DISPLAY, all_of=(LAYER_GRIDS,)),
    # 督导考评 (docs/assessment.md): the page audits grid workers' figures itself; print and export re-read them
    "assessment.export_xlsx": need(all_of=(VIEW_ASSESSMENT, EXPORT)),
    "assessment.print_view": need(all_of=(VIEW_ASSESSMENT,), sensitive=True),
    "admin_assessment.save_weights": need(CONFIG_MANAGE),
    # 特殊人群随访: the service checks layer:special and the record's scope, and audits the visit
    "followup.record": need(all_of=(LAYER_SPECIAL, VIEW_PERSONS)),
    "quality.export_problems": need(all_of=(VIEW_KPI, VIEW_PERSONS, EXPORT)),
    # 突发事件指挥 (docs/safety.md): the service checks the permission again and the incident's scope per record
    "incident.raise_incident": need(all_of=(VIEW_ALERTS, INCIDENT_COMMAND)),
    "incident.command": need(all_of=(VIEW_ALERTS, INCIDENT_COMMAND)),
    "incident.show_incident": need(all_of=(VIEW_ALERTS,), sensitive=True),
}

# Page paths → need (the navigation draws a link only when it is met; the router refuses the layout otherwise).
PAGES: dict[str, tuple[str, Need]] = {
    "/": ("总览", need(LAYER_AREAS, VIEW_KPI)),
    "/planner": ("网格规划", need(GRID_EDIT)),
    "/duty": ("值班", need(VIEW_ALERTS)),
    "/incident": ("突发事件", need(VIEW_ALERTS)),
    "/disputes": ("矛盾纠纷", need(VIEW_CASES, DISPUTE_REGISTER)),
    "/video": ("视频", need(VIEW_VIDEO)),
    "/housing": ("以房管人", need(all_of=(VIEW_PERSONS,))),
    "/quality": ("数据质量", Need(all_of=frozenset({VIEW_KPI}), none_of=frozenset({WALL_DISPLAY}))),
    "/import": ("台账导入", need(IMPORT_LEDGERS)),
    "/disputes/stats": ("纠纷研判", need(VIEW_CASES)),
    "/hall": ("大屏", need(VIEW_KPI, WALL_DISPLAY)),
    "/analysis": ("态势研判", need(VIEW_KPI)),
    "/replay": ("时间回放", need(VIEW_ALERTS, LAYER_DISPUTES, WALL_DISPLAY, all_of=(LAYER_GRIDS,))),
    "/assessment": ("督导考评", need(VIEW_ASSESSMENT)),
    "/followup": ("随访", need(all_of=(LAYER_SPECIAL, VIEW_PERSONS))),
    "/admin/assessment": ("考评权重", need(CONFIG_MANAGE)),
    "/admin/accounts": ("账户", ADMIN_ACCOUNTS),
    "/admin/audit": ("审计", need(AUDIT_READ)),
}
NAV_PATHS = ("/", "/hall", "/analysis", "/replay", "/planner", "/duty", "/incident", "/video", "/disputes", "/housing",
             "/followup", "/quality", "/assessment", "/import", "/admin/accounts", "/admin/assessment", "/admin/audit")


def callback_name(fn) -> str | None:
    """`<module>.<function>` of a Dash callback function (None for a clientside callback)."""
    if fn is None:
        return None
    return f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"


def route_need(rule: str | None) -> Need | None:
    return ROUTES.get(rule) if rule else None


def callback_need(name: str | None) -> Need | None:
    if name is None:
        return CLIENTSIDE_NEED
    return CALLBACKS.get(name)


def page_need(path: str) -> Need | None:
    entry = PAGES.get(path)
    return entry[1] if entry else None

