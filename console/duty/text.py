"""Which characters an event body may carry (docs/duty.md, "文字").

Identifiers (event_id, payload keys, codes such as payload.case_code) take printable characters only: no control
characters, no zero-width or bidi-control characters, no other format characters, no private-use or unassigned
code points, no white space other than the ASCII space, and no space at either end. Free text (every other
string in payload) additionally allows tab, line feed, carriage return, private-use characters (rare characters
in names are often encoded there) and other spaces. Both are refused, never stripped: what is stored is what
was sent, and a replay compares equal.
"""

from __future__ import annotations

import unicodedata

ZERO_WIDTH = frozenset({0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF})
BIDI = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
_FREE_EXTRA = frozenset("\t\n\r")
_FREE_CATEGORIES = frozenset({"Co", "Cn", "Zs"})
_KINDS = {"Cc": "控制字符", "Cf": "格式控制字符", "Cs": "UTF-16 代理项", "Co": "私用区字符", "Cn": "未分配的码位",
          "Zl": "行分隔符", "Zp": "段分隔符", "Zs": "特殊空白"}


def identifier_problem(value: str) -> str | None:
    """Why `value` is not a clean identifier, or None."""
    if value.isprintable():
        return "首尾不能有空格" if value != value.strip(" ") else None
    for i, ch in enumerate(value):
        if not ch.isprintable():
            return _where(i, ch)
    return None  # pragma: no cover - isprintable() was False, so some character is not printable


def text_problem(value: str) -> str | None:
    """Why `value` is not acceptable free text, or None."""
    if value.isprintable():
        return None
    for i, ch in enumerate(value):
        if ch.isprintable() or ch in _FREE_EXTRA or unicodedata.category(ch) in _FREE_CATEGORIES:
            continue
        return _where(i, ch)
    return None


def _where(i: int, ch: str) -> str:
    code = ord(ch)
    if code in ZERO_WIDTH:
        kind = "零宽字符"
    elif code in BIDI:
        kind = "双向文本控制字符"
    else:
        kind = _KINDS.get(unicodedata.category(ch), "不可见字符")
    return f"第 {i + 1} 个字符是{kind}（U+{code:04X}），不允许"
