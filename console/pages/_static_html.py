"""Static panels (the KPI cards, the legend) as one escaped HTML string instead of a tree of Dash components.

dash-renderer re-checks every mounted component on every store update — several per drill step — so the
overview's ~180 static html.Div/Span/Li of the KPI panel and legend cost it more than everything else on the
page. `to_html` turns such a tree (dash.html components, text, numbers, lists; nothing interactive) into
markup with every text and attribute value escaped; the page sets it with one clientside callback.
"""

from __future__ import annotations

import re

from markupsafe import escape

# Attributes passed through (after renaming); anything else on a component is refused rather than dropped.
_ATTRS = {"id": "id", "className": "class", "title": "title", "role": "role", "hidden": "hidden"}
_VOID = frozenset({"br", "hr", "img", "wbr"})
# CSS properties that React leaves without a unit when given a number.
_UNITLESS = frozenset({"opacity", "zIndex", "fontWeight", "lineHeight", "flex", "flexGrow", "flexShrink", "order",
                       "zoom"})


class NotStatic(TypeError):
    """The tree holds something that is not plain html (a dcc or pattern-id component, an event prop)."""


def _css(style: dict) -> str:
    parts = []
    for key, value in style.items():
        name = re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in _UNITLESS:
            value = f"{value}px"
        parts.append(f"{name}:{value}")
    return ";".join(parts)


def _attr(name: str, value) -> str:
    if name == "hidden":
        return " hidden" if value else ""
    return f' {name}="{escape(value)}"'


def to_html(node) -> str:
    """Markup for a static tree of dash.html components; every text and attribute value escaped."""
    if node is None or isinstance(node, bool):
        return ""
    if isinstance(node, (str, int, float)):
        return str(escape(str(node)))
    if isinstance(node, (list, tuple)):
        return "".join(to_html(n) for n in node)
    if getattr(node, "_namespace", None) != "dash_html_components":
        raise NotStatic(f"not a dash.html component: {type(node).__name__}")
    tag = node._type.lower()
    attrs = []
    props = node.to_plotly_json()["props"]
    for prop, value in props.items():
        if value is None or prop in ("children", "disable_n_clicks", "n_clicks", "n_clicks_timestamp"):
            continue
        if prop == "style":
            attrs.append(_attr("style", _css(value)))
        elif prop in _ATTRS and not isinstance(value, dict):
            attrs.append(_attr(_ATTRS[prop], value))
        elif prop.startswith(("data-", "aria-")):
            attrs.append(_attr(prop, value))
        else:
            raise NotStatic(f"{node._type}.{prop} cannot be rendered as static HTML")
    inner = "" if tag in _VOID else to_html(props.get("children"))
    return f"<{tag}{''.join(attrs)}>" + ("" if tag in _VOID else f"{inner}</{tag}>")
