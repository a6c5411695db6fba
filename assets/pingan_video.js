/* 平安一张图 — the video wall (console/pages/video.py, docs/video.md).
 *
 * Each window asks the console for a play ticket (/api/video/play/<id>), opens the signed address it gets
 * (/video/stream/<token>, which redirects to the site's gateway) with the vendored hls.js or mpegts.js, and
 * says why when it cannot: no stream address, camera offline, gateway unreachable or misconfigured, token
 * expired, H.265 the browser cannot decode (offering the gateway's transcoded stream). A window that makes
 * no progress for `stall seconds` reconnects with a fresh ticket. The wall never opens more streams than the
 * console's cap. Players are loaded from this server only when the first stream opens. */
(function () {
    "use strict";

    const HLS = "assets/vendor/hls.min.js";
    const MPEGTS = "assets/vendor/mpegts.min.js";
    const LAYOUTS = [1, 4, 9, 16];
    const MAX_RECONNECTS = 5;

    const MESSAGES = {
        offline: "摄像机离线",
        no_address: "该摄像机没有视频流地址",
        gateway_config: "视频网关配置错误",
        gateway_down: "无法连接视频网关（网关不可达或未响应）",
        token_expired: "播放地址已过期，正在重新获取…",
        denied: "无权调阅该摄像机（已记录）",
        h265: "该摄像机为 H.265 编码，本浏览器无法解码",
        stalled: "画面停滞，正在重连…",
        cap: "已达同时播放上限",
        unknown: "播放失败",
    };

    const wall = {el: null, windows: [], selected: 0, maxStreams: 16, stallSeconds: 8, list: [], tour: null,
                  tourAt: 0, lastSnapshot: null};

    function $(id) { return document.getElementById(id); }

    function getJSON(url) {
        return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
            .then(function (r) {
                return r.json().catch(function () { return {error: "服务器返回格式错误", reason: "unknown"}; })
                    .then(function (body) { body.httpStatus = r.status; return body; });
            });
    }

    function status(text) {
        const el = $("video-status");
        if (el) { el.textContent = text || ""; }
    }

    /* Streams held: a window claims one when it asks for a ticket and releases it when it stops. */
    function activeCount() {
        return wall.windows.filter(function (w) { return w.claimed; }).length;
    }

    /* ---- one window ------------------------------------------------------------------------------- */
    function makeWindow(index) {
        const el = document.createElement("div");
        el.className = "pa-video-window";
        el.dataset.index = String(index);
        el.dataset.status = "idle";
        el.innerHTML = '<video muted playsinline></video>' +
            '<div class="pa-video-title"></div>' +
            '<div class="pa-video-msg" role="status">点击选中窗口，再从左侧选择摄像机</div>' +
            '<div class="pa-video-tools">' +
            '<button type="button" class="pa-video-transcode" hidden>播放转码流（H.264）</button>' +
            '<button type="button" class="pa-video-snap" title="截图">截图</button>' +
            '<button type="button" class="pa-video-close" title="关闭">关闭</button></div>';
        const w = {index: index, el: el, video: el.querySelector("video"), camera: null, player: null, kind: "",
                   variant: "", lastTime: -1, lastProgress: 0, reconnects: 0, openedAt: 0, firstFrameMs: null};
        el.addEventListener("click", function () { select(index); });
        el.querySelector(".pa-video-close").addEventListener("click", function (e) {
            e.stopPropagation(); stop(w); w.camera = null; show(w, "idle", "已关闭"); title(w);
        });
        el.querySelector(".pa-video-snap").addEventListener("click", function (e) {
            e.stopPropagation(); snapshot(w);
        });
        el.querySelector(".pa-video-transcode").addEventListener("click", function (e) {
            e.stopPropagation(); if (w.camera) { open(w, w.camera, "h264"); }
        });
        ext("decorate", w);  // PTZ pad (pingan_video_ctl.js)
        return w;
    }

    /* The controls module (assets/pingan_video_ctl.js: PTZ, playback, WebRTC) hooks in here. */
    function ext(name) {
        const x = window.pingan && window.pingan.videoCtl;
        if (!x || !x[name]) { return undefined; }
        return x[name].apply(null, Array.prototype.slice.call(arguments, 1));
    }

    function title(w) {
        const t = w.el.querySelector(".pa-video-title");
        ext("refresh", w);
        if (!w.camera) { t.textContent = ""; return; }
        const dist = w.camera.distance_m !== undefined ? " · " + w.camera.distance_m + " 米" : "";
        const pb = w.playback ? " · 回放 " + w.playback.start + " 至 " + w.playback.end : "";
        t.textContent = w.camera.name + dist + pb;
    }

    function show(w, state, message, reason) {
        w.el.dataset.status = state;
        w.el.dataset.reason = reason || "";
        const m = w.el.querySelector(".pa-video-msg");
        m.textContent = message || "";
        m.hidden = !message;
    }

    function stop(w) {
        if (w.player) {
            try { w.player.destroy(); } catch (e) { /* already gone */ }
        }
        if (w.playback) { ext("playbackStopped", w, w.playback); w.playback = null; }
        w.player = null;
        w.claimed = false;
        w.kind = "";
        w.video.removeAttribute("src");
        try { w.video.load(); } catch (e) { /* nothing loaded */ }
        w.el.querySelector(".pa-video-transcode").hidden = true;
    }

    function fail(w, reason, message) {
        stop(w);
        show(w, "error", message || MESSAGES[reason] || MESSAGES.unknown, reason);
    }

    /* Ask for a ticket and play it. `variant`: "" (the gateway's preferred), "hls", "flv" or "h264". */
    function claim(w, camera, variant) {
        stop(w);
        w.camera = camera;
        w.variant = variant || "";
        title(w);
        if (activeCount() >= wall.maxStreams) {
            show(w, "error", MESSAGES.cap + " " + wall.maxStreams + " 路：请先关闭其他画面", "cap");
            status(MESSAGES.cap + " " + wall.maxStreams + " 路（由系统配置 PINGAN_VIDEO_MAX_STREAMS 决定）");
            return false;
        }
        w.claimed = true;
        w.openedAt = performance.now();
        w.firstFrameMs = null;
        show(w, "loading", "正在连接…");
        return true;
    }

    function open(w, camera, variant) {
        if (!claim(w, camera, variant)) { return Promise.resolve(false); }
        const url = "api/video/play/" + camera.id + (variant ? "?variant=" + variant : "");
        return getJSON(prefix() + url).then(function (t) {
            if (w.camera !== camera) { return false; }  // replaced meanwhile
            if (t.error) { fail(w, t.reason, t.error); return false; }
            if (t.codec === "h265" && !canDecodeH265()) { h265(w, t.variants); return false; }
            return startPlayer(w, t);
        }, function () {
            fail(w, "unknown", "无法连接平安一张图服务器");
            return false;
        });
    }

    function canDecodeH265() {
        return !!(window.MediaSource && MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L93.B0"'));
    }

    function h265(w, variants) {
        fail(w, "h265", MESSAGES.h265 + ((variants || []).indexOf("h264") >= 0 ? "，可播放网关转码的 H.264 流" :
            "，网关未提供转码流"));
        if ((variants || []).indexOf("h264") >= 0) { w.el.querySelector(".pa-video-transcode").hidden = false; }
    }

    function prefix() {
        try {
            return JSON.parse($("_dash-config").textContent).requests_pathname_prefix || "/";
        } catch (e) { return "/"; }
    }

    function startPlayer(w, t) {
        // the console's own paths (signed addresses) under its prefix; a playback address is the gateway's own
        const src = /^[a-z]+:\/\//i.test(t.url) ? t.url : prefix() + t.url.replace(/^\//, "");
        if (t.player === "webrtc") { return ext("startWebRtc", w, src, t) || false; }
        const load = window.pingan.lazy.loadScript(t.player === "hls" ? HLS : MPEGTS);
        return load.then(function () {
            if (t.player === "hls") { return startHls(w, src, t); }
            return startFlv(w, src);
        }, function () { fail(w, "unknown", "播放器加载失败"); return false; });
    }

    function startHls(w, src, t) {
        const Hls = window.Hls;
        if (!Hls.isSupported()) {
            if (w.video.canPlayType("application/vnd.apple.mpegurl")) {  // Safari plays HLS itself
                w.video.src = src;
                w.player = {destroy: function () {}};
                return playing(w);
            }
            fail(w, "unknown", "本浏览器不支持 HLS 播放");
            return false;
        }
        // A wall shows live pictures: a few seconds of buffer per window, so 16 windows do not fetch and
        // demux half a minute each before their first frames. No worker: each would parse the 600 kB bundle
        // again, which delayed a 9-window wall's first frames (benchmarks/video.py); remuxing is light.
        const hls = new Hls({liveSyncDurationCount: 2, manifestLoadingMaxRetry: 1, levelLoadingMaxRetry: 2,
                             fragLoadingMaxRetry: 2, enableWorker: false, backBufferLength: 10,
                             maxBufferLength: 4, maxMaxBufferLength: 8, startFragPrefetch: true});
        w.player = hls;
        w.kind = "hls";
        hls.on(Hls.Events.MANIFEST_PARSED, function (_e, data) {
            const codecs = (data.levels || []).map(function (l) { return (l.videoCodec || "").toLowerCase(); });
            if (codecs.some(function (c) { return /^(hvc1|hev1)/.test(c); }) && !canDecodeH265()) {
                h265(w, t.variants);
            }
        });
        hls.on(Hls.Events.ERROR, function (_e, data) {
            if (!data.fatal || w.player !== hls) { return; }
            const code = data.response && data.response.code;
            if (code === 410) { return renew(w); }
            if (code === 403) { return fail(w, "denied"); }
            if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
                if (data.details === "manifestLoadError" || data.details === "manifestLoadTimeOut") {
                    return fail(w, "gateway_down", MESSAGES.gateway_down + (code ? "（HTTP " + code + "）" : ""));
                }
                return reconnect(w, "stalled");
            }
            if (data.details === "manifestIncompatibleCodecsError" || data.details === "bufferAddCodecError") {
                return h265(w, t.variants);
            }
            return reconnect(w, "stalled");
        });
        hls.loadSource(src);
        hls.attachMedia(w.video);
        return playing(w);
    }

    function startFlv(w, src) {
        const m = window.mpegts;
        if (!m || !m.isSupported()) { fail(w, "unknown", "本浏览器不支持 FLV 播放"); return false; }
        const player = m.createPlayer({type: "flv", isLive: true, url: src},
                                      {enableStashBuffer: false, liveBufferLatencyChasing: true});
        w.player = player;
        w.kind = "flv";
        player.on(m.Events.ERROR, function (type, detail, info) {
            if (w.player !== player) { return; }
            const code = info && info.code;
            if (code === 410) { return renew(w); }
            if (code === 403) { return fail(w, "denied"); }
            if (type === m.ErrorTypes.NETWORK_ERROR && w.lastTime < 0) { return fail(w, "gateway_down"); }
            if (type === m.ErrorTypes.MEDIA_ERROR) { return fail(w, "h265", "无法解码该视频流（可能为 H.265）"); }
            return reconnect(w, "stalled");
        });
        player.attachMediaElement(w.video);
        player.load();
        return playing(w);
    }

    function playing(w) {
        w.lastTime = -1;
        w.lastProgress = performance.now();
        frameWatch(w);
        const p = w.video.play();
        if (p && p.catch) { p.catch(function () { /* autoplay is muted; a later frame retries */ }); }
        return true;
    }

    /* A ticket that ran out before the player opened it: ask for a new one, once. */
    function renew(w) {
        if (w.renewed) { return fail(w, "token_expired", "播放地址已过期"); }
        w.renewed = true;
        show(w, "loading", MESSAGES.token_expired, "token_expired");
        return open(w, w.camera, w.variant);
    }

    function reconnect(w, reason) {
        if (!w.camera) { return; }
        if (w.reconnects >= MAX_RECONNECTS) {
            return fail(w, "gateway_down", "多次重连失败：" + MESSAGES.gateway_down);
        }
        w.reconnects += 1;
        const camera = w.camera;
        stop(w);
        show(w, "loading", MESSAGES[reason] + "（第 " + w.reconnects + " 次）", reason);
        w.el.dataset.reconnects = String(w.reconnects);
        setTimeout(function () { if (w.camera === camera) { open(w, camera, w.variant); } },
                   Math.min(1000 * w.reconnects, 5000));
    }

    /* Once a second: progress, first frame, stalls. */
    function watch() {
        const now = performance.now();
        wall.windows.forEach(function (w) {
            if (!w.player) { return; }
            const t = w.video.currentTime;
            const q = w.video.getVideoPlaybackQuality ? w.video.getVideoPlaybackQuality() : null;
            const frames = q ? q.totalVideoFrames : 0;
            w.el.dataset.frames = String(frames);
            w.el.dataset.time = t.toFixed(2);
            if (t > w.lastTime + 0.01) {
                w.lastTime = t;
                w.lastProgress = now;
                if (w.el.dataset.status !== "playing" && frames > 0) {
                    show(w, "playing", "");
                    w.reconnects = 0;
                    w.renewed = false;
                }
            } else if (now - w.lastProgress > wall.stallSeconds * 1000) {
                reconnect(w, "stalled");
            }
        });
        if (wall.el && !document.body.contains(wall.el)) { teardown(); }
    }

    function frameWatch(w) {  // the first decoded frame, for the benchmark (click to picture)
        const v = w.video;
        const player = w.player;
        const tick = function () {
            if (w.player !== player) { return; }  // stopped or replaced meanwhile
            const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
            if (q && q.totalVideoFrames > 0) {
                w.firstFrameMs = performance.now() - w.openedAt;
                w.el.dataset.firstFrameMs = String(Math.round(w.firstFrameMs));
                return;
            }
            if (v.requestVideoFrameCallback) { v.requestVideoFrameCallback(tick); } else { setTimeout(tick, 20); }
        };
        if (v.requestVideoFrameCallback) { v.requestVideoFrameCallback(tick); } else { setTimeout(tick, 20); }
    }

    /* ---- snapshot: the current frame as a PNG download ---------------------------------------------- */
    function snapshot(w) {
        const v = w.video;
        if (!w.player || !v.videoWidth) { status("该窗口没有画面，无法截图"); return null; }
        const canvas = document.createElement("canvas");
        canvas.width = v.videoWidth;
        canvas.height = v.videoHeight;
        canvas.getContext("2d").drawImage(v, 0, 0, canvas.width, canvas.height);
        let url;
        try { url = canvas.toDataURL("image/png"); } catch (e) {
            status("网关未允许跨域读取画面，无法截图"); return null;
        }
        const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
        const a = document.createElement("a");
        a.href = url;
        a.download = (w.camera ? w.camera.name : "摄像机") + "_" + stamp + ".png";
        document.body.appendChild(a);
        a.click();
        a.remove();
        wall.lastSnapshot = {camera: w.camera && w.camera.id, width: canvas.width, height: canvas.height,
                             bytes: url.length};
        status("已截图：" + a.download);
        return url;
    }

    /* ---- the wall ----------------------------------------------------------------------------------- */
    function setLayout(n) {
        if (LAYOUTS.indexOf(n) < 0) { return; }
        const side = Math.sqrt(n);
        wall.el.style.gridTemplateColumns = "repeat(" + side + ", 1fr)";
        wall.el.style.gridTemplateRows = "repeat(" + side + ", 1fr)";
        wall.el.dataset.layout = String(n);
        while (wall.windows.length > n) {  // windows taken away release their streams
            const w = wall.windows.pop();
            stop(w);
            w.camera = null;
            w.el.remove();
        }
        while (wall.windows.length < n) {
            const w = makeWindow(wall.windows.length);
            wall.windows.push(w);
            wall.el.appendChild(w.el);
        }
        document.querySelectorAll(".pa-video-layout").forEach(function (b) {
            b.classList.toggle("pa-active", b.dataset.layout === String(n));
        });
        select(Math.min(wall.selected, n - 1));
    }

    function select(i) {
        wall.selected = i;
        wall.windows.forEach(function (w) { w.el.classList.toggle("pa-selected", w.index === i); });
    }

    /* Fill the wall from the first window with `cameras` (at most as many as there are windows). */
    function fill(cameras) {
        const n = Math.min(cameras.length, wall.windows.length);
        wall.windows.forEach(function (w, i) {
            if (i >= n) { stop(w); w.camera = null; title(w); show(w, "idle", i === 0 ? "没有摄像机" : ""); }
        });
        const opened = [];
        for (let i = 0; i < n; i++) {
            const w = wall.windows[i];
            w.reconnects = 0;
            w.renewed = false;
            opened.push(open(w, cameras[i], ""));
        }
        return Promise.all(opened);
    }

    function openInSelected(camera, variant) {
        const w = wall.windows[wall.selected];
        w.reconnects = 0;
        w.renewed = false;
        const p = open(w, camera, variant || "");
        select((wall.selected + 1) % wall.windows.length);
        return p;
    }

    function nearby(alertId) {
        if (!alertId) { status("请先选择预警"); return Promise.resolve(); }
        status("正在查找附近摄像机…");
        return getJSON(prefix() + "api/video/nearby?alert=" + encodeURIComponent(alertId) + "&n=" +
                       wall.windows.length).then(function (r) {
            if (r.error) { status(r.error); return; }
            wall.list = r.cameras;
            showResults(r.cameras);
            status("预警「" + r.alert.title + "」附近在线摄像机 " + r.cameras.length + " 台" +
                   (r.note ? "；" + r.note : ""));
            return fill(r.cameras);
        });
    }

    function search(text) {
        return getJSON(prefix() + "api/video/cameras?q=" + encodeURIComponent(text || "") + "&limit=64")
            .then(function (r) {
                if (r.error) { status(r.error); return; }
                wall.list = r.cameras;
                showResults(r.cameras);
                status("找到摄像机 " + r.cameras.length + " 台");
            });
    }

    function showResults(cameras) {
        const ul = $("video-results");
        if (!ul) { return; }
        ul.innerHTML = "";
        cameras.forEach(function (c) {
            const li = document.createElement("li");
            li.className = "pa-video-result pa-cam-" + c.status;
            li.setAttribute("role", "option");
            li.textContent = c.name + "（" + c.status_label + (c.distance_m !== undefined ? "，" + c.distance_m + " 米" : "") + "）";
            li.title = c.device_id + " · " + c.kind;
            li.addEventListener("click", function () { openInSelected(c); });
            ul.appendChild(li);
        });
    }

    /* Tours: every N seconds the next page of the list fills the wall. */
    function toggleTour() {
        const btn = $("video-tour");
        if (wall.tour) {
            clearInterval(wall.tour);
            wall.tour = null;
            if (btn) { btn.textContent = "开始轮巡"; }
            status("轮巡已停止");
            return;
        }
        if (!wall.list.length) { status("请先查找摄像机或选择「附近摄像机」作为轮巡列表"); return; }
        const seconds = parseInt(($("video-tour-seconds") || {}).value || "20", 10);
        wall.tourAt = 0;
        const step = function () {
            const page = wall.windows.length;
            const pages = Math.max(1, Math.ceil(wall.list.length / page));
            const k = wall.tourAt % pages;
            wall.tourAt += 1;
            status("轮巡第 " + (k + 1) + "/" + pages + " 组，每 " + seconds + " 秒切换");
            fill(wall.list.slice(k * page, (k + 1) * page));
        };
        step();
        wall.tour = setInterval(step, seconds * 1000);
        if (btn) { btn.textContent = "停止轮巡"; }
    }

    function teardown() {
        if (wall.tour) { clearInterval(wall.tour); wall.tour = null; }
        wall.windows.forEach(stop);
        wall.windows = [];
        wall.el = null;
    }

    function init(el) {
        wall.el = el;
        wall.windows = [];
        wall.maxStreams = parseInt(el.dataset.maxStreams || "16", 10);
        wall.stallSeconds = parseInt(el.dataset.stallSeconds || "8", 10);
        el.dataset.ready = "1";
        setLayout(parseInt(el.dataset.layout || "4", 10));
        if (el.dataset.alert) { nearby(el.dataset.alert); }
    }

    document.addEventListener("click", function (e) {
        const t = e.target;
        if (!(t instanceof Element) || !wall.el) { return; }
        const layoutBtn = t.closest(".pa-video-layout");
        if (layoutBtn) { setLayout(parseInt(layoutBtn.dataset.layout, 10)); return; }
        if (t.id === "video-nearby") { nearby(($("video-alert") || {}).value); return; }
        if (t.id === "video-search-btn") { search(($("video-search") || {}).value); return; }
        if (t.id === "video-tour") { toggleTour(); return; }
        if (t.id === "video-stop-all") { wall.windows.forEach(function (w) { stop(w); w.camera = null; title(w); show(w, "idle", "已关闭"); }); }
    });
    document.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && e.target && e.target.id === "video-search") { search(e.target.value); }
    });
    window.addEventListener("pagehide", teardown);

    setInterval(function () {
        const el = $("video-wall");
        if (el && el.dataset.ready !== "1") { init(el); }
        watch();
    }, 250);

    window.pingan = window.pingan || {};
    window.pingan.video = {
        setLayout: setLayout, fill: fill, nearby: nearby, search: search, snapshot: function (i) {
            return snapshot(wall.windows[i || 0]);
        },
        // for the controls module: the selected window, claiming a stream, playing a ticket, the window's words
        selected: function () { return wall.windows[wall.selected]; }, claim: claim, startPlayer: startPlayer,
        playing: playing, fail: fail, renew: renew, title: title, show: show, status: status, prefix: prefix,
        openInSelected: openInSelected, select: select, toggleTour: toggleTour,
        state: function () {
            return {maxStreams: wall.maxStreams, active: activeCount(), lastSnapshot: wall.lastSnapshot,
                    windows: wall.windows.map(function (w) {
                        const q = w.video.getVideoPlaybackQuality ? w.video.getVideoPlaybackQuality() : null;
                        return {camera: w.camera && w.camera.id, status: w.el.dataset.status,
                                playback: w.playback ? w.playback.stream : "",
                                reason: w.el.dataset.reason, message: w.el.querySelector(".pa-video-msg").textContent,
                                frames: q ? q.totalVideoFrames : 0, time: w.video.currentTime, kind: w.kind,
                                firstFrameMs: w.firstFrameMs, reconnects: w.reconnects};
                    })};
        },
    };
})();
