/* 平安一张图 — area labels that never overlap (docs/console.md, "Map symbols").
 *
 * Each area's label sits at the point the server computed inside its polygon (console/services/labelpoint.py).
 * Where two labels would overlap on screen, the smaller area's label yields (it stays in the page, hidden, and
 * shows while the pointer is over its area); a zoom or a new set of areas sorts them out again. */
(function () {
    "use strict";

    const HIDDEN = "pa-label-hidden";
    const HOVER = "pa-label-hover";
    const GAP = 2;  // px kept between two labels

    function labelsOf(map) {
        return Array.from(map.getContainer().querySelectorAll(".leaflet-tooltip.area-label"));
    }

    /* Greedy by rank (the selected area first, then the larger areas): a label is shown when it overlaps no
     * label already shown. All boxes are read before any class is written (one layout, not one per label). */
    function declutter(map) {
        const nodes = labelsOf(map);
        const items = nodes.map(function (node) {
            const text = node.querySelector(".area-label-text");
            const rank = text ? (text.dataset.selected === "1" ? Infinity : Number(text.dataset.rank) || 0) : 0;
            return {node: node, rank: rank, box: node.getBoundingClientRect()};
        });
        items.sort(function (a, b) { return b.rank - a.rank; });
        const kept = [];
        items.forEach(function (it) {
            const r = it.box;
            const clash = r.width > 0 && kept.some(function (k) {
                return r.left < k.right + GAP && r.right > k.left - GAP && r.top < k.bottom + GAP && r.bottom > k.top - GAP;
            });
            it.hide = clash;
            if (!clash && r.width > 0) { kept.push(r); }
        });
        items.forEach(function (it) { it.node.classList.toggle(HIDDEN, it.hide); });
        return kept.length;
    }

    function schedule(map) {
        if (!map || map.__paLabelFrame) { return; }
        map.__paLabelFrame = requestAnimationFrame(function () {
            map.__paLabelFrame = 0;
            if (map._loaded) { declutter(map); }
        });
    }

    function watchMap(map) {
        if (map.__paLabels) { return; }
        map.__paLabels = true;
        map.on("zoomend viewreset resize", function () { schedule(map); });
        // labels come and go with their layers (a new area, a restyle that rebuilds them): sort them out again
        // once the pane has settled, whatever the order of additions and removals
        const pane = map.getPane("tooltipPane");
        if (pane && typeof MutationObserver === "function") {
            const observer = new MutationObserver(function () { schedule(map); });
            observer.observe(pane, {childList: true});
            map.on("unload", function () { observer.disconnect(); });
        }
    }

    /* Called for each area polygon (pingan.map.areaEach): its label at `at` ([lon, lat]), decluttered. */
    function place(layer, at) {
        if (at && at.length === 2) {
            const where = window.L.latLng(at[1], at[0]);
            // Leaflet opens a permanent tooltip at getCenter() (for a multi-part area: its first part's centroid)
            layer.getCenter = function () { return where; };
        }
        layer.on("add", function () {
            if (layer._map) { watchMap(layer._map); schedule(layer._map); }
        });
        layer.on("mouseover", function () {
            const tip = layer.getTooltip && layer.getTooltip();
            const node = tip && tip.getElement && tip.getElement();
            if (node) { node.classList.add(HOVER); }
        });
        layer.on("mouseout", function () {
            const tip = layer.getTooltip && layer.getTooltip();
            const node = tip && tip.getElement && tip.getElement();
            if (node) { node.classList.remove(HOVER); }
        });
    }

    window.pingan = window.pingan || {};
    window.pingan.labels = {place: place, declutter: declutter};
}());
