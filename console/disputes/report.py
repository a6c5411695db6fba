"""月报: the monthly report as an Excel workbook and as printable HTML (same figures)."""

from __future__ import annotations

import html
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from .stats import category_label


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _num(x, unit="") -> str:
    return "—" if x is None else f"{x:.1f}{unit}"


def headline(s: dict) -> list[tuple[str, str]]:
    return [("新登记纠纷", f"{s['total']}件"), ("已办结", f"{s['closed']}件"), ("化解成功率", _pct(s["resolution_rate"])),
            ("平均办理时长", _num(s["avg_handling_days"], "天")), ("超期率", _pct(s["overdue_rate"])),
            ("在办超期", f"{s['overdue_open']}件")]


def workbook(title: str, period_label: str, s: dict, names: dict[str, str], zero: list[dict], mark: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "月报"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"统计期间：{period_label}"])
    ws.append([mark])
    ws.append([])
    for k, v in headline(s):
        ws.append([k, v])
    ws.append([])
    ws.append(["纠纷类别", "件数"])
    for cat, n in s["by_category"].items():
        ws.append([category_label(cat), n])
    areas = wb.create_sheet("分地区")
    areas.append(["地区代码", "地区", "件数"])
    for code, n in s["by_area"].items():
        areas.append([code, names.get(code, code), n])
    cross = wb.create_sheet("类别×地区")
    codes = list(s["by_area"])
    cross.append(["纠纷类别"] + [names.get(c, c) for c in codes])
    for cat in s["by_category"]:
        cross.append([category_label(cat)] + [s["cross"].get(f"{cat}|{c}", 0) for c in codes])
    zs = wb.create_sheet("零报告")
    zs.append(["村（社区）代码", "名称", "本期新发纠纷"])
    for z in zero:
        zs.append([z["code"], z.get("full_name", z["name"]), "无（零报告）"])
    for sheet in wb.worksheets:
        sheet.oddFooter.center.text = mark
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def printable(title: str, period_label: str, s: dict, names: dict[str, str], zero: list[dict], mark: str) -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in headline(s))
    cats = "".join(f"<tr><td>{e(category_label(c))}</td><td>{n}</td></tr>" for c, n in s["by_category"].items())
    areas = "".join(f"<tr><td>{e(names.get(c, c or '未定位'))}</td><td>{n}</td></tr>" for c, n in s["by_area"].items())
    zeros = "、".join(e(z.get("full_name", z["name"])) for z in zero) or "无"
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#111}}
h1{{font-size:20px;text-align:center}}table{{border-collapse:collapse;margin:8px 0 16px;min-width:50%}}
th,td{{border:1px solid #999;padding:4px 10px;text-align:left}}.mark{{color:#888;font-size:12px}}
@media print{{button{{display:none}}}}</style></head><body>
<h1>{e(title)}</h1><p>统计期间：{e(period_label)}</p><p class="mark">{e(mark)}</p>
<button onclick="window.print()">打印</button>
<h2>主要指标</h2><table>{rows}</table><h2>分类别</h2><table><tr><th>纠纷类别</th><th>件数</th></tr>{cats}</table>
<h2>分地区</h2><table><tr><th>地区</th><th>件数</th></tr>{areas}</table>
<h2>零报告</h2><p>本期无新发纠纷的村（社区）共{len(zero)}个：{zeros}</p><p class="mark">{e(mark)}</p></body></html>"""
