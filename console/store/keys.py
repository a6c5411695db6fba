"""Data-key commands: ``keygen`` (create or rotate the key file) and ``reencrypt`` (rewrite every sealed column
with the current key after a rotation). The key ring itself is the leaf module ``console.store.crypto``.

    python -m console.store.keys keygen --out ~/.config/pingan/data.key [--rotate] [--data-dir data]
    python -m console.store.keys reencrypt --db data/ankang.sqlite
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.store.crypto import KEY_FILE_ENV, DataKeyError, key_id, require_keyring, write_key_file


def reencrypt(session, model, column: str) -> int:
    """Rewrite every value of an EncryptedText column with the current key (after `keygen --rotate`).

    Old keys must stay in the key file until this has run for every encrypted column; then they
    can be removed from the file.
    """
    from sqlalchemy import select
    from sqlalchemy.orm.attributes import flag_modified

    n = 0
    for row in session.scalars(select(model)):
        if getattr(row, column) is not None:
            flag_modified(row, column)
            n += 1
    session.flush()
    return n


def _reencrypt_cli(db: str) -> int:
    from console.store import make_engine, make_session_factory
    from console.store.security_models import Account
    from console.store.sensitive import reencrypt_all

    try:
        ring = require_keyring()
        engine = make_engine(db, must_exist=True)
        counts = reencrypt_all(engine, ring)
        with make_session_factory(engine)() as s:
            counts["account.totp_secret"] = reencrypt(s, Account, "totp_secret")
            s.commit()
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    print(f"已用密钥 {key_id(ring.current)} 重新加密: " + ", ".join(f"{k} {v} 行" for k, v in counts.items()))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.store.keys", description="数据密钥管理")
    sub = parser.add_subparsers(dest="cmd", required=True)
    kg = sub.add_parser("keygen", help="生成数据密钥文件（权限 0600）")
    kg.add_argument("--out", required=True, type=Path)
    kg.add_argument("--rotate", action="store_true", help="在已有密钥文件前加入新密钥")
    kg.add_argument("--data-dir", type=Path, default=None, help="数据目录（密钥文件不得位于其中）")
    rc = sub.add_parser("reencrypt", help="轮换后用当前密钥重写全部加密列与盲索引")
    rc.add_argument("--db", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "reencrypt":
        return _reencrypt_cli(args.db)
    try:
        kid = write_key_file(args.out, rotate=args.rotate, data_dir=args.data_dir)
    except DataKeyError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    print(f"已写入密钥 {kid} 到 {args.out}（权限 0600）。设置环境变量 {KEY_FILE_ENV}={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
