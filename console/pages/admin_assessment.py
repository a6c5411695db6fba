"""考评权重: the system administrator sets each 督导考评 indicator's weight (0–100). The service checks
config:manage and audits every change with its before and after; this page never shows anyone's scores."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, html, dcc

from console.disputes import ui
from console.security.guard import AccessDenied
from console.security.permissions import CONFIG_MANAGE
from console.services import viewer as viewers
from console.services.assessment import INDICATORS, weights
from console.services.context import current_context

dash.register_page(__name__, path="/admin/assessment", title="平安一张图 · 考评权重", name="考评权重")


class ID:
    WEIGHT, SAVE, MESSAGE = "aw-weight", "aw-save", "aw-message"


def layout(**_query):
    viewer = viewers.current_viewer()
    if not viewer.can(CONFIG_MANAGE):
        return html.Div([html.H2("考评权重"), html.P("无权限：需要“管理系统配置”权限。", style=ui.ERROR)])
    with current_context().session() as s:
        current = weights.current(s)
    rows = [html.Tr([html.Td(i.name, style={"padding": ".3rem .6rem"}),
                     html.Td(i.formula, style={"padding": ".3rem .6rem", "color": "var(--pa-muted)"}),
                     html.Td(html.Label([html.Span(f"{i.name}的权重", className="pa-sr-only"),
                                         dcc.Input(id={"type": ID.WEIGHT, "key": i.key}, type="text",
                                                   inputMode="decimal", value=f"{current[i.key]:g}",
                                                   style={**ui.INPUT, "width": "5rem"})]))])
            for i in INDICATORS]
    return html.Div(style={"padding": "1rem 1.5rem", "maxWidth": "1100px"}, children=[
        html.H2("督导考评 · 指标权重"),
        html.P("综合得分 = Σ 权重 × 完成率 ÷ Σ 权重（只计本期有可统计记录的指标）。每次修改都记入审计日志。",
               style=ui.LABEL),
        html.Table([html.Thead(html.Tr([html.Th("指标"), html.Th("计算方法"), html.Th("权重（0–100）")])),
                    html.Tbody(rows)], style={"borderCollapse": "collapse"}),
        html.Div(style=ui.ROW, children=[html.Button("保存", id=ID.SAVE, n_clicks=0, style=ui.BUTTON),
                                         html.Div(id=ID.MESSAGE)]),
    ])


@callback(Output(ID.MESSAGE, "children"), Input(ID.SAVE, "n_clicks"),
          State({"type": ID.WEIGHT, "key": ALL}, "value"), State({"type": ID.WEIGHT, "key": ALL}, "id"),
          prevent_initial_call=True)
def save_weights(_n, values, ids):
    pairs = zip(ids or [], values or [])
    form = {i.get("key"): v for i, v in pairs if isinstance(i, dict)}
    try:
        with current_context().session() as s, s.begin():
            saved = weights.save(s, viewers.current_viewer(), form)
    except weights.WeightError as exc:
        return html.Span(str(exc), style=ui.ERROR)
    except AccessDenied:
        return html.Span("无权限：需要“管理系统配置”权限。", style=ui.ERROR)
    return html.Span("已保存：" + "，".join(f"{i.name} {saved[i.key]:g}" for i in INDICATORS), style=ui.OK)
