/* 平安一张图 — map style functions, called by dash-leaflet through dash_extensions Namespace("pingan", "map").
 * Every text that comes from data is put into the DOM as a text node (never as HTML), so names and
 * descriptions cannot inject markup. */
(function () {
    "use strict";

    function el(tag, className, text) {
        const node = document.createElement(tag);
        if (className) { node.className = className; }
        if (text !== undefined && text !== null) { node.textContent = String(text); }
        return node;
    }

    function hide(context) { return (context && context.hideout) || {}; }

    /* Marker sizes follow the root font size, which follows the screen (1920 → 1, 3840 → ~2) and the theme.
     * Read once per (width, theme): getComputedStyle per marker forced a style recalculation for each one. */
    let kValue = 1;
    let kKey = null;
    function k() {
        const root = document.documentElement;
        const key = window.innerWidth + "|" + (root.dataset.theme || "");
        if (key !== kKey) {
            kKey = key;
            kValue = Math.max(1, parseFloat(getComputedStyle(root).fontSize) / 15);
        }
        return kValue;
    }

    const LIGHT = {line: "#2b6cb0", fill: "#bee3f8", selected: "#e53e3e", grid: "#805ad5", text: "#1a202c"};
    const DARK = {line: "#63b3ed", fill: "#1a365d", selected: "#fc8181", grid: "#b794f4", text: "#e2e8f0"};
    /* Class colour of a value (console/services/choropleth.py: colours and breaks come with the hideout). */
    function choroplethColor(value, breaks, colors) {
        let i = 0;
        while (i < breaks.length && value > breaks[i]) { i += 1; }
        return colors[Math.min(i, colors.length - 1)];
    }

    /* Administrative areas (children of the current area). */
    function areaStyle(feature, context) {
        const h = hide(context);
        const pal = h.dark ? DARK : LIGHT;
        const p = feature.properties || {};
        const selected = h.selected && p.code === h.selected;
        const style = {color: selected ? pal.selected : pal.line, weight: selected ? 4 : 2, opacity: 0.95,
            fillColor: pal.fill, fillOpacity: h.dark ? 0.35 : 0.25};
        if ((h.mode === "residents" || h.mode === "density") && h.colors) {  // 实有人口: by count or 人/平方公里
            style.fillColor = choroplethColor(p[h.mode] || 0, h.breaks || [], h.colors);
            style.fillOpacity = 0.75;
        }
        return style;
    }

    function areaEach(feature, layer, context) {
        const p = feature.properties || {};
        const h = hide(context);
        const label = el("span", "area-label-text", p.name);
        label.dataset.code = p.code || "";
        label.dataset.parent = p.parent || "";
        label.dataset.level = p.level || "";
        label.dataset.rank = p.km2 || 0;  // where labels would overlap, the larger area keeps its label
        if (h.selected && p.code === h.selected) { label.dataset.selected = "1"; }
        window.pingan.labels.place(layer, p.label);  // assets/pingan_labels.js: inside the polygon, decluttered
        gridPopupOnClick(feature, layer);
        layer.bindTooltip(label, {permanent: true, direction: "center", className: "area-label", opacity: 0.95});
    }

    function gridStyle(feature, context) {
        const h = hide(context);
        const pal = h.dark ? DARK : LIGHT;
        return {color: pal.grid, weight: 1, opacity: 0.8, dashArray: "4 3", fill: false};
    }

    /* The legs of a spiderfied cluster (the only lines a point layer draws). Leaflet applies a GeoJSON layer's
     * style to its circle markers too: leave those as pointToLayer made them. */
    function spiderStyle(feature, context) {
        if (!feature.geometry || feature.geometry.type !== "LineString") { return {}; }
        const h = hide(context);
        return {color: h.dark ? "#e2e8f0" : "#4a5568", weight: 1.5, opacity: 0.85, interactive: false};
    }

    function basemapStyle(feature, context) {
        const h = hide(context);
        const dark = !!h.dark;
        const kind = h.kind;
        if (kind === "rivers") { return {color: dark ? "#2c7a7b" : "#63b3ed", weight: 1.5, opacity: 0.9}; }
        if (kind === "outline") { return {color: dark ? "#f6e05e" : "#c05621", weight: 3, fill: false}; }
        if (kind === "counties") { return {color: dark ? "#718096" : "#a0aec0", weight: 1, fill: false}; }
        // provinces and cities: filled without a stroke; their borders come as separate lines (services/geo.py
        // drops the edges of the rectangle the data was clipped to, so no box shows around it)
        const border = feature && feature.properties && feature.properties.border;
        if (kind === "cities") {
            return border ? {color: dark ? "#2d3748" : "#cbd5e0", weight: 1, fill: false}
                : {stroke: false, fillColor: dark ? "#171923" : "#f7fafc", fillOpacity: 1};
        }
        return border ? {color: dark ? "#4a5568" : "#a0aec0", weight: 1.5, fill: false}
            : {stroke: false, fillColor: dark ? "#0d1117" : "#edf2f7", fillOpacity: 1};
    }

    /* Point layers: glyph/colour from the hideout; count bubbles above a layer's level. */
    function markerHtml(h, p) {
        const color = (h.colors || {})[p[h.colorBy]] || "#4a5568";
        const box = el("div", "pa-marker" + (h.square ? " pa-square" : "") + (p.alert ? " pa-alert" : ""));
        box.style.background = color;
        const glyph = h.glyphs ? (h.glyphs[p[h.glyphBy]] || "") : (h.glyphBy ? (p[h.glyphBy] || "") : "");
        box.textContent = glyph;
        return box;
    }

    function bubble(count, h, title) {
        const box = el("div", "pa-bubble pa-bubble-" + (h.layer || "x"), count >= 10000 ?
            (Math.round(count / 1000) + "k") : count);
        if (h.bubbleColor) { box.style.background = h.bubbleColor; }  // the layer's, as its legend shows it
        if (title) { box.title = title; }
        return box;
    }

    /* A count bubble stands for a child area: clicking it drills into that area, like its polygon. */
    function drillTo(code) {
        if (code && window.dash_clientside && window.dash_clientside.set_props) {
            window.dash_clientside.set_props("ov-area", {data: code});
        }
    }

    function pointToLayer(feature, latlng, context) {
        const h = hide(context);
        const p = feature.properties || {};
        if (p.count) {
            const size = k() * Math.min(64, 26 + Math.round(Math.log10(p.count + 1) * 10));
            const off = (h.bubbleOffset || [0, 0]).map(v => v * k());  // keep bubbles of different layers apart, below the label
            const b = bubble(p.count, h, p.area);
            b.dataset.code = p.code || "";
            return L.marker(latlng, {icon: L.divIcon({html: b, className: "pa-icon",
                iconSize: [size, size], iconAnchor: [size / 2 - off[0], size / 2 - off[1]]})});
        }
        if (!h.glyphBy) {
            const color = (h.colors || {})[p[h.colorBy]] || "#4a5568";
            return L.circleMarker(latlng, {radius: (h.radius || 5) * k(), color: "#fff", weight: 1, fillColor: color,
                fillOpacity: 0.9});
        }
        const size = (p.alert ? 26 : 20) * k();
        return L.marker(latlng, {icon: L.divIcon({html: markerHtml(h, p), className: "pa-icon",
            iconSize: [size, size]}), zIndexOffset: p.alert ? 1000 : 0});
    }

    function clusterToLayer(feature, latlng, index, context) {
        const h = hide(context);
        const n = feature.properties.point_count;
        const size = k() * Math.min(56, 24 + Math.round(Math.log10(n + 1) * 10));
        return L.marker(latlng, {icon: L.divIcon({html: bubble(n, h), className: "pa-icon", iconSize: [size, size]})});
    }

    function cookie(name) {
        const hit = document.cookie.split("; ").find(function (c) { return c.startsWith(name + "="); });
        return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
    }

    /* 「显示」 next to a masked value: one audited request for the full value (the server checks the
     * permission and the record's area; a refusal is shown in place of the button). */
    function revealButton(td, value, reveal) {
        const btn = el("button", "pa-popup-reveal", "显示");
        btn.type = "button";
        btn.title = "查看完整信息（将记入审计日志）";
        btn.addEventListener("click", function (ev) {
            ev.stopPropagation();
            btn.disabled = true;
            fetch("/api/unmask", {method: "POST", credentials: "same-origin",
                                  headers: {"Content-Type": "application/json", "X-CSRFToken": cookie("_csrf_token")},
                                  body: JSON.stringify(reveal)})
                .then(function (r) { return r.json(); })
                .then(function (data) {
                    if (data.error) { btn.replaceWith(el("span", "pa-popup-note", data.error)); return; }
                    value.textContent = data.value;
                    btn.remove();
                })
                .catch(function () { btn.replaceWith(el("span", "pa-popup-note", "请求失败")); });
        });
        td.appendChild(btn);
    }

    function rowsTable(rows) {
        const table = el("table");
        (rows || []).forEach(function (row) {
            const tr = el("tr");
            tr.appendChild(el("th", null, row[0]));
            const td = el("td");
            const value = el("span", "pa-popup-value", row[1]);
            td.appendChild(value);
            if (row[2] && row[1]) { revealButton(td, value, row[2]); }
            tr.appendChild(td);
            table.appendChild(tr);
        });
        return table;
    }

    /* {title, rows, sections: [{title, rows}], more: {label, url}} → the popup's content; `follow(url)` opens
     * the "more" link (a household's building) in the same place. */
    function popupTable(data, follow) {
        const box = el("div", "pa-popup");
        box.appendChild(el("div", "pa-popup-title", data.title || ""));
        box.appendChild(rowsTable(data.rows));
        (data.sections || []).forEach(function (section) {
            box.appendChild(el("div", "pa-popup-section", section.title));
            if (section.rows && section.rows.length) { box.appendChild(rowsTable(section.rows)); }
        });
        if (data.more && data.more.url && follow) {
            const btn = el("button", "pa-popup-more", data.more.label);
            btn.type = "button";
            btn.addEventListener("click", function (ev) { ev.stopPropagation(); follow(data.more.url); });
            box.appendChild(btn);
        }
        return box;
    }

    /* Fetch a popup's rows and show them on `layer` (a marker) or, for an area, at `latlng` on `map`. */
    function openPopup(map, latlng, url, layer) {
        const show = function (content) {
            if (layer && layer.getLatLng) { layer.bindPopup(content, {maxWidth: 380}).openPopup(); return; }
            if (map) { window.L.popup({maxWidth: 380}).setLatLng(latlng).setContent(content).openOn(map); }
        };
        fetch(url, {credentials: "same-origin"})
            .then(function (r) { return r.json(); })
            .then(function (data) {
                show(data.error ? el("div", "pa-popup", data.error) :
                    popupTable(data, function (next) { openPopup(map, latlng, next, layer); }));
            })
            .catch(function () { show(el("div", "pa-popup", "详情加载失败")); });
    }

    function pointEach(feature, layer, context) {
        const h = hide(context);
        const p = feature.properties || {};
        if (p.count || p.cluster) {
            if (p.area) { layer.bindTooltip(el("span", null, p.area + "：" + p.count)); }
            if (p.code) { layer.on("click", function () { drillTo(p.code); }); }
            return;
        }
        layer.on("click", function () {
            if (!h.detailUrl || feature.id === undefined) { return; }
            openPopup(layer._map, null, h.detailUrl + encodeURIComponent(feature.id), layer);
        });
    }

    /* The grid shown (grid level): a click on it lists its workers and counts (other grids drill on click). */
    function gridPopupOnClick(feature, layer) {
        const p = feature.properties || {};
        if (p.level !== "grid" || !p.code) { return; }
        layer.on("click", function (e) {
            if (new URLSearchParams(window.location.search).get("area") !== p.code) { return; }
            openPopup(layer._map, e.latlng, "/api/popup/grid/" + encodeURIComponent(p.code));
        });
    }

    window.pingan = Object.assign({}, window.pingan, {
        map: {areaStyle, areaEach, gridStyle, basemapStyle, spiderStyle, pointToLayer, clusterToLayer, pointEach, popupTable},
    });
})();
