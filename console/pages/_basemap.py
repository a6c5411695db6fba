"""The console's offline basemap and the product's own attribution, shared by every page with a map.

Not a page (the leading underscore keeps Dash from registering it), so pages import it directly.
"""

from __future__ import annotations

import dash_leaflet as dl
from dash_extensions.javascript import Namespace

from console.pages._overview_ids import ID
from console.services.context import current_context

NS = Namespace("pingan", "map")
BASEMAP = ("provinces", "cities", "rivers", "counties", "outline")


def attribution() -> dl.AttributionControl:
    """Leaflet's attribution replaced by the product's (maps are built with attributionControl=False)."""
    return dl.AttributionControl(prefix=current_context().settings.attribution, position="bottomright")


def basemap_layers() -> list:
    """Offline context drawn from shipped data (the dark theme inverts it in CSS, no re-download)."""
    ctx = current_context()
    out = []
    if ctx.settings.tile_url:
        if ctx.settings.tile_kind == "wms":
            out.append(dl.WMSTileLayer(url=ctx.settings.tile_url, layers=ctx.settings.wms_layers, format="image/png",
                                       transparent=True, attribution=ctx.settings.attribution))
        else:
            out.append(dl.TileLayer(url=ctx.settings.tile_url, attribution=ctx.settings.attribution))
    shown = BASEMAP if not ctx.settings.tile_url else ("outline", "counties")
    for name in shown:
        # one pane per context layer: canvas draw order must not depend on which download finishes first
        out.append(dl.Pane(name=f"pa-base-{name}", children=[
            dl.GeoJSON(id={"type": ID.BASEMAP, "name": name}, url=f"/api/basemap/{name}.geojson", interactive=False,
                       style=NS("basemapStyle"), hideout={"kind": name}, pane=f"pa-base-{name}")]))
    return out
