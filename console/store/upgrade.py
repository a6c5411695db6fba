"""`python -m console.store.upgrade --db PATH_OR_URL`: bring a database to the current schema."""

import argparse

from . import make_engine, upgrade_schema


def main() -> None:
    parser = argparse.ArgumentParser(description="升级数据库结构到当前版本")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL or SQLite file path")
    args = parser.parse_args()
    upgrade_schema(make_engine(args.db, must_exist=True))
    print("数据库结构已是最新版本")


if __name__ == "__main__":
    main()
