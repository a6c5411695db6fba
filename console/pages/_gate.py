"""The Dash side of the permission registry (console/security/registry.py): `install(app, security)` lets the gate
look Dash requests up by their output key, guards every page's layout by `registry.PAGES`, and answers forged
callback requests with 400 instead of 500. Called once by `console.app.create_app`."""

from __future__ import annotations

import logging

import dash
from dash import html
from dash.exceptions import DashException
from flask import jsonify, make_response

from console.security import registry
from console.security.gate import current_viewer
from console.security.guard import AccessDenied, refuse, require_need


class ForgedValue(ValueError):
    """A callback value the page never offers (a choice outside its options): 400 with this message, which names
    what is wrong in Chinese and quotes nothing internal."""


def install(app, security) -> None:
    """Wire a Dash app into the gate: callbacks looked up by their output key, page layouts guarded."""
    def lookup(output: str) -> tuple[bool, str | None]:
        entry = app.callback_map.get(output)
        if entry is None:
            return False, None
        return True, registry.callback_name(entry.get("callback"))

    security.callbacks = lookup

    @app.server.errorhandler(DashException)
    def _malformed(exc):  # a forged or broken callback request (wrong outputs, inputs): the caller's error
        return make_response(jsonify(error="页面操作请求格式错误，请刷新页面后重试。"), 400)

    @app.server.errorhandler(TypeError)
    @app.server.errorhandler(KeyError)
    @app.server.errorhandler(ValueError)
    @app.server.errorhandler(IndexError)
    @app.server.errorhandler(AttributeError)
    def _forged(exc):  # a callback fed forged values (ids, dates, shapes it never sends): 400, logged
        from flask import request
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):  # e.g. BadRequestKeyError (a missing form field): its own answer
            return exc
        logging.getLogger(__name__).exception("request failed on %s", request.path)
        if request.path == "/_dash-update-component":
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            found, name = lookup(output) if isinstance(output, str) else (False, None)
            what = f"（{name}）" if found and name else ""
            kind = _KINDS.get(type(exc), "不符合要求")
            message = str(exc) if isinstance(exc, ForgedValue) else f"页面操作{what}的参数{kind}，请刷新页面后重试。"
            return make_response(jsonify(error=message, operation=name if found else None), 400)
        return make_response(jsonify(error="服务器内部错误"), 500)

    for page in dash.page_registry.values():
        if not page.get("_pingan_guarded"):
            page["layout"] = guarded_layout(page["path"], page["layout"])
            page["_pingan_guarded"] = True


# What a forged value did, in words (the exception's class, not its text: that may quote internals).
_KINDS = {TypeError: "类型不对", AttributeError: "类型不对", KeyError: "缺少必需的字段", IndexError: "缺少必需的元素",
          ValueError: "取值无效"}


def guarded_layout(path: str, layout):
    """A page's layout behind its `PAGES` need: refused (audited) → a notice instead of the page."""

    def guarded(**kwargs):
        need = registry.page_need(path)
        viewer = current_viewer()
        try:
            if need is None:  # a page missing from the registry is refused like an undeclared route
                raise refuse(viewer, f"page:{path}", "undeclared")
            require_need(viewer, need, f"page:{path}")
        except AccessDenied:
            return html.Div(html.P("无权限访问此页面（已记录）。"), className="pa-card")
        return layout(**kwargs) if callable(layout) else layout

    return guarded
