"""Layout pieces of the 网格规划 page (ids in `_planner_ids`); the page module holds the callbacks."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_leaflet as dl
from dash import dcc, html
from dash_extensions.javascript import Namespace

from console.pages._grid_locale import GRID_LOCALE
from console.pages._basemap import attribution, basemap_layers
from console.pages._planner_ids import ID
from console.planner.importing import ENCODING_OPTIONS

PL = Namespace("pingan", "planner")

CRS_OPTIONS = [{"label": "按文件（无坐标系时必须选择）", "value": ""}, {"label": "WGS84 (EPSG:4326)", "value": "WGS84"},
               {"label": "CGCS2000 (EPSG:4490)", "value": "CGCS2000"}, {"label": "GCJ-02（高德/腾讯）", "value": "GCJ02"}]
EXPORT_FORMATS = [{"label": "GeoJSON", "value": "geojson"}, {"label": "Shapefile (zip)", "value": "shp"},
                  {"label": "GeoPackage", "value": "gpkg"}]

TABLE_COLUMNS = [
    # the name first and whole (the code on hover, and last); numbers narrow: nothing cut off at 1920 px
    {"field": "name", "headerName": "网格", "width": 165, "pinned": "left", "tooltipField": "code"},
    {"field": "households", "headerName": "户数", "width": 64, "type": "numericColumn"},
    {"field": "residents", "headerName": "人口", "width": 64, "type": "numericColumn"},
    {"field": "deviation", "headerName": "偏差%", "width": 72, "type": "numericColumn"},
    {"field": "status", "headerName": "状态", "width": 72,
     "cellClassRules": {"pa-pl-bad": "params.data.status_key !== 'ok' && params.data.status_key !== 'special'"}},
    {"field": "area_km2", "headerName": "面积km²", "width": 80, "type": "numericColumn"},
    {"field": "problems", "headerName": "问题", "flex": 1, "minWidth": 90, "cellClassRules": {"pa-pl-error": "!!params.value"}},
    {"field": "code", "headerName": "网格编码", "width": 150},
]
PAIR_COLUMNS = [{"field": "from_name", "headerName": "原网格", "minWidth": 160, "tooltipField": "from"},
                {"field": "to_name", "headerName": "新网格", "minWidth": 160, "tooltipField": "to"},
                {"field": "household", "headerName": "户"}, {"field": "person", "headerName": "人"},
                {"field": "special", "headerName": "特殊人群"}, {"field": "dispute", "headerName": "在办纠纷"},
                {"field": "camera", "headerName": "摄像头"}]
WORKER_COLUMNS = [{"field": "grid_name", "headerName": "网格", "minWidth": 160, "tooltipField": "grid"}, {"field": "workers", "headerName": "网格员", "minWidth": 120},
                  {"field": "gain", "headerName": "增加户数"}, {"field": "loss", "headerName": "减少户数"},
                  {"field": "net", "headerName": "净变化"}]
HISTORY_COLUMNS = [{"field": "id", "headerName": "版本", "width": 70},
                   {"field": "when", "headerName": "时间（北京）", "width": 150}, {"field": "created_by", "headerName": "提交人", "width": 100},
                   {"field": "reason", "headerName": "原因", "flex": 1}, {"field": "note", "headerName": "", "width": 90}]


def _button(label: str, id_: str, light: bool = False) -> html.Button:
    return html.Button(label, id=id_, n_clicks=0, className="pa-btn pa-btn-light" if light else "pa-btn")


def _grid(id_: str, columns: list, height: str, row_id: str, multi: bool = False, fit: bool = False) -> dag.AgGrid:
    mode = "multiRow" if multi else "singleRow"
    fitting = {"flex": 1, "minWidth": 64} if fit else {}
    return dag.AgGrid(id=id_, rowData=[], columnDefs=columns, className="ag-theme-alpine pa-grid",
                      style={"height": height}, getRowId=row_id,
                      defaultColDef={"resizable": True, "sortable": True, **fitting},
                      dashGridOptions={"localeText": GRID_LOCALE, "rowSelection": {"mode": mode, "checkboxes": True, "headerCheckbox": False,
                                                       "enableClickSelection": False}, "animateRows": False})


def map_panel() -> html.Div:
    leaflet = dl.Map(id=ID.MAP, preferCanvas=True, attributionControl=False, center=[32.7, 109.0], zoom=9,
                     style={"height": "100%", "width": "100%"}, children=[
        *basemap_layers(),
        dl.GeoJSON(id=ID.OUTLINE, data=None, interactive=False, style=PL("outlineStyle")),
        dl.GeoJSON(id=ID.GRIDS, data=None, style=PL("gridStyle"), onEachFeature=PL("gridEach"),
                   hideout={"selected": None}),
        # a past version over the draft (drawn under it, its lines were hidden by the draft's own)
        dl.GeoJSON(id=ID.PAST, data=None, interactive=False, style=PL("pastStyle")),
        dl.GeoJSON(id=ID.HOUSEHOLDS, data=None, interactive=False, pointToLayer=PL("householdPoint")),
        dl.GeoJSON(id=ID.PROBLEMS, data=None, interactive=False, style=PL("problemStyle"),
                   pointToLayer=PL("unassignedPoint")),
        html.Div(id=ID.EDIT_BOX),
        attribution(),
    ])
    return html.Div(leaflet, className="pa-pl-map")


def tools_panel() -> html.Div:
    return html.Div(className="pa-pl-tools", children=[
        html.Div(className="pa-pl-row", children=[
            _button("撤销", ID.UNDO, True), _button("重做", ID.REDO, True), _button("合并所选", ID.MERGE),
            _button("删除所选", ID.DELETE), _button("重新开始", ID.RESTART, True)]),
        html.P("地图工具：点击网格选中后可拖动其顶点调整边界；多边形工具新建网格；折线工具沿线拆分网格；"
               "删除工具删除选中网格（面积并入相邻网格）。手绘边界在 5 米内自动吸附到村界和相邻网格。",
               className="pa-pl-hint"),
        dcc.Tabs(id=ID.TABS, value="grids", className="pa-pl-tabs", children=[
            dcc.Tab(label="网格均衡", value="grids", children=[
                html.Div(id=ID.SUMMARY, className="pa-pl-summary"),
                _grid(ID.TABLE, TABLE_COLUMNS, "24rem", "params.data.rid", multi=True),
                html.Ul(id=ID.PROBLEM_LIST, className="pa-pl-problems")]),
            dcc.Tab(label="自动方案", value="propose", children=[
                html.P("按住户分布自动划分：网格连片、紧凑、相互不重叠且完整覆盖本村（社区），户数落在标准区间内。"),
                html.Div(className="pa-pl-row", children=[
                    dcc.Input(id=ID.K, type="number", min=1, max=999, step=1, placeholder="网格数（空=按标准自动）",
                              className="pa-input"),
                    _button("生成方案", ID.PROPOSE)])]),
            dcc.Tab(label="导入导出", value="io", children=[
                dcc.Upload(id=ID.UPLOAD, className="pa-pl-upload", max_size=20 * 1024 * 1024,
                           children=html.Div(["拖入或点击选择文件：GeoJSON、Shapefile（zip）、GeoPackage"])),
                html.Div(id=ID.UPLOAD_NAME, className="pa-pl-hint"),
                html.Div(className="pa-pl-row", children=[
                    dcc.Dropdown(id=ID.LAYER, options=[], value=None, placeholder="图层（多图层文件时选择）",
                                 className="pa-pl-dd"),
                    dcc.Dropdown(id=ID.ENCODING, options=ENCODING_OPTIONS, value="", clearable=False,
                                 className="pa-pl-dd", optionHeight=48),
                    dcc.Dropdown(id=ID.CRS, options=CRS_OPTIONS, value="", clearable=False, className="pa-pl-dd")]),
                html.Div(className="pa-pl-row", children=[
                    dcc.Checklist(id=ID.PARTIAL, value=[], className="pa-pl-hint",
                                  options=[{"label": " 部分导入：跳过有问题的要素（无几何、无编码等），只导入其余要素",
                                            "value": "partial"}]),
                    _button("导入为草稿", ID.IMPORT)]),
                html.Div(className="pa-pl-row", children=[
                    dcc.Dropdown(id=ID.EXPORT_FMT, options=EXPORT_FORMATS, value="geojson", clearable=False,
                                 className="pa-pl-dd"),
                    dcc.Dropdown(id=ID.EXPORT_CRS, options=CRS_OPTIONS[1:], value="WGS84", clearable=False,
                                 className="pa-pl-dd"),
                    _button("导出草稿", ID.EXPORT, True)]),
                dcc.Download(id=ID.DOWNLOAD)]),
            dcc.Tab(label="预览提交", value="commit", children=[
                _button("预览变更", ID.PREVIEW, True),
                html.Div(id=ID.PREVIEW_SUMMARY, className="pa-pl-summary"),
                _grid(ID.PAIRS, PAIR_COLUMNS, "10rem", "params.data.rid", fit=True),
                _grid(ID.WORKERS, WORKER_COLUMNS, "9rem", "params.data.rid", fit=True),
                dcc.Textarea(id=ID.REASON, placeholder="调整原因（必填）", className="pa-pl-reason"),
                _button("提交为新版本", ID.COMMIT)]),
            dcc.Tab(label="版本历史", value="history", children=[
                _grid(ID.HISTORY, HISTORY_COLUMNS, "14rem", "params.data.rid"),
                html.Div(className="pa-pl-row", children=[
                    _button("在地图上查看", ID.VIEW_GEN, True), _button("以此版本开始草稿", ID.RESTORE, True),
                    _button("回退到此版本", ID.ROLLBACK)]),
                # 回退 shows what it would change first; only 确认回退 commits
                html.Div(id=ID.ROLLBACK_PREVIEW, className="pa-pl-summary"),
                html.Button("确认回退", id=ID.ROLLBACK_CONFIRM, n_clicks=0, className="pa-btn",
                            style={"display": "none"})]),
        ]),
    ])
