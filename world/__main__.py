"""`python -m world --db URL --scale S --seed K`: build the synthetic Ankang world."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from tqdm import tqdm

from console.store import crypto
from console.store.session import StoreError, database_url

from .build import build_and_write
from .writer import check_target, existing_world

STEPS = 17  # 10 counties, villages, buildings+grids, 4 record stages, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m world", description="构建安康市演示数据（合成，不含真实个人信息）")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL 或 SQLite 文件路径")
    parser.add_argument("--scale", type=float, default=1.0, help="人口规模比例 (0,1]，1.0 为全市")
    parser.add_argument("--seed", type=int, default=20201101, help="随机种子（相同种子生成相同数据）")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="数据基准日 YYYY-MM-DD（默认今天）")
    parser.add_argument("--force", action="store_true", help="替换已有的演示数据库（构建完成后原子替换；仅 SQLite）")
    parser.add_argument("--if-missing", action="store_true", help="目标已有演示数据时不做任何事（退出码 0）")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    as_of = args.as_of or date.today()
    if not 0 < args.scale <= 1:
        print("错误: --scale 应在 (0, 1] 之间", file=sys.stderr)
        return 2
    try:
        created = crypto.ensure_key_file()
        if created is not None:
            print(f"已生成数据密钥文件 {created}（权限 0600，勿放入数据目录、勿提交；丢失则无法解密）", file=sys.stderr)
        found = existing_world(database_url(args.db)) if args.if_missing and not args.force else None
        if found:
            print(f"目标数据库已有演示数据（{found}），跳过构建", file=sys.stderr)
            return 0
        check_target(args.db, force=args.force)
    except (StoreError, crypto.DataKeyError) as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    # One bar that redraws in place on a terminal; in a log (make under CI, a pipe) a bar becomes a page of
    # lines, so there it is one line before and the summary after.
    on_terminal = sys.stderr.isatty()
    if not on_terminal:
        print(f"构建演示数据（比例 {args.scale}，种子 {args.seed}）……", file=sys.stderr, flush=True)
    with tqdm(total=STEPS, desc="构建演示数据", unit="步", file=sys.stderr, disable=not on_terminal,
              bar_format="{desc}: {percentage:3.0f}%|{bar:30}| {n_fmt}/{total_fmt} [{elapsed}] {postfix}") as bar:
        try:
            world = build_and_write(args.seed, args.scale, as_of, args.db, force=args.force, progress=bar)
        except (StoreError, ValueError) as exc:
            bar.close()
            print(f"错误: {exc}", file=sys.stderr)
            return 2
    rows = {k[5:]: v for k, v in world.meta.items() if k.startswith("rows.")}
    print(f"完成: {time.perf_counter() - started:.1f} 秒; 人口 {rows['person']}, 户 {rows['household']}, "
          f"网格 {rows['grid']}, 摄像头 {rows['camera']}, 矛盾纠纷 {rows['dispute']} → {args.db}")
    stages = {k[8:]: v for k, v in world.meta.items() if k.startswith("seconds.")}
    print("各阶段耗时(秒): " + ", ".join(f"{k} {v}" for k, v in stages.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
