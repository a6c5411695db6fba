"""网格规划: placeholder page; a later issue fills it."""

import dash
from dash import html

dash.register_page(__name__, path="/planner", title="平安一张图 · 网格规划", name="网格规划")


def layout(**_query):
    return html.Div(className="pa-placeholder", children=[
        html.H2("网格规划"),
        html.P("网格规划（网格绘制、调整与版本管理）将在后续版本提供。"),
    ])
