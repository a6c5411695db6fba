"""`python -m console.ledger_import`: preview (and with --save, import) a county's ledger from the command line —
for the first load of a county's data on the server, where a file is too large for the browser. Prints one line
per row with a problem, the summary, and with --save what was saved. Exit 0: saved or nothing wrong; 1: rows
with problems (the good rows are saved with --save); 2: the file or the arguments cannot be used.

Files of any size up to the limits go through the chunked pipeline (stream.py): read a chunk at a time, every chunk
saved inside one transaction."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError

from console.ledgers.reader import LedgerError, open_ledger
from console.store import AreaScope, ScopeError, StoreError, make_engine, make_session_factory

from . import stream
from .kinds import KINDS
from .plan import CRS_CHOICES, file_hash

MAX_FILE_BYTES = 200 * 1024 * 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m console.ledger_import", description="导入台账（实有人口、社会组织、视频设备…）")
    p.add_argument("--db", required=True, help="数据库：SQLite 文件路径或 SQLAlchemy URL")
    p.add_argument("--kind", required=True, choices=sorted(KINDS), help="台账类别：" + "、".join(
        f"{k}={kind.label}" for k, kind in KINDS.items()))
    p.add_argument("--file", required=True, type=Path, help="台账文件（.xlsx .xls .ods .csv）")
    p.add_argument("--scope", required=True, help="导入范围的区划代码，逗号分隔（如 610924）；范围外的行不导入")
    p.add_argument("--crs", default="wgs84", choices=sorted(CRS_CHOICES), help="文件中经纬度的坐标系")
    p.add_argument("--sheet", default=None, help="工作表名称（默认按表头自动查找）")
    p.add_argument("--save", action="store_true", help="保存（默认只预览）")
    args = p.parse_args(argv)
    kind = KINDS[args.kind]
    try:
        scope = AreaScope.of(c for c in args.scope.split(",") if c.strip())
        size = args.file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LedgerError(f"文件有 {size // 2**20} MB，超过上限 {MAX_FILE_BYTES // 2**20} MB，请拆分后导入")
        data = args.file.read_bytes()
        ledger = open_ledger(data, args.file.name, kind.spec, sheet=args.sheet, max_rows=stream.MAX_ROWS)
        engine = make_engine(args.db, must_exist=True)
    except (OSError, LedgerError, ScopeError, StoreError) as exc:
        print(f"错误: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 2
    sessions = make_session_factory(engine)
    digest = file_hash(data)
    try:
        if args.save:
            plan = stream.import_stream(sessions, ledger, kind_key=kind.key, data_hash=digest,
                                        filename=args.file.name, scope=scope, actor=f"命令行:{getpass.getuser()}",
                                        crs=args.crs)
        else:
            with sessions() as s:
                plan = stream.plan_stream(s, kind, ledger, data_hash=digest, filename=args.file.name, scope=scope,
                                          crs=args.crs)
    except LedgerError as exc:  # found while reading the rows (too many): nothing was saved
        print(f"错误: {exc.message}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        print("错误: 数据库正由另一个导入写入，请待其完成后再导入（本次未保存任何数据）", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for note in plan.notices:
        print(f"提示: {note}")
    for r in plan.problem_rows:
        print(f"第{r.number}行: {'；'.join(r.problems)}")
    verb = "已保存" if args.save else "预览（未保存，加 --save 保存）"
    print(f"{kind.label}（工作表「{plan.sheet}」）{verb}：{plan.summary}")
    return 1 if plan.count("error") else 0


if __name__ == "__main__":
    sys.exit(main())
