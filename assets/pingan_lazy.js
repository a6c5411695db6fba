/* 平安一张图 — heavy libraries are fetched from this server only when a page first needs them.
 *
 * The index page no longer carries AG Grid (1.3 MB, see console/lazy_assets.py) nor Plotly (1.1 MB):
 *  - window.dash_ag_grid starts as a stand-in whose AgGrid component loads the real bundle on first mount
 *    and then renders the real grid with the same props; later lookups find the real library directly.
 *  - dcc.Graph loads Plotly itself when window.Plotly is missing, from window._dashPlotlyJSURL, which
 *    Dash points at the full 4.6 MB bundle: here it always resolves to the vendored basic bundle.
 *  - The overview draws its charts without dcc.Graph (`pingan_charts.draw`), loading the same file only
 *    once its first view is on screen.
 * Nothing is fetched off the host: both URLs are this app's own. */
(function () {
    "use strict";

    const SUITES = "_dash-component-suites/";
    const PLOTLY = "assets/vendor/plotly-basic.min.js";
    // Plotly's zh-CN texts come with every page (console/lazy_assets.py): registered before Plotly starts.
    const AG_NS = "dash_ag_grid";
    const AG_BUNDLE = SUITES + "dash_ag_grid/dash_ag_grid.min.js";

    function prefix() {
        try {
            const cfg = JSON.parse(document.getElementById("_dash-config").textContent);
            return cfg.requests_pathname_prefix || "/";
        } catch (e) {
            return "/";
        }
    }

    /* One script from this server, once: later calls get the same promise; a failed load may be retried. */
    const scripts = {};
    function loadScript(path) {
        if (!scripts[path]) {
            scripts[path] = new Promise(function (resolve, reject) {
                const script = document.createElement("script");
                script.src = prefix() + path;
                script.async = true;
                script.onload = function () { resolve(); };
                script.onerror = function () { delete scripts[path]; reject(new Error(path + " failed to load")); };
                document.head.appendChild(script);
            });
        }
        return scripts[path];
    }

    /* Plotly: Dash sets _dashPlotlyJSURL once the renderer mounts; keep its prefix, swap the file. */
    let plotlyPrefix = null;
    Object.defineProperty(window, "_dashPlotlyJSURL", {
        configurable: true,
        get: function () { return (plotlyPrefix === null ? prefix() : plotlyPrefix) + PLOTLY; },
        set: function (url) {
            const at = String(url || "").indexOf(SUITES);
            plotlyPrefix = at >= 0 ? String(url).slice(0, at) : null;
        },
    });
    /* The overview's charts: plain divs drawn with Plotly.react once a step is painted (no dcc.Graph, whose
     * mount would fetch and parse Plotly's 1.1 MB during the first view). */
    function loadPlotly() {
        if (window.Plotly) { return Promise.resolve(window.Plotly); }
        return loadScript(PLOTLY).then(function () { return window.Plotly; });
    }

    const CHART_CONFIG = {displayModeBar: false, displaylogo: false, responsive: true, locale: "zh-CN"};

    /* figures: {element id: {data, layout}} (an empty figure clears its chart). Resolves when drawn. */
    function drawCharts(figures) {
        if (!figures) { return Promise.resolve(window.dash_clientside.no_update); }
        return loadPlotly().then(function (Plotly) {
            Object.keys(figures).forEach(function (id) {
                const el = document.getElementById(id);
                const fig = figures[id] || {};
                if (!el) { return; }
                if (!fig.data) { Plotly.purge(el); return; }
                Plotly.react(el, fig.data, Object.assign({autosize: true}, fig.layout || {}), CHART_CONFIG);
            });
            return Date.now();
        }, function () {
            Object.keys(figures).forEach(function (id) {
                const el = document.getElementById(id);
                if (el) { el.textContent = "图表组件加载失败，请刷新页面"; }
            });
            return window.dash_clientside.no_update;
        });
    }

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.pingan_charts = {draw: drawCharts};
    window.pingan = window.pingan || {};
    window.pingan.charts = {load: loadPlotly, draw: drawCharts};

    /* AG Grid */
    if (window[AG_NS]) { return; }  // served eagerly after all: nothing to defer
    let real = null;

    function loadAgGrid() {
        if (real) { return Promise.resolve(real); }
        return loadScript(AG_BUNDLE).then(function () {
            const lib = window[AG_NS];
            if (!(lib && lib !== stand_in && lib.AgGrid)) { throw new Error("AG Grid did not register"); }
            real = lib;
            return lib;
        });
    }

    function LazyAgGrid(props) {
        const React = window.React;
        const state = React.useState(function () { return real ? real.AgGrid : null; });
        const Grid = state[0];
        const setGrid = state[1];
        const failed = React.useState(false);
        React.useEffect(function () {
            if (!Grid) {
                loadAgGrid().then(function (lib) { setGrid(function () { return lib.AgGrid; }); },
                    function () { failed[1](true); });
            }
        }, []);
        if (Grid) { return React.createElement(Grid, props); }
        return React.createElement("div", {className: "pa-lazy " + (props.className || ""), style: props.style},
            failed[0] ? "表格组件加载失败，请刷新页面" : "表格加载中……");
    }
    /* Dash waits for lazy components before firing callbacks that read them (dash-component-plugins' contract). */
    Object.defineProperty(LazyAgGrid, "_dashprivate_isLazyComponentReady", {
        get: function () { return real ? true : loadAgGrid().then(function () { return true; }); },
    });

    const stand_in = {
        AgGrid: LazyAgGrid,
        getApi: function (id) { return real ? real.getApi(id) : undefined; },
        getApiAsync: function (id) { return loadAgGrid().then(function (lib) { return lib.getApiAsync(id); }); },
        load: loadAgGrid,
    };
    window[AG_NS] = stand_in;
    /* Ahead of need: the main bundle, then the chunk its grid loads on first mount (a webpack chunk that
     * registers itself when run, so the later import finds it installed). */
    function prefetchAgGrid() {
        return loadAgGrid().then(function () { return loadScript(SUITES + "dash_ag_grid/async-community.js"); });
    }
    window.pingan.lazy = {loadAgGrid: loadAgGrid, prefetchAgGrid: prefetchAgGrid, loadScript: loadScript};
    /* Only the overview (the command hall's first view) waits for its grid level; the list pages (值班,
     * 矛盾纠纷, 账户, 审计 …) start fetching AG Grid at once, beside the other scripts, as before. */
    if (window.location.pathname !== prefix()) { loadAgGrid().catch(function () { return null; }); }
}());
