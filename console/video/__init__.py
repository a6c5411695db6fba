"""公共安全视频: play a camera through the site's media gateway (docs/video.md).

The console never carries video: it hands the browser a short-lived signed play address (`tokens`), a route
checks it and redirects to the gateway's HLS / HTTP-FLV address (`gateway`). Nearest cameras to an alert
(`nearest`), codec detection (`codecs`), the permission and scope checks with their audit (`service`); the
GB/T 28181 platform's API — live invite, PTZ, playback, WebRTC signalling — called server-side (`wvp`,
`control`); camera coverage and the gap ranking (`coverage`, `coverage_service`).
"""
