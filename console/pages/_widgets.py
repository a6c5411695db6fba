"""Builders of the overview's components from plain data (KPI dicts, legend items). No callbacks here."""

from __future__ import annotations

from dash import dcc, html

from console.store.codes import (
    DISPUTE_CATEGORIES, LEVEL_LABELS, RESIDENCE_TYPES, RISK_GRADES, SPECIAL_CATEGORIES, SURVEY_INDICATORS,
)
from console.services.layers import LAYERS

from console.pages._overview_ids import ID, KPI


def fmt_int(n) -> str:
    return "—" if n is None else f"{int(n):,}"


def fmt_pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def stat(label: str, value: str, kpi_key: str | None = None, tone: str = "") -> html.Div:
    value_kw = {"id": KPI[kpi_key]} if kpi_key else {}
    return html.Div(className=f"pa-stat {tone}", children=[
        html.Div(value, className="pa-stat-value", **value_kw),
        html.Div(label, className="pa-stat-label"),
    ])


def card(title: str, body, note: str | None = None) -> html.Section:
    head = [html.H3(title, className="pa-card-title")]
    if note:
        head.append(html.Span(note, className="pa-card-note"))
    return html.Section(className="pa-card", children=[html.Div(head, className="pa-card-head"), body])


def breadcrumb(trail, current_code: str) -> list:
    items = []
    for i, node in enumerate(trail):
        if i:
            items.append(html.Span("›", className="pa-crumb-sep"))
        if node.code == current_code:
            items.append(html.Span(node.name, className="pa-crumb pa-crumb-current"))
        else:
            items.append(html.Button(node.name, id={"type": ID.CRUMB, "code": node.code},
                                     className="pa-crumb", n_clicks=0))
    return items


def link_trail(trail, href) -> list:
    """A breadcrumb of links for pages whose area is in the URL (数据质量, 随访, 督导考评): `href(code)` → the
    page's address for that area; the last step (the area shown) is bold, not a link."""
    out = []
    for i, node in enumerate(trail):
        if i:
            out.append(" › ")
        out.append(dcc.Link(node.name, href=href(node.code)) if i < len(trail) - 1 else html.B(node.name))
    return out


def kpi_widgets(k: dict, child_count: int, child_level: str | None) -> list:
    res, sp, dis, cam = k["residents"], k["special"], k["disputes"], k["cameras"]
    people = card("实有人口", html.Div(className="pa-stats", children=[
        stat("常住总数", fmt_int(res["total"]), "residents"),
        stat(RESIDENCE_TYPES["registered"], fmt_int(res["by_type"].get("registered", 0)), "registered"),
        stat(RESIDENCE_TYPES["floating"], fmt_int(res["by_type"].get("floating", 0)), "floating"),
        stat(RESIDENCE_TYPES["foreign"], fmt_int(res["by_type"].get("foreign", 0)), "foreign"),
        stat("户数", fmt_int(k["households"]), "households"),
    ]))
    grids = card("网格化管理", html.Div(className="pa-stats", children=[
        # a grid has no sub-areas: no "下辖区划 0" there
        *([stat(f"下辖{LEVEL_LABELS[child_level]}", fmt_int(child_count), "children")] if child_level else []),
        stat("网格", fmt_int(k["grids"]["grids"]), "grids"),
        stat("网格员", fmt_int(k["grids"]["workers"]), "workers"),
    ]))
    cats = [html.Li([html.Span(SPECIAL_CATEGORIES[c]), html.B(fmt_int(n))]) for c, n in sp["by_category"].items()]
    risks = [html.Li([html.Span(f"{RISK_GRADES[g]}风险"), html.B(fmt_int(n))], className=f"pa-risk-{g}")
             for g, n in sp["by_risk"].items()]
    special = card("特殊人群", html.Div([
        html.Div(className="pa-stats", children=[
            stat("列管总数", fmt_int(sp["total"]), "special"),
            stat("精神障碍≥3级", fmt_int(sp["mental_alert"]), "mental_alert", "pa-danger" if sp["mental_alert"] else ""),
            stat("重点青少年", fmt_int(sp["key_youth"])),
        ]),
        html.Div([html.Ul(cats, className="pa-list"), html.Ul(risks, className="pa-list")], className="pa-two"),
    ]))
    disputes = card("矛盾纠纷", html.Div(className="pa-stats", children=[
        stat("在办", fmt_int(dis["open"]), "disputes_open"),
        stat("本月办结", fmt_int(dis["closed_this_month"]), "disputes_closed_month"),
        stat("化解成功率", fmt_pct(dis["resolution_rate"]), "resolution_rate"),
        stat("超期", fmt_int(dis["overdue"]), "disputes_overdue", "pa-danger" if dis["overdue"] else ""),
    ]))
    video = card("公共安全视频", html.Div(className="pa-stats", children=[
        stat("摄像机", fmt_int(cam["total"])), stat("在线", fmt_int(cam["online"])),
        stat("在线率", fmt_pct(cam["online_rate"]), "camera_rate"),
    ]))
    marker = html.Span(k["code"], id=KPI["area"], hidden=True)  # which area these numbers are for
    out = [marker, people, grids, special, disputes, video]
    sv = k.get("survey")
    if sv:
        mean = {"city": "·各县区均值", "counties": "·范围内各县区均值"}.get(sv["scope"], "")
        note = f"{sv['year']}年" + ("·模拟数据" if sv["synthetic"] else "") + mean
        out.append(card("两率两度", html.Div(className="pa-stats", children=[
            stat(SURVEY_INDICATORS[i], fmt_pct(r)) for i, r in sv["rates"].items()]), note))
    return out


def _layout(dark: bool, title: str, **extra) -> dict:
    """A Plotly layout as a plain dict (building graph_objects costs ~100 ms per figure)."""
    fg = "#e2e8f0" if dark else "#1a202c"
    grid = "#2d3748" if dark else "#e2e8f0"
    base = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif", "color": fg, "size": 13},
            "title": {"text": title, "font": {"size": 15}, "x": 0.02},
            "margin": {"l": 40, "r": 10, "t": 36, "b": 30},
            "legend": {"orientation": "h", "y": -0.25, "font": {"size": 11}},
            "xaxis": {"gridcolor": grid, "automargin": True}, "yaxis": {"gridcolor": grid, "automargin": True}}
    base.update(extra)
    return base


NO_DATA = "暂无数据"


def no_data(layout: dict) -> dict:
    """An empty chart says 暂无数据 instead of drawing axes around nothing (Plotly's default −1…4)."""
    return dict(layout, xaxis={"visible": False}, yaxis={"visible": False}, showlegend=False,
                annotations=[{"text": NO_DATA, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5,
                              "y": 0.5, "font": {"size": 16, "color": "#718096"}}])


TREND_COLORS = ("#3182ce", "#dd6b20", "#38a169", "#d53f8c", "#805ad5", "#d69e2e", "#718096")


def trend_figure(trend: list, dark: bool) -> dict:
    months = sorted({m for m, _, _ in trend})
    totals: dict[str, int] = {}
    for _, c, n in trend:
        totals[c] = totals.get(c, 0) + n
    top = [c for c, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:6]]
    data = []
    for cat in top + ["_rest"]:
        ys = [sum(n for m2, c, n in trend if m2 == m and ((c == cat) if cat != "_rest" else c not in top))
              for m in months]
        if any(ys):
            data.append({"type": "bar", "x": months, "y": ys, "name": DISPUTE_CATEGORIES.get(cat, "其他类别"),
                         "marker": {"color": TREND_COLORS[len(data) % len(TREND_COLORS)]}})
    layout = _layout(dark, "矛盾纠纷月度趋势（按类别）", barmode="stack")
    layout["xaxis"] = dict(layout["xaxis"], type="category")  # "2026-09" is a month label, not a date
    return {"data": data, "layout": layout} if data else {"data": [], "layout": no_data(layout)}


def breakdown_figure(k: dict, dark: bool) -> dict:
    sp = k["special"]["by_category"]
    data = [{"type": "bar", "orientation": "h", "x": list(sp.values()), "y": [SPECIAL_CATEGORIES[c] for c in sp],
             "marker": {"color": ["#dd6b20", "#805ad5", "#e53e3e", "#d53f8c", "#718096"][:len(sp)]}}]
    layout = _layout(dark, "特殊人群构成", showlegend=False, margin={"l": 130, "r": 10, "t": 36, "b": 24})
    return {"data": data, "layout": layout} if any(sp.values()) else {"data": [], "layout": no_data(layout)}


def legend(keys: list[str], bands: list[tuple[str, str]] | None = None, unit: str = "") -> list:
    """The map legend: each layer's symbols; with `bands` [(range, colour)], the 实有人口 choropleth's classes."""
    out = []
    for key in ["areas"] + keys:
        layer = LAYERS[key]
        items = []
        if key == "population" and bands:
            items += [html.Li([html.Span(className="pa-swatch pa-swatch-square pa-swatch-band", style={"background": c}),
                               html.Span(label)]) for label, c in bands]
            items.append(html.Li(html.Span(f"单位：{unit}；下级区划按此着色", className="pa-legend-note")))
        for item in (() if key == "population" and bands else layer.legend):  # households: village level down
            text = "12" if item.shape == "bubble" else item.glyph  # a count bubble shows a number
            swatch = html.Span(text, className=f"pa-swatch pa-swatch-{item.shape}",
                               style={"background": item.color} if item.shape != "line" else {"borderColor": item.color})
            items.append(html.Li([swatch, html.Span(item.label)]))
        out.append(html.Div([html.Div(layer.title, className="pa-legend-title"), html.Ul(items)],
                            className="pa-legend-group"))
    return out
