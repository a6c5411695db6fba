/* 平安一张图 — 值班 page: merges the alert change feed into the list and the map, flashes and sounds new alerts.
 * Data text is set with textContent only. window.__dutySeen[id] = Date.now() when an alert's list row is first drawn
 * (the benchmark reads it to measure ingest → screen latency). */
(function () {
    "use strict";
    const SEV = {info: "#718096", low: "#3182ce", medium: "#d69e2e", high: "#dd6b20", critical: "#e53e3e"};
    let OPEN = {};  // the open (未办结) alert states, served by the page (console/store/codes.py OPEN_ALERT_STATES)
    const state = {rows: new Map(), fresh: new Map(), lastSound: 0, filters: {}, running: false, cursor: 0};
    window.__dutySeen = window.__dutySeen || {};

    /* Fresh alerts (< FRESH_MS, the newest MAX_FRESH of them) are DOM markers with a still halo; the rest are
     * circle markers on the map's canvas (preferCanvas): hundreds of DOM divIcons rebuilt on every redraw cost the
     * browser more CPU than the server spent ingesting the events, and an animated flash per alert kept it
     * repainting the whole map without pause under a steady stream. */
    const FRESH_MS = 6000, MAX_FRESH = 20;
    function isFresh(id) {
        const at = state.fresh.get(id);
        return at !== undefined && Date.now() - at < FRESH_MS;
    }

    function alertPoint(feature, latlng) {
        const p = feature.properties || {};
        const fresh = isFresh(p.id);
        if (!fresh) {
            const unack = p.state === "new";
            return L.circleMarker(latlng, {radius: 7, weight: 2, color: unack ? "#e53e3e" : "#ffffff",
                dashArray: unack ? "3 2" : null, fillColor: SEV[p.severity] || SEV.info, fillOpacity: 0.95});
        }
        const cls = "pa-alert-dot pa-sev-" + p.severity + " pa-fresh" + (p.state === "new" ? " pa-unack" : "");
        const node = document.createElement("div");
        node.className = cls;
        node.dataset.alert = String(p.id);
        node.title = p.title || "";
        return L.marker(latlng, {icon: L.divIcon({html: node, className: "pa-icon", iconSize: [22, 22], iconAnchor: [11, 11]}),
            zIndexOffset: 1000});
    }

    function passes(r, f) {
        return (!f.area || (r.county || "").indexOf(f.area) === 0 || (r.town || "").indexOf(f.area) === 0)
            && (!f.rule || r.rule === f.rule) && (!f.state || (f.state === "open" ? OPEN[r.state] : r.state === f.state));
    }

    function features(f) {
        const out = [];
        state.rows.forEach(r => {
            if (r.lon !== null && r.lon !== undefined && OPEN[r.state] && passes(r, f)) {
                out.push({type: "Feature", geometry: {type: "Point", coordinates: [r.lon, r.lat]}, properties: r});
            }
        });
        return {type: "FeatureCollection", features: out.slice(-800)};
    }

    function play() {
        const now = Date.now();
        if (now - state.lastSound < 1500) { return; }
        state.lastSound = now;
        const a = document.getElementById("duty-audio");
        if (a) { try { a.currentTime = 0; const p = a.play(); if (p && p.catch) { p.catch(() => null); } } catch (e) { /* autoplay blocked */ } }
    }

    function ingestRows(alerts, initial) {
        const add = [], update = [];
        let sound = false;
        (alerts || []).forEach(r => {
            r.rid = String(r.id);
            if (state.rows.has(r.id)) { update.push(r); } else {
                add.push(r);
                if (!initial) {
                    state.fresh.set(r.id, Date.now());
                    if (r.state === "new") { sound = true; }
                }
            }
            state.rows.set(r.id, r);
        });
        if (sound) { play(); }
        return {add: add, update: update, addIndex: 0};
    }

    function counter() {
        let open = 0, unack = 0;
        state.rows.forEach(r => { if (OPEN[r.state]) { open += 1; } if (r.state === "new") { unack += 1; } });
        return "未办结 " + open + " 条 · 未签收 " + unack + " 条";
    }

    /* The map's GeoJSON layer rebuilds every marker on each new data object (hundreds of divIcons): under a burst
     * of alerts that kept the browser's main thread busy and delayed the list. Redraw at most once per MAP_EVERY ms
     * (the latest state, trailing), the list and counter at once. */
    const MAP_EVERY = 2000;
    /* Forget freshness past FRESH_MS and beyond the newest MAX_FRESH; when the newest ends, one more redraw puts
     * them on the canvas (one timer, not a loop). */
    function pruneFresh() {
        const now = Date.now();
        state.fresh.forEach((at, id) => { if (now - at >= FRESH_MS) { state.fresh.delete(id); } });
        while (state.fresh.size > MAX_FRESH) { state.fresh.delete(state.fresh.keys().next().value); }
        clearTimeout(state.freshTimer);
        let newest = 0;
        state.fresh.forEach(at => { newest = Math.max(newest, at); });
        if (newest) { state.freshTimer = setTimeout(redrawMap, newest + FRESH_MS - now + 50); }
    }

    function redrawMap() {
        if (state.mapTimer) { return; }
        const wait = Math.max(0, (state.mapAt || 0) + MAP_EVERY - Date.now());
        state.mapTimer = setTimeout(() => {
            state.mapTimer = null;
            state.mapAt = Date.now();
            pruneFresh();
            window.dash_clientside.set_props("duty-map-alerts", {data: features(state.filters)});
        }, wait);
    }

    /* The list and the counter take the rows at most once per LIST_EVERY ms (leading edge: a lone alert shows at
     * once); each drawing costs the browser a frame, and a frame per poll under a stream kept it busy. */
    const LIST_EVERY = 600;
    function queueList(tx) {
        const q = state.listQueue || (state.listQueue = {add: new Map(), update: new Map()});
        tx.add.forEach(r => { q.add.set(r.id, r); });
        tx.update.forEach(r => { if (q.add.has(r.id)) { q.add.set(r.id, r); } else { q.update.set(r.id, r); } });
        if (state.listTimer) { return; }
        const wait = Math.max(0, (state.listAt || 0) + LIST_EVERY - Date.now());
        state.listTimer = setTimeout(() => {
            state.listTimer = null;
            state.listAt = Date.now();
            const rows = state.listQueue;
            state.listQueue = null;
            const set = window.dash_clientside.set_props;
            set("duty-list", {rowTransaction: {add: [...rows.add.values()], update: [...rows.update.values()], addIndex: 0}});
            set("duty-count", {children: counter()});
            const drawn = Date.now();  // the list row is in: that is "on screen" for the benchmark
            rows.add.forEach(r => { window.__dutySeen[r.id] = drawn; });
        }, wait);
    }

    /* The feed: a self-paced loop (next fetch only after the last answer), so a slow answer is never
     * superseded and dropped; it stops when the page is left. At rest it slows to one request a second. Pushes into Dash with set_props. */
    const IDLE_POLL_MS = 1000;
    function startFeed(cursor) {
        if (state.running) { return; }
        state.running = true;
        state.cursor = cursor;
        const tick = () => {
            const box = document.getElementById("duty-count");
            if (!box) { state.running = false; return; }
            // Background polling: does not extend the session (console/security/activity.py); when the
            // session has ended (idle timeout), go to the login page instead of polling on.
            fetch("/api/alerts/changes?cursor=" + state.cursor,
                  {credentials: "same-origin", cache: "no-store", headers: {"X-Pingan-Background": "1"}})
                .then(r => {
                    if (r.status === 401) { state.running = false; window.location.assign("/login?reason=idle"); }
                    return r.ok ? r.json() : null;
                })
                .then(data => {
                    // 250 ms while alerts come in, easing to IDLE_POLL_MS when nothing has for a while
                    let again = Math.min(IDLE_POLL_MS, 250 * Math.pow(1.5, state.idle || 0));
                    state.idle = (state.idle || 0) + 1;
                    if (data && data.alerts) {
                        state.cursor = data.cursor;
                        if (data.alerts.length) {
                            state.idle = 0;
                            again = 250;
                            queueList(ingestRows(data.alerts, false));
                            redrawMap();
                        }
                        if (data.more) { again = 0; }
                    }
                    if (state.running) { setTimeout(tick, again); }
                })
                .catch(() => setTimeout(tick, 1000));
        };
        tick();
    }

    /* (initial rows, area, rule, state) -> [map data, filterModel, counter text]; starts the feed once. */
    function merge(initial, area, rule, st) {
        state.filters = {area: area, rule: rule, state: st};
        if (initial && initial !== state.last) {
            state.last = initial;
            OPEN = Object.fromEntries((initial.open_states || []).map(k => [k, 1]));
            state.rows = new Map();
            ingestRows(initial.alerts, true);
            state.running = false;
            startFeed(initial.cursor);
        }
        const model = {};
        if (area) { model.county = {filterType: "text", type: "startsWith", filter: area.slice(0, 6)}; }
        if (rule) { model.rule = {filterType: "text", type: "equals", filter: rule}; }
        if (st === "open") { model.open = {filterType: "text", type: "equals", filter: "1"}; }
        else if (st) { model.state = {filterType: "text", type: "equals", filter: st}; }
        return [features(state.filters), model, counter()];
    }

    /* list click or map click -> selected alert id and a fly-to viewport */
    function select(cell, mapClick) {
        const trig = (window.dash_clientside.callback_context.triggered || []).map(t => t.prop_id);
        let r = null;
        if (trig.some(t => t.indexOf("duty-map-alerts") === 0) && mapClick) { r = mapClick.properties; }
        else if (cell && cell.rowId) { r = state.rows.get(parseInt(cell.rowId, 10)); }
        if (!r) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
        const vp = r.lon ? {center: [r.lat, r.lon], zoom: 11, transition: "flyTo"} : window.dash_clientside.no_update;
        return [r.id, vp];
    }

    /* Around the selected alert: its village's grids (its own in red, thicker) and the cameras within 5 km. */
    function gridStyle(feature) {
        const mine = feature.properties && feature.properties.mine;
        return {color: mine ? "#e53e3e" : "#805ad5", weight: mine ? 4 : 1.5, opacity: 0.9, dashArray: mine ? null : "4 3",
            fillColor: "#e53e3e", fillOpacity: mine ? 0.12 : 0};
    }

    function gridEach(feature, layer) {
        const p = feature.properties || {};
        const label = document.createElement("span");
        label.textContent = p.name || "";
        layer.bindTooltip(label, {permanent: !!p.mine, direction: "center", className: "area-label"});
    }

    function cameraPoint(feature, latlng) {
        const p = feature.properties || {};
        const online = p.status === "online";
        const marker = L.circleMarker(latlng, {radius: 5, weight: 2, color: "#ffffff",
            fillColor: online ? "#2f855a" : "#718096", fillOpacity: 0.95});
        const tip = document.createElement("span");
        tip.textContent = (p.name || "") + "（" + (p.status_label || "") + "，" + p.distance_m + " 米）";
        marker.bindTooltip(tip);
        return marker;
    }

    window.pingan = Object.assign({}, window.pingan, {duty: {alertPoint: alertPoint, severityColors: SEV,
        gridStyle: gridStyle, gridEach: gridEach, cameraPoint: cameraPoint}});
    window.dash_clientside = Object.assign({}, window.dash_clientside, {duty: {merge: merge, select: select}});
})();
