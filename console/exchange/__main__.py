"""`python -m console.exchange export|import`: the exchange package from the command line (docs/exchange.md).
Exit 0: done; 1: rows with problems (the good rows are saved); 2: the package or the arguments cannot be used."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from console.store import AreaScope, ScopeError, StoreError, make_engine, make_session_factory

from . import ExchangeError, export_package, import_package

MAX_PACKAGE_BYTES = 4 * 1024**3


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m console.exchange", description="数据交换包：导出 / 导入")
    p.add_argument("action", choices=("export", "import"))
    p.add_argument("--db", required=True, help="数据库：SQLite 文件路径或 SQLAlchemy URL")
    p.add_argument("--file", required=True, type=Path, help="交换包（.zip）")
    p.add_argument("--scope", default="610900", help="区划代码，逗号分隔（默认全市）")
    p.add_argument("--source", default="安康市平安一张图", help="导出方（写入 manifest.json）")
    args = p.parse_args(argv)
    actor = f"命令行:{getpass.getuser()}"
    try:
        scope = AreaScope.of(c.strip() for c in args.scope.split(",") if c.strip())
        engine = make_engine(args.db, must_exist=True)
    except (ScopeError, StoreError) as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    sessions = make_session_factory(engine)
    try:
        if args.action == "export":
            done = export_package(sessions, scope, args.file, source=args.source, actor=actor)
            print("已导出：" + "，".join(f"{k} {n} 行" for k, n in done.counts.items()) + f"；SHA-256 {done.sha256}")
            return 0
        if args.file.stat().st_size > MAX_PACKAGE_BYTES:
            raise ExchangeError(f"交换包超过 {MAX_PACKAGE_BYTES // 2**30} GB")
        plans = import_package(sessions, args.file.read_bytes(), scope=scope, actor=actor)
    except (OSError, ExchangeError) as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    bad = 0
    for key, plan in plans.items():
        print(f"{key}: {plan.summary}")
        bad += plan.count("error")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
