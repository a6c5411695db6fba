/* 巡查 on the phone (docs/field.md §7): start and stop a patrol, record the GPS track with watchPosition, check in
   at a household or key place of the own grid. Everything goes through the offline queue (queue.js): the start
   is one change (version 1); the track so far follows at the first good fix and then every 10 minutes (the duty
   desk sees where an on-duty worker is); the stop with the whole track is the last change; each check-in is its
   own record. The walking patrol lives in IndexedDB so a reload or a dead battery loses nothing. */
(function () {
  'use strict';
  const Q = window.FieldQueue, A = window.FieldApp;
  const ACCURACY_LIMIT_M = 100;  // console/field/codes.py ACCURACY_LIMIT_M: coarser fixes are not in the distance
  const PROGRESS_MS = 10 * 60 * 1000;  // the track so far goes up this often while walking
  const MIN_GAP_MS = 5000, MIN_MOVE_M = 20;  // keep a fix 5 s or 20 m after the last (codes.py MAX_TRACK_FIXES)
  const $ = sel => document.querySelector(sel);
  let patrol = null;  // {uuid, grid_code, started_at, fixes: [{lon, lat, accuracy, t}], checkins: [...]}
  let watch = null;

  const hhmm = iso => new Date(iso).toLocaleTimeString('zh-CN', {hour: '2-digit', minute: '2-digit', hour12: false});
  const usable = f => f.accuracy != null && f.accuracy <= ACCURACY_LIMIT_M;

  function haversine(a, b) {
    const r = Math.PI / 180, R = 6371008.8;
    const h = Math.sin((b.lat - a.lat) * r / 2) ** 2 +
      Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin((b.lon - a.lon) * r / 2) ** 2;
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function distance(fixes) {
    const good = fixes.filter(usable);
    let d = 0;
    for (let i = 1; i < good.length; i++) d += haversine(good[i - 1], good[i]);
    return d;
  }

  function grids() { const b = A.bundle(); return b ? b.grids : []; }

  function fillGrids() {
    const sel = $('#patrol-grid');
    sel.innerHTML = '';
    for (const g of grids()) sel.add(new Option(g.name + '（' + g.code.slice(-6) + '）', g.code));
    if (patrol) sel.value = patrol.grid_code;
    fillTargets();
  }

  function fillTargets() {
    const b = A.bundle(), sel = $('#checkin-target');
    sel.innerHTML = '';
    if (!b) return;
    const code = patrol ? patrol.grid_code : $('#patrol-grid').value;
    for (const h of b.households.filter(h => h.grid_code === code)) {
      sel.add(new Option('住户 ' + h.address, 'household:' + h.id));
    }
    for (const p of (b.safety_places || []).filter(p => p.grid_code === code)) {  // 公共安全 key places
      sel.add(new Option('公共安全 ' + p.kind + ' ' + p.name + '（' + p.risk + '）', 'safety_place:' + p.id));
    }
    for (const p of (b.places || []).filter(p => p.grid_code === code)) {
      sel.add(new Option('重点场所 ' + p.name, 'key_place:' + p.id));
    }
  }

  function render() {
    const on = !!patrol;
    $('#patrol-state').textContent = on ? '巡查中（' + hhmm(patrol.started_at) + ' 开始）' : '未在巡查';
    $('#patrol-state').dataset.on = on ? '1' : '0';
    $('#patrol-start').hidden = on;
    $('#patrol-stop').hidden = !on;
    $('#patrol-grid').disabled = on;
    $('#checkin').disabled = !on;
    const fixes = on ? patrol.fixes : [];
    const coarse = fixes.filter(f => !usable(f)).length;
    $('#patrol-stats').textContent = '轨迹 ' + fixes.length + ' 个定位点 · ' + Math.round(distance(fixes)) + ' 米' +
      (coarse ? ' · ' + coarse + ' 个精度不足（不计入里程）' : '');
    const list = $('#checkins');
    list.innerHTML = '';
    for (const c of (on ? patrol.checkins : [])) {
      const li = document.createElement('li');
      li.textContent = hhmm(c.at) + ' ' + c.label;
      list.appendChild(li);
    }
    drawTrack();
  }

  /* The grid's outline and the track so far (offline: the outline is in the kept grid data). */
  function drawTrack() {
    const svg = $('#patrol-map');
    const grid = patrol && grids().find(g => g.code === patrol.grid_code);
    if (!grid) { svg.setAttribute('hidden', ''); return; }
    const [x0, y0, x1, y1] = grid.bbox;
    const s = Math.min(300 / ((x1 - x0) || 1e-6), 200 / ((y1 - y0) || 1e-6));
    const ox = (300 - (x1 - x0) * s) / 2, oy = (200 - (y1 - y0) * s) / 2;
    const px = lon => (ox + (lon - x0) * s).toFixed(1), py = lat => (200 - oy - (lat - y0) * s).toFixed(1);
    const rings = grid.geometry.type === 'Polygon' ? [grid.geometry.coordinates] : grid.geometry.coordinates;
    const line = patrol.fixes.filter(usable).map(f => px(f.lon) + ',' + py(f.lat)).join(' ');
    svg.innerHTML = rings.map(poly => '<path d="' + poly.map(r => 'M' + r.map(c => px(c[0]) + ' ' + py(c[1]))
      .join('L') + 'Z').join('') + '"/>').join('') + (line ? '<polyline points="' + line + '"/>' : '');
    svg.removeAttribute('hidden');
  }

  async function keep() { await Q.kvSet('patrol', patrol); }

  function onFix(pos) {
    if (!patrol) return;
    const c = pos.coords, t = new Date(pos.timestamp || Date.now());
    const last = patrol.fixes[patrol.fixes.length - 1];
    const here = {lon: c.longitude, lat: c.latitude};
    if (last && t - new Date(last.t) < MIN_GAP_MS && haversine(last, here) < MIN_MOVE_M) return;
    patrol.fixes.push({lon: c.longitude, lat: c.latitude, accuracy: c.accuracy, t: t.toISOString()});
    const due = patrol.progress_at ? t - new Date(patrol.progress_at) >= PROGRESS_MS : usable(patrol.fixes.at(-1));
    if (due) progress(t);
    keep();
    render();
  }

  /* The track so far, as the patrol's next version (the queue keeps the order, so the versions line up). */
  async function progress(t) {
    patrol.progress_at = t.toISOString();
    const base = patrol.version++;  // counted before waiting: a stop right after still builds on this version
    await Q.enqueue(change(base, {started_at: patrol.started_at, ended_at: null, fixes: patrol.fixes.slice()}), []);
    await keep();
    await A.refreshCount();
    A.sync();
  }

  function startWatch() {
    if (watch != null || !navigator.geolocation) return;
    watch = navigator.geolocation.watchPosition(onFix, err => A.notice('定位失败：' + err.message, 'warn'),
                                                {enableHighAccuracy: true, maximumAge: 10000, timeout: 30000});
  }

  function stopWatch() {
    if (watch != null) navigator.geolocation.clearWatch(watch);
    watch = null;
  }

  function change(base, fields) {
    return {uuid: patrol.uuid, kind: 'patrol', base_version: base, grid_code: patrol.grid_code, household_id: null,
            client_time: new Date().toISOString(), location: null, fields};
  }

  async function start() {
    const code = $('#patrol-grid').value;
    if (!code) { A.notice('没有可巡查的网格，请联网后打开一次', 'warn'); return; }
    patrol = {uuid: crypto.randomUUID(), grid_code: code, started_at: new Date().toISOString(), fixes: [],
              checkins: [], version: 1, progress_at: null};
    await keep();
    await Q.enqueue(change(0, {started_at: patrol.started_at, ended_at: null, fixes: []}), []);
    startWatch();
    render();
    A.notice(navigator.onLine ? '巡查已开始' : '巡查已开始（离线，联网后上传）', 'ok');
    await A.refreshCount();
    A.sync();
  }

  async function stop() {
    if (!patrol) return;
    stopWatch();
    const done = patrol;
    await Q.enqueue(change(done.version || 1, {started_at: done.started_at, ended_at: new Date().toISOString(),
                                               fixes: done.fixes}), []);
    patrol = null;
    await keep();
    render();
    A.notice('巡查已结束：' + Math.round(distance(done.fixes)) + ' 米，打卡 ' + done.checkins.length + ' 处' +
             (navigator.onLine ? '' : '（离线，联网后上传）'), 'ok');
    await A.refreshCount();
    A.sync();
  }

  async function checkin() {
    if (!patrol) return;
    const sel = $('#checkin-target');
    if (!sel.value) { A.notice('请选择打卡地点', 'warn'); return; }
    const [kind, id] = sel.value.split(':');
    const last = patrol.fixes[patrol.fixes.length - 1];
    const at = new Date().toISOString();
    await Q.enqueue({uuid: crypto.randomUUID(), kind: 'checkin', base_version: 0, grid_code: null,
                     household_id: kind === 'household' ? Number(id) : null, client_time: at,
                     location: last ? {lon: last.lon, lat: last.lat, accuracy: last.accuracy, source: 'gps'} : null,
                     fields: {patrol_uuid: patrol.uuid, kind, place_id: kind === 'household' ? null : Number(id)}}, []);
    patrol.checkins.push({at, label: sel.options[sel.selectedIndex].text});
    await keep();
    render();
    A.notice('已打卡：' + sel.options[sel.selectedIndex].text, 'ok');
    await A.refreshCount();
    A.sync();
  }

  async function init() {
    patrol = (await Q.kvGet('patrol')) || null;
    fillGrids();
    render();
    if (patrol) startWatch();  // a walk that was going on when the page closed
  }

  $('#patrol-start').addEventListener('click', start);
  $('#patrol-stop').addEventListener('click', stop);
  $('#checkin').addEventListener('click', checkin);
  $('#patrol-grid').addEventListener('change', fillTargets);
  document.addEventListener('field:bundle', fillGrids);
  init();
})();
