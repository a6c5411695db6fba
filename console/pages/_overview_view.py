"""What one 总览 step shows beside the polygons' click: the resolved area, breadcrumb, heading, viewport, the
child polygons, hideouts, point-layer URLs, legend and KPI panel — for the page's first view (`overview.layout`)
and for every drill step (`overview.show_area`) alike."""

from __future__ import annotations

from dataclasses import dataclass

from dash import html, no_update

from console.services import choropleth
from console.services import permissions as perm
from console.services import views
from console.services.layers import LAYERS, OVERLAY_KEYS

from console.pages import _widgets as w
from console.pages._static_html import to_html


def overlay_hideout(key: str, dark: bool) -> dict:
    return dict(LAYERS[key].hideout, detailUrl=f"/api/layers/{key}/", dark=dark)


def default_layers(viewer) -> list[str]:
    return [k for k in OVERLAY_KEYS if viewer.can(LAYERS[k].permission) and LAYERS[k].default_on]

def overlay_url(key: str, node, on: list[str], viewer) -> str | None:
    layer = LAYERS[key]
    if key not in on or not viewer.can(layer.permission) or not layer.available(node):
        return None
    if key == "population" and node.level not in ("village", "grid"):
        return None  # drawn as a choropleth of the area polygons instead
    return f"/api/layers/{key}.geojson?area={node.code}"


def _changed(new, old):
    """A new hideout makes dash-leaflet rebuild the layer: send one only when it differs."""
    return no_update if new == old else new


@dataclass(frozen=True)
class AreaView:
    """Everything one drill step shows on the map side (the outputs of `show_area`, the layout's first view)."""
    code: str
    crumbs: object
    heading: object
    message: object
    viewport: dict
    areas: object  # GeoJSON of the children (or no_update)
    area_hide: object
    urls: list
    overlay_hides: list
    legend: object  # escaped HTML (or no_update)
    kpis: object  # escaped HTML (or no_update)
    choro_style: dict  # the 按人数 / 按密度 switch: shown while the choropleth is


def choropleth_view(ctx, viewer, node, on, mode) -> tuple[dict, list | None]:
    """(hideout additions, legend bands) of the 实有人口 choropleth, or ({"mode": "plain"}, None) when it is not
    drawn (layer off, village or grid level, no permission). `mode`: "residents" or "density" (人/平方公里)."""
    if "population" not in (on or []) or node.level in ("village", "grid") or not viewer.can(perm.LAYER_POPULATION):
        return {"mode": "plain"}, None
    mode = choropleth.mode_of(mode)
    feats = views.layer_json(ctx, viewer, "areas", node)["features"]
    brk = choropleth.breaks([f["properties"].get(mode, 0) for f in feats])
    return {"mode": mode, "breaks": brk, "colors": list(choropleth.COLORS)}, choropleth.bands(brk)


def area_view(ctx, viewer, requested, on, dark: bool, *, mode: str | None = None, area_hide_now=None,
              overlay_hides_now=None, area_changed: bool = True, legend: bool = True) -> AreaView:
    """The step for `requested` (resolved within the viewer's scope). Parts that did not change are no_update:
    the polygons and KPIs unless the area changed, hideouts equal to the current ones, the legend unless asked
    (or the choropleth's bands changed with the area)."""
    res = views.resolve_area(ctx, viewer, requested)
    node = res.node
    area_hide = {"dark": dark, "selected": node.code if node.level == "grid" else None}
    choro, bands = choropleth_view(ctx, viewer, node, on, mode)
    area_hide.update(choro)
    legend = legend or bands is not None or area_changed
    hides_now = overlay_hides_now or [None] * len(OVERLAY_KEYS)
    return AreaView(
        code=node.code,
        crumbs=w.breadcrumb(views.trail(ctx, viewer, node), node.code),
        heading=[html.Span(node.name), html.Small(node.level_label + (" · 边界为模拟数据" if node.synthetic else ""))],
        message=html.Div(res.message, className="pa-alert") if res.message else None,
        viewport={"bounds": node.bounds, "transition": "fitBounds", "options": {"animate": False, "padding": [20, 20]}},
        areas=views.layer_json(ctx, viewer, "areas", node) if area_changed else no_update,
        area_hide=_changed(area_hide, area_hide_now),
        urls=[overlay_url(k, node, on or [], viewer) for k in OVERLAY_KEYS],
        overlay_hides=[_changed(overlay_hideout(k, dark), old) for k, old in zip(OVERLAY_KEYS, hides_now)],
        legend=to_html(w.legend([k for k in OVERLAY_KEYS if k in (on or [])], bands=bands,
                                unit=choropleth.MODES[choro["mode"]][1] if bands else "")) if legend else no_update,
        kpis=to_html(kpi_panel(ctx, viewer, node)) if area_changed else no_update,
        choro_style={"display": "block"} if bands is not None else {"display": "none"},
    )


def kpi_panel(ctx, viewer, node) -> list:
    if not viewer.can(perm.VIEW_KPI):
        return [html.Div("无权查看统计数据", className="pa-alert")]
    k = views.area_kpis(ctx, viewer, node)
    return w.kpi_widgets(k, views.child_count(ctx, node), node.child_level)
