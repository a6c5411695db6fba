"""The README's commands, read from `make -n` (what make would run, without running it) on a machine with no world."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _plan(tmp_path, *args: str) -> list[str]:
    db = tmp_path / "none.sqlite"  # missing: make plans the world build, the upgrade and the accounts
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}  # not a sub-make
    run = subprocess.run(["make", "-n", "--no-print-directory", *args, f"DB={db}", f"DATA_DIR={tmp_path}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_serve_listens_on_loopback_unless_host_is_given(tmp_path):
    assert "--host 127.0.0.1" in _plan(tmp_path, "serve")[-1]
    assert "--host 0.0.0.0" in _plan(tmp_path, "serve", "HOST=0.0.0.0")[-1]


def test_run_upgrades_the_schema_once(tmp_path):
    plan = _plan(tmp_path, "run")
    assert sum("console.store.upgrade" in line for line in plan) == 1, plan
    assert any("-m world" in line for line in plan) and plan[-1].endswith(f"--db '{tmp_path / 'none.sqlite'}'")


def test_test_checks_system_packages_and_import_layering_first(tmp_path):
    plan = _plan(tmp_path, "test")
    deps = next(i for i, line in enumerate(plan) if "system-deps.sh" in line)
    lint = next(i for i, line in enumerate(plan) if "lint-imports" in line)
    pytest_at = next(i for i, line in enumerate(plan) if "pytest" in line)
    assert deps < lint < pytest_at
