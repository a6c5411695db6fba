"""Text side of grid files: encodings (.cpg values, UTF-8 check, mojibake), attribute field guessing and
JSON-friendly attribute values. Pure functions, used by `gridfile`."""

from __future__ import annotations

import codecs
import functools
import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

ENCODING_CHOICES = {
    "UTF-8": "UTF-8（国际通用，新版 ArcGIS/QGIS 默认）",
    "GBK": "GBK（简体中文 Windows，旧版 ArcGIS 常见）",
    "GB18030": "GB18030（国家标准，兼容 GBK）",
}

# .cpg contents seen in the wild -> Python codec; numeric values are Windows code pages.
_CPG_ALIASES = {
    "936": "GBK", "ansi936": "GBK", "cp936": "GBK", "gb2312": "GBK", "gbk": "GBK",
    "54936": "GB18030", "gb18030": "GB18030",
    "65001": "UTF-8", "utf8": "UTF-8", "utf-8": "UTF-8",
    "1252": "CP1252", "ansi1252": "CP1252",
}

_CANONICAL = {"utf-8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030", "gb2312": "GBK", "big5": "BIG5"}


def normalize_encoding(value: str | None) -> str | None:
    """A codec name from a .cpg text or a user's choice ("936", "ANSI 936", "utf8" ...); None if unknown."""
    if not value:
        return None
    key = re.sub(r"[\s_]", "", value.strip().lower())
    if key in _CPG_ALIASES:
        return _CPG_ALIASES[key]
    try:
        name = codecs.lookup(value.strip()).name
    except LookupError:
        return None
    return _CANONICAL.get(name, name.upper())


_HANZI = "\u3400-\u9fff\uf900-\ufaff\U00020000-\U000323af"
# Characters Chinese text uses besides hanzi: ASCII and Latin-1 (judged apart), punctuation, number forms,
# circled numbers, CJK symbols, full-width forms. Anything else is another script: GBK bytes read as UTF-8.
_OTHER_SCRIPT = re.compile("[^\t\n\r\x20-\x7e\xa0-\xff\u2000-\u206f\u2100-\u218f\u2460-\u25ff\u3000-\u303f"
                           "\u3200-\u33ff\ufe30-\ufe4f\uff00-\uffef\ufffd" + _HANZI + "]")
# Replacement, control, invisible format (zero-width, bidi overrides), private-use and unassigned characters.
_BROKEN = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x80-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
                     "\ue000-\uf8ff\U000323b0-\U0010ffff]")
_HANZI_RE = re.compile(f"[{_HANZI}]")
_LATIN1 = re.compile("[\xa0-\xff]")
_NAME_LIKE = re.compile("[\x00-\x7f\u00b7\u3000-\u303f\uff01-\uff5e" + _HANZI + "]*")


def _is_hanzi(c: str) -> bool:
    return _HANZI_RE.match(c) is not None


@functools.cache
def _in_gb2312(c: str) -> bool:
    try:
        c.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _rare_share(text: str) -> tuple[int, float]:
    """(number of hanzi, share of them outside GB2312). Real place and grid names are almost all GB2312;
    UTF-8 bytes read as GBK, or GBK bytes read as Big5, give mostly characters outside it."""
    hanzi = _HANZI_RE.findall(text)
    if not hanzi:
        return 0, 0.0
    try:
        "".join(hanzi).encode("gb2312")
        return len(hanzi), 0.0
    except UnicodeEncodeError:
        return len(hanzi), sum(not _in_gb2312(c) for c in hanzi) / len(hanzi)


def _utf8_read_as_gbk(text: str) -> bool:
    """True when the text is UTF-8 misread as GBK: its GBK bytes are valid UTF-8 made only of hanzi and
    name characters, with no more rare hanzi than the text. (Real GBK names are valid UTF-8 of that
    kind only by a rare chance: every hanzi must fall into a three-byte pattern.)"""
    try:
        alt = text.encode("gb18030").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    n_alt, share_alt = _rare_share(alt)
    return (alt != text and n_alt > 0 and _NAME_LIKE.fullmatch(alt) is not None
            and share_alt <= _rare_share(text)[1])


def looks_mojibake(text: str) -> bool:
    """Heuristic: Chinese text decoded with the wrong codec. True for replacement characters, control or
    private-use characters, invisible format characters (zero-width, bidi overrides), unassigned planes, runs of Latin-1 letters ("°²¿µ": GBK read as
    Latin-1), other scripts (GBK read as UTF-8: "һһ"), UTF-8 read as GBK ("鏂板煄琛楅亾"), and hanzi mostly
    outside GB2312 (e.g. GBK read as Big5). Real grid names have none of these."""
    if not isinstance(text, str) or not text or text.isascii() and text.isprintable():
        return False
    if _BROKEN.search(text) or _OTHER_SCRIPT.search(text):
        return True
    latin = _LATIN1.findall(text)
    if latin and _HANZI_RE.search(text):  # "·" and "×" are at home in Chinese names
        latin = [c for c in latin if c not in "\u00b7\u00d7"]
    if len(latin) >= 2 or _utf8_read_as_gbk(text):
        return True
    n, share = _rare_share(text)
    return n >= 2 and share > 0.5


def _redecode(text: str, encoding: str, check: bool = True) -> str | None:
    try:
        decoded = text.encode("latin-1").decode(encoding)
    except (UnicodeDecodeError, UnicodeEncodeError):
        return None
    return None if check and looks_mojibake(decoded) else decoded


def decode_frame_strings(frame: pd.DataFrame, encoding: str, check: bool = True) -> pd.DataFrame | None:
    """Re-decode the column names and string values of a frame read as ISO-8859-1 (one character per byte)
    with `encoding`; None when any of them does not decode or (`check`) decodes to mojibake."""
    columns = {}
    for col in frame.columns:
        columns[col] = _redecode(col, encoding, check) if isinstance(col, str) else col
        if columns[col] is None:
            return None
    out = frame.copy()
    for col in out.columns:
        if not (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):  # geometry is neither
            continue
        values = []
        for value in out[col]:
            if isinstance(value, str):
                value = _redecode(value, encoding, check)
                if value is None:
                    return None
            values.append(value)
        out[col] = pd.Series(values, index=out.index, dtype=object)
    return out.rename(columns=columns)


_FIELD_NAMES = {
    "code": ("code", "gridcode", "gridid", "gridno", "网格编码", "网格代码", "网格编号", "编码", "代码", "编号", "wgbm", "wgdm", "bm"),
    "name": ("name", "gridname", "网格名称", "网格名", "名称", "wgmc", "mc"),
}
_FIELD_WORDS = {"code": ("code", "编码", "代码", "编号"), "name": ("name", "名称")}
_OTHER_UNITS = ("village", "vill", "town", "county", "村", "社区", "镇", "街道", "县", "区划")


def guess_field(columns: Iterable[str], kind: str) -> str | None:
    """The column holding the grid's code (kind="code") or name (kind="name"): an exact known name first
    (code, GRID_CODE, 网格编码 ...), else one containing the word and not naming another unit (村/镇)."""
    cols = [str(c) for c in columns]
    norm = {c: re.sub(r"[\s_\-]", "", c.lower()) for c in cols}
    for wanted in _FIELD_NAMES[kind]:
        for col in cols:
            if norm[col] == wanted:
                return col
    for col in cols:
        if any(w in norm[col] for w in _FIELD_WORDS[kind]) and not any(u in norm[col] for u in _OTHER_UNITS):
            return col
    return None


def plain_value(value):
    """A JSON-friendly Python value: NaN/NA -> None, numpy scalars -> Python, integral floats -> int,
    timestamps -> ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, pd.Timestamp) or hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def text_value(value) -> str | None:
    """A code or name as stripped text (6109020010010.0 -> "6109020010010"); None when blank."""
    value = plain_value(value)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def row_properties(row: dict) -> dict:
    return {str(k): plain_value(v) for k, v in row.items()}
