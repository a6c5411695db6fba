"""The launcher's bad-input paths: clear Chinese messages, sensible fallbacks, never a traceback."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.tinyworld import build

ROOT = Path(__file__).resolve().parents[1]


def run_launcher(*args, env=None, timeout=60):
    env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "launcher.py"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_missing_database_says_so(tmp_path):
    proc = run_launcher("--serve", "--db", str(tmp_path / "nope.sqlite"))
    assert proc.returncode == 2
    assert "数据库文件不存在" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_database_without_schema_says_so(tmp_path):
    sqlite3.connect(tmp_path / "empty.sqlite").execute("create table x(a)").connection.close()
    proc = run_launcher("--serve", "--db", str(tmp_path / "empty.sqlite"))
    assert proc.returncode == 2 and "make world" in proc.stdout and "Traceback" not in proc.stderr


def test_old_schema_says_upgrade(tmp_path):
    con = sqlite3.connect(tmp_path / "old.sqlite")
    con.execute("create table alembic_version(version_num varchar(32) primary key)")
    con.execute("insert into alembic_version values ('0000_ancient')")
    con.commit()
    con.close()
    proc = run_launcher("--serve", "--db", str(tmp_path / "old.sqlite"))
    assert proc.returncode == 2 and "升级" in proc.stdout and "Traceback" not in proc.stderr


def test_unreachable_database_url_says_so():
    proc = run_launcher("--serve", "--db", "nosuchdialect://x/y")
    assert proc.returncode == 2 and "无法打开数据库" in proc.stdout and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build(tmp_path_factory.mktemp("tiny") / "tiny.sqlite")


def _read_until(proc, marker: str, seconds: float) -> list[str]:
    """The launcher's output lines up to the first one containing `marker` (or until it stops / time runs out)."""
    lines: list[str] = []
    deadline = time.time() + seconds
    while time.time() < deadline and not any(marker in ln for ln in lines):
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    return lines


def test_no_display_and_port_in_use_fall_back_to_serving(world):
    """No DISPLAY and no --serve → serves; the asked-for port is busy → another port, told in Chinese."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PINGAN_WARM_CACHE"] = "0"
    proc = subprocess.Popen([sys.executable, str(ROOT / "launcher.py"), "--db", world, "--host", "127.0.0.1",
                             "--port", str(busy)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    try:
        lines = _read_until(proc, "已启动", 60)
        text = "".join(lines)
        assert "未检测到图形显示环境" in text and f"端口 {busy} 已被占用" in text, text
        url = next(ln for ln in lines if "已启动" in ln).split("：", 1)[1].strip()
        assert str(busy) not in url
        # A browser asking for the page is sent to the login form; it is served.
        req = urllib.request.Request(url, headers={"Accept": "text/html"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and "/login" in r.url and "平安一张图" in r.read().decode("utf-8")
    finally:
        proc.terminate()
        proc.wait(10)
        blocker.close()
    assert "Traceback" not in proc.stderr.read()


def test_window_that_cannot_start_falls_back_to_serving(world):
    """A display that Qt cannot use (here: a DISPLAY with no X server behind it) → one sentence saying why, then
    the console is served; no traceback and no Qt abort of the whole process."""
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=":87", PINGAN_WARM_CACHE="0", QT_QPA_PLATFORM="xcb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "launcher.py"), "--db", world], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        lines = _read_until(proc, "按 Ctrl+C", 90)
        text = "".join(lines)
        reason = [ln for ln in lines if "无法打开桌面窗口" in ln]
        assert len(reason) == 1 and "改为网页服务模式" in reason[0], text
        url = next(ln for ln in lines if "已启动" in ln).split("：", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/html"}), timeout=10) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(10)
    assert "Traceback" not in proc.stderr.read()
