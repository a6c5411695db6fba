"""scripts/system-deps.sh — the one step `make test`, `make run` and CI share to install Debian packages. Driven with
stand-in dpkg-query / id / apt-get / sudo on PATH, so it runs anywhere without touching the machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "system-deps.sh"


def _fake_bin(tmp_path: Path, *, missing: set[str], uid: int, sudo: bool) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    tools = {
        # dpkg-query -W -f=... NAME: "ii " for an installed package, nothing (exit 1) for a missing one
        "dpkg-query": f'for a in "$@"; do p="$a"; done\ncase " {" ".join(sorted(missing))} " in *" $p "*) exit 1;; esac\nprintf "ii "',
        "id": f'echo {uid}',
        "apt-get": f'echo "apt-get $*" >> {log}',
    }
    if sudo:
        tools["sudo"] = f'[ "$1" = "-n" ] && shift\n[ "$1" = "true" ] && exit 0\necho "sudo $*" >> {log}\n"$@"'
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n" + body + "\n")
        path.chmod(0o755)
    return bin_dir


def _run(tmp_path, **kw) -> subprocess.CompletedProcess:
    bin_dir = _fake_bin(tmp_path, **kw)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def _calls(tmp_path) -> str:
    log = tmp_path / "calls.log"
    return log.read_text() if log.exists() else ""


def test_nothing_missing_installs_nothing(tmp_path):
    run = _run(tmp_path, missing=set(), uid=0, sudo=False)
    assert run.returncode == 0 and run.stdout == "" and _calls(tmp_path) == ""


def test_root_installs_only_what_is_missing(tmp_path):
    run = _run(tmp_path, missing={"xvfb", "postgresql"}, uid=0, sudo=False)
    assert run.returncode == 0, run.stderr
    calls = _calls(tmp_path).splitlines()
    assert calls[0].startswith("apt-get update")
    install = calls[-1].split()
    assert install[:3] == ["apt-get", "install", "-y"] and {"xvfb", "postgresql"} <= set(install)
    assert "chromium" not in install  # installed already: not reinstalled


def test_non_root_uses_sudo(tmp_path):
    run = _run(tmp_path, missing={"xvfb"}, uid=1000, sudo=True)
    assert run.returncode == 0, run.stderr
    calls = _calls(tmp_path)
    assert "sudo apt-get update" in calls and "sudo apt-get install -y" in calls


def test_neither_root_nor_sudo_names_the_exact_command(tmp_path):
    if Path("/usr/bin/sudo").exists() or Path("/bin/sudo").exists():
        import pytest

        pytest.skip("a real sudo is on this machine's PATH")
    run = _run(tmp_path, missing={"xvfb", "fonts-noto-cjk"}, uid=1000, sudo=False)
    assert run.returncode == 1 and _calls(tmp_path) == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "sudo apt-get install -y" in lines[0]
    assert "xvfb" in lines[0] and "fonts-noto-cjk" in lines[0]
