"""统计研判: counts by category × area × month, resolution / overdue rates, average handling time,
trend, hot spots on a map, 月报 (Excel and printable) and 零报告. Thin callbacks over console.disputes.stats."""

from __future__ import annotations

from datetime import date, datetime

import dash
import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from console.pages import _hot_grids as hot
from console.pages import _widgets as w
from console.store import names as area_names
from console.pages._grid_locale import GRID_LOCALE
from console.disputes import hotgrids, report, service, stats
from console.disputes import ui
from console.security.masking import watermark_text
from console.services.context import current_context
from console.services import viewer as viewers

dash.register_page(__name__, path="/disputes/stats", title="平安一张图 · 纠纷研判", name="纠纷研判")


GRAPH_CONFIG = {"displaylogo": False, "locale": "zh-CN"}  # assets/vendor/plotly-locale-zh-cn.js


class ID:
    AREA, DATES, RUN = "ds-area", "ds-dates", "ds-run"
    KPIS, TREND, CATS, CROSS, ZERO = "ds-kpis", "ds-trend", "ds-cats", "ds-cross", "ds-zero"
    XLSX, PRINT, DOWNLOAD, PRINT_BOX = "ds-xlsx", "ds-print", "ds-download", "ds-print-box"


def _default_period() -> tuple[date, date]:
    today = date.today()
    return date(today.year - 1, today.month, 1), today


def layout(**_query):
    since, until = _default_period()
    return html.Div([
        dcc.Download(id=ID.DOWNLOAD),
        html.H2("矛盾纠纷统计研判", style={"margin": ".2rem 0"}),
        html.Div(style=ui.ROW, children=[
            dcc.Input(id=ID.AREA, placeholder="区划（如 紫阳县；空=全部）", style={**ui.INPUT, "width": "11rem"}),
            dcc.DatePickerRange(id=ID.DATES, display_format="YYYY-MM-DD", start_date=since.isoformat(),
                                end_date=until.isoformat()),
            html.Button("统计", id=ID.RUN, n_clicks=0, style=ui.BUTTON),
            html.Button("导出月报（Excel）", id=ID.XLSX, n_clicks=0, style=ui.BUTTON_LIGHT),
            html.Button("打印版月报", id=ID.PRINT, n_clicks=0, style=ui.BUTTON_LIGHT),
            dcc.Link("← 返回台账", href="/disputes"),
        ]),
        html.Div(id=ID.KPIS, style={**ui.ROW, "gap": "1rem"}),
        html.Div(style={"display": "flex", "gap": "1rem", "flexWrap": "wrap"}, children=[
            dcc.Graph(id=ID.TREND, style={"flex": "1 1 40rem", "height": "20rem"}, config=GRAPH_CONFIG),
            dcc.Graph(id=ID.CATS, style={"flex": "1 1 26rem", "height": "20rem"}, config=GRAPH_CONFIG),
        ]),
        html.Div(children=[html.H4("类别 × 地区"), dag.AgGrid(
            id=ID.CROSS, rowData=[], columnDefs=[], style={"height": "18rem"},
            dashGridOptions={"localeText": GRID_LOCALE}, defaultColDef={"sortable": True, "resizable": True, "width": 95})]),
        hot.panel(),  # 热点网格: ranked list + map
        html.Div(id=ID.ZERO, style=ui.PANEL),
        html.Iframe(id=ID.PRINT_BOX, style={"display": "none", "width": "100%", "height": "40rem",
                                            "border": "1px solid var(--pa-line)", "background": "#fff"}),
    ])


class PeriodError(ValueError):
    """A statistics period that cannot be used; the message names the field (shown to the user)."""


def _day(value, label: str) -> date:
    if not value:
        raise PeriodError(f"请选择{label}")
    try:
        return date.fromisoformat(value[:10])
    except (TypeError, ValueError):  # not text, or text that is no date
        shown = f"“{value[:20]}”" if isinstance(value, str) else "的不是日期"
        raise PeriodError(f"{label}应为 年-月-日（如 2026-11-01），收到{shown}") from None


def _period(since, until) -> stats.Period:
    start, end = _day(since, "开始日期"), _day(until, "结束日期")
    if end < start:
        raise PeriodError(f"结束日期 {end:%Y-%m-%d} 早于开始日期 {start:%Y-%m-%d}")
    return stats.Period(start, end)


def _compute(area, since, until):
    viewer = viewers.current_viewer()
    if area is not None and not isinstance(area, str):
        raise PeriodError("区划应为名称或代码")
    period = _period(since, until)
    with current_context().session() as s:
        area = area_names.area_code(s, area)  # a name ("紫阳县") or a code
        summary = stats.statistics(s, viewer.scope, period, datetime.now(), area)
        names = stats.area_names(s, summary["by_area"])
        spots = hotgrids.hot_grids(s, viewer.scope, period, area)
        zero = stats.zero_report(s, viewer.scope, period, area)
        full = area_names.path_names(s, [z["code"] for z in zero])
        for z in zero:  # three villages are called 西关社区: name them with their county and town
            z["full_name"] = full.get(z["code"], z["name"])
    return viewer, period, summary, names, spots, zero


def _kpi(label, value):
    return html.Div([html.Div(label, style=ui.LABEL), html.Div(value, style={"fontSize": "1.5rem", "fontWeight": 700})],
                    style={**ui.PANEL, "minWidth": "9rem"})


def _trend(summary):
    months = sorted(set(summary["by_month"]) | set(summary["closed_by_month"]))
    new = [sum(summary["by_month"].get(m, {}).values()) for m in months]
    fig = go.Figure([go.Bar(x=months, y=new, name="新登记"),
                     go.Scatter(x=months, y=[summary["closed_by_month"].get(m, 0) for m in months], name="办结",
                                mode="lines+markers")])
    fig.update_layout(title="月度趋势", margin=dict(l=40, r=10, t=40, b=30), legend=dict(orientation="h"))
    fig.update_xaxes(type="category")  # "2026-01" is a month label, not a date ("Jan 2026")
    return fig if months else _empty(fig)


def _empty(fig):
    """No data: say so instead of drawing axes around nothing."""
    fig.update_layout(w.no_data(fig.layout.to_plotly_json()))
    return fig


def _cats(summary):
    cats = list(summary["by_category"])[::-1]
    fig = go.Figure(go.Bar(y=[stats.category_label(c) for c in cats], x=[summary["by_category"][c] for c in cats],
                           orientation="h"))
    fig.update_layout(title="分类别", margin=dict(l=90, r=10, t=40, b=30))
    return fig if cats else _empty(fig)


def _cross(summary, names):
    areas = list(summary["by_area"])
    cols = [{"field": "category", "headerName": "类别", "pinned": "left", "width": 110}] + [
        {"field": f"a{i}", "headerName": names.get(a, a or "未定位")} for i, a in enumerate(areas)]
    rows = [{"category": stats.category_label(c), **{f"a{i}": summary["cross"].get(f"{c}|{a}", 0)
                                                      for i, a in enumerate(areas)}} for c in summary["by_category"]]
    return cols, rows


@callback(Output(ID.KPIS, "children"), Output(ID.TREND, "figure"), Output(ID.CATS, "figure"),
          Output(ID.CROSS, "columnDefs"), Output(ID.CROSS, "rowData"), Output(hot.ID.TABLE, "rowData"),
          Output(hot.ID.LAYER, "data"), Output(hot.ID.MAP, "viewport"), Output(hot.ID.NOTE, "children"),
          Output(ID.ZERO, "children"),
          Input(ID.RUN, "n_clicks"), State(ID.AREA, "value"), State(ID.DATES, "start_date"),
          State(ID.DATES, "end_date"))
def run(_n, area, since, until):
    try:
        _viewer, period, summary, names, spots, zero = _compute(area, since, until)
    except (PeriodError, area_names.AreaNotFound) as exc:  # what a person typed or picked: said in words
        msg = html.Span(f"统计条件有误：{exc}", style=ui.ERROR)
        return [msg], go.Figure(), go.Figure(), [], [], [], {"type": "FeatureCollection", "features": []}, \
            dash.no_update, "", ""
    kpis = [_kpi(k, v) for k, v in report.headline(summary)]
    cols, rows = _cross(summary, names)
    items = [html.Li(z["full_name"], title=z["code"]) for z in zero[:60]]
    if len(zero) > 60:
        items.append(html.Li(f"……另有 {len(zero) - 60} 个（见导出的月报）"))
    zero_box = [html.B(f"零报告：本期（{period.label}）无新发纠纷的村（社区）{len(zero)}个"),
                html.Ul(items, className="pa-zero-list") if items else html.P("暂无数据")]
    with current_context().session() as s:
        spots = {"rows": hot.rows_for_table(spots), "map": hot.features(s, spots), "extent": hot.extent(spots)}
    note = f"共 {len(spots['rows'])} 个网格本期发生 {hotgrids.MIN_COUNT} 件以上（较上期：与前一段同样长的时间比）" \
        if spots["rows"] else "暂无数据：本期没有重复发生纠纷的网格"
    view = {"bounds": spots["extent"], "transition": "flyToBounds", "options": {"padding": [20, 20]}}
    return kpis, _trend(summary), _cats(summary), cols, rows, spots["rows"], spots["map"], view, note, zero_box


# A click on a hot grid's row flies its map there and outlines the grid (no round trip).
clientside_callback(
    """function(cell, rows) {
        const nu = window.dash_clientside.no_update;
        if (!cell || !rows) { return [nu, nu]; }
        const row = rows.find(function(r) { return r.code === cell.rowId; });
        if (!row || !row.bounds) { return [nu, nu]; }
        return [{bounds: row.bounds, transition: "flyToBounds", options: {padding: [30, 30], maxZoom: 13, duration: 0.6}},
                {selected: row.code}];
    }""",
    Output(hot.ID.MAP, "viewport", allow_duplicate=True), Output(hot.ID.LAYER, "hideout"),
    Input(hot.ID.TABLE, "cellClicked"), State(hot.ID.TABLE, "rowData"), prevent_initial_call=True,
)


@callback(Output(ID.DOWNLOAD, "data"), Input(ID.XLSX, "n_clicks"), State(ID.AREA, "value"),
          State(ID.DATES, "start_date"), State(ID.DATES, "end_date"), prevent_initial_call=True)
def monthly_xlsx(_n, area, since, until):
    viewer, period, summary, names, _spots, zero = _compute(area, since, until)
    gv = service.as_guard_viewer(viewer, current_context().sessions)
    from console.security import guard
    from console.security.permissions import EXPORT

    guard.require(gv, EXPORT, "export:dispute_report", log_grant=False)
    guard.audit(gv, "export", "export:dispute_report", guard.GRANTED, {"format": "xlsx", "period": period.label})
    data = report.workbook("安康市矛盾纠纷排查化解月报", period.label, summary, names, zero, watermark_text(gv))
    return dcc.send_bytes(data, f"纠纷月报-{period.since:%Y%m%d}-{period.until:%Y%m%d}.xlsx")


@callback(Output(ID.PRINT_BOX, "srcDoc"), Output(ID.PRINT_BOX, "style"), Input(ID.PRINT, "n_clicks"),
          State(ID.AREA, "value"), State(ID.DATES, "start_date"), State(ID.DATES, "end_date"),
          State(ID.PRINT_BOX, "style"), prevent_initial_call=True)
def monthly_print(_n, area, since, until, style):
    viewer, period, summary, names, _spots, zero = _compute(area, since, until)
    gv = service.as_guard_viewer(viewer, current_context().sessions)
    page = report.printable("安康市矛盾纠纷排查化解月报", period.label, summary, names, zero, watermark_text(gv))
    return page, {**style, "display": "block"}


