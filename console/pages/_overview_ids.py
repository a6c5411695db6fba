"""Component ids of the 总览 page, in one place."""


class ID:
    AREA = "ov-area"  # requested area code (store)
    RESOLVED = "ov-resolved"  # the area actually shown (store)
    MESSAGE = "ov-message"
    CRUMBS = "ov-crumbs"
    CRUMB = "ov-crumb"  # pattern-matching type: {"type": CRUMB, "code": ...}
    HEADING = "ov-heading"
    MAP = "ov-map"
    BASEMAP = "ov-basemap"  # pattern-matching type: {"type": BASEMAP, "name": ...}
    AREAS = "ov-layer-areas"
    OVERLAY = "ov-overlay"  # pattern-matching type: {"type": OVERLAY, "key": ...}
    OVERLAY_URLS = "ov-overlay-urls"  # the point/outline layers' URLs, in OVERLAY_KEYS order (store)
    LAYER_SWITCH = "ov-layer-switch"
    CHORO_BOX = "ov-choro-box"  # the 实有人口 choropleth's 按人数 / 按密度 switch, shown while it is drawn
    CHORO_MODE = "ov-choro-mode"
    LEGEND = "ov-legend"
    KPIS = "ov-kpis"
    TREND = "ov-trend"
    BREAKDOWN = "ov-breakdown"
    CHART_AREA = "ov-chart-area"  # the area the charts show: set after the map of a step is painted (store)
    CHART_FIGURES = "ov-chart-figures"  # {TREND: figure, BREAKDOWN: figure} for the clientside Plotly draw
    CHART_DRAWN = "ov-chart-drawn"  # when the charts were last drawn (store; the draw's output)
    KPIS_HTML = "ov-kpis-html"  # the KPI panel as escaped HTML (store; see pages/_static_html.py)
    LEGEND_HTML = "ov-legend-html"  # the legend as escaped HTML (store)
    PANELS_DRAWN = "ov-panels-drawn"  # output of the clientside callback that puts those two in place (store)
    PREFETCH = "ov-prefetch"  # what was fetched ahead (store; output of the prefetch callback)
    TABLE_AREA = "ov-table-area"  # the grid whose table is shown, None above grid level (store)
    TABLE_BOX = "ov-table-box"
    TABLE_TABS = "ov-table-tabs"
    TABLE = "ov-table"
    TABLE_NOTE = "ov-table-note"


# KPI number elements carry these ids so tests and the benchmark can read them.
KPI = {
    "residents": "kpi-residents", "registered": "kpi-registered", "floating": "kpi-floating",
    "foreign": "kpi-foreign", "households": "kpi-households", "grids": "kpi-grids", "workers": "kpi-workers",
    "special": "kpi-special", "mental_alert": "kpi-mental-alert", "disputes_open": "kpi-disputes-open",
    "disputes_closed_month": "kpi-disputes-closed-month", "resolution_rate": "kpi-resolution-rate",
    "disputes_overdue": "kpi-disputes-overdue", "camera_rate": "kpi-camera-rate", "children": "kpi-children",
    "area": "kpi-area",
}
