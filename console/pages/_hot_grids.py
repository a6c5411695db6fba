"""热点网格 on the 统计研判 page: a ranked list (grid, its village and town, count, change) beside a map that
highlights the grids; a click on a row flies the map to that grid (the callbacks are dispute_stats.py's).
Not a page (leading underscore); the ranking is console/disputes/hotgrids.py."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_leaflet as dl
from dash import html
from dash_extensions.javascript import Namespace
from sqlalchemy import select

from console.pages._basemap import attribution, basemap_layers
from console.pages._grid_locale import GRID_LOCALE
from console.services import geo
from console.services.areas import current_grid_clause
from console.store.areas import Grid

NS = Namespace("pingan", "hot")  # assets/pingan_hot.js
CITY_BOUNDS = [[31.7, 108.0], [33.8, 110.2]]


class ID:
    TABLE = "ds-hot-table"
    MAP = "ds-hot-map"
    LAYER = "ds-hot-layer"
    NOTE = "ds-hot-note"


COLUMNS = [
    {"field": "rank", "headerName": "排名", "width": 70},
    {"field": "grid", "headerName": "网格", "flex": 2, "minWidth": 150, "tooltipField": "code"},
    {"field": "place", "headerName": "所在（县 · 镇 · 村）", "flex": 3, "minWidth": 220},
    {"field": "count", "headerName": "件数", "width": 80},
    {"field": "change_text", "headerName": "较上期", "width": 150},
]


def panel() -> html.Div:
    table = dag.AgGrid(id=ID.TABLE, rowData=[], columnDefs=COLUMNS, className="pa-hot-table",
                       getRowId="params.data.code", style={"height": "22rem"},
                       dashGridOptions={"localeText": GRID_LOCALE, "rowSelection": {"mode": "singleRow",
                                        "checkboxes": False, "enableClickSelection": True}},
                       defaultColDef={"sortable": True, "resizable": True})
    leaflet = dl.Map(id=ID.MAP, bounds=CITY_BOUNDS, minZoom=6, maxZoom=18, zoomSnap=0.25, preferCanvas=True,
                     center=[(CITY_BOUNDS[0][0] + CITY_BOUNDS[1][0]) / 2, (CITY_BOUNDS[0][1] + CITY_BOUNDS[1][1]) / 2],
                     zoom=8,  # with `bounds`: dash-leaflet's viewport tracking reads center and zoom on each move
                     attributionControl=False, style={"height": "22rem"}, children=[
                         attribution(), *basemap_layers(),
                         dl.GeoJSON(id=ID.LAYER, style=NS("hotStyle"), onEachFeature=NS("hotEach"),
                                    hideout={"selected": None})])
    return html.Div(className="pa-hot", children=[
        html.H4("热点网格（本期纠纷重复发生的网格，点击一行在地图上查看）"),
        html.Div(id=ID.NOTE, className="pa-table-note"),
        html.Div(className="pa-hot-body", children=[html.Div(table, className="pa-hot-list"),
                                                     html.Div(leaflet, className="pa-hot-map")])])


def rows_for_table(rows: list[dict]) -> list[dict]:
    return [{"rank": r["rank"], "code": r["code"], "grid": r["grid"], "place": " · ".join(p for p in (r["county"], r["town"], r["village"]) if p),
             "count": r["count"], "change_text": r["change_text"], "bounds": r["bounds"]} for r in rows]


def features(session, rows: list[dict]) -> dict:
    """The hot grids as drawn today, each with its rank and count (colour deepens with the rank)."""
    by_code = {r["code"]: r for r in rows}
    feats = []
    if by_code:
        stmt = select(Grid.code, Grid.geom_wkb).where(Grid.code.in_(list(by_code)), current_grid_clause())
        for code, blob in session.execute(stmt):
            r = by_code[code]
            feats.append(geo.feature(geo.wkb_to_geometry(blob, "grid"), {
                "code": code, "rank": r["rank"], "count": r["count"], "name": r["grid"], "of": len(rows)}, code))
    return geo.collection(feats)


def extent(rows: list[dict]) -> list:
    """The bounds of all hot grids (the city when there are none)."""
    boxes = [r["bounds"] for r in rows if r.get("bounds")]
    if not boxes:
        return CITY_BOUNDS
    return [[min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)],
            [max(b[1][0] for b in boxes), max(b[1][1] for b in boxes)]]
