"""What one view needs, cached per (area, viewer scope/permissions). Used by routes and callbacks alike."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from console.services.layers import LAYERS
from console.services.layers.population import choropleth_breaks

from . import cluster, cube, geo, kpis, quality, quality_store
from .areas import AreaNode, Resolved, breadcrumb, children, resolve
from .context import AppContext
from .viewer import Viewer


def scope_key(viewer: Viewer) -> tuple:
    """What KPIs and bulk layers depend on: the viewer's scope only. The permission to see them is checked
    before the cache is read (callbacks, routes), so every account with the same scope shares one result."""
    return tuple(sorted(viewer.scope.codes))


def resolve_area(ctx: AppContext, viewer: Viewer, code: str | None) -> Resolved:
    def compute():
        with ctx.session() as s:
            return resolve(s, viewer.scope, code)
    return ctx.geo_cache.get_or_set(("resolve", code, viewer.cache_key), compute)


def trail(ctx: AppContext, viewer: Viewer, node: AreaNode) -> list[AreaNode]:
    def compute():
        with ctx.session() as s:
            return breadcrumb(s, node, viewer.scope)
    return ctx.geo_cache.get_or_set(("trail", node.code, node.within, scope_key(viewer)), compute)


_cube_lock = threading.Lock()


def city_cube(ctx: AppContext, now: datetime | None = None):
    """The per-grid counts of the whole city (one pass per table), rebuilt when older than the KPI cache time.
    Single-flight: concurrent first requests wait for one build instead of each scanning the tables."""
    with _cube_lock:
        def compute():
            t = now or datetime.now()
            with ctx.session() as s:
                return cube.build_cube(s, t, kpis.months_back(t, kpis.TREND_MONTHS - 1), kpis.month_start(t))
        return ctx.kpi_cache.get_or_set(("cube",), compute)


_quality_lock = threading.Lock()


def quality_cube(ctx: AppContext):
    """The per-grid data-quality counts of the whole city (console/services/quality.py): the cube stored in the
    database (quality_store.py), refreshed in the background when older than MAX_AGE; built here only when none
    is stored. Cached in memory like the KPI cube, one request at a time."""
    with _quality_lock:
        def compute():
            with ctx.session() as s:
                stored = quality_store.load_cube(s)
            if stored is None:  # never refreshed: counted here, the identity numbers checked in the background
                built = quality_store.refresh(ctx.session, verify=False)
                quality_refresher(ctx).request(("person",))
                return built
            if datetime.now() - stored.built_at > quality_store.MAX_AGE:
                quality_refresher(ctx).request()
            return stored
        return ctx.kpi_cache.get_or_set(("quality-cube",), compute)


_refreshers: dict[int, quality_store.Refresher] = {}
_refreshers_lock = threading.Lock()


def quality_refresher(ctx: AppContext) -> quality_store.Refresher:
    """The background refresh of the stored quality cube, one per database."""
    with _refreshers_lock:
        found = _refreshers.get(id(ctx.engine))
        if found is None or found.sessions != ctx.session:
            found = quality_store.Refresher(ctx.session, on_done=lambda _cube: ctx.kpi_cache.drop(("quality-cube",)))
            _refreshers[id(ctx.engine)] = found
        return found


def records_changed(ctx: AppContext, tables=None) -> None:
    """After records were saved in bulk (a ledger import): the next view recounts instead of showing the
    cached counts of up to five minutes ago — on every console node (console/services/cluster.py)."""
    _records_changed_here(ctx)
    quality_refresher(ctx).request(tables)  # the stored quality cube is recounted in the background, by this node
    cluster.publish(ctx, "records")


def _records_changed_here(ctx: AppContext) -> None:
    ctx.kpi_cache.drop(("cube",))
    ctx.kpi_cache.drop(("quality-cube",))


def boundaries_changed(ctx: AppContext) -> None:
    """After a grid commit: drop cached geometry and counts, and rebuild the city counts in the background so
    that the next view does not pay for the whole build — on every console node."""
    quality_refresher(ctx).request()  # records moved to other grids: the stored quality cube is recounted
    _boundaries_changed_here(ctx)
    cluster.publish(ctx, "boundaries")


def start_cache_sync(ctx: AppContext) -> None:
    """Log what this node uses and, on PostgreSQL, follow the other nodes' invalidations (docs/deploy.md)."""
    def drop_all():
        ctx.geo_cache.clear()
        ctx.kpi_cache.clear()
    cluster.start(ctx, {"boundaries": lambda: _boundaries_changed_here(ctx),
                        "records": lambda: _records_changed_here(ctx)}, drop_all)


def _boundaries_changed_here(ctx: AppContext) -> None:
    from console.store import grid_locator

    grid_locator.forget()  # the locator of this process holds the old grids
    ctx.geo_cache.clear()
    ctx.kpi_cache.clear()
    threading.Thread(target=lambda: (city_cube(ctx), quality_cube(ctx)), name="pingan-cube-rebuild",
                     daemon=True).start()


def area_kpis(ctx: AppContext, viewer: Viewer, node: AreaNode, now: datetime | None = None) -> dict:
    data = city_cube(ctx, now)

    def compute():
        with ctx.session() as s:
            return kpis.from_cube(s, data, node, viewer.scope)
    return ctx.kpi_cache.get_or_set(("kpis", node.code, node.within, scope_key(viewer), id(data)), compute)


def residents_by_child(ctx: AppContext, viewer: Viewer, node: AreaNode) -> dict:
    return area_kpis(ctx, viewer, node)["residents"]["by_child"]


def layer_bytes(ctx: AppContext, viewer: Viewer, key: str, node: AreaNode) -> bytes:
    """The layer's GeoJSON for the area, serialised (the caller has checked the permission)."""
    layer = LAYERS[key]

    def compute():
        counts = None
        if key == "areas":
            parent_node = node
            if node.level == "grid":
                parent_node = resolve_area(ctx, viewer, node.parent_code).node
            counts = residents_by_child(ctx, viewer, parent_node)
        with ctx.session() as s:
            data = layer.build(s, viewer.scope, node, counts=counts, max_points=ctx.settings.max_points)
        return geo.dumps(data)
    return ctx.geo_cache.get_or_set(("layer", key, node.code, node.within, scope_key(viewer)), compute)


def layer_json(ctx: AppContext, viewer: Viewer, key: str, node: AreaNode) -> dict:
    """The layer's GeoJSON as a dict, for a Dash callback to send inline (an empty collection without the
    layer's permission: the same rule as the /api/layers route)."""
    if not viewer.can(LAYERS[key].permission):
        return geo.collection([])
    return ctx.geo_cache.get_or_set(("layer-json", key, node.code, node.within, scope_key(viewer)),
                                    lambda: json.loads(layer_bytes(ctx, viewer, key, node)))


def warm_children(ctx: AppContext, viewer: Viewer, node: AreaNode, layer_keys: tuple[str, ...]) -> int:
    """Fill the caches for each child of `node` (KPIs, breadcrumb, child count, the given layers): the first
    click into any of them is then answered from memory. Returns the number of children warmed."""
    with ctx.session() as s:
        kids = children(s, node)
    for child in kids:
        area_kpis(ctx, viewer, child)
        trail(ctx, viewer, child)
        child_count(ctx, child)
        for key in layer_keys:
            if key == "areas":
                layer_json(ctx, viewer, key, child)  # sent inline by the overview's area callback
            elif viewer.can(LAYERS[key].permission) and LAYERS[key].available(child):
                layer_bytes(ctx, viewer, key, child)
    return len(kids)


def population_hideout(counts: dict) -> dict:
    return {"breaks": choropleth_breaks(list(counts.values()))}


def child_count(ctx: AppContext, node: AreaNode) -> int:
    def compute():
        with ctx.session() as s:
            return len(children(s, node))
    return ctx.geo_cache.get_or_set(("children", node.code, node.within), compute)
