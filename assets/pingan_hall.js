/* 平安一张图 — the command hall's map functions (Namespace("pingan", "hall")) and the wall's clock
 * (docs/console.md, 指挥大厅).
 *
 * heatFilter: a dl.GeoJSON whose features are counted map cells feeds one Leaflet.heat layer (vendored in
 * assets/vendor/leaflet-heat.js) instead of drawing markers. Leaflet calls the filter once per feature inside
 * one addData; the cells are gathered and handed to the heat layer in one go after that call. The server always
 * sends a first feature with `reset: true`, so that an empty answer still clears the heat layer. */
(function () {
    "use strict";

    const heats = new WeakMap();  // map → {layer, pending}

    /* Sizes follow the root font size (1920 → 1, 3840 → ~2), as the overview's markers do (assets/pingan_map.js). */
    let kValue = 1, kKey = null;  // read once per (width, theme): getComputedStyle per feature would force restyles
    function k() {
        const root = document.documentElement;
        const key = window.innerWidth + "|" + (root.dataset.theme || "");
        if (key !== kKey) { kKey = key; kValue = Math.max(1, parseFloat(getComputedStyle(root).fontSize) / 15); }
        return kValue;
    }

    function heatFilter(feature, context) {
        const map = context && context.map;
        const L = window.L;
        if (!map || !L || !L.heatLayer) { return false; }
        let entry = heats.get(map);
        if (!entry) {
            entry = {layer: L.heatLayer([], {radius: 22 * k(), blur: 18 * k(), minOpacity: 0.25}), pending: null};
            heats.set(map, entry);
            entry.layer.addTo(map);
        }
        const p = feature.properties || {};
        if (p.reset || entry.pending === null) {
            entry.pending = [];
            entry.max = p.max || 1;
            Promise.resolve().then(function () {
                const pts = entry.pending || [];
                entry.pending = null;
                entry.layer.setOptions({max: Math.max(1, entry.max)});
                entry.layer.setLatLngs(pts);
            });
        }
        if (!p.reset) {
            const c = feature.geometry.coordinates;
            entry.pending.push([c[1], c[0], p.n || 1]);
        }
        return false;  // nothing drawn as a marker
    }

    const KIND_COLORS = {events: "#3182ce", alerts: "#e53e3e", disputes: "#dd6b20"};

    /* Replay: one circle per counted cell, its area growing with the count. */
    function replayPoint(feature, latlng) {
        const p = feature.properties || {};
        const r = k() * (4 + Math.min(14, Math.sqrt(p.n || 1) * 3));
        return L.circleMarker(latlng, {radius: r, color: "#fff", weight: 1, fillColor: KIND_COLORS[p.kind] || "#4a5568",
            fillOpacity: 0.85, interactive: false});
    }

    function replayGrid(feature, context) {
        const dark = ((context && context.hideout) || {}).dark;
        return {color: dark ? "#b794f4" : "#6b46c1", weight: 1.2 * k(), opacity: 0.9, fill: false};
    }

    window.pingan = Object.assign({}, window.pingan, {hall: {heatFilter, replayPoint, replayGrid}});

    /* The wall's clock: one text update a second, outside Dash (no callback, no re-render). */
    function two(n) { return (n < 10 ? "0" : "") + n; }
    function tick() {
        const clocks = document.querySelectorAll(".pa-hall-clock");
        if (clocks.length) {
            const b = new Date(Date.now() + 8 * 3600 * 1000);  // Beijing time whatever the machine's zone
            const text = two(b.getUTCHours()) + ":" + two(b.getUTCMinutes()) + ":" + two(b.getUTCSeconds());
            clocks.forEach(function (c) { if (c.textContent !== text) { c.textContent = text; } });
        }
    }
    setInterval(tick, 1000);
})();
