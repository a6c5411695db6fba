/* 特殊人群随访 on the phone (docs/field.md §8): the worker's records due and overdue (masked by the server; the
   last list is kept for offline use), and a visit form (method, date, note) saved to the offline queue as a
   `followup` record: the server writes it once, however often the queue replays it. */
(function () {
  'use strict';
  const Q = window.FieldQueue, A = window.FieldApp;
  const $ = sel => document.querySelector(sel);
  const STATUS = {overdue: '已超期', soon: '7 天内到期', ok: '未到期', done: '已随访（待上传）'};
  let data = null, current = null;

  function today() {
    const d = new Date(Date.now() + 8 * 3600 * 1000);  // Ankang's calendar day (UTC+8)
    return d.toISOString().slice(0, 10);
  }

  async function load() {
    try {
      const r = await fetch('/api/field/followups', {credentials: 'same-origin'});
      if (r.ok) {
        data = await r.json();  // the server's word: a visit it has moved the due date
        await Q.kvSet('followups', data);
      }
    } catch (e) { /* offline: the kept list */ }
    if (!data) data = await Q.kvGet('followups');
    render();
  }

  function render() {
    if (!data) { $('#followup-summary').textContent = '离线，暂无随访数据'; return; }
    const overdue = data.records.filter(r => r.status === 'overdue').length;
    const soon = data.records.filter(r => r.status === 'soon').length;
    $('#followup-summary').textContent = data.records.length + ' 名特殊人群 · 已超期 ' + overdue + ' · 7 天内到期 ' + soon;
    $('#followup-badge').textContent = String(overdue + soon);
    $('#followup-badge').hidden = !(overdue + soon);
    const method = $('#visit-method');
    if (!method.options.length) for (const [k, v] of Object.entries(data.methods)) method.add(new Option(v, k));
    const list = $('#followups');
    list.innerHTML = '';
    for (const r of data.records) {
      const li = document.createElement('li');
      li.dataset.status = r.status;
      li.innerHTML = '<b></b><span class="muted"></span><button type="button" class="small">随访</button>';
      li.querySelector('b').textContent = r.name + ' · ' + r.category + (r.risk ? '（' + r.risk + '）' : '') +
        ' · ' + STATUS[r.status];
      li.querySelector('span').textContent = '上次 ' + r.last + ' · 应随访 ' + r.due +
        (r.days_left < 0 ? '（超期 ' + (-r.days_left) + ' 天）' : '（剩 ' + r.days_left + ' 天）') + ' · 每 ' +
        r.cycle_days + ' 天';
      li.querySelector('button').addEventListener('click', () => open(r));
      list.appendChild(li);
    }
  }

  function open(r) {
    current = r;
    $('#visit-who').textContent = '随访：' + r.name + '（' + r.category + '，' + r.id_number + '）';
    $('#visit-date').value = today();
    $('#visit-date').max = today();
    $('#visit-note').value = '';
    $('#visit-form').hidden = false;
    $('#visit-form').scrollIntoView({block: 'start'});
  }

  async function submit(ev) {
    ev.preventDefault();
    if (!current) return;
    const visited = $('#visit-date').value;
    if (!visited) { A.notice('请填写随访日期', 'warn'); return; }
    if (visited > today()) { A.notice('随访日期不能晚于今天', 'warn'); return; }
    await Q.enqueue({uuid: crypto.randomUUID(), kind: 'followup', base_version: 0, grid_code: current.grid_code,
                     household_id: null, client_time: new Date().toISOString(), location: null,
                     fields: {special_person_id: current.id, visited_on: visited, method: $('#visit-method').value,
                              note: $('#visit-note').value.trim()}}, []);
    Object.assign(current, {status: 'done', last: visited});
    await Q.kvSet('followups', data);
    $('#visit-form').hidden = true;
    current = null;
    render();
    A.notice(navigator.onLine ? '随访已保存，正在上传' : '随访已保存，联网后自动上传', 'ok');
    await A.refreshCount();
    A.sync();
  }

  $('#visit-form').addEventListener('submit', submit);
  $('#visit-cancel').addEventListener('click', () => { $('#visit-form').hidden = true; current = null; });
  window.addEventListener('online', load);
  document.addEventListener('field:synced', load);  // the server's due dates after a visit went up
  load();
})();
