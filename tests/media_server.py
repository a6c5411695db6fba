"""A real local media path for the video tests and benchmark (docs/video.md "What was tested"):
ffmpeg encodes a test picture to H.264 HLS with 1-second segments (and an FLV file), nginx serves them on
127.0.0.1 with the CORS header a gateway sends (ZLMediaKit does by default), started here and stopped after.

    with media_server(tmp_path) as base:     # base = "http://127.0.0.1:PORT"
        base + "/live/<any id>/index.m3u8"   # every stream id serves the same encoded stream
        base + "/live/<any id>.live.flv"

`ensure_tools()` installs nginx-light and ffmpeg with scripts/system-deps.sh when they are missing and it may
(root or sudo); it returns why not otherwise, and the tests skip with that sentence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.console_process import local_port

ROOT = Path(__file__).resolve().parents[1]
NGINX = "/usr/sbin/nginx"


def tools_missing() -> list[str]:
    missing = [] if shutil.which("ffmpeg") else ["ffmpeg"]
    if not (Path(NGINX).exists() or shutil.which("nginx")):
        missing.append("nginx-light")
    return missing


def ensure_tools() -> str:
    """"" when ffmpeg and nginx are here (installed now if need be), else the reason they are not."""
    if not tools_missing():
        return ""
    try:
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "system-deps.sh")], capture_output=True, text=True,
                              timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nginx/ffmpeg missing and could not be installed: {exc}"
    left = tools_missing()
    return "" if not left else f"missing {', '.join(left)} and could not install them: {proc.stderr.strip()[-300:]}"


def encode(folder: Path, seconds: int = 30, size: str = "640x360", fps: int = 25) -> Path:
    """A moving test picture (testsrc2 with its frame counter) as H.264 HLS, 1-second segments, plus FLV."""
    folder.mkdir(parents=True, exist_ok=True)
    src = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    h264 = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "main",
            "-pix_fmt", "yuv420p", "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0"]
    base = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *src, "-t", str(seconds), *h264]
    subprocess.run([*base, "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod",
                    "-hls_segment_filename", str(folder / "seg%03d.ts"), str(folder / "index.m3u8")],
                   check=True, timeout=300)
    subprocess.run([*base, "-f", "flv", str(folder / "stream.flv")], check=True, timeout=300)
    # A master playlist declaring H.265 (as a gateway serving an HEVC camera would): the player must say so.
    (folder / "master.m3u8").write_text('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=640x360,'
                                        'CODECS="hvc1.1.6.L93.B0"\nindex.m3u8\n', encoding="utf-8")
    return folder


CONF = """daemon off;
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp; proxy_temp_path {prefix}/tmp; fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp; scgi_temp_path {prefix}/tmp;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; video/x-flv flv; }}
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        add_header Access-Control-Allow-Origin * always;
        add_header Cache-Control no-cache always;
        location ~ ^/live/[^/]+/(.+)$ {{ alias {media}/$1; }}
        location ~ ^/live/[^/]+\\.live\\.flv$ {{ alias {media}/stream.flv; }}
    }}
}}
"""


@contextmanager
def nginx(media: Path, workdir: Path):
    """nginx serving `media` on a free loopback port; yields its base URL; always stopped after."""
    prefix = workdir / "nginx"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    port = local_port()
    conf = prefix / "nginx.conf"
    # As root nginx's workers would run as nobody, who cannot read pytest's private temp folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(CONF.format(user=user, prefix=prefix, port=port, media=media.resolve()), encoding="utf-8")
    binary = NGINX if Path(NGINX).exists() else shutil.which("nginx")
    proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(base + "/live/x/index.m3u8", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = prefix / "error.log"
                    raise RuntimeError("nginx did not start: " + (log.read_text()[-500:] if log.exists() else ""))
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def media_server(workdir: Path, seconds: int = 30):
    with nginx(encode(workdir / "media", seconds), workdir) as base:
        yield base


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The module's local HLS stream (40 s of H.264) behind nginx; skipped when ffmpeg or nginx is missing."""
    why = ensure_tools()
    if why:
        pytest.skip(why)
    with media_server(tmp_path_factory.mktemp("media"), seconds=40) as base:
        yield base
