"""Which text encoding a shapefile's attributes are in, from three witnesses: the `.cpg` file, the code-page
byte of the DBF header (LDID, byte 29) and the attribute bytes themselves. Pure functions over the raw
strings (read as ISO-8859-1, one character per byte); used by `gridfile`. Rules: docs/planner-import.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from geodata.planner.gridfile_text import ENCODING_CHOICES, looks_mojibake, normalize_encoding

# DBF language driver ids (the ESRI / GDAL table) -> codec. 0 means "not stated".
LDID_CODECS = {
    0x01: "CP437", 0x02: "CP850", 0x03: "CP1252", 0x57: "CP1252", 0x4D: "GBK", 0x7A: "GBK",
    0x4F: "BIG5", 0x78: "BIG5", 0x4E: "CP949", 0x79: "CP949", 0x13: "CP932", 0x7B: "CP932",
    0x7C: "CP874", 0x64: "CP852", 0x65: "CP866", 0x26: "CP866", 0xC8: "CP1250", 0xC9: "CP1251",
    0xCA: "CP1254", 0xCB: "CP1253",
}
_SAMPLES = 2
_WESTERN_DEFAULTS = {"CP1252", "CP437", "CP850"}


def ldid_encoding(ldid: int | None) -> str | None:
    return LDID_CODECS.get(ldid) if ldid else None


def read_ldid(dbf_path: str) -> int | None:
    """The DBF header's language driver id (byte 29), None when the header is too short."""
    with open(dbf_path, "rb") as f:
        head = f.read(32)
    return head[29] if len(head) >= 32 else None


@dataclass(frozen=True)
class Candidate:
    encoding: str
    samples: tuple[str, ...]        # the first texts decoded with it; () when the bytes do not decode
    clean: bool                     # every text decodes and none looks like mojibake

    def label(self) -> str:
        if not self.samples:
            return f"{self.encoding}：无法解码"
        shown = "、".join(f"“{s}”" for s in self.samples)
        return f"{self.encoding}：{shown}" + ("" if self.clean else "（乱码）")


@dataclass(frozen=True)
class EncodingDecision:
    encoding: str | None            # None: the planner must choose
    question: str | None            # zh-CN, with decoded samples, when encoding is None
    candidates: tuple[Candidate, ...]


def _candidate(texts: list[str], encoding: str) -> Candidate:
    try:
        decoded = [raw.encode("latin-1").decode(encoding) for raw in texts]
    except UnicodeDecodeError:
        return Candidate(encoding, (), False)
    clean = not any(looks_mojibake(text) for text in decoded)
    return Candidate(encoding, tuple(text[:20] for text in decoded[:_SAMPLES]), clean)


def decide_encoding(raw_texts: Iterable[str], *, cpg: str | None, ldid: int | None,
                    user: str | None = None) -> EncodingDecision:
    """The encoding to read with, or a question. `raw_texts` are field names and values as read with
    ISO-8859-1; `cpg` the raw .cpg text; `user` the planner's normalised choice.

    - only ASCII: any encoding reads the same; the stated one (or UTF-8) is used;
    - the planner's choice is used when it decodes cleanly, else asked again;
    - the .cpg and the DBF code page, when stated, must agree with each other and decode cleanly (a Western
      default code page beside a .cpg does not count: ArcGIS writes one whatever the .cpg says);
    - nothing stated: UTF-8 when the bytes are clean UTF-8;
    - otherwise the planner is shown each candidate's decoded samples and asked."""
    texts = list(dict.fromkeys(t for t in raw_texts if isinstance(t, str) and not t.isascii()))
    from_cpg, from_ldid = normalize_encoding(cpg), ldid_encoding(ldid)
    if from_cpg and from_ldid in _WESTERN_DEFAULTS:  # ArcGIS writes 0x57 beside any .cpg; the .cpg is meant
        from_ldid = None
    if not texts:
        return EncodingDecision(user or from_cpg or from_ldid or "UTF-8", None, ())
    order = list(dict.fromkeys(e for e in (user, from_cpg, from_ldid, *ENCODING_CHOICES) if e))
    seen: dict[str, Candidate] = {}

    def clean(encoding: str) -> bool:  # candidates are decoded only when a rule needs them
        if encoding not in seen:
            seen[encoding] = _candidate(texts, encoding)
        return seen[encoding].clean

    stated = {k: v for k, v in ((".cpg 文件", from_cpg), ("DBF 代码页标记", from_ldid)) if v}
    if user:
        if clean(user):
            return EncodingDecision(user, None, tuple(seen.values()))
        why = f"按您选择的“{user}”解码后是乱码或无法解码。"
    elif stated:
        agreed = set(stated.values())
        if len(agreed) == 1 and clean(next(iter(agreed))):
            return EncodingDecision(next(iter(agreed)), None, tuple(seen.values()))
        said = "，".join(f"{k}为 {v}" for k, v in stated.items())
        why = (f"文件声明的编码互相矛盾（{said}）。" if len(agreed) > 1
               else f"文件声明的编码（{said}）与文字内容不符，按它解码是乱码。")
    else:
        if clean("UTF-8"):
            return EncodingDecision("UTF-8", None, tuple(seen.values()))
        why = "Shapefile 没有 .cpg 编码文件，DBF 也未标记代码页，属性表中的文字不是 UTF-8（国内数据常为 GBK）。"
    for encoding in order:
        clean(encoding)
    candidates = tuple(seen[e] for e in order)
    shown = "；".join(c.label() for c in candidates)
    question = f"{why}各编码解码的样例：{shown}。请选择字符编码（{'、'.join(ENCODING_CHOICES)}）后重试。"
    return EncodingDecision(None, question, candidates)
