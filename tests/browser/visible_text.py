"""Latin words a user sees: the visible text of a page (text nodes of shown elements, empty inputs'
placeholders) and the words in it outside an allow list. Shared by the browser test and benchmarks/console.py."""

from __future__ import annotations

import re

# Words a Chinese user reads as they are: file formats, units, standard abbreviations.
ALLOWED = frozenset({
    "km", "PNG", "Excel", "xlsx", "XLSX", "CSV", "csv", "GeoJSON", "KML", "kml", "Shapefile", "shp", "zip", "ZIP",
    "DXF", "WKT", "GCJ", "WGS", "CGCS", "API", "ID", "TOTP", "GB", "MB", "KB", "HLS", "FLV", "RTSP", "IP", "URL",
    "PDF", "pdf", "txt", "json", "geojson", "gpkg", "GPKG",
    "GBK", "UTF", "GPS", "ods", "ODS", "xls", "XLS", "xlsm",  # encodings and spreadsheet formats the import names
})
# A word: two or more Latin letters standing alone. Letters glued to digits are a code (JF6109…, GB18030), not a word.
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")

# Every visible text node's text (hidden elements, scripts, styles and Leaflet's own attribution left out).
VISIBLE_TEXT = """() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
        const t = n.textContent.trim();
        if (!t) continue;
        const el = n.parentElement;
        if (!el || el.closest('script,style,noscript,template')) continue;
        if (el.checkVisibility && !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        out.push(t);
    }
    for (const el of document.querySelectorAll('input[placeholder],textarea[placeholder]')) {
        if (!el.value && el.checkVisibility && el.checkVisibility()) out.push(el.placeholder);
    }
    return out;
}"""


def latin_words(texts: list[str], allowed=ALLOWED) -> list[str]:
    """Latin words of the texts outside the allow list (identifiers such as codes are digits, never counted)."""
    return [w for t in texts for w in WORD.findall(t) if w not in allowed]
