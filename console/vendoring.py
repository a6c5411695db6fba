"""Vendored front-end bundles, made offline once when they are copied in (not patched at run time).

    python -m console.vendoring assets/vendor/plotly-basic.min.js
    python -m console.vendoring assets/vendor/hls.min.js assets/vendor/mpegts.min.js   (npm pack, docs/video.md)

plotly.js ships a few internet addresses as plain strings. They are rewritten here:
- the `topojsonURL` default (the vendor's CDN): the app's own folder; geo traces are not in the basic bundle;
- every other address (the modebar logo link, help-text links, licence banners) loses its `http(s)://`, so
  the words stay and nothing looks fetchable.
What remains are the XML namespace names (http://www.w3.org/2000/svg …): identifiers the DOM requires
verbatim in createElementNS, never requested. `offline_problems` lists anything else, and a test keeps the
committed bundles free of it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LOCAL_TOPOJSON = "assets/vendor/topojson/"

# The topojson default points at the vendor's CDN: the app's own folder instead.
_TOPOJSON_DEFAULT = re.compile(r'(topojsonURL:\{valType:"string",noBlank:!0,dflt:")[^"]*(")')

# XML namespace names: identifiers, not addresses anything fetches.
NAMESPACES = frozenset({
    "http://www.w3.org/2000/svg", "http://www.w3.org/2000/xmlns/", "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml", "http://www.w3.org/XML/1998/namespace",
    "http://www.w3.org/ns/ttml#styling",  # hls.js: TTML subtitle styling namespace
})
# Other identifiers that look like addresses and are never requested: hls.js's emsg scheme id (compared with
# the stream's boxes), mpegts.js's feature probe (an XMLHttpRequest opened to test a response type, never sent).
IDENTIFIERS = frozenset({"https://aomedia.org/emsg/ID3", "https://example.com"})
_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?:/[^\s\"'`)<>\\]*)?")


def _is_namespace(url: str) -> bool:
    return url in IDENTIFIERS or url.rstrip("/") + "/" in {n.rstrip("/") + "/" for n in NAMESPACES}


def offline_plotly(text: str) -> str:
    """The bundle with every internet address rewritten (idempotent): the topojson default to the app's own
    folder, every other address but the XML namespace names to its words without the `http(s)://`."""
    text = _TOPOJSON_DEFAULT.sub(lambda m: m.group(1) + LOCAL_TOPOJSON + m.group(2), text)
    return _URL.sub(lambda m: m.group(0) if _is_namespace(m.group(0)) else m.group(0).split("://", 1)[1], text)


def offline_problems(text: str) -> list[str]:
    """Internet addresses left in a served file, other than XML namespace names."""
    return sorted({m.group(0) for m in _URL.finditer(text) if not _is_namespace(m.group(0))})


def main(argv: list[str] | None = None) -> int:
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        text = offline_plotly(path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")
        left = offline_problems(text)
        print(f"{path}: {'offline' if not left else 'still points at ' + ', '.join(left)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
