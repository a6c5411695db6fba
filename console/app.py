"""The Dash app: `create_app(db)` wires store, settings, routes and pages. Thin on purpose."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import dash
from dash import Input, Output, clientside_callback, dcc, html

from console import first_view, lazy_assets
from console.config import Settings
from console.routes import compress
from console.security.config import Settings as SecuritySettings
from console.services import views
from console.services.areas import city_node
from console.services.context import CONTEXT_KEY, AppContext
from console.security.guard import Viewer
from console.store.codes import CITY_CODE
from console.store import check_schema, make_engine, make_session_factory

ROOT = Path(__file__).resolve().parents[1]
PAGES = Path(__file__).resolve().with_name("pages")
ASSETS = ROOT / "assets"

log = logging.getLogger(__name__)


class ID:
    THEME = "app-theme"
    THEME_SWITCH = "app-theme-switch"
    ROOT = "app-root"
    NAV = "app-nav"


INGEST_PUBLIC_PATHS = ("/api/events", "/api/events/batch")
WARM_LAYERS = ("areas", "special", "disputes", "grids")  # the layers switched on by default


def _shell(settings: Settings) -> html.Div:
    """The page frame, built per page load: the nav shows only the pages this viewer may open."""
    from console.services.navigation import visible_pages
    from console.services.viewer import current_viewer

    nav = [dcc.Link(label, href=href, className="pa-nav-link") for href, label in visible_pages(current_viewer())]
    return html.Div(id=ID.ROOT, className="pa-root", children=[
        dcc.Store(id=ID.THEME, storage_type="local", data=settings.theme),
        html.Header(className="pa-header", children=[
            html.Div([html.Span("平安", className="pa-logo"), html.H1(settings.title, className="pa-title"),
                      html.Span("安康市综治中心", className="pa-subtitle")], className="pa-brand"),
            html.Nav(nav, id=ID.NAV, className="pa-nav"),
            html.A("退出", href="/logout", className="pa-nav-link pa-logout"),
            html.Label([dcc.Checklist(id=ID.THEME_SWITCH, options=[{"label": " 大屏模式", "value": "dark"}],
                                      value=["dark"] if settings.theme == "dark" else [],
                                      className="pa-theme-switch")]),
        ]),
        html.Main(first_view.page_container(), className="pa-main"),
    ])


def _register_shell_callbacks(app: dash.Dash) -> None:
    # One callback (Dash allows a callback to feed itself, not a cycle of two): the switch sets the stored theme,
    # the stored theme (kept in localStorage) sets the switch on load; both set the root class.
    clientside_callback(
        """function(value, theme){
            const ctx = window.dash_clientside.callback_context;
            const nu = window.dash_clientside.no_update;
            const fromSwitch = ctx.triggered.some(t => t.prop_id === '%s.value');
            const dark = fromSwitch ? (value || []).indexOf('dark') >= 0 : theme === 'dark';
            document.documentElement.dataset.theme = dark ? 'dark' : 'light';
            const want = dark ? ['dark'] : [];
            const sameSwitch = (value || []).length === want.length;
            return [dark ? 'pa-root pa-dark' : 'pa-root', fromSwitch ? (dark ? 'dark' : 'light') : nu,
                    sameSwitch ? nu : want];
        }""" % ID.THEME_SWITCH,
        Output(ID.ROOT, "className"), Output(ID.THEME, "data"), Output(ID.THEME_SWITCH, "value"),
        Input(ID.THEME_SWITCH, "value"), Input(ID.THEME, "data"),
    )


def _warm(ctx: AppContext, files: list[Path] = ()) -> None:
    """Compute the city view's KPIs in the background so that the first leader's view is fast, after
    gzipping the first view's script files (`files`) so that no visitor waits for that either.

    There is no logged-in account here: warm for a city-wide 市领导 viewer. KPIs and bulk layers are cached
    by scope (`views.scope_key`), so every city-wide account shares them once its own permission check has
    passed; nothing is served from this thread."""
    def run():
        try:
            compress.prewarm(files)
            with ctx.server.app_context():
                viewer = Viewer.build("(cache-warm-up)", ["city_leader"], [CITY_CODE])
                with ctx.session() as s:
                    node = city_node(s)
                views.area_kpis(ctx, viewer, node)
                views.layer_bytes(ctx, viewer, "areas", node)
                # the counties are the hall's first clicks: their KPIs and default layers are ready too
                views.warm_children(ctx, viewer, node, WARM_LAYERS)
        except Exception:  # a warm-up failure must never stop the console; the first view just pays
            log.exception("cache warm-up failed")
        finally:
            ctx.warm_done.set()
        try:  # after the map's first view: the data-quality and assessment pages read this
            with ctx.server.app_context():
                views.quality_cube(ctx)
        except Exception:
            log.exception("quality warm-up failed")
    threading.Thread(target=run, name="pingan-warm", daemon=True).start()


def _check_data_key() -> None:
    """Identity numbers and special-population details are encrypted at rest: refuse to start without the key."""
    from console.store import crypto
    from console.store import StoreError

    try:
        crypto.require_keyring()
    except crypto.DataKeyError as exc:
        raise StoreError(str(exc)) from None


def create_app(db: str, *, settings: Settings | None = None,
               security_settings: SecuritySettings | None = None, video_settings=None) -> dash.Dash:
    """Build the console for the database at `db` (path or SQLAlchemy URL). Raises StoreError if unusable.

    Every request passes the security gate (docs/security.md, `console.security.web.install`): login pages, then
    session, CSRF and permission checks in front of every page, Dash callback, asset and API route.
    `security_settings` defaults to `SecuritySettings.from_env()` (tests pass a clock and a fixed key);
    `video_settings` (the media gateway, docs/video.md) to `VideoSettings.from_env()`."""
    from console.video.gateway import VideoSettings

    video = video_settings or VideoSettings.from_env()
    settings = settings or Settings.from_env()
    engine = make_engine(db, must_exist=True)
    check_schema(engine)
    _check_data_key()
    ctx = AppContext(engine=engine, sessions=make_session_factory(engine), settings=settings)
    ctx.kpi_cache.ttl = settings.kpi_cache_seconds
    ctx.geo_cache.ttl = settings.geojson_cache_seconds

    lazy_assets.defer_bundles()  # AG Grid and Plotly are fetched when a page first needs them
    app = dash.Dash(
        __name__, use_pages=True, pages_folder=str(PAGES), assets_folder=str(ASSETS),
        assets_ignore=lazy_assets.ASSETS_IGNORE,
        title=settings.title, update_title=None, serve_locally=True, compress=False,
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = lazy_assets.index_string(app.index_string, app.config.requests_pathname_prefix)
    app.server.config[CONTEXT_KEY] = ctx
    ctx.server = app.server
    from console.services import replica

    replica.install(ctx, settings.replica_url, settings.replica_max_lag_s)  # the wall's reads (docs/deploy.md)
    ctx.warm_done = threading.Event()
    # The gate first: its before_request runs ahead of every route and Dash endpoint registered below.
    from console.security.web import install as install_security

    gate = security_settings or SecuritySettings.from_env()
    # POST /api/events authenticates each source system by its own (hashed, rotatable) key, not a session.
    gate = replace(gate, public_paths=tuple(dict.fromkeys((*gate.public_paths, *INGEST_PUBLIC_PATHS))),
                   media_sources=tuple(dict.fromkeys((*gate.media_sources, *video.origins()))))
    ctx.security = install_security(app.server, ctx.sessions, gate)
    from console.routes import blueprint, ingest, open311, video as video_routes

    app.server.register_blueprint(blueprint)
    compress.install(app.server)
    open311.register(app.server)
    from console.routes import status as status_route

    status_route.register(app.server)
    views.start_cache_sync(ctx)  # logs the spatial path; on PostgreSQL follows the other nodes (docs/deploy.md)
    from console.routes import field, field_followups, field_tasks, mobile

    field.register(app.server, ctx.security)  # the phone app's sync API and the app itself (docs/field.md)
    field_tasks.register(app.server, ctx.security)
    field_followups.register(app.server, ctx.security)
    mobile.register(app.server, ctx.security)
    video_routes.register(app.server, video, ctx.security)
    from console.security.web import static_headers

    ingest.register(app.server, engine, sweep=settings.warm_cache,  # background sweeps only in real runs
                    headers=static_headers(gate), per_minute=settings.ingest_per_minute, burst=settings.ingest_burst)
    app.layout = lambda: _shell(settings)  # per request: the nav depends on who is logged in; the overview\'s first view comes filled in
    _register_shell_callbacks(app)
    from console.pages import _dispute_import, _search, _unmask

    _unmask.register(app)  # 「显示完整号码」, shared by several pages
    _dispute_import.register(app)  # the 台账 import panel of the dispute page
    _search.register(app)  # the overview map's search box
    # Dash hands the globally registered page callbacks to whichever app serves its first request;
    # claim them now so that several apps in one process (tests, a second window) each get their own.
    with app.server.app_context():
        app._setup_server()
    from console.pages import _gate

    _gate.install(app, ctx.security)  # every route, callback and page looked up in the one permission table
    if settings.warm_cache:
        _warm(ctx, compress.first_view_files(app, lazy_assets.ON_DEMAND_URLS))
    return app
