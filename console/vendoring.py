"""Vendored front-end bundles, made offline once when they are copied in (not patched at run time).

    python -m console.vendoring assets/vendor/plotly-basic.min.js

plotly.js ships a few internet addresses as plain strings. Each is rewritten here:
- `topojsonURL` default (cdn.plot.ly): the app's own folder; geo traces are not in the basic bundle anyway;
- the modebar logo link and the links in error/format help texts: no address, the same words;
- the licence banners keep their attribution, without the `http(s)://` that makes them look fetchable.
What remains are the XML namespace names (http://www.w3.org/2000/svg …): identifiers the DOM requires
verbatim in createElementNS, never requested. `offline_problems` lists anything else, and a test keeps the
committed bundles free of it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LOCAL_TOPOJSON = "assets/vendor/topojson/"

PLOTLY_REWRITES = (
    ('topojsonURL:{valType:"string",noBlank:!0,dflt:"https://cdn.plot.ly/un/"}',
     f'topojsonURL:{{valType:"string",noBlank:!0,dflt:"{LOCAL_TOPOJSON}"}}'),
    ('r.href="https://plotly.com/"', 'r.href="#"'),
    ("For more details, see https://plotly.com/javascript/animations/",
     "For more details, see the plotly.js animation documentation"),
    ('FORMAT_LINK:"https://github.com/d3/d3-format/tree/v1.4.5#d3-format"', 'FORMAT_LINK:"d3-format v1.4.5"'),
    ('DATE_FORMAT_LINK:"https://github.com/d3/d3-time-format/tree/v2.2.3#locale_format"',
     'DATE_FORMAT_LINK:"d3-time-format v2.2.3"'),
    ("MIT License: http://getify.mit-license.org", "MIT License: getify.mit-license.org"),
    ("(@voidqk), http://syntheti.cc", "(@voidqk), syntheti.cc"),
    ("Project Home: https://github.com/voidqk/polybooljs", "Project Home: github.com/voidqk/polybooljs"),
)

# XML namespace names: identifiers, not addresses anything fetches.
NAMESPACES = frozenset({
    "http://www.w3.org/2000/svg", "http://www.w3.org/2000/xmlns/", "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml", "http://www.w3.org/XML/1998/namespace",
})
_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?:/[^\s\"'`)<>\\]*)?")


def offline_plotly(text: str) -> str:
    """The bundle with every internet address rewritten (idempotent)."""
    for old, new in PLOTLY_REWRITES:
        text = text.replace(old, new)
    return text


def offline_problems(text: str) -> list[str]:
    """Internet addresses left in a served file, other than XML namespace names."""
    return sorted({m.group(0) for m in _URL.finditer(text)
                   if m.group(0).rstrip("/") + "/" not in {n.rstrip("/") + "/" for n in NAMESPACES}})


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
