/* 平安一张图 — boot helpers that run before every other asset (Dash loads assets in name order):
 * `pingan.whenLeaflet(fn)` and the browser's own built-ins put back (below).
 *
 * Dash loads @babel/polyfill ahead of every other script, for old browsers (its regeneratorRuntime is still
 * needed: Dash's lazy components use it). On a current Chromium it replaces a few built-ins that are native
 * and fast with slower copies: parseFloat and parseInt go through a regular-expression trim first (Leaflet
 * and Plotly call them constantly while drawing), the trim family itself, Math.sinh, and
 * Function.prototype.toString (patched so that the copies look native). Assets run after the polyfill and
 * before Dash's renderer starts, so here each replaced built-in is swapped back for the native one of a
 * fresh same-origin frame (checked with that frame's own toString, which the polyfill never touched). */
(function () {
    "use strict";

    const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;
    const frame = document.createElement("iframe");
    frame.style.display = "none";
    frame.setAttribute("aria-hidden", "true");
    (document.head || document.documentElement).appendChild(frame);
    const pristine = frame.contentWindow;
    try {
        const show = pristine.Function.prototype.toString;
        const pairs = [
            [window, pristine, ["parseFloat", "parseInt"]],
            [Number, pristine.Number, ["parseFloat", "parseInt"]],
            [Math, pristine.Math, ["sinh"]],
            [String.prototype, pristine.String.prototype, ["trim", "trimStart", "trimEnd", "trimLeft", "trimRight"]],
            [Function.prototype, pristine.Function.prototype, ["toString"]],
        ];
        const restored = [];
        pairs.forEach(function (pair) {
            const here = pair[0], there = pair[1];
            pair[2].forEach(function (name) {
                const current = here[name], native = there[name];
                if (typeof current !== "function" || typeof native !== "function") { return; }
                if (NATIVE.test(show.call(current))) { return; }  // still the browser's own
                Object.defineProperty(here, name, {value: native, writable: true, configurable: true, enumerable: false});
                restored.push(name);
            });
        });
        window.pingan = window.pingan || {};
        window.pingan.restoredNatives = restored;
    } finally {
        frame.remove();
    }
}());

/* pingan.whenLeaflet(fn): fn(L) once Leaflet is there. dash-leaflet's bundle defines window.L before the
 * assets run, so fn usually runs at once; one shared poll covers a build that defines it later. */
(function () {
    "use strict";

    const waiting = [];
    let timer = null;

    function ready() { return window.L && window.L.Map ? window.L : null; }

    function flush() {
        const L = ready();
        if (!L) { return false; }
        clearInterval(timer);
        timer = null;
        waiting.splice(0).forEach(function (fn) { fn(L); });
        return true;
    }

    function whenLeaflet(fn) {
        const L = ready();
        if (L) { fn(L); return; }
        waiting.push(fn);
        if (timer === null) {
            let tries = 0;
            timer = setInterval(function () {
                tries += 1;
                if (!flush() && tries > 400) { clearInterval(timer); timer = null; }  // ~10 s, then give up
            }, 25);
        }
    }

    window.pingan = window.pingan || {};
    window.pingan.whenLeaflet = whenLeaflet;
}());
