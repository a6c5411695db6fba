/* 平安一张图 — 热点网格 on the 统计研判 page (console/pages/_hot_grids.py): the ranked grids drawn in red, the
 * higher the rank the deeper; the grid picked in the list outlined; each with its rank as a label.
 * Called by dash-leaflet through dash_extensions Namespace("pingan", "hot"); data goes in as text nodes. */
(function () {
    "use strict";

    function hotStyle(feature, context) {
        const h = (context && context.hideout) || {};
        const p = feature.properties || {};
        const of = Math.max(1, p.of || 1);
        const selected = h.selected && h.selected === p.code;
        return {color: selected ? "#1a202c" : "#9b2c2c", weight: selected ? 4 : 1.5, fillColor: "#e53e3e",
            fillOpacity: 0.8 - 0.5 * ((p.rank || of) - 1) / of};
    }

    function hotEach(feature, layer) {
        const p = feature.properties || {};
        const badge = document.createElement("span");
        badge.className = "pa-hot-rank";
        badge.textContent = String(p.rank || "");
        badge.dataset.code = p.code || "";
        badge.title = (p.name || "") + "：" + (p.count || 0) + " 件";
        layer.bindTooltip(badge, {permanent: true, direction: "center", className: "pa-hot-label", opacity: 1});
    }

    window.pingan = window.pingan || {};
    window.pingan.hot = {hotStyle: hotStyle, hotEach: hotEach};
}());
