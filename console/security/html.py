"""The few server-rendered HTML pages (login, TOTP, password, logout, refusals): one style, all text escaped."""

from __future__ import annotations

from flask import Response, make_response

from .hardening import escape_html


_STYLE = """
@media (min-width:2560px){html{zoom:1.5}}@media (min-width:3400px){html{zoom:2}}
body{margin:0;font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;background:#0b1a2e;color:#e6edf5}
.box{max-width:380px;margin:12vh auto;padding:32px 36px;background:#12263f;border:1px solid #24466e;border-radius:8px}
h1{font-size:22px;margin:0 0 6px;text-align:center;letter-spacing:2px}
.sub{font-size:13px;color:#8fa8c4;text-align:center;margin-bottom:22px}
label{display:block;font-size:14px;margin:14px 0 6px;color:#b9cbe0}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border-radius:4px;
border:1px solid #2e5682;background:#0b1a2e;color:#fff}
button{margin-top:22px;width:100%;padding:11px;font-size:16px;border:0;border-radius:4px;background:#1f6fd1;color:#fff;cursor:pointer}
.msg{background:#3b1f24;border:1px solid #7a3640;color:#ffd5da;padding:9px 12px;border-radius:4px;font-size:14px;margin-top:8px}
.info{background:#173a2a;border-color:#2f7552;color:#d4f5e3}
.note{font-size:12px;color:#8fa8c4;margin-top:18px;line-height:1.6}
code{word-break:break-all;background:#0b1a2e;padding:2px 4px}
"""


def page(title: str, body: str, message: str = "", info: bool = False) -> str:
    msg = f'<div class="msg{" info" if info else ""}">{escape_html(message)}</div>' if message else ""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape_html(title)} · 平安一张图</title><style>{_STYLE}</style></head>'
            f'<body><div class="box"><h1>平安一张图</h1><div class="sub">安康市综治中心 · {escape_html(title)}</div>'
            f'{msg}{body}</div></body></html>')


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape_html(name)}" value="{escape_html(value)}">'


def html_response(text: str, status: int = 200) -> Response:
    resp = make_response(text, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    return resp



def logout_button(csrf: str) -> str:
    return (f'<form method="post" action="/logout">{hidden("csrf_token", csrf)}'
            '<button type="submit" style="background:#33475f">退出</button></form>')
