"""Dispute benchmark: ledger first page with filters, statistics aggregates, Excel export of 10,000 rows.

    python benchmarks/disputes.py --db /root/scratch_disputes/full.sqlite [--repeat 5]

Prints progress, then as its LAST line one JSON object: ledger_ms, stats_ms, export_10k_rows_ms (medians)
and details. Targets on the full-scale world: ledger ≤ 200, stats ≤ 500, export ≤ 3000.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from console.disputes import excel, ledger, stats
    from console.security.audit import Auditor
    from console.security.guard import Viewer
    from console.store import AreaScope, Dispute, make_engine, make_session_factory

    engine = make_engine(args.db, must_exist=True)
    sessions = make_session_factory(engine)
    with sessions() as s:
        n, last = s.execute(select(func.count(Dispute.id), func.max(Dispute.registered_at))).one()
        county = s.scalar(select(Dispute.county_code).group_by(Dispute.county_code)
                          .order_by(func.count().desc()).limit(1))
    now = last + timedelta(hours=1)
    print(f"disputes: {n}, as of {now:%Y-%m-%d}, busiest county {county}", flush=True)
    city = AreaScope.city()
    viewer = Viewer.build("bench", ["county"], ["610900"], auditor=Auditor(sessions, lambda: now))
    year = stats.Period(date(now.year - 1, now.month, now.day), now.date())

    def ledger_page():
        with sessions() as s:
            f = ledger.Filters(area=county, category="neighbour", since=year.since, until=year.until)
            a = ledger.query(s, city, f, now, limit=100)
            b = ledger.query(s, city, ledger.Filters(overdue=True), now, limit=100)
            return a[1], b[1]

    def stats_all():
        with sessions() as s:
            summary = stats.statistics(s, city, year, now)
            spots = stats.hot_spots(s, city, year)
            zero = stats.zero_report(s, city, stats.Period.month(now.year, now.month))
            return summary["total"], len(spots), len(zero)

    def export_10k():
        with sessions() as s:
            _, data = excel.export(s, viewer, [city.clause(Dispute)], when=now, limit=10000)
            return len(data)

    ledger_page()  # warm the page cache once (a served console is warm)
    ledger_ms, counts = _ms(ledger_page, args.repeat)
    print(f"ledger: {ledger_ms:.0f} ms (matches {counts})", flush=True)
    stats_ms, summary = _ms(stats_all, args.repeat)
    print(f"stats: {stats_ms:.0f} ms (total, hot spots, zero-report villages = {summary})", flush=True)
    export_ms, size = _ms(export_10k, max(1, args.repeat // 2))
    print(f"export 10k: {export_ms:.0f} ms ({size} bytes)", flush=True)
    print(json.dumps({"ledger_ms": round(ledger_ms), "stats_ms": round(stats_ms),
                      "export_10k_rows_ms": round(export_ms),
                      "details": {"disputes": n, "db": Path(args.db).name, "repeat": args.repeat}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
