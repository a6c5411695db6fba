/* 平安一张图 — the wall's controls (docs/video.md "Platform API"): PTZ of domes, playback of a past range,
 * WebRTC. Loaded beside pingan_video.js, which calls in through window.pingan.videoCtl.
 *
 * PTZ: a pad over a dome's window (球机, for viewers with video:ptz on a site with the platform API); pressing
 * a button sends its direction or zoom, releasing it (or leaving the button) sends "stop" — the console calls
 * wvp-GB28181-pro and audits each. Playback: the toolbar's date-time range → /api/video/playback/<camera> → the
 * platform's address, played by the same vendored players; closing the window releases the session.
 * WebRTC: the browser's own RTCPeerConnection, receive-only; the SDP offer goes to the console
 * (/api/video/webrtc/<token>), which checks the viewer and asks the media server; the media flows directly. */
(function () {
    "use strict";

    const PAD = [["upleft", "↖", "左上"], ["up", "▲", "上"], ["upright", "↗", "右上"],
                 ["left", "◀", "左"], ["", "", ""], ["right", "▶", "右"],
                 ["downleft", "↙", "左下"], ["down", "▼", "下"], ["downright", "↘", "右下"]];
    const ICE_WAIT_MS = 1500;  // gather candidates this long at most before sending the offer (no trickle)

    function V() { return window.pingan.video; }

    function cookie(name) {
        const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
        return m ? decodeURIComponent(m[1]) : "";
    }

    function post(path, body, type) {
        const json = type === undefined;
        return fetch(V().prefix() + path.replace(/^\//, ""), {
            method: "POST", credentials: "same-origin", body: json ? JSON.stringify(body || {}) : body,
            headers: {"Content-Type": json ? "application/json" : type, "X-CSRFToken": cookie("_csrf_token")},
        });
    }

    function postJSON(path, body) {
        return post(path, body).then(function (r) {
            return r.json().catch(function () { return {error: "服务器返回格式错误", reason: "unknown"}; })
                .then(function (b) { b.httpStatus = r.status; return b; });
        }, function () { return {error: "无法连接平安一张图服务器", reason: "unknown"}; });
    }

    function wallEl() { return document.getElementById("video-wall"); }

    function canPtz() { const el = wallEl(); return !!(el && el.dataset.ptz === "1"); }

    /* ---- PTZ ------------------------------------------------------------------------------------------ */
    function decorate(w) {
        const pad = document.createElement("div");
        pad.className = "pa-video-ptz";
        pad.hidden = true;
        pad.setAttribute("role", "group");
        pad.setAttribute("aria-label", "云台控制（按住转动，松开停止）");
        const grid = document.createElement("div");
        grid.className = "pa-video-ptz-dirs";
        PAD.forEach(function (b) { grid.appendChild(b[0] ? button(w, b[0], b[1], b[2]) : document.createElement("span")); });
        pad.appendChild(grid);
        const zoom = document.createElement("div");
        zoom.className = "pa-video-ptz-zoom";
        zoom.appendChild(button(w, "zoomin", "＋", "放大"));
        zoom.appendChild(button(w, "zoomout", "－", "缩小"));
        pad.appendChild(zoom);
        pad.addEventListener("click", function (e) { e.stopPropagation(); });  // not a window selection
        w.el.appendChild(pad);
        w.ptzPad = pad;
    }

    function button(w, command, glyph, label) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "pa-video-ptz-btn";
        b.dataset.ptz = command;
        b.textContent = glyph;
        b.title = label + "（按住）";
        b.setAttribute("aria-label", label);
        const press = function (e) {
            e.preventDefault();
            e.stopPropagation();
            if (w.ptzMoving) { return; }
            w.ptzMoving = command;
            b.classList.add("pa-pressed");
            send(w, command);
        };
        const release = function (e) {
            if (e) { e.stopPropagation(); }
            if (w.ptzMoving !== command) { return; }
            w.ptzMoving = "";
            b.classList.remove("pa-pressed");
            send(w, "stop");
        };
        b.addEventListener("pointerdown", press);
        b.addEventListener("pointerup", release);
        b.addEventListener("pointerleave", release);
        b.addEventListener("pointercancel", release);
        b.addEventListener("keydown", function (e) { if ((e.key === " " || e.key === "Enter") && !e.repeat) { press(e); } });
        b.addEventListener("keyup", function (e) { if (e.key === " " || e.key === "Enter") { release(e); } });
        b.addEventListener("blur", function () { release(); });
        return b;
    }

    function send(w, command) {
        if (!w.camera) { return Promise.resolve(null); }
        const cam = w.camera;
        return postJSON("api/video/ptz/" + cam.id, {command: command, speed: 100}).then(function (r) {
            w.el.dataset.ptzLast = command + ":" + (r.error ? "error" : "ok");
            if (r.error) { V().status("云台控制失败（" + cam.name + "）：" + r.error); }
            else if (command !== "stop") { V().status("云台：" + cam.name + " " + r.label); }
            return r;
        });
    }

    function refresh(w) {
        if (!w.ptzPad) { return; }
        const show = canPtz() && !!(w.camera && w.camera.ptz) && !w.playback;
        w.ptzPad.hidden = !show;
        if (!show && w.ptzMoving) { w.ptzMoving = ""; send(w, "stop"); }
    }

    /* ---- playback ----------------------------------------------------------------------------------- */
    function playback(startValue, endValue) {
        const w = V().selected();
        if (!w || !w.camera) { V().status("请先选中一个正在播放的窗口，再选择回放时间段"); return Promise.resolve(null); }
        const cam = w.camera;
        if (!startValue || !endValue) { V().status("请选择回放的开始和结束时间"); return Promise.resolve(null); }
        if (!V().claim(w, cam, "")) { return Promise.resolve(null); }
        V().show(w, "loading", "正在请求录像回放…");
        return postJSON("api/video/playback/" + cam.id, {start: startValue, end: endValue}).then(function (t) {
            if (w.camera !== cam) { return null; }
            if (t.error) { V().fail(w, t.reason, t.error); V().status("回放失败：" + t.error); return null; }
            w.playback = {stream: t.stream, start: t.start, end: t.end, camera: cam.id};
            V().title(w);
            V().status("回放 " + cam.name + "：" + t.start + " 至 " + t.end);
            return V().startPlayer(w, t);
        });
    }

    function playbackStopped(w, pb) {  // the window closed or changed: release the platform's session
        if (pb && pb.stream) { postJSON("api/video/playback/" + pb.camera + "/stop", {stream: pb.stream}); }
    }

    function live() {
        const w = V().selected();
        if (!w || !w.camera) { V().status("请先选中窗口"); return; }
        const cam = w.camera;
        window.pingan.video.openInSelected(cam);  // its stop releases the playback session
    }

    /* ---- WebRTC ------------------------------------------------------------------------------------- */
    function startWebRtc(w, src, t) {
        if (!window.RTCPeerConnection) { V().fail(w, "unknown", "本浏览器不支持 WebRTC 播放"); return false; }
        const pc = new RTCPeerConnection({iceServers: []});  // intranet: the media server's own candidates
        const video = w.video;
        w.player = {destroy: function () { pc.close(); video.srcObject = null; }};
        w.kind = "webrtc";
        pc.addTransceiver("video", {direction: "recvonly"});
        pc.addTransceiver("audio", {direction: "recvonly"});
        pc.ontrack = function (e) {
            if (!video.srcObject) { video.srcObject = e.streams[0] || new MediaStream([e.track]); }
        };
        pc.onconnectionstatechange = function () {
            if (pc.connectionState === "failed" && w.player && w.kind === "webrtc") {
                V().fail(w, "gateway_down", "WebRTC 连接失败（媒体服务器的 UDP 端口不可达？可改用 HLS）");
            }
        };
        const player = w.player;
        return pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
            .then(function () { return gathered(pc); })
            .then(function () { return post(src.replace(V().prefix(), "/"), pc.localDescription.sdp, "application/sdp"); })
            .then(function (r) {
                if (w.player !== player) { return false; }
                if (r.status === 410) { V().renew(w); return false; }
                if (r.status !== 201 && r.status !== 200) {
                    return r.json().catch(function () { return {}; }).then(function (b) {
                        V().fail(w, b.reason || "unknown", b.error || ("WebRTC 播放失败（HTTP " + r.status + "）"));
                        return false;
                    });
                }
                return r.text().then(function (sdp) {
                    return pc.setRemoteDescription({type: "answer", sdp: sdp}).then(function () { return V().playing(w); });
                });
            })
            .catch(function (e) {
                if (w.player === player) { V().fail(w, "unknown", "WebRTC 播放失败：" + (e && e.message || e)); }
                return false;
            });
    }

    function gathered(pc) {
        if (pc.iceGatheringState === "complete") { return Promise.resolve(); }
        return new Promise(function (res) {
            const done = function () { if (pc.iceGatheringState === "complete") { res(); } };
            pc.addEventListener("icegatheringstatechange", done);
            setTimeout(res, ICE_WAIT_MS);
        });
    }

    document.addEventListener("click", function (e) {
        const t = e.target;
        if (!(t instanceof Element)) { return; }
        if (t.id === "video-pb-go") {
            playback((document.getElementById("video-pb-start") || {}).value,
                     (document.getElementById("video-pb-end") || {}).value);
        } else if (t.id === "video-pb-live") { live(); }
    });

    window.pingan = window.pingan || {};
    window.pingan.videoCtl = {decorate: decorate, refresh: refresh, send: send, playback: playback, live: live,
                              playbackStopped: playbackStopped, startWebRtc: startWebRtc};
})();
