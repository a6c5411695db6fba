"""pages/_static_html.to_html: static html trees → markup, every text and attribute escaped, nothing interactive."""

from __future__ import annotations

import re

import pytest
from dash import dcc, html

from console.pages import _widgets as w
from console.pages._static_html import NotStatic, to_html

XSS = '<img src=x onerror="alert(1)">'


@pytest.mark.parametrize("tree,expected", [
    (None, ""),
    ("a<b", "a&lt;b"),
    (1234, "1234"),
    ([html.B("1"), "2"], "<b>1</b>2"),
    (html.Div("x", id="k", className="c"), '<div id="k" class="c">x</div>'),
    (html.Span("x", hidden=True), "<span hidden>x</span>"),
    (html.Span("x", style={"borderColor": "#fff", "width": 3, "opacity": 0.5}),
     '<span style="border-color:#fff;width:3px;opacity:0.5">x</span>'),
    (html.Li(html.Span("y", **{"data-code": "6109"})), '<li><span data-code="6109">y</span></li>'),
    (html.Hr(), "<hr>"),
])
def test_renders_plain_html(tree, expected):
    assert to_html(tree) == expected


def test_text_and_attributes_are_escaped():
    out = to_html(html.Div(XSS, title=XSS, className='a" onclick="x'))
    assert "<img" not in out and 'onclick="x' not in out
    assert "&lt;img" in out and "&#34;" in out


@pytest.mark.parametrize("tree", [
    dcc.Store(id="s"),
    html.Button("x", id={"type": "crumb", "code": "6109"}),  # pattern ids are for callbacks
    html.Div(html.A("x", href="/")),  # href is not passed through: links belong in Dash components
])
def test_interactive_parts_are_refused(tree):
    with pytest.raises(NotStatic):
        to_html(tree)


def test_the_kpi_panel_and_legend_render(tmp_path):
    """The real panel of a real area (tiny world): every number in place, the marker span the page waits for."""
    import kpi_oracle
    from console.services import areas
    from console.store import AreaScope, make_engine, make_session_factory
    from console.store.codes import CITY_CODE
    from tests.browser.tinyworld import NOW, build

    engine = make_engine(build(tmp_path / "tiny.sqlite"), must_exist=True)
    with make_session_factory(engine)() as s:
        node = areas.get_node(s, CITY_CODE)
        k = kpi_oracle.oracle_kpis(s, node, AreaScope.city(), NOW)
    engine.dispose()
    out = to_html(w.kpi_widgets(k, len(node.children) if hasattr(node, "children") else 0, node.child_level))
    assert '<span id="kpi-area" hidden>610900</span>' in out
    assert re.search(f'<div id="kpi-residents"[^>]*>{k["residents"]["total"]:,}</div>', out)
    legend = to_html(w.legend(["special", "disputes"]))
    assert "特殊人群" in legend and "<li>" in legend
