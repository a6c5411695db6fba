"""Rewrite the role × permission table in docs/security.md from console/security/roles.py (the one source).
`python scripts/role_table.py` rewrites it; `--check` exits 1 when the document has drifted."""

from __future__ import annotations

import sys
from pathlib import Path

from console.security.permissions import ALL_PERMISSIONS
from console.security.roles import ROLES

DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"


def table() -> str:
    head = "| 角色 | key | " + " | ".join(ALL_PERMISSIONS) + " |"
    rule = "|" + "---|" * (len(ALL_PERMISSIONS) + 2)
    rows = [f"| {r.label} | `{k}` | " + " | ".join("✓" if p in r.permissions else "" for p in ALL_PERMISSIONS) + " |"
            for k, r in ROLES.items()]
    return "\n".join([head, rule, *rows])


def rewritten(text: str) -> str:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("| 角色 | key |"))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[:start] + [table()] + lines[end:])


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    new = rewritten(text)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
