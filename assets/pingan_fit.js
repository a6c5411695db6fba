/* 平安一张图 — every Leaflet map keeps its pane and its area's extent (docs/console.md, "The first frame").
 *
 * Leaflet reads its container's size once, when the map is made; the page around it keeps settling after
 * that (the side panels fill in, the table box opens), and Leaflet only listens to the window's size. A map
 * left with a stale size draws its canvases into a box and fits areas to the wrong size. So each map watches
 * its own container: on a change of size it takes the new size and, unless the user has moved the map since,
 * fits the area it was last asked to show again, in the same frame (ResizeObserver runs before paint). */
(function () {
    "use strict";

    function watch(map) {
        const box = map.getContainer();
        const fit = map.fitBounds;
        let target = null;   // [bounds, options] of the last fit asked for (layout, a drill step, a reset)
        let moved = false;   // the user panned or zoomed since
        let ours = 0;        // > 0 while one of our own fits runs (its move events are not the user's)

        // A panel laid over the map's right side (the layer switch) is kept out of the fitted extent.
        function clear(options) {
            const panel = box.parentElement && box.parentElement.querySelector(":scope > .pa-map-panel");
            if (!panel || !panel.offsetWidth || options.paddingBottomRight) { return options; }
            const pad = window.L.point(options.padding || [0, 0]);
            return Object.assign({}, options, {paddingTopLeft: [pad.x, pad.y],
                paddingBottomRight: [pad.x + panel.offsetWidth, pad.y]});
        }

        map.fitBounds = function (bounds, options) {
            options = clear(options || {});
            target = [window.L.latLngBounds(bounds), options];
            moved = false;
            ours += 1;
            try { return fit.call(this, bounds, options); } finally { ours -= 1; }
        };
        map.on("movestart zoomstart", function () { if (!ours) { moved = true; } });

        if (typeof ResizeObserver !== "function") { return; }
        const observer = new ResizeObserver(function () {
            if (!map._loaded || !box.isConnected) { return; }
            const size = map.getSize();
            if (size.x === box.clientWidth && size.y === box.clientHeight) { return; }
            map.invalidateSize({pan: false});
            if (target && !moved && box.clientWidth > 0 && box.clientHeight > 0) {
                ours += 1;
                try { fit.call(map, target[0], Object.assign({}, target[1], {animate: false})); } finally { ours -= 1; }
            }
        });
        observer.observe(box);
        map.on("unload", function () { observer.disconnect(); });
    }

    function install(L) {
        if (!L || !L.Map) { return false; }
        if (L.Map.__pinganFit) { return true; }
        L.Map.__pinganFit = true;
        L.Map.addInitHook(function () { watch(this); });
        return true;
    }

    window.pingan.whenLeaflet(install);  // assets/pingan_boot.js
}());
