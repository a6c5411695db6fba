"""The desktop window: launcher.py under Xvfb opens a pywebview (Qt WebEngine) window, the user logs in
through the console's login form, and the map renders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def free_display() -> int:
    for n in range(71, 99):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed")
def test_window_shows_the_map(world_db, tmp_path):
    n = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1600x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": f":{n}", "PINGAN_WARM_CACHE": "0"}
    app = None
    try:
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            time.sleep(0.1)
        # The console asks for a login: sign in through the window's login form.
        from tests.security_login import PASSWORD, add_account

        add_account(world_db, "window_user")
        app = subprocess.Popen([sys.executable, str(HERE / "launch_logged_in.py"), "window_user", PASSWORD, "--",
                                "--db", world_db], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        shot = tmp_path / "window.png"
        stats = {}
        deadline = time.time() + 90
        while time.time() < deadline:
            time.sleep(3)
            assert app.poll() is None, app.stdout.read()
            out = subprocess.run([sys.executable, str(HERE / "grab_screen.py"), str(shot)], env=env,
                                 capture_output=True, text=True, timeout=60)
            if out.returncode == 0:
                stats = json.loads(out.stdout.strip().splitlines()[-1])
                if stats["header_pixels"] > 200 and stats["blue_pixels"] > 200 and stats["colours"] > 40 \
                        and stats["outline_pixels"] > 100:
                    break
        assert stats.get("colours", 0) > 40, f"window looks blank: {stats}"
        assert stats["header_pixels"] > 200, f"console header not drawn: {stats}"
        assert stats["blue_pixels"] > 200, f"map areas not drawn: {stats}"
        assert stats["outline_pixels"] > 100, f"offline basemap (city outline) not drawn: {stats}"
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(15)
            except subprocess.TimeoutExpired:
                app.kill()
        xvfb.terminate()
        xvfb.wait(10)
