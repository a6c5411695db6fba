"""Run launcher.py, logging the pywebview window in through the console's own login form (test harness only).

    python tests/browser/launch_logged_in.py USERNAME PASSWORD -- <launcher arguments>

When the window's page is the login form, fill it in and submit, as a user would; nothing in the launcher
or the console is bypassed (the window test proves that the login works in the desktop window)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    sep = sys.argv.index("--")
    username, password = sys.argv[1:sep]
    import webview

    from console import launcher

    original = webview.create_window

    def create_window(*args, **kwargs):
        window = original(*args, **kwargs)

        def on_loaded(*_):
            url = window.get_current_url() or ""
            if "/login" in url:
                print("window: login form shown, signing in", flush=True)
                window.evaluate_js(
                    f"document.getElementById('u').value = {json.dumps(username)};"
                    f"document.getElementById('p').value = {json.dumps(password)};"
                    "document.querySelector('form').submit();")

        window.events.loaded += on_loaded
        return window

    webview.create_window = create_window
    return launcher.main(sys.argv[sep + 1:])


if __name__ == "__main__":
    raise SystemExit(main())
