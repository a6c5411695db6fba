"""python -m console.batch reassign|quality|assessment --db DB [--dask tcp://host:8786] [--workers N]
[--in-process] [--month YYYY-MM] [--out FILE.json] [--dry-run]: prints one JSON line (the job's summary)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m console.batch", description="批处理作业（Dask）")
    ap.add_argument("job", choices=("reassign", "quality", "assessment"))
    ap.add_argument("--db", required=True, help="数据库文件路径或 SQLAlchemy URL")
    ap.add_argument("--dask", default=None, help="Dask 调度器地址（tcp://主机:8786）；缺省在本机启动 LocalCluster")
    ap.add_argument("--workers", type=int, default=None, help="LocalCluster 的工作进程数（缺省 2）")
    ap.add_argument("--in-process", action="store_true", help="不用 Dask，在本进程内逐个分区运行")
    ap.add_argument("--month", default=None, help="考评月份 YYYY-MM（assessment）")
    ap.add_argument("--out", default=None, help="把结果写入此 JSON 文件（quality / assessment）")
    ap.add_argument("--dry-run", action="store_true", help="只统计需要改动的记录，不写库（reassign）")
    args = ap.parse_args(argv)

    from console.store.session import StoreError

    from . import assessment, cluster, quality, reassign

    def work(client):
        if args.job == "reassign":
            return reassign.run(args.db, client, dry_run=args.dry_run).summary(), None
        if args.job == "quality":
            cube, summary = quality.run(args.db, client)
            return summary, {"built_at": cube.built_at.isoformat(), "problems": _keyed(cube.problems),
                             "records": _keyed(cube.records)}
        from console.services.assessment import Month

        month = None
        if args.month:
            month = Month.parse(args.month, date.today())
            if month.key != args.month.strip():
                raise SystemExit(f"月份格式应为 YYYY-MM（如 2026-10）：{args.month!r}")
        tables, summary = assessment.run(args.db, client, month=month)
        return summary, tables

    try:
        if args.in_process:
            summary, data = work(None)
        else:
            with cluster.open_client(args.dask, args.workers or cluster.N_WORKERS) as client:
                summary, data = work(client)
    except (StoreError, LookupError, OSError, reassign.BoundariesChanged) as exc:
        print(f"批处理失败：{exc}", file=sys.stderr)
        return 2
    if args.out and data is not None:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
    summary["dask"] = "in-process" if args.in_process else (args.dask or f"LocalCluster({args.workers or 2})")
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0


def _keyed(tables: dict) -> dict:
    return {name: [[*key, n] for key, n in keys.items()] for name, keys in tables.items()}


if __name__ == "__main__":
    sys.exit(main())
