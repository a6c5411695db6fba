/* The phone app's service worker (docs/field.md): workbox, vendored and served by this server.
   The app shell is precached (the list is written in by the server: self.__WB_MANIFEST); the worker's grid
   data is network-first with the last copy kept for offline use. Writes are never cached: the page's queue
   (IndexedDB) replays them. */
importScripts('/m/static/vendor/workbox-sw.js');
workbox.setConfig({modulePathPrefix: '/m/static/vendor/', debug: false});
workbox.core.setCacheNameDetails({prefix: 'pingan-field'});
self.skipWaiting();
workbox.core.clientsClaim();
workbox.precaching.cleanupOutdatedCaches();
workbox.precaching.precacheAndRoute(self.__WB_MANIFEST, {ignoreURLParametersMatching: [/.*/]});
workbox.routing.registerRoute(
  ({url, request}) => request.method === 'GET' && url.pathname === '/api/field/grid',
  new workbox.strategies.NetworkFirst({cacheName: 'pingan-field-grid', networkTimeoutSeconds: 8})
);
