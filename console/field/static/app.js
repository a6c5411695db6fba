/* The 网格员 phone app (docs/field.md): forms saved to the offline queue first, the queue replayed whenever the
   phone is online, the worker's grid kept for offline use. Uses window.FieldQueue (queue.js). */
(function () {
  'use strict';
  const Q = window.FieldQueue;
  const ACCURACY_LIMIT_M = 100;  // console/field/codes.py ACCURACY_LIMIT_M
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  let bundle = null;
  const places = new WeakMap();  // form → {lon, lat, accuracy, source}
  let editing = null;  // the household being edited

  function notice(text, kind) {
    const el = $('#notice');
    el.textContent = text || '';
    el.dataset.kind = kind || 'info';
    el.hidden = !text;
  }

  async function refreshCount() {
    const {pending, rejected} = await Q.counts();
    $('#pending').textContent = pending + ' 条待上传' + (rejected.length ? '，' + rejected.length + ' 条被退回' : '');
    $('#pending').dataset.count = String(pending);
    if (rejected.length) notice('被退回：' + rejected[rejected.length - 1].error, 'warn');
  }

  function setOnline() {
    const on = navigator.onLine;
    $('#net').textContent = on ? '在线' : '离线';
    $('#net').dataset.online = on ? '1' : '0';
  }

  async function sync() {
    if (!navigator.onLine) { await refreshCount(); return; }
    const result = await Q.replay();
    const clashes = result.done.filter(r => r.status === 'conflict');
    const conflicts = clashes.length;
    for (const r of result.done) {
      const h = bundle && r.household_id && bundle.households.find(x => x.id === r.household_id);
      if (h && r.version) h.version = Math.max(h.version, r.version);
    }
    if (bundle) await Q.kvSet('bundle', bundle);
    if (result.stopped) notice(result.stopped, result.kind === 'offline' ? 'info' : 'warn');
    else if (conflicts === 1 && clashes[0].error) notice(clashes[0].error, 'warn');  // the server's own words
    else if (conflicts) notice(conflicts + ' 条记录与他人修改冲突，已提交主管处理', 'warn');
    else if (result.done.length) notice('已上传 ' + result.done.length + ' 条', 'ok');
    await refreshCount();
    if (result.done.length) document.dispatchEvent(new CustomEvent('field:synced'));
  }

  async function warnStorage() {
    if (!navigator.storage || !navigator.storage.estimate) return;
    const {usage, quota} = await navigator.storage.estimate();
    if (quota && usage / quota > 0.8) notice('手机存储空间即将用完，请尽快联网上传', 'warn');
  }

  function options(select, table) {
    select.innerHTML = '';
    for (const [value, label] of Object.entries(table)) select.add(new Option(label, value));
  }

  function gridOptions() {
    for (const sel of $$('.grid-select')) {
      sel.innerHTML = '';
      sel.add(new Option('按位置自动确定', ''));
      for (const g of bundle.grids) sel.add(new Option(g.name + '（' + g.code.slice(-6) + '）', g.code));
      if (bundle.grids.length === 1) sel.value = bundle.grids[0].code;
    }
  }

  function renderHouseholds() {
    const list = $('#households');
    list.innerHTML = '';
    $('#grid-summary').textContent = bundle.grids.map(g => g.name).join('、') + '：' + bundle.households.length + ' 户';
    for (const h of bundle.households) {
      const li = document.createElement('li');
      const kind = bundle.household_kinds[h.kind] || h.kind;
      li.innerHTML = '<b></b><span class="muted"></span><button type="button" class="small">更新</button>';
      li.querySelector('b').textContent = h.address;
      li.querySelector('span').textContent = kind + ' · ' + h.size + ' 人 · ' +
        h.persons.map(p => p.name).join('、');
      li.querySelector('button').addEventListener('click', () => editHousehold(h));
      list.appendChild(li);
    }
  }

  async function loadBundle() {
    try {
      const r = await fetch('/api/field/grid', {credentials: 'same-origin'});
      if (r.status === 401) { location.href = '/login?next=/m/'; return; }
      if (r.ok) { bundle = await r.json(); await Q.kvSet('bundle', bundle); }
    } catch (e) { /* offline: the copy kept below */ }
    if (!bundle) bundle = await Q.kvGet('bundle');
    if (!bundle) { $('#grid-summary').textContent = '尚无离线网格数据，请联网后打开一次'; return; }
    $('#who').textContent = '网格员 ' + bundle.worker;
    options($('#event-type'), bundle.event_types);
    options($('#hh-kind'), bundle.household_kinds);
    gridOptions();
    renderHouseholds();
  }

  function showPlace(form) {
    const p = places.get(form);
    const el = $('.loc', form);
    if (!p) { el.textContent = '未定位'; el.dataset.flag = ''; return; }
    let text = (p.source === 'map' ? '地图选点 ' : 'GPS ') + p.lon.toFixed(5) + ', ' + p.lat.toFixed(5);
    if (p.accuracy != null) text += ' ±' + Math.round(p.accuracy) + ' 米';
    const coarse = p.source === 'gps' && (p.accuracy == null || p.accuracy > ACCURACY_LIMIT_M);
    if (coarse) text += '（精度不足，不用于确定网格，请选择网格或地图选点）';
    el.textContent = text;
    el.dataset.flag = coarse ? 'coarse' : '';
  }

  function locate(form) {
    if (!navigator.geolocation) { notice('此设备不支持定位，请在地图上选点', 'warn'); return; }
    $('.loc', form).textContent = '定位中…';
    navigator.geolocation.getCurrentPosition(pos => {
      places.set(form, {lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy,
                        source: 'gps'});
      showPlace(form);
    }, err => { $('.loc', form).textContent = '定位失败：' + err.message + '，请在地图上选点'; },
    {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  }

  /* 地图选点: the chosen grid's outline (kept offline), tap a point inside it. */
  function pickOnMap(form) {
    const svg = $('.map', form);
    const code = $('.grid-select', form).value || (bundle && bundle.grids[0] && bundle.grids[0].code);
    const grid = bundle && bundle.grids.find(g => g.code === code);
    if (!grid) { notice('没有可选的网格数据', 'warn'); return; }
    const [x0, y0, x1, y1] = grid.bbox;
    const sx = 300 / ((x1 - x0) || 1e-6), sy = 200 / ((y1 - y0) || 1e-6), s = Math.min(sx, sy);
    const ox = (300 - (x1 - x0) * s) / 2, oy = (200 - (y1 - y0) * s) / 2;  // centred in the view box
    const px = lon => ox + (lon - x0) * s, py = lat => 200 - oy - (lat - y0) * s;
    const rings = grid.geometry.type === 'Polygon' ? [grid.geometry.coordinates] : grid.geometry.coordinates;
    svg.innerHTML = rings.map(poly => '<path d="' + poly.map(r => 'M' + r.map(c => px(c[0]).toFixed(1) + ' ' +
      py(c[1]).toFixed(1)).join('L') + 'Z').join('') + '"/>').join('') +
      bundle.households.filter(h => h.grid_code === grid.code && h.lon != null)
        .map(h => '<circle r="3" cx="' + px(h.lon).toFixed(1) + '" cy="' + py(h.lat).toFixed(1) + '"/>').join('') +
      '<text x="6" y="16">点击网格内的位置选点（圆点为住户）</text>';
    svg.removeAttribute('hidden');  // an SVG element has no .hidden property
    svg.onclick = ev => {
      const box = svg.getBoundingClientRect();
      const vx = (ev.clientX - box.left) * 300 / box.width, vy = (ev.clientY - box.top) * 200 / box.height;
      places.set(form, {lon: x0 + (vx - ox) / s, lat: y0 + (200 - oy - vy) / s, accuracy: null, source: 'map'});
      $('.grid-select', form).value = grid.code;
      showPlace(form);
      svg.setAttribute('hidden', '');
    };
  }

  function placeOf(form) {
    const p = places.get(form);
    return p ? {lon: p.lon, lat: p.lat, accuracy: p.accuracy, source: p.source} : null;
  }

  async function save(form, change, files) {
    change.client_time = new Date().toISOString();
    change.grid_code = $('.grid-select', form).value || null;
    change.location = placeOf(form);
    if (!change.grid_code && !(change.location && (change.location.source === 'map' ||
        (change.location.accuracy != null && change.location.accuracy <= ACCURACY_LIMIT_M)))) {
      notice('请选择网格，或用 GPS 定位（精度 100 米以内）/ 地图选点', 'warn');
      return false;
    }
    await Q.enqueue(change, files);
    notice(navigator.onLine ? '已保存，正在上传' : '已保存，联网后自动上传', 'ok');
    await refreshCount();
    sync();
    return true;
  }

  async function submitEvent(ev) {
    ev.preventDefault();
    const form = ev.target;
    const change = {uuid: crypto.randomUUID(), kind: 'event', base_version: 0, household_id: null,
                    fields: {type: $('#event-type').value, text: $('#event-text').value.trim()}};
    if (!change.fields.text) { notice('请填写事件描述', 'warn'); return; }
    if (await save(form, change, Array.from(form.photo.files || []))) {
      form.reset(); places.delete(form); showPlace(form); gridOptions();
      $('.photo-count', form).textContent = '未选择';
    }
  }

  function editHousehold(h) {
    editing = h;
    const form = $('#household-form');
    $('.editing', form).textContent = '正在更新：' + h.address + '（地址留空表示不变）';
    $('.editing', form).hidden = false;
    $('#hh-address').value = '';
    $('#hh-kind').value = h.kind;
    $('#hh-size').value = h.size;
    $('.grid-select', form).value = h.grid_code;
    switchTab('household');
  }

  function newHousehold() {
    editing = null;
    const form = $('#household-form');
    form.reset();
    $('.editing', form).hidden = true;
    gridOptions();
  }

  async function submitHousehold(ev) {
    ev.preventDefault();
    const form = ev.target;
    const f = {address: $('#hh-address').value.trim(), kind: $('#hh-kind').value,
               size: parseInt($('#hh-size').value, 10) || 0, head_name: $('#hh-head').value.trim(),
               phone: $('#hh-phone').value.trim(), note: $('#hh-note').value.trim()};
    if (!editing && f.address.length < 2) { notice('新登记住户需要填写地址', 'warn'); return; }
    const change = editing
      ? {uuid: editing.record_uuid, kind: 'household', base_version: editing.version, household_id: editing.id,
         fields: f}
      : {uuid: crypto.randomUUID(), kind: 'household', base_version: 0, household_id: null, fields: f};
    if (editing) change.base_version = editing.pending_version || editing.version;
    if (await save(form, change, [])) {
      if (editing) editing.pending_version = change.base_version + 1;
      newHousehold();
      places.delete(form); showPlace(form);
    }
  }

  /* 任务: the duty desk's tasks for this worker. A step (接单 / 开始处置 / 回报) is a write-once `task` record in the
     offline queue like every other record: taken offline, sent once online, exactly once. The list shows the
     server's copy with the queued steps on top; a step the duty desk overtook (改派, 撤销) comes back as a
     conflict kept for the supervisor. */
  const NEXT = {assigned: [['accept', '接单']], accepted: [['handle', '开始处置'], ['report', '回报']],
                handling: [['report', '回报']]};
  const TARGET = {accept: 'accepted', handle: 'handling', report: 'reported'};
  const OPEN = ['assigned', 'accepted', 'handling'];

  async function loadTasks() {
    let data;
    try {
      const r = await fetch('/api/field/tasks', {credentials: 'same-origin'});
      if (!r.ok) throw new Error(String(r.status));
      data = await r.json();
      await Q.kvSet('tasks', data);
    } catch (e) {
      data = await Q.kvGet('tasks');
    }
    if (!data) { $('#task-summary').textContent = '离线，暂无任务数据'; return; }
    for (const change of await Q.pending()) {  // steps taken but not yet acknowledged
      const t = change.kind === 'task' && data.tasks.find(x => x.id === change.fields.task_id);
      if (t && t.state === change.fields.seen_state) {
        t.state = TARGET[change.fields.action];
        t.state_label = (data.states[t.state] || t.state) + ' · 待上传';
        if (change.fields.action === 'report') t.report = change.fields.text;
      }
    }
    const open = data.tasks.filter(t => OPEN.includes(t.state));
    $('#task-summary').textContent = open.length ? open.length + ' 项待办' : '没有待办任务';
    $('#task-badge').textContent = String(open.length);
    $('#task-badge').hidden = !open.length;
    const list = $('#tasks');
    list.innerHTML = '';
    for (const t of data.tasks) {
      const li = document.createElement('li');
      li.dataset.task = String(t.id);
      li.innerHTML = '<b></b><span class="muted"></span><div class="task-actions"></div>';
      li.querySelector('b').textContent = t.title + '（' + t.state_label + '）';
      li.querySelector('span').textContent = (t.note || '') + ' · 期限 ' + t.due_at.replace('T', ' ') +
        (t.overdue && OPEN.includes(t.state) ? ' · 已超期' : '') + (t.report ? ' · 回报：' + t.report : '');
      if (t.overdue && OPEN.includes(t.state)) li.classList.add('overdue');
      const box = li.querySelector('.task-actions');
      for (const [action, label] of NEXT[t.state] || []) {
        const b = document.createElement('button');
        b.type = 'button'; b.className = 'small'; b.textContent = label;
        b.addEventListener('click', () => taskStep(t, action));
        box.appendChild(b);
      }
      list.appendChild(li);
    }
  }

  async function taskStep(task, action) {
    let text = '';
    if (action === 'report') {
      text = window.prompt('处置情况（必填）', '') || '';
      if (!text.trim()) { notice('回报需要填写处置情况', 'warn'); return; }
    }
    const change = {uuid: crypto.randomUUID(), kind: 'task', base_version: 0, household_id: null,
                    grid_code: task.grid_code || null, client_time: new Date().toISOString(),
                    location: placeOf($('#event-form')),
                    fields: {task_id: task.id, action, seen_state: task.state, text: text.trim()}};
    await Q.enqueue(change, []);
    notice(navigator.onLine ? '已保存，正在上传' : '已保存，联网后自动上传', 'ok');
    await refreshCount();
    await loadTasks();
    sync();
  }

  // What patrol.js and followup.js use (one queue, one notice line, one counter).
  window.FieldApp = {bundle: () => bundle, notice, refreshCount, sync, lastPlace: form => placeOf(form)};

  function switchTab(name) {
    for (const b of $$('.tabs [role=tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
    for (const p of $$('.panel')) p.hidden = p.dataset.panel !== name;
  }

  function init() {
    for (const b of $$('.tabs [role=tab]')) b.addEventListener('click', () => switchTab(b.dataset.tab));
    for (const form of $$('form.panel')) {
      $('.gps', form).addEventListener('click', () => locate(form));
      $('.pick', form).addEventListener('click', () => pickOnMap(form));
    }
    $('#event-form').addEventListener('submit', submitEvent);
    $('#event-form').photo.addEventListener('change', ev => {
      const n = ev.target.files.length;
      $('#event-form .photo-count').textContent = n ? '已选 ' + n + ' 张' : '未选择';
    });
    $('#household-form').addEventListener('submit', submitHousehold);
    $('#hh-new').addEventListener('click', newHousehold);
    $('#sync').addEventListener('click', sync);
    window.addEventListener('online', () => { setOnline(); sync(); loadTasks(); });
    document.addEventListener('field:synced', loadTasks);  // acknowledged steps: the server's copy again
    window.addEventListener('offline', setOnline);
    setOnline();
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/m/sw.js', {scope: '/m/'}).catch(e => notice('离线功能不可用：' + e.message, 'warn'));
    }
    loadBundle().then(() => {
      refreshCount(); warnStorage(); sync(); loadTasks();
      document.dispatchEvent(new CustomEvent('field:bundle'));
    });
    setInterval(() => { if (navigator.onLine) { sync(); loadTasks(); } }, 30000);
  }

  init();
})();
