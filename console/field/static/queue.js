/* The offline queue (docs/field.md): records and photos wait in IndexedDB (the vendored `idb` library) until
   the server acknowledges them. Each record change has its own op_id, so a replay after a cut connection is
   answered by the server instead of stored twice. Exposes window.FieldQueue. */
(function () {
  'use strict';
  const APP_VERSION = 3;  // keep equal to console/routes/field.py APP_VERSION
  const CHUNK = 256 * 1024;
  const dbp = idb.openDB('pingan-field', 1, {
    upgrade(db) {
      db.createObjectStore('queue', {keyPath: 'op_id'}).createIndex('by_created', 'created');
      db.createObjectStore('photos', {keyPath: 'uuid'});
      db.createObjectStore('kv');
    },
  });

  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)_csrf_token=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : '';
  }

  function headers(extra) {
    return Object.assign({'X-CSRFToken': csrf(), 'X-Field-App': String(APP_VERSION)}, extra || {});
  }

  async function sha256hex(blob) {
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
  }

  async function enqueue(change, files) {
    // Hash first: an IndexedDB transaction closes while the page awaits anything else.
    const photos = [];
    for (const file of files || []) {
      photos.push({uuid: crypto.randomUUID(), record_uuid: change.uuid, blob: file, sha256: await sha256hex(file),
                   size: file.size, state: 'pending'});
    }
    const db = await dbp;
    const tx = db.transaction(['queue', 'photos'], 'readwrite');
    change.op_id = crypto.randomUUID();
    change.created = Date.now();
    change.state = 'pending';
    tx.objectStore('queue').put(change);
    for (const photo of photos) tx.objectStore('photos').put(photo);
    await tx.done;
    return change;
  }

  async function counts() {
    const db = await dbp;
    const queue = await db.getAll('queue');
    const photos = await db.getAll('photos');
    const pending = queue.filter(c => c.state === 'pending').length + photos.filter(p => p.state === 'pending').length;
    const rejected = queue.filter(c => c.state === 'rejected');
    return {pending, rejected};
  }

  class Stop extends Error {
    constructor(message, kind) { super(message); this.kind = kind; }
  }

  async function send(method, url, body, contentType, extra) {
    let resp;
    try {
      resp = await fetch(url, {method, credentials: 'same-origin', body, headers: headers(
        Object.assign(contentType ? {'Content-Type': contentType} : {}, extra || {}))});
    } catch (e) {
      throw new Stop('网络不可用，稍后自动重试', 'offline');
    }
    if (resp.status === 401) throw new Stop('登录已过期，请重新登录（待上传记录已保留）', 'login');
    if (resp.status === 426) throw new Stop('应用版本过旧，请刷新页面更新（待上传记录已保留）', 'outdated');
    let data = {};
    try { data = await resp.json(); } catch (e) { /* a non-JSON answer: status decides */ }
    if (resp.status >= 500) throw new Stop('服务器暂时不可用，稍后自动重试', 'server');
    return {status: resp.status, data};
  }

  async function pushRecord(db, change) {
    const body = Object.assign({}, change);
    for (const k of ['state', 'created', 'error']) delete body[k];
    body.sent_at = new Date().toISOString();
    const {status, data} = await send('PUT', '/api/field/records/' + change.uuid, JSON.stringify(body),
                                      'application/json');
    if (status === 200 || status === 201 || (status === 409 && data.status === 'conflict')) {
      await db.delete('queue', change.op_id);
      return {uuid: change.uuid, status: data.status, version: data.version, household_id: change.household_id,
              error: data.error || ''};
    }
    change.state = 'rejected';
    change.error = data.error || ('服务器拒绝（' + status + '）');
    await db.put('queue', change);
    return {uuid: change.uuid, status: 'rejected', error: change.error};
  }

  /* A photo: its first chunk carries the declaration (size, SHA-256, record); after a cut the server says where
     its copy ends and the upload resumes there. */
  async function pushPhoto(db, photo) {
    let offset = 0;
    const declare = {'X-Record-UUID': photo.record_uuid, 'X-Photo-SHA256': photo.sha256,
                     'X-Photo-Size': String(photo.size)};
    for (let round = 0; round < 1000; round++) {
      const part = photo.blob.slice(offset, offset + CHUNK);
      const r = await send('PUT', '/api/field/photos/' + photo.uuid + '?offset=' + offset, part,
                           'application/octet-stream', offset === 0 ? declare : null);
      if (r.status === 200 && r.data.status === 'complete') break;
      if (r.status === 200) { offset = r.data.offset; continue; }
      if (r.status === 409 && r.data.code === 'record_missing') return;  // its record is still queued
      if (r.status === 409 && r.data.code === 'offset') {  // resume where the server's copy ends
        offset = (await send('GET', '/api/field/photos/' + photo.uuid)).data.offset;
        continue;
      }
      if (r.data.code === 'checksum') { offset = 0; continue; }
      photo.state = 'rejected'; photo.error = r.data.error || ('照片被拒绝（' + r.status + '）');
      await db.put('photos', photo);
      return;
    }
    await db.delete('photos', photo.uuid);
  }

  let running = null;

  /* Replay everything pending, oldest first; stops at the first sign the network or login is gone. */
  function replay() {
    if (running) return running;
    running = (async () => {
      const db = await dbp;
      const done = [];
      try {
        const queue = await db.getAllFromIndex('queue', 'by_created');
        const conflicted = new Set();
        for (const change of queue) {
          if (change.state !== 'pending') continue;
          if (conflicted.has(change.uuid)) {  // built on a copy the server did not take: never sent as if it had
            change.state = 'rejected';
            change.error = '该记录与他人修改冲突，已提交主管处理；本次修改未上传';
            await db.put('queue', change);
            continue;
          }
          const result = await pushRecord(db, change);
          if (result.status === 'conflict') conflicted.add(change.uuid);
          done.push(result);
        }
        for (const photo of await db.getAll('photos')) {
          if (photo.state === 'pending') await pushPhoto(db, photo);
        }
        return {done};
      } catch (e) {
        if (e instanceof Stop) return {done, stopped: e.message, kind: e.kind};
        throw e;
      } finally {
        running = null;
      }
    })();
    return running;
  }

  /* The changes still waiting, oldest first (the task list shows queued steps on top of the server's copy). */
  async function pending() {
    const db = await dbp;
    return (await db.getAllFromIndex('queue', 'by_created')).filter(c => c.state === 'pending');
  }

  async function kvGet(key) { return (await dbp).get('kv', key); }
  async function kvSet(key, value) { return (await dbp).put('kv', value, key); }

  window.FieldQueue = {APP_VERSION, enqueue, counts, pending, replay, kvGet, kvSet, send, headers};
})();
