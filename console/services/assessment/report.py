"""The monthly assessment as an Excel workbook and as a printable page: the same rows the console shows."""

from __future__ import annotations

import html
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from . import Assessment
from .indicators import BY_KEY
from .scores import Row


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def points(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _headers(indicators, unit_label: str) -> list[str]:
    return ["排名", unit_label, "综合得分", *[i.name for i in indicators]]


def _cells(row: Row, indicators) -> list:
    return [row.rank or "—", row.label, points(row.score), *[pct(row.rates.get(i.key)) for i in indicators]]


def title(a: Assessment) -> str:
    return f"{a.node.name}督导考评月报（{a.month.label}）"


def workbook(a: Assessment, mark: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([title(a)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([mark])
    ws.append([])
    ws.append(["综合得分", points(a.total.score)])
    for key, w in a.weights.items():
        i = BY_KEY[key]
        n, d = a.total.counts.get(key, (0, 0))
        ws.append([i.name, pct(a.total.rates.get(key)), f"{n:g} / {d:g}" if d else "无可统计", f"权重 {w:g}",
                   i.formula])
    if a.children:
        sheet = wb.create_sheet("下级排名")
        sheet.append(_headers(a.child_indicators, "地区"))
        for r in a.children:
            sheet.append(_cells(r, a.child_indicators))
    if a.workers:
        sheet = wb.create_sheet("网格员排名")
        sheet.append(_headers(a.worker_indicators, "网格员"))
        for r in a.workers:
            sheet.append(_cells(r, a.worker_indicators))
    for sheet in wb.worksheets:
        sheet.oddFooter.center.text = mark
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _table(rows: list[Row], indicators, unit_label: str) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in _headers(indicators, unit_label))
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in _cells(r, indicators)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def printable(a: Assessment, mark: str) -> str:
    e = html.escape
    summary = "".join(f"<tr><th>{e(BY_KEY[k].name)}</th><td>{pct(a.total.rates.get(k))}</td><td>{w:g}</td></tr>"
                      for k, w in a.weights.items() if k in a.total.rates)
    parts = [f"<h2>综合得分：{points(a.total.score)}</h2><table><tr><th>指标</th><th>完成率</th><th>权重</th></tr>"
             f"{summary}</table>"]
    if a.children:
        parts.append("<h2>下级排名</h2>" + _table(a.children, a.child_indicators, "地区"))
    if a.workers:
        parts.append("<h2>网格员排名</h2>" + _table(a.workers, a.worker_indicators, "网格员"))
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title(a))}</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#111}}
h1{{font-size:20px;text-align:center}}table{{border-collapse:collapse;margin:8px 0 16px}}
th,td{{border:1px solid #999;padding:4px 10px;text-align:left}}.mark{{color:#888;font-size:12px}}
@media print{{button{{display:none}}}}</style></head><body>
<h1>{e(title(a))}</h1><p class="mark">{e(mark)}</p><button onclick="window.print()">打印</button>
{''.join(parts)}<p class="mark">{e(mark)}</p></body></html>"""
