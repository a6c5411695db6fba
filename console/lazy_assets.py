"""Keep the heavy JavaScript out of the index page; `assets/pingan_lazy.js` fetches it when a page needs it.

AG Grid's main bundle (1.3 MB, 360 kB gzipped) is registered with Dash as `async: "lazy"`: still served from
/_dash-component-suites/, no longer a <script> tag of every page. The vendored Plotly bundle is left out of
the assets Dash includes automatically (`ASSETS_IGNORE`); dcc.Graph loads it on first use. Both are this
app's own files, so the offline rule holds.
"""

from __future__ import annotations

import re

# Component bundles that `assets/pingan_lazy.js` knows how to load on demand: {package: main bundle}.
DEFERRED_BUNDLES = {"dash_ag_grid": "dash_ag_grid.min.js"}
# Assets served by URL only (not auto-included): the Plotly bundle dcc.Graph fetches when it first draws. Its
# Chinese locale (vendor/plotly-locale-zh-cn.js, 3 kB) is an ordinary asset on every page: it must be there before
# Plotly starts (it queues itself in window.PlotlyLocales), or the first chart's mode bar comes up in English.
LAZY_ASSETS = ("vendor/plotly-basic.min.js",)
# The video players (docs/video.md): the wall page loads them when it opens its first stream.
PLAYER_ASSETS = ("vendor/hls.min.js", "vendor/mpegts.min.js")
# Vendored licence texts (assets/vendor/LICENSE.*) are files to read, not scripts: "LICENSE.hls-js" ends in "js",
# and Dash would put it in a <script> tag of every page.
ASSETS_IGNORE = "|".join([*(re.escape(p.rsplit("/", 1)[-1]) + "$" for p in (*LAZY_ASSETS, *PLAYER_ASSETS)),
                          r"^LICENSE\."])
# What the overview fetches after the index page (lazy bundles and chunks): gzipped ahead at start-up too.
ON_DEMAND_URLS = (
    "/_dash-component-suites/dash_ag_grid/dash_ag_grid.min.js",
    "/_dash-component-suites/dash_ag_grid/async-community.js",
    "/_dash-component-suites/dash/dcc/async-graph.js",
    "/_dash-component-suites/dash_leaflet/async-GeoJSON.js",
    *(f"/assets/{p}" for p in LAZY_ASSETS),
)


def defer_bundles(packages: dict[str, str] = DEFERRED_BUNDLES) -> list[str]:
    """Mark each package's main bundle `async: "lazy"` (served on request, never in the index page).

    Idempotent; returns the packages changed. Dash reads a package's `_js_dist` each time it renders the
    index, so this only has to run before the first page is served."""
    import importlib

    changed = []
    for package, bundle in packages.items():
        module = importlib.import_module(package)
        for resource in getattr(module, "_js_dist", []):
            if resource.get("relative_package_path") == bundle and resource.get("async") != "lazy":
                resource["async"] = "lazy"
                changed.append(package)
    return changed


# Chunks the overview's first view always needs but only asks for once its layout is rendered (dash-leaflet
# loads GeoJSON lazily): the index page preloads them beside its scripts, saving that round trip.
PRELOAD_URLS = ("_dash-component-suites/dash_leaflet/async-GeoJSON.js",)


def index_string(base: str, prefix: str = "/") -> str:
    """Dash's index template with `<link rel=preload>` for PRELOAD_URLS (this app's own files) before the CSS."""
    links = "".join(f'<link rel="preload" as="script" href="{prefix}{url}">' for url in PRELOAD_URLS)
    return base.replace("{%css%}", links + "{%css%}", 1)
