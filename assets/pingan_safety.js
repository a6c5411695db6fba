/* 平安一张图 — 护路护线 line style and popups (docs/safety.md), Namespace("pingan", "safety").
 * Text from data goes into the DOM as text nodes only. */
(function () {
    "use strict";

    function hide(context) { return (context && context.hideout) || {}; }

    function lineStyle(feature, context) {
        const h = hide(context);
        const p = feature.properties || {};
        return {color: (h.colors || {})[p.r] || "#4a5568", weight: 4, opacity: 0.9,
                dashArray: (h.dash || {})[p.k] || null};
    }

    function lineEach(feature, layer, context) {
        const h = hide(context);
        const p = feature.properties || {};
        const tip = document.createElement("span");
        tip.textContent = p.name || "";
        layer.bindTooltip(tip, {sticky: true});
        layer.on("click", function () {
            if (!h.detailUrl || feature.id === undefined) { return; }
            fetch(h.detailUrl + encodeURIComponent(feature.id), {credentials: "same-origin"})
                .then(function (r) { return r.json(); })
                .then(function (data) {
                    const box = document.createElement("div");
                    box.className = "pa-popup";
                    const content = data.error ? (box.textContent = data.error, box) : window.pingan.map.popupTable(data);
                    layer.bindPopup(content, {maxWidth: 360}).openPopup();
                });
        });
    }

    /* 打印交接报告: the page's print style shows the report only (assets/pingan_safety.css). */
    function printReport(n) {
        if (n) { window.print(); }
        return "打印交接报告";
    }

    window.pingan = Object.assign({}, window.pingan, {safety: {lineStyle, lineEach}});
    window.dash_clientside = Object.assign({}, window.dash_clientside, {safety: {printReport}});
})();
