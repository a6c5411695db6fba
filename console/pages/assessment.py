"""督导考评: a leader's monthly scores — the area's own score and trend, its children ranked (links drill down, so
a view can be bookmarked), and at village and grid level the grid workers ranked. Excel and a printable page
carry the same rows. Thin over console.services.assessment; docs/assessment.md."""

from __future__ import annotations

from datetime import date

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html

from console.disputes import ui
from console.pages import _widgets as w
from console.security import guard
from console.security.masking import watermark_text
from console.security.permissions import EXPORT, VIEW_ASSESSMENT
from console.services import areas, assessment, views
from console.services import viewer as viewers
from console.services.assessment import report
from console.services.assessment.scores import Row
from console.services.context import current_context

dash.register_page(__name__, path="/assessment", title="平安一张图 · 督导考评", name="督导考评")

GRAPH_CONFIG = {"displaylogo": False, "locale": "zh-CN"}
CELL = {"border": "1px solid var(--pa-line)", "padding": ".3rem .6rem", "textAlign": "right"}
HEAD = {**CELL, "textAlign": "center", "background": "var(--pa-panel)"}


class ID:
    QUERY, XLSX, PRINT, DOWNLOAD, PRINT_BOX = "as-query", "as-xlsx", "as-print", "as-download", "as-print-box"


def _compute(area: str | None, month_text: str | None):
    """(viewer, resolved, assessment, trend, previous) within the viewer's scope; audited when grid workers'
    figures are shown (they are about named people)."""
    viewer = viewers.current_viewer()
    guard.require(viewer, VIEW_ASSESSMENT, "assessment", log_grant=False)
    month = assessment.Month.parse(month_text, date.today())
    with current_context().session() as s:
        resolved = areas.resolve(s, viewer.scope, area)
        node = resolved.node
        kids = [k for k in areas.children(s, node) if viewer.scope.overlaps(k.code)] if node.level != "grid" else []
        if node.level == "village":
            labels = areas.grid_labels(s, {k.code for k in kids})
            kids = [areas.AreaNode(k.code, labels.get(k.code, k.name).split(" ")[-1], k.level, k.parent_code, k.bbox)
                    for k in kids]
        cube = views.quality_cube(current_context())
        result = assessment.assess(s, node, viewer.scope, month, kids, None, cube)
        previous = assessment.assess(s, node, viewer.scope, month.previous(), kids, {}, cube)
        history = assessment.trend(s, node, viewer.scope, month, quality_cube=cube)
        trail = areas.breadcrumb(s, node)
    if result.workers:
        guard.audit(viewer, "record.read", f"assessment:workers:{node.code}", guard.GRANTED,
                    {"month": month.key, "workers": len(result.workers)})
    return viewer, resolved, trail, result, previous, history


def layout(area: str | None = None, month: str | None = None, **_query):
    viewer = viewers.current_viewer()
    if VIEW_ASSESSMENT not in viewer.permissions:
        return html.Div(html.P("您没有查看督导考评的权限。"), className="pa-page")
    viewer, resolved, trail, a, previous, history = _compute(area, month)
    node, m = a.node, a.month
    link = lambda code, mm=m: f"/assessment?area={code}&month={mm.key}"  # noqa: E731
    prev_scores = {r.unit: r.score for r in previous.children}
    body = [
        dcc.Store(id=ID.QUERY, data={"area": node.code, "month": m.key}),
        dcc.Download(id=ID.DOWNLOAD),
        html.Div(style={"display": "flex", "alignItems": "baseline", "gap": "1rem", "flexWrap": "wrap"}, children=[
            html.H2(f"督导考评 · {node.name}", style={"margin": ".2rem 0"}),
            html.Span([dcc.Link(f"‹ {m.previous().label}", href=link(node.code, m.previous())), " ",
                       html.B(m.label), " ",
                       dcc.Link(f"{m.next().label} ›", href=link(node.code, m.next())) if m.next().first_day <= date.today() else ""]),
            html.Button("导出月报（Excel）", id=ID.XLSX, n_clicks=0,
                        style={**ui.BUTTON_LIGHT, **({} if EXPORT in viewer.permissions else {"display": "none"})}),
            html.Button("打印版月报", id=ID.PRINT, n_clicks=0, style=ui.BUTTON_LIGHT),
        ]),
        html.Div(w.link_trail(trail, link), style={"margin": ".3rem 0 .8rem"}),
    ]
    if resolved.message:
        body.append(html.P(resolved.message, style={"color": "#c53030"}))
    body.append(_summary(a, previous.total.score))
    body.append(dcc.Graph(figure=_trend_figure(history), config=GRAPH_CONFIG, style={"height": "16rem"}))
    if a.children:
        body += [html.H3(f"下级排名（{len(a.children)}）"),
                 _table(a.children, a.child_indicators, "地区", prev_scores, lambda r: link(r.unit))]
    if a.workers:
        body += [html.H3(f"网格员排名（{len(a.workers)}）"), _table(a.workers, a.worker_indicators, "网格员", {}, None)]
    elif node.level in assessment.WORKER_LEVELS:
        body.append(html.P("本月暂无网格员的考评数据。"))
    body += [html.H3("指标说明"), _registry(a)]
    body.append(html.Iframe(id=ID.PRINT_BOX, style={"display": "none", "width": "100%", "height": "40rem",
                                                    "border": "1px solid var(--pa-line)", "background": "#fff"}))
    return html.Div(body, className="pa-page pa-assessment", style={"padding": "1rem 1.5rem", "maxWidth": "1600px"})


def _summary(a, previous_score) -> html.Div:
    delta = assessment.change(a.total.score, previous_score)
    cards = [_card("综合得分", report.points(a.total.score),
                   "上月无可比数据" if delta is None else f"环比 {delta:+.1f} 分")]
    for key in a.total.rates:
        n, d = a.total.counts.get(key, (0, 0))
        cards.append(_card(assessment.BY_KEY[key].name, report.pct(a.total.rates[key]),
                           f"{n:,.0f} / {d:,.0f}" if d and key != "satisfaction" else ("调查结果" if d else "暂无数据")))
    return html.Div(cards, style={"display": "flex", "gap": ".8rem", "flexWrap": "wrap"})


def _card(title: str, value: str, note: str) -> html.Div:
    return html.Div(className="pa-kpi", style={"border": "1px solid var(--pa-line)", "borderRadius": "6px",
                                                "padding": ".5rem .9rem", "minWidth": "9rem"},
                    children=[html.Div(title, style={"color": "var(--pa-muted)", "fontSize": ".85rem"}),
                              html.Div(value, style={"fontSize": "1.6rem", "fontWeight": 600}),
                              html.Div(note, style={"color": "var(--pa-muted)", "fontSize": ".8rem"})])


def _trend_figure(history) -> go.Figure:
    xs = [m.label for m, _ in history]
    ys = [v for _, v in history]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines+markers", name="综合得分", connectgaps=False,
                               hovertemplate="%{x}：%{y:.1f} 分<extra></extra>"))
    fig.update_layout(margin={"l": 40, "r": 10, "t": 30, "b": 30}, title={"text": "近六个月综合得分", "x": 0},
                      yaxis={"range": [0, 100], "title": "分"}, xaxis={"type": "category"})
    if all(v is None for v in ys):
        fig.add_annotation(text="暂无数据", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def _table(rows: list[Row], indicators, unit_label: str, prev: dict, href) -> html.Table:
    head = [html.Th(h, style=HEAD) for h in ("排名", unit_label, "综合得分", "环比")]
    head += [html.Th(i.name, style=HEAD, title=i.formula) for i in indicators]
    body = []
    for r in rows:
        delta = assessment.change(r.score, prev.get(r.unit))
        name = dcc.Link(r.label, href=href(r), title=r.unit) if href else html.Span(r.label)
        cells = [html.Td(r.rank or "—", style=CELL), html.Td(name, style={**CELL, "textAlign": "left"}),
                 html.Td(report.points(r.score) if r.score is not None else "数据不足", style={**CELL, "fontWeight": 600},
                         title="" if r.score is not None else "本月可统计的指标少于两项，不评分、不排名"),
                 html.Td("—" if delta is None else f"{delta:+.1f}", style=CELL)]
        for i in indicators:
            n, d = r.counts.get(i.key, (0, 0))
            value = r.rates.get(i.key)
            low = i.floor is not None and value is not None and value < i.floor
            cells.append(html.Td(report.pct(value), style={**CELL, **({"color": "#c53030"} if low else {})},
                                 title=(f"{n:,.0f} / {d:,.0f}" if d else "暂无可统计的记录")
                                 + (f"；低于 {i.floor:.0%} 的要求" if low else "")))
        body.append(html.Tr(cells))
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)],
                      style={"borderCollapse": "collapse", "fontSize": ".92rem"})


def _registry(a) -> html.Table:
    level_names = {"city": "市", "county": "县区", "town": "镇办", "village": "村社区", "grid": "网格",
                   "worker": "网格员"}
    head = [html.Th(h, style=HEAD) for h in ("指标", "计算方法", "周期", "权重", "适用")]
    rows = [html.Tr([html.Td(i.name, style={**CELL, "textAlign": "left"}),
                     html.Td(i.formula, style={**CELL, "textAlign": "left"}), html.Td(i.period, style=CELL),
                     html.Td(f"{a.weights.get(i.key, i.weight):g}", style=CELL),
                     html.Td("、".join(level_names[v] for v in i.levels), style={**CELL, "textAlign": "left"})])
            for i in assessment.INDICATORS]
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(rows)],
                      style={"borderCollapse": "collapse", "fontSize": ".88rem"})


@callback(Output(ID.DOWNLOAD, "data"), Input(ID.XLSX, "n_clicks"), State(ID.QUERY, "data"), prevent_initial_call=True)
def export_xlsx(_n, query):
    q = query if isinstance(query, dict) else {}
    viewer, _resolved, _trail, a, *_ = _compute(_text(q.get("area")), _text(q.get("month")))
    guard.require(viewer, EXPORT, "export:assessment", log_grant=False)
    guard.audit(viewer, "export", "export:assessment", guard.GRANTED, {"area": a.node.code, "month": a.month.key})
    return dcc.send_bytes(report.workbook(a, watermark_text(viewer)), f"督导考评-{a.node.name}-{a.month.key}.xlsx")


@callback(Output(ID.PRINT_BOX, "srcDoc"), Output(ID.PRINT_BOX, "style"), Input(ID.PRINT, "n_clicks"),
          State(ID.QUERY, "data"), State(ID.PRINT_BOX, "style"), prevent_initial_call=True)
def print_view(_n, query, style):
    q = query if isinstance(query, dict) else {}
    viewer, _resolved, _trail, a, *_ = _compute(_text(q.get("area")), _text(q.get("month")))
    return report.printable(a, watermark_text(viewer)), {**(style or {}), "display": "block"}


def _text(value) -> str | None:
    """A value as a forged body may send it: text, or None."""
    return value if isinstance(value, str) and value else None


