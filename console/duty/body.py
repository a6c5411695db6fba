"""Request bodies of the events API: bytes → JSON value, one parser and one set of limits for every path
(POST /api/events and /api/events/batch, the fast WSGI endpoint and the Flask route behind it). docs/duty.md
("请求体") lists the limits and what each refusal means.

orjson parses. It already refuses NaN / Infinity (not JSON), numbers beyond a double, invalid UTF-8, lone
surrogates, a byte-order mark and nesting deeper than 1024. On top of it: a size limit, a nesting limit of
MAX_DEPTH, duplicate keys refused (orjson keeps the last one silently), and integers beyond 64 bits kept exact —
orjson reads them as floats, so a body holding one is parsed a second time with those literals swapped for
placeholder strings, which are then put back as Python ints. Every refusal is a `BodyError` (4xx, Chinese reason).
"""

from __future__ import annotations

import re
import secrets

import orjson

MAX_DEPTH = 32  # levels of objects / arrays in one event body (a batch's array adds one)
_EXACT_FLOAT = 2.0 ** 63  # orjson keeps every integer in [-2**63, 2**64) exact; outside it gives a float
# In valid JSON, a string token, or an integer literal of 19+ digits (not part of a fraction or an exponent).
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_TOKENS = re.compile(_STRING + rb'|(?<![0-9.eE+-])(-?[1-9][0-9]{18,})(?![0-9.eE])', re.DOTALL)
_KEYS = re.compile(_STRING + rb'(\s*:)?', re.DOTALL)
_NOT_DIGIT = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))  # digits → "0", the rest → " "


class BodyError(Exception):
    """The whole body refused before any event in it was looked at."""

    def __init__(self, status: int, code: str, reason: str):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason

    def body(self) -> dict:
        return {"error": self.code, "reason": self.reason}


def parse(raw: bytes, *, limit: int, depth: int = MAX_DEPTH):
    """The JSON value of `raw` (at most `limit` bytes, `depth` levels); raises BodyError."""
    if len(raw) > limit:
        raise BodyError(413, "too_large", f"请求体超过 {limit} 字节")
    if not raw.strip():
        raise BodyError(400, "empty_body", "请求体为空")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _malformed(raw, exc) from None
    # the tree walk only when it can find something: more brackets than levels allowed, or a long digit run
    if raw.count(b"[") + raw.count(b"{") > depth or b"0" * 19 in raw.translate(_NOT_DIGIT):
        keys, inexact = _walk(value, depth)
        if inexact:
            value = _exact(raw, depth)
    else:
        keys = _key_count(orjson.dumps(value))  # orjson writes each key once
    if keys != _key_count(raw):
        raise BodyError(400, "duplicate_key", f"JSON 对象里有重复的键：{'、'.join(_duplicates(raw, value))}"
                                              "（只能出现一次，否则不知道该用哪个值）")
    return value


def dumps(body) -> bytes:
    return orjson.dumps(body)


def _walk(value, depth: int) -> tuple[int, bool]:
    """(number of object keys, whether a float may be an integer orjson could not keep exact); raises BodyError
    past `depth` levels. Iterative: orjson allows 1024 levels, more than Python's recursion limit leaves."""
    keys, inexact = 0, False
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
            keys += len(node)
        elif isinstance(node, list):
            children = node
        else:
            if isinstance(node, float) and abs(node) >= _EXACT_FLOAT and node.is_integer():
                inexact = True
            continue
        if level > depth:
            raise _too_deep(depth)
        stack.extend((child, level + 1) for child in children)
    return keys, inexact


def _exact(raw: bytes, depth: int):
    """Parse again with every integer literal of 19+ digits as a placeholder string, then put the exact ints back.
    `raw` already parsed, so it is valid JSON and the token scan sees strings and numbers as orjson did."""
    tag = f"\x00int-{secrets.token_hex(8)}-"
    found: dict[str, int] = {}

    def swap(m: re.Match) -> bytes:
        if m.group(1) is None:
            return m.group(0)
        name = f"{tag}{len(found)}"
        found[name] = int(m.group(1))
        return b'"\\u0000' + name[1:].encode() + b'"'

    value = orjson.loads(_TOKENS.sub(swap, raw))
    if not found:  # floats written with an exponent (1e19): nothing to restore
        return value
    if isinstance(value, str):
        return found.get(value, value)
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in list(items):
            if isinstance(v, str):
                if v in found:
                    node[k] = found[v]
            elif isinstance(v, (dict, list)):
                stack.append(v)
    return value


def _key_count(raw: bytes) -> int:
    """Object keys in valid JSON text: string tokens followed by a colon."""
    tokens = _KEYS.findall(raw)
    return len(tokens) - tokens.count(b"")


def _duplicates(raw: bytes, value) -> list[str]:
    """Names of keys that occur more often in the text than in the parsed objects (for the message only)."""
    seen: dict[str, int] = {}
    for m in _KEYS.finditer(raw):
        if m.group(1):
            name = orjson.loads(m.group(0).rstrip(b" \t\r\n:"))
            seen[name] = seen.get(name, 0) + 1
    parsed: dict[str, int] = {}
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                parsed[k] = parsed.get(k, 0) + 1
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return [repr(k)[:40] for k, n in seen.items() if n > parsed.get(k, 0)][:10]


def _too_deep(depth: int) -> BodyError:
    return BodyError(400, "too_deep", f"JSON 嵌套超过 {depth} 层")


def _malformed(raw: bytes, exc: orjson.JSONDecodeError) -> BodyError:
    msg, pos = exc.msg, exc.pos
    where = f"第 {exc.lineno} 行第 {exc.colno} 列"
    if "depth limit" in msg:
        return _too_deep(MAX_DEPTH)
    if "infinity" in msg or raw[pos:pos + 3] == b"NaN" or raw[pos:pos + 8] in (b"Infinity", b"-Infinit"):
        return BodyError(400, "not_finite", f"{where}：不接受 NaN、Infinity 或超出双精度范围的数字")
    if "byte order mark" in msg:
        return BodyError(400, "malformed_json", "请求体以 UTF-8 BOM 开头，请去掉 BOM")
    if "surrogate" in msg:
        return BodyError(400, "malformed_json", f"{where}：字符串里有不成对的 UTF-16 代理项（\\ud800–\\udfff）")
    if "UTF-8" in msg:
        return BodyError(400, "malformed_json", f"{where}：请求体不是合法的 UTF-8 编码")
    return BodyError(400, "malformed_json", f"JSON 无法解析，{where}（{msg[:80]}）")
