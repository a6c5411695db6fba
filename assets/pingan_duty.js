/* 平安一张图 — 值班 page: merges the alert change feed into the list and the map, flashes and sounds new alerts.
 * Data text is set with textContent only. window.__dutySeen[id] = Date.now() when an alert's list row is first drawn
 * (the benchmark reads it to measure ingest → screen latency). */
(function () {
    "use strict";
    const SEV = {info: "#718096", low: "#3182ce", medium: "#d69e2e", high: "#dd6b20", critical: "#e53e3e"};
    let OPEN = {};  // the open (未办结) alert states, served by the page (console/store/codes.py OPEN_ALERT_STATES)
    const state = {rows: new Map(), fresh: new Map(), lastSound: 0, filters: {}, running: false, cursor: 0};
    window.__dutySeen = window.__dutySeen || {};

    /* Fresh alerts (< 6 s) are DOM markers that flash; the rest are circle markers on the map's canvas
     * (preferCanvas): hundreds of DOM divIcons rebuilt on every redraw cost the browser more CPU than the server
     * spent ingesting the events. */
    function alertPoint(feature, latlng) {
        const p = feature.properties || {};
        const fresh = state.fresh.has(p.id) && Date.now() - state.fresh.get(p.id) < 6000;
        if (!fresh) {
            const unack = p.state === "new";
            return L.circleMarker(latlng, {radius: 7, weight: 2, color: unack ? "#e53e3e" : "#ffffff",
                dashArray: unack ? "3 2" : null, fillColor: SEV[p.severity] || SEV.info, fillOpacity: 0.95});
        }
        const cls = "pa-alert-dot pa-sev-" + p.severity + (fresh ? " pa-flash" : "") + (p.state === "new" ? " pa-unack" : "");
        const node = document.createElement("div");
        node.className = cls;
        node.dataset.alert = String(p.id);
        node.title = p.title || "";
        return L.marker(latlng, {icon: L.divIcon({html: node, className: "pa-icon", iconSize: [18, 18], iconAnchor: [9, 9]}),
            zIndexOffset: fresh ? 1000 : 0});
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
    const MAP_EVERY = 700;
    function redrawMap() {
        if (state.mapTimer) { return; }
        const wait = Math.max(0, (state.mapAt || 0) + MAP_EVERY - Date.now());
        state.mapTimer = setTimeout(() => {
            state.mapTimer = null;
            state.mapAt = Date.now();
            window.dash_clientside.set_props("duty-map-alerts", {data: features(state.filters)});
        }, wait);
    }

    /* The feed: a self-paced loop (next fetch only after the last answer), so a slow answer is never
     * superseded and dropped; it stops when the page is left. Pushes into Dash with set_props. */
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
                    let again = 250;
                    if (data && data.alerts) {
                        state.cursor = data.cursor;
                        if (data.alerts.length) {
                            const tx = ingestRows(data.alerts, false);
                            const set = window.dash_clientside.set_props;
                            set("duty-list", {rowTransaction: tx});
                            set("duty-count", {children: counter()});
                            const drawn = Date.now();  // the list row is in: that is "on screen" for the benchmark
                            tx.add.forEach(r => { window.__dutySeen[r.id] = drawn; });
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
        if (st && st !== "open") { model.state = {filterType: "text", type: "equals", filter: st}; }
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

    window.pingan = Object.assign({}, window.pingan, {duty: {alertPoint: alertPoint, severityColors: SEV}});
    window.dash_clientside = Object.assign({}, window.dash_clientside, {duty: {merge: merge, select: select}});
})();
