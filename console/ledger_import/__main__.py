"""`python -m console.ledger_import`: preview (and with --save, import) a county's ledger from the command line —
for the first load of a county's data on the server, where a file is too large for the browser. Prints one line
per row with a problem, the summary, and with --save what was saved. Exit 0: saved or nothing wrong; 1: rows
with problems (the good rows are saved with --save); 2: the file or the arguments cannot be used.

Sheets and CSV files go through the chunked pipeline (stream.py: read, check and save a chunk at a time, every
chunk inside one transaction), up to `stream.MAX_ROWS` rows; GIS layers are read whole (geofile.py)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError

from console.ledgers.reader import LedgerError, is_geofile, open_file, open_ledger, read_ledger
from console.store import AreaScope, ScopeError, StoreError, make_engine, make_session_factory

from . import stream, templates
from .commit import commit_import
from .kinds import KINDS
from .mapping import relaxed, with_mapping
from .plan import CRS_CHOICES, file_hash, plan_import

MAX_FILE_BYTES = 200 * 1024 * 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m console.ledger_import", description="导入台账（实有人口、社会组织、视频设备…）")
    p.add_argument("--db", required=True, help="数据库：SQLite 文件路径或 SQLAlchemy URL")
    p.add_argument("--kind", required=True, choices=sorted(KINDS), help="台账类别：" + "、".join(
        f"{k}={kind.label}" for k, kind in KINDS.items()))
    p.add_argument("--file", required=True, type=Path, help="台账文件（.xlsx .xls .ods .csv，或点图层 .gpkg / Shapefile 的 .zip）")
    p.add_argument("--scope", required=True, help="导入范围的区划代码，逗号分隔（如 610924）；范围外的行不导入")
    p.add_argument("--crs", default="wgs84", choices=sorted(CRS_CHOICES), help="文件中经纬度的坐标系")
    p.add_argument("--sheet", default=None, help="工作表名称（默认按表头自动查找）")
    p.add_argument("--template", default=None, help="列对应关系模板的名称（默认：自动查找此来源、此类别、此范围的模板）")
    p.add_argument("--save", action="store_true", help="保存（默认只预览）")
    args = p.parse_args(argv)
    kind = KINDS[args.kind]
    try:
        scope = AreaScope.of(c for c in args.scope.split(",") if c.strip())
        size = args.file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LedgerError(f"文件有 {size // 2**20} MB，超过上限 {MAX_FILE_BYTES // 2**20} MB，请拆分后导入")
        data = args.file.read_bytes()
        engine = make_engine(args.db, must_exist=True)
        sessions = make_session_factory(engine)
        whole = bool(data) and is_geofile(data, args.file.name)
        opened = None if whole else open_file(data, args.file.name)  # parsed once, for the template and the rows
        template = _template(sessions, args, kind, scope, data, opened)
        spec = with_mapping(kind.spec, template.mapping) if template else kind.spec
        if whole:
            ledger = read_ledger(data, args.file.name, spec, sheet=args.sheet)
        else:
            ledger = open_ledger(data, args.file.name, spec, sheet=args.sheet, max_rows=stream.MAX_ROWS,
                                 opened=opened)
    except (OSError, LedgerError, ScopeError, StoreError) as exc:
        print(f"错误: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 2
    opened = None  # the ledger holds what it reads; once its rows are kept compact, the workbook can go (reader.py)
    if template is not None:
        print(f"提示: 已应用列对应关系模板「{template.name}」（" + "、".join(
            f"{h}→{f}" for h, f in template.mapping.items()) + "）")
    digest = file_hash(data)
    actor = f"命令行:{getpass.getuser()}"
    try:
        if whole and args.save:
            plan = commit_import(sessions, ledger, kind_key=kind.key, data_hash=digest, filename=args.file.name,
                                 scope=scope, actor=actor, crs=args.crs)
        elif whole:
            with sessions() as s:
                plan = plan_import(s, kind, ledger, data_hash=digest, filename=args.file.name, scope=scope,
                                   crs=args.crs)
        elif args.save:
            plan = stream.import_stream(sessions, ledger, kind_key=kind.key, data_hash=digest,
                                        filename=args.file.name, scope=scope, actor=actor, crs=args.crs)
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


def _template(sessions, args, kind, scope, data: bytes, opened):
    """The template named by --template (it must be for this kind), else the one of this file's source, if any."""
    with sessions() as s:
        if args.template:
            found = templates.by_name(s, args.template)
            if found is None or found.kind != kind.key:
                raise LedgerError(f"没有名为“{args.template}”的{kind.label}列对应关系模板")
            return found
        try:  # the header row only (a sheet's rows are not read here)
            if opened is None:  # a GIS layer
                found = read_ledger(data, args.file.name, relaxed(kind.spec), sheet=args.sheet)
            else:
                found = open_ledger(data, args.file.name, relaxed(kind.spec), sheet=args.sheet, opened=opened,
                                    formulas=False)
            headers = templates.file_headers(found)
        except LedgerError:
            return None  # the plain read below names what is wrong
        return templates.find(s, kind.key, scope, headers)


if __name__ == "__main__":
    sys.exit(main())
