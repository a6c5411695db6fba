"""Shared UI helpers for the dispute pages: option lists, styles, the form → case mapping (no callbacks)."""

from __future__ import annotations

from console.store.codes import (
    DISPUTE_CATEGORIES, DISPUTE_COMPLEXITY, DISPUTE_STATES, HANDLING_LEVELS, RISK_GRADES, SATISFACTION,
)


def options(table: dict) -> list[dict]:
    return [{"label": v, "value": k} for k, v in table.items()]


CATEGORY_OPTIONS = options(DISPUTE_CATEGORIES)
STATE_OPTIONS = options(DISPUTE_STATES)
RISK_OPTIONS = options(RISK_GRADES)
COMPLEXITY_OPTIONS = [{"label": "自动判定", "value": ""}] + options(DISPUTE_COMPLEXITY)
LEVEL_OPTIONS = options(HANDLING_LEVELS)
SATISFACTION_OPTIONS = options(SATISFACTION)

ROW = {"display": "flex", "gap": ".5rem", "flexWrap": "wrap", "alignItems": "center", "margin": ".4rem 0"}
PANEL = {"border": "1px solid var(--pa-line)", "borderRadius": ".4rem", "padding": ".6rem .8rem",
         "background": "var(--pa-panel)", "marginTop": ".5rem"}
BUTTON = {"padding": ".35rem .9rem", "border": "1px solid #2b6cb0", "background": "#2b6cb0", "color": "#fff",
          "borderRadius": ".3rem", "cursor": "pointer"}
BUTTON_LIGHT = {**BUTTON, "background": "transparent", "color": "#2b6cb0"}
ERROR = {"color": "#c53030", "whiteSpace": "pre-wrap"}
OK = {"color": "#2f855a"}
INPUT = {"padding": ".3rem .4rem", "border": "1px solid var(--pa-line)", "borderRadius": ".25rem"}
CELL = {"border": "1px solid var(--pa-line)", "padding": ".15rem .5rem", "textAlign": "left"}
LABEL = {"fontSize": ".9rem", "color": "var(--pa-muted)", "minWidth": "5.5rem"}
GRID_LOCALE = {"page": "第", "to": "至", "of": "共", "more": "更多", "next": "下一页", "previous": "上一页",
               "first": "首页", "last": "末页", "pageSizeSelectorLabel": "每页条数：", "noRowsToShow": "无记录",
               "loadingOoo": "加载中……"}

LEDGER_COLUMNS = [
    {"field": "code", "headerName": "案件编号", "width": 200, "pinned": "left"},
    {"field": "title", "headerName": "事件名称", "width": 220},
    {"field": "category", "headerName": "类别", "width": 100},
    {"field": "state", "headerName": "状态", "width": 100},
    {"field": "status", "headerName": "时限", "width": 95,
     "cellStyle": {"styleConditions": [{"condition": "params.value == '已超期'",
                                        "style": {"color": "#fff", "backgroundColor": "#c53030"}},
                                       {"condition": "params.value == '即将到期'",
                                        "style": {"backgroundColor": "#fefcbf"}}]}},
    {"field": "registered_at", "headerName": "登记时间", "width": 140},
    {"field": "deadline", "headerName": "办理时限", "width": 140},
    {"field": "risk_grade", "headerName": "风险", "width": 70},
    {"field": "complexity", "headerName": "复杂程度", "width": 95},
    {"field": "handling_level", "headerName": "交办层级", "width": 90},
    {"field": "department", "headerName": "承办部门", "width": 150},
    {"field": "handler", "headerName": "责任人", "width": 80},
    {"field": "place", "headerName": "地点", "width": 200},
    {"field": "scale", "headerName": "人数", "width": 70},
]


def party_list(*triples) -> list[dict]:
    """Form inputs (role, name, id, phone)… → the parties list (blank rows dropped)."""
    out = []
    for role, name, idn, phone in triples:
        if (name or "").strip() or (idn or "").strip():
            out.append({"role": role, "name": name, "id_number": idn, "phone": phone})
    return out
