"""平安一张图 launcher: a desktop window (pywebview, Qt) with the console served in-process, or `--serve`
for intranet browsers. Every failure a leader could see is a short Chinese message, never a traceback.

    python launcher.py --db data/ankang.sqlite            # window (falls back to serving without a display)
    python launcher.py --db data/ankang.sqlite --serve --host 0.0.0.0 --port 8050
    python launcher.py --db postgresql+psycopg://… --kiosk  # full screen, frameless, for the wall
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

from console.ports import free_port, port_free

DEFAULT_DB = Path(__file__).resolve().parents[1] / "data" / "ankang.sqlite"
DEFAULT_PORT = 8050
EXIT_DB, EXIT_SERVER = 2, 3


def say(message: str) -> None:
    print(message, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="平安一张图 综治指挥大厅控制台")
    p.add_argument("--db", default=os.environ.get("PINGAN_DB", str(DEFAULT_DB)),
                   help="数据库：SQLite 文件路径或 SQLAlchemy URL（默认 data/ankang.sqlite）")
    p.add_argument("--serve", action="store_true", help="只提供网页服务（供内网浏览器访问），不打开窗口")
    p.add_argument("--host", default=None, help="监听地址（窗口模式默认 127.0.0.1；服务模式也默认 127.0.0.1，内网服务请用 --host 0.0.0.0）")
    p.add_argument("--port", type=int, default=None, help=f"端口（服务模式默认 {DEFAULT_PORT}；窗口模式自动选择）")
    p.add_argument("--kiosk", action="store_true", help="大屏模式：全屏、无边框、深色主题")
    p.add_argument("--fullscreen", action="store_true", help="全屏窗口")
    p.add_argument("--theme", choices=("light", "dark"), default=None, help="界面主题")
    p.add_argument("--quiet", action="store_true", help="不输出访问日志")
    return p.parse_args(argv)


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def choose_port(host: str, wanted: int | None) -> int:
    if wanted is None:
        return free_port(host)
    if port_free(host, wanted):
        return wanted
    port = free_port(host)
    say(f"端口 {wanted} 已被占用，改用空闲端口 {port}")
    return port


def build_app(db: str, theme: str | None):
    """The Dash app, or None after telling the user why the database cannot be used."""
    from console.app import create_app
    from console.config import Settings
    from console.store import StoreError

    overrides = {"theme": theme} if theme else {}
    try:
        return create_app(db, settings=Settings.from_env(**overrides))
    except StoreError as exc:
        say(f"无法打开数据库：{exc}")
    except Exception as exc:  # driver missing, server unreachable, corrupt file …
        say(f"无法打开数据库 {db}：{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    return None


def start_server(app, host: str, port: int):
    from werkzeug.serving import make_server

    server = make_server(host, port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="pingan-http", daemon=True)
    thread.start()
    return server, thread


QT_PROBE = "from PyQt6.QtWidgets import QApplication; from PyQt6 import QtWebEngineWidgets; QApplication([])"


def qt_usable() -> str | None:
    """Qt aborts the whole process when its platform plugin cannot load, so try it in a child first.
    Returns None when Qt works, else a short reason."""
    import subprocess

    try:
        proc = subprocess.run([sys.executable, "-c", QT_PROBE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return type(exc).__name__
    if proc.returncode == 0:
        return None
    lines = [ln for ln in (proc.stderr or "").splitlines() if "needed" in ln or "Error" in ln or "not" in ln]
    return (lines[0] if lines else f"退出码 {proc.returncode}")[:200]


def open_window(url: str, title: str, *, fullscreen: bool, kiosk: bool) -> bool:
    """Show the console in a pywebview (Qt) window; False when no window could be made."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Qt WebEngine refuses to sandbox as root
    # the browser's own widgets (date-time pickers, form messages) follow its locale, not the page's lang
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if "--lang=" not in flags:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --lang=zh-CN".strip()
    problem = qt_usable()
    if problem:
        say(f"无法打开桌面窗口（Qt 不可用：{problem}），改为网页服务模式。")
        return False
    try:
        import webview

        webview.create_window(title, url, width=1600, height=900, min_size=(1024, 700),
                              fullscreen=fullscreen or kiosk, frameless=kiosk, text_select=True)
        webview.start(gui="qt", private_mode=False)
        return True
    except Exception as exc:
        say(f"无法打开桌面窗口（{type(exc).__name__}），改为网页服务模式。")
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quiet or not args.serve:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    window = not args.serve
    if window and not has_display():
        say("未检测到图形显示环境（DISPLAY），改为网页服务模式；可用 --serve 显式指定。")
        window = False
    host = args.host or "127.0.0.1"  # every interface only when asked for (--host 0.0.0.0)
    theme = "dark" if args.kiosk and not args.theme else args.theme
    app = build_app(args.db, theme)
    if app is None:
        return EXIT_DB
    port = choose_port(host, args.port if args.port is not None else (None if window else DEFAULT_PORT))
    try:
        server, thread = start_server(app, host, port)
    except OSError as exc:
        say(f"无法在 {host}:{port} 启动服务：{exc.strerror or exc}")
        return EXIT_SERVER
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    say(f"平安一张图 已启动：{url}")
    try:
        if window and open_window(url, app.title, fullscreen=args.fullscreen, kiosk=args.kiosk):
            return 0
        say("按 Ctrl+C 停止服务。")
        thread.join()
    except KeyboardInterrupt:
        say("正在停止……")
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
