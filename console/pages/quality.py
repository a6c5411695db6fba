"""数据质量: per area, how many records each check finds (problems of the registered data), drill-down by area
(links, so a view can be bookmarked), and the masked list of one check's records for the grid workers to fix.
The checks are one registry in console/services/quality.py."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from console.disputes import ui, xlsx
from console.security import guard
from console.security.masking import watermark_text
from console.security.permissions import EXPORT, VIEW_KPI, VIEW_PERSONS
from console.pages import _widgets as w
from console.services import areas, quality, views
from console.services import viewer as viewers
from console.services.context import current_context

dash.register_page(__name__, path="/quality", title="平安一张图 · 数据质量", name="数据质量")

CELL = {"border": "1px solid var(--pa-line)", "padding": ".3rem .6rem", "textAlign": "right"}
HEAD = {**CELL, "textAlign": "left", "background": "var(--pa-panel)"}


def layout(area: str | None = None, check: str | None = None, **_query):
    viewer = viewers.current_viewer()
    if VIEW_KPI not in viewer.permissions:
        return html.Div(html.P("您没有查看数据质量的权限。"), className="pa-page")
    with current_context().session() as s:
        resolved = areas.resolve(s, viewer.scope, area)
        node = resolved.node
        trail = areas.breadcrumb(s, node)
        kids = [k for k in areas.children(s, node) if viewer.scope.overlaps(k.code)] if node.level != "grid" else []
        cube = views.quality_cube(current_context())
        refreshing = views.quality_refresher(current_context()).running
        figures = quality.counts_from_cube(cube, node, viewer.scope)
        listed = None
        if check in quality.BY_KEY and VIEW_PERSONS in viewer.permissions:
            listed = quality.problems(s, check, node, viewer.scope)
            names = areas.grid_labels(s, {r.get("网格") for r in listed})
            listed = [{**r, "网格": names.get(r.get("网格"), "未落入网格")} for r in listed]
    body = [html.H2("数据质量"),
            html.P(f"统计时间 {cube.built_at:%Y-%m-%d %H:%M}（每 5 分钟更新；问题清单为实时）"
                   + ("；数据已变更，正在重新统计，稍后刷新本页" if refreshing else ""),
                   style={"color": "var(--pa-muted)", "margin": "0"}),
            html.Div([*w.link_trail(trail, lambda code: f"/quality?area={code}")], style={"margin": ".3rem 0 .8rem"})]
    if resolved.message:
        body.append(html.P(resolved.message, style={"color": "#c53030"}))
    body.append(_table(node, kids, figures))
    if listed is not None:
        c = quality.BY_KEY[check]
        body += [html.H3(f"{node.name} · {c.label}（{len(listed)} 条{'，仅列前 ' + str(quality.LIST_LIMIT) + ' 条' if len(listed) >= quality.LIST_LIMIT else ''}）"),
                 html.P(f"处理办法：{c.advice}", style={"color": "var(--pa-muted)"}),
                 dcc.Store(id=ID.QUERY, data={"area": node.code, "check": check}), dcc.Download(id=ID.DOWNLOAD),
                 html.Button("导出问题清单（Excel，交网格员整改）", id=ID.EXPORT, n_clicks=0,
                             style={**ui.BUTTON_LIGHT, **({} if EXPORT in viewer.permissions else {"display": "none"})}),
                 _list(c, listed)]
    return html.Div(body, className="pa-page", style={"padding": "1rem 1.5rem", "maxWidth": "1500px"})


class ID:
    QUERY, EXPORT, DOWNLOAD = "dq-query", "dq-export", "dq-download"


EXPORT_LIMIT = 100_000  # rows in one problem list (the page shows the first LIST_LIMIT)


@callback(Output(ID.DOWNLOAD, "data"), Input(ID.EXPORT, "n_clicks"), State(ID.QUERY, "data"),
          prevent_initial_call=True)
def export_problems(_n, query):
    """The problem list of one check in one area, masked as on the page, with the grid and its workers' names
    so the list can go to them; watermarked and audited."""
    q = query if isinstance(query, dict) else {}
    check = q.get("check") if isinstance(q.get("check"), str) else None
    if check not in quality.BY_KEY:
        raise PreventUpdate
    viewer = viewers.current_viewer()
    guard.require(viewer, EXPORT, "export:quality", log_grant=False)
    area = q.get("area") if isinstance(q.get("area"), str) else None
    with current_context().session() as s:
        node = areas.resolve(s, viewer.scope, area).node
        rows = quality.problems(s, check, node, viewer.scope, limit=EXPORT_LIMIT)
        names = areas.grid_labels(s, {r.get("网格") for r in rows})
    c = quality.BY_KEY[check]
    guard.audit(viewer, "export", "export:quality", guard.GRANTED, {"area": node.code, "check": check,
                                                                     "rows": len(rows)})
    headers = [*c.headers, "处理办法"]
    data = ([*(names.get(r.get(h), "未落入网格") if h == "网格" else r.get(h) for h in c.headers), c.advice]
            for r in rows)
    body = xlsx.write(f"{node.name} 数据质量问题清单：{c.label}", watermark_text(viewer), headers, data,
                      sheet=c.label, widths=[18] * len(headers), freeze="A4")
    return dcc.send_bytes(body, f"数据质量-{node.name}-{c.label}.xlsx")


def _table(node, kids, figures) -> html.Table:
    head = [html.Th("检查项", style=HEAD), html.Th(f"{node.name}合计", style=HEAD)]
    head += [html.Th(dcc.Link(k.name, href=f"/quality?area={k.code}", title=k.code), style=HEAD) for k in kids]
    rows = []
    for c in quality.CHECKS:
        f = figures[c.key]
        total = f["total"]
        cells = [html.Td(c.label, style={**CELL, "textAlign": "left"}, title=c.advice),
                 html.Td(dcc.Link(f"{total:,}", href=f"/quality?area={node.code}&check={c.key}") if total else "0",
                         style=CELL)]
        cells += [html.Td(f"{f['by_child'].get(k.code, 0):,}", style=CELL) for k in kids]
        rows.append(html.Tr(cells))
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(rows)],
                      style={"borderCollapse": "collapse", "fontSize": ".92rem"})


def _list(check, listed) -> html.Div:
    if not listed:
        return html.P("暂无数据")
    return html.Table([html.Thead(html.Tr([html.Th(h, style=HEAD) for h in check.headers])),
                       html.Tbody([html.Tr([html.Td(str(r.get(h) or ""), style={**CELL, "textAlign": "left"})
                                            for h in check.headers]) for r in listed])],
                      style={"borderCollapse": "collapse", "fontSize": ".9rem"})
