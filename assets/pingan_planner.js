/* 平安一张图 — 网格规划 map functions, called through dash_extensions Namespace("pingan", "planner").
 * Data text goes into the DOM as text nodes only. */
(function () {
    "use strict";

    function hide(context) { return (context && context.hideout) || {}; }

    function outlineStyle() { return {color: "#c05621", weight: 3, fill: false}; }

    function pastStyle() { return {color: "#d53f8c", weight: 3, dashArray: "8 5", fill: false}; }

    /* Draft grids: colour by balance status, red outline when the grid has an error, thick when selected. */
    function gridStyle(feature, context) {
        const p = feature.properties || {};
        const selected = hide(context).selected === p.index;
        return {color: p.error ? "#c53030" : (selected ? "#2b6cb0" : "#2d3748"), weight: selected ? 4 : (p.error ? 3 : 1.5),
            fillColor: p.colour || "#a0aec0", fillOpacity: selected ? 0.15 : 0.35};
    }

    function gridEach(feature, layer) {
        const p = feature.properties || {};
        const box = document.createElement("span");
        box.textContent = (p.code ? p.code.slice(-3) : "新") + " · " + (p.households || 0) + "户";
        layer.bindTooltip(box, {permanent: true, direction: "center", className: "pl-grid-label"});
    }

    function householdPoint(feature, latlng) {
        return L.circleMarker(latlng, {radius: 2, stroke: false, fillColor: "#2b6cb0", fillOpacity: 0.7, interactive: false});
    }

    function problemStyle(feature) {
        const kind = (feature.properties || {}).kind;
        const colour = kind === "gap" ? "#d69e2e" : "#c53030";
        return {color: colour, weight: 2, fillColor: colour, fillOpacity: 0.55, dashArray: kind === "outside" ? "4 2" : null};
    }

    function unassignedPoint(feature, latlng) {
        return L.circleMarker(latlng, {radius: 4, color: "#c53030", weight: 1, fillColor: "#fc8181", fillOpacity: 0.9,
            interactive: false});
    }

    window.pingan = Object.assign({}, window.pingan, {
        planner: {outlineStyle, pastStyle, gridStyle, gridEach, householdPoint, problemStyle, unassignedPoint},
    });
})();
