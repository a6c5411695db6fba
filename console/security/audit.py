"""Audit log: append-only, hash-chained, verifiable, archived (never plainly deleted).

Each row stores ``hash = HMAC-SHA256(audit key, prev_hash ‖ "\\n" ‖ canonical JSON of the row)`` (the key is
derived from the data key, outside the database: `console.store.auditchain`); a database trigger refuses
DELETE of rows not yet archived (and UPDATE of any); the single
`audit_head` row holds the chain head and is updated first in every append, which serialises
concurrent writers (SQLite write lock, PostgreSQL row lock). `verify` walks the chain from the
archive anchor and reports the first broken link: an edited row (hash mismatch), a deleted row (id
gap / prev_hash mismatch) or a deleted tail (head mismatch). `archive` moves old rows into a JSON
lines file that carries the anchor and the chain head, verifies the file, and only then removes the
rows and moves the anchor — the remaining chain stays verifiable.

CLI::

    python -m console.security.audit verify  --db PATH_OR_URL [--archives DIR]
    python -m console.security.audit archive --db PATH_OR_URL --days 180 --out DIR
    python -m console.security.audit head    --db PATH_OR_URL
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update

from console.store.auditchain import ALGORITHM, FIELDS, GENESIS, LEGACY_ALGORITHM, chain_keys, matches  # noqa: F401
from console.store.auditchain import chain_hash as _chain_hash
from console.store.security_models import AuditHead, AuditLog

from . import guard
from .audit_actions import action_label, cell_text
from .config import utcnow
from .guard import GRANTED, REFUSED, Viewer
from .hardening import redact_text
from .permissions import AUDIT_READ

RESULTS = (GRANTED, REFUSED)


def chain_hash(prev_hash: str, row: dict) -> str:
    """The row's tag under the current audit key (what `append` stores)."""
    keys = chain_keys()
    return _chain_hash(prev_hash, row, keys[0] if keys else None)


def row_dict(row: AuditLog) -> dict:
    return {name: getattr(row, name) for name in (*FIELDS, "prev_hash", "hash")}


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def append(session, actor: str, action: str, *, object: str = "", result: str = GRANTED, detail=None,
           ip: str = "", roles: Iterable[str] = (), at: datetime | None = None) -> AuditLog:
    """Append one row inside `session`'s transaction (the caller commits)."""
    if result not in RESULTS:
        raise ValueError(f"result must be one of {RESULTS}")
    if isinstance(detail, dict):
        detail = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    # Take the write lock first, then read the head: no two writers can chain onto the same row.
    bumped = session.execute(update(AuditHead).where(AuditHead.id == 1)
                             .values(last_id=AuditHead.last_id + 1)).rowcount
    if not bumped:
        session.add(AuditHead(id=1, last_id=1, last_hash=GENESIS, archived_through_id=0, archived_hash=GENESIS))
        session.flush()
    last_id, last_hash = session.execute(select(AuditHead.last_id, AuditHead.last_hash)
                                         .where(AuditHead.id == 1)).one()
    values = {
        "id": last_id,
        "at": (at or utcnow()).replace(tzinfo=None),
        "actor": _clip(redact_text(actor or ""), 64),
        "roles": _clip(",".join(sorted(roles)), 128),
        "ip": _clip(ip or "", 45),
        "action": _clip(action, 48),
        "object": _clip(redact_text(object or ""), 200),
        "result": result,
        "detail": redact_text(detail or ""),
    }
    digest = chain_hash(last_hash, values)  # keyed: the database alone cannot recompute it
    row = AuditLog(**values, prev_hash=last_hash, hash=digest)
    session.add(row)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=digest))
    session.flush()
    return row


class Auditor:
    """The audit sink a Viewer carries. `record(..., session=s)` joins the caller's transaction;
    without a session it commits its own (so refusals are kept even when the caller rolls back)."""

    def __init__(self, session_factory, clock: Callable[[], datetime] = utcnow):
        self.session_factory = session_factory
        self.clock = clock

    def record(self, actor: str, action: str, *, object: str = "", result: str = GRANTED, detail=None,
               ip: str = "", roles: Iterable[str] = (), session=None) -> int:
        if session is not None:
            return append(session, actor, action, object=object, result=result, detail=detail, ip=ip,
                          roles=roles, at=self.clock()).id
        with self.session_factory() as s, s.begin():
            return append(s, actor, action, object=object, result=result, detail=detail, ip=ip, roles=roles,
                          at=self.clock()).id


# -- verification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""

    def message(self) -> str:
        if self.ok:
            return f"OK: 审计链完整（校验 {self.checked} 条）"
        return f"BROKEN at id {self.first_bad_id}: {self.reason}（此前 {self.checked} 条完整）"


def _walk(rows: Iterable[dict], anchor_hash: str, first_id: int, keys: list[bytes] | None = None
          ) -> tuple[VerifyResult, int, str]:
    keys = chain_keys() if keys is None else keys
    prev, expected, checked = anchor_hash, first_id, 0
    for row in rows:
        if row["id"] != expected:
            return VerifyResult(False, checked, expected, f"缺失第 {expected} 条（被删除）"), expected, prev
        if row["prev_hash"] != prev:
            return VerifyResult(False, checked, row["id"], "前序哈希不符（前一条被删除或改动）"), expected, prev
        if not matches(prev, row, row["hash"], keys):
            return VerifyResult(False, checked, row["id"], "内容哈希不符（本条被改动）"), expected, prev
        prev, expected, checked = row["hash"], expected + 1, checked + 1
    return VerifyResult(True, checked), expected, prev


def verify(session) -> VerifyResult:
    head = session.get(AuditHead, 1)
    if head is None:
        n = session.scalar(select(func.count()).select_from(AuditLog))
        return VerifyResult(n == 0, 0, None if n == 0 else 1, "" if n == 0 else "缺少链头记录")
    rows = (row_dict(r) for r in session.scalars(
        select(AuditLog).where(AuditLog.id > head.archived_through_id).order_by(AuditLog.id)).yield_per(2000))
    earlier = session.scalar(select(func.min(AuditLog.id)).where(AuditLog.id <= head.archived_through_id))
    if earlier is not None:
        return VerifyResult(False, 0, earlier, "已归档的记录仍在库中（锚点被改动）")
    result, next_id, last_hash = _walk(rows, head.archived_hash, head.archived_through_id + 1)
    if not result.ok:
        return result
    if head.last_id != next_id - 1 or head.last_hash != last_hash:
        return VerifyResult(False, result.checked, next_id, f"链尾缺失（链头记录到第 {head.last_id} 条）")
    return result


# -- archival ----------------------------------------------------------------------------------
class ArchiveError(RuntimeError):
    pass


def _read_archive(path: Path) -> tuple[dict, list[dict], dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) < 2:
        raise ArchiveError(f"归档文件不完整: {path}")
    header, footer = json.loads(lines[0]), json.loads(lines[-1])
    if header.get("type") != "header" or footer.get("type") != "head":
        raise ArchiveError(f"归档文件格式错误: {path}")
    rows = []
    for line in lines[1:-1]:
        row = json.loads(line)
        row["at"] = datetime.fromisoformat(row["at"])
        rows.append(row)
    return header, rows, footer


def verify_archive(path: Path, anchor: str | None = None) -> tuple[VerifyResult, dict]:
    """Verify one archive file; `anchor` (the previous file's head) links files into one chain."""
    header, rows, footer = _read_archive(Path(path))
    if anchor is not None and header["anchor"] != anchor:
        return VerifyResult(False, 0, header["first_id"], "与上一归档文件不衔接"), footer
    keys = [] if header.get("algorithm") == LEGACY_ALGORITHM else chain_keys()  # files written before the key
    result, next_id, last_hash = _walk(rows, header["anchor"], header["first_id"], keys)
    if result.ok and (footer["last_id"] != next_id - 1 or footer["last_hash"] != last_hash
                      or footer["count"] != len(rows)):
        result = VerifyResult(False, result.checked, next_id, "归档文件尾部与链头不符（记录缺失）")
    return result, footer


def verify_archives(paths: Sequence[Path], session=None) -> VerifyResult:
    """Verify archive files in order and, with a session, that the database chain continues the last one."""
    anchor, total = GENESIS, 0
    for path in sorted(paths, key=lambda p: _read_archive(Path(p))[0]["first_id"]):
        result, footer = verify_archive(path, anchor)
        if not result.ok:
            return VerifyResult(False, total + result.checked, result.first_bad_id, f"{Path(path).name}: {result.reason}")
        anchor, total = footer["last_hash"], total + result.checked
    if session is not None:
        head = session.get(AuditHead, 1)
        if head is not None and head.archived_hash != anchor:
            return VerifyResult(False, total, head.archived_through_id + 1, "数据库锚点与归档文件链头不符")
        db = verify(session)
        return VerifyResult(db.ok, total + db.checked, db.first_bad_id, db.reason)
    return VerifyResult(True, total)


def archive(session_factory, older_than_days: int, out_dir: Path, *, actor: str = "", ip: str = "",
            clock: Callable[[], datetime] = utcnow) -> Path | None:
    """Move rows older than N days into a verified archive file. Returns the file, or None if nothing to do."""
    if older_than_days < 1:
        raise ArchiveError("归档天数须至少为 1")
    out_dir = Path(out_dir)
    cutoff = clock() - timedelta(days=older_than_days)
    with session_factory() as s:
        check = verify(s)
        if not check.ok:
            raise ArchiveError(f"审计链已损坏，拒绝归档: {check.message()}")
        head = s.get(AuditHead, 1)
        last = s.scalar(select(func.max(AuditLog.id)).where(AuditLog.at < cutoff))
        if head is None or last is None or last <= head.archived_through_id:
            return None
        rows = [row_dict(r) for r in s.scalars(select(AuditLog).where(AuditLog.id > head.archived_through_id,
                                                                       AuditLog.id <= last).order_by(AuditLog.id))]
        first_id, anchor = head.archived_through_id + 1, head.archived_hash
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"audit-{first_id:010d}-{last:010d}.jsonl"
    if path.exists():
        raise ArchiveError(f"归档文件已存在: {path}")
    footer = {"type": "head", "last_id": last, "last_hash": rows[-1]["hash"], "count": len(rows),
              "archived_at": clock().isoformat(timespec="seconds")}
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"type": "header", "anchor": anchor, "first_id": first_id,
                             "algorithm": ALGORITHM if chain_keys() else LEGACY_ALGORITHM, "fields": FIELDS},
                            ensure_ascii=False) + "\n")
        for row in rows:
            fh.write(json.dumps({**row, "at": row["at"].isoformat(timespec="microseconds")},
                                ensure_ascii=False) + "\n")
        fh.write(json.dumps(footer) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    result, _ = verify_archive(tmp, anchor)
    if not result.ok:
        tmp.unlink()
        raise ArchiveError(f"归档文件校验失败: {result.message()}")
    os.replace(tmp, path)
    os.chmod(path, 0o440)
    with session_factory() as s, s.begin():
        moved = s.execute(update(AuditHead).where(AuditHead.id == 1, AuditHead.archived_through_id == first_id - 1)
                          .values(archived_through_id=last, archived_hash=footer["last_hash"])).rowcount
        if moved != 1:
            raise ArchiveError("并发归档冲突，请重试")
        s.execute(delete(AuditLog).where(AuditLog.id >= first_id, AuditLog.id <= last))
        append(s, actor or f"cli:{getpass.getuser()}", "audit.archive", object=path.name, ip=ip,
               detail={"first_id": first_id, "last_id": last, "count": len(rows), "older_than_days": older_than_days},
               at=clock())
    return path


# -- the audit page (audit administrator only) ------------------------------------------------
COLUMNS = ("id", "at", "actor", "roles", "ip", "action", "object", "result", "detail")
COLUMN_LABELS = {"id": "序号", "at": "时间(UTC)", "actor": "用户", "roles": "角色", "ip": "来源地址",
                 "action": "操作", "object": "对象", "result": "结果", "detail": "详情"}


def _query(actor=None, action=None, result=None, since=None, until=None, text=None):
    q = select(AuditLog)
    if actor:
        q = q.where(AuditLog.actor == actor)
    if action:
        q = q.where(AuditLog.action.startswith(action, autoescape=True))
    if result:
        q = q.where(AuditLog.result == result)
    if since:
        q = q.where(AuditLog.at >= since)
    if until:
        q = q.where(AuditLog.at < until)
    if text:
        like = f"%{text}%"
        q = q.where(or_(AuditLog.object.like(like), AuditLog.detail.like(like), AuditLog.ip.like(like)))
    return q


def search(session, viewer: Viewer, *, actor: str | None = None, action: str | None = None,
           result: str | None = None, since: datetime | None = None, until: datetime | None = None,
           text: str | None = None, limit: int = 200, offset: int = 0) -> tuple[list[dict], int]:
    """Rows (newest first) and the total count. Requires audit:read; the search itself is audited."""
    filters = dict(actor=actor, action=action, result=result, since=since, until=until, text=text)
    guard.require(viewer, AUDIT_READ, "audit_log", detail={"search": {k: v for k, v in filters.items() if v}},
                  log_grant=False)
    guard.audit(viewer, "audit.search", "audit_log", GRANTED, {k: str(v) for k, v in filters.items() if v})
    q = _query(**filters)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(AuditLog.id.desc()).limit(min(limit, 5000)).offset(offset))
    return [{c: getattr(r, c) for c in COLUMNS} for r in rows], total


def export(session, viewer: Viewer, fmt: str = "csv", **filters) -> tuple[str, bytes]:
    """(file name, bytes) of the matching rows, watermarked with the exporting user and time. CSV and Excel show
    actions, roles and results in words; JSON keeps the keys and adds `action_label`."""
    from .masking import watermark_text, xlsx_bytes

    guard.require(viewer, AUDIT_READ, "audit_log", log_grant=False)
    if fmt not in ("csv", "json", "xlsx"):
        raise ValueError(f"不支持的导出格式: {fmt}")
    rows = [{c: getattr(r, c) for c in COLUMNS}
            for r in session.scalars(_query(**filters).order_by(AuditLog.id).limit(200_000))]
    now = (viewer.auditor.clock() if viewer.auditor else utcnow())
    mark = watermark_text(viewer, now)
    guard.audit(viewer, "audit.export", "audit_log", GRANTED,
                {"format": fmt, "rows": len(rows), **{k: str(v) for k, v in filters.items() if v}})
    stamp = now.strftime("%Y%m%d%H%M%S")
    if fmt == "csv":
        buf = io.StringIO()
        buf.write(f"# {mark}\n")
        w = csv.writer(buf)
        w.writerow([COLUMN_LABELS[c] for c in COLUMNS])
        for r in rows:
            w.writerow([r[c].isoformat(sep=" ", timespec="seconds") if c == "at" else _csv_safe(cell_text(c, r[c]))
                        for c in COLUMNS])
        return f"audit-{stamp}.csv", ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "json":
        body = {"watermark": mark, "rows": [{**r, "at": r["at"].isoformat(), "action_label": action_label(r["action"])}
                                            for r in rows]}
        return f"audit-{stamp}.json", json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "xlsx":
        data = xlsx_bytes("审计日志", mark, [COLUMN_LABELS[c] for c in COLUMNS],
                          ([cell_text(c, r[c]) for c in COLUMNS] for r in rows), viewer.username)
        return f"audit-{stamp}.xlsx", data
    raise ValueError(f"不支持的导出格式: {fmt}")


def _csv_safe(value):
    """Neutralise spreadsheet formulas (CSV injection): =, +, -, @ at the start of a cell."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def main(argv=None) -> int:
    from console.store import make_engine, make_session_factory
    import console.store.security_models  # noqa: F401

    parser = argparse.ArgumentParser(prog="python -m console.security.audit", description="审计日志校验与归档")
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="校验哈希链，报告第一个断点")
    v.add_argument("--db", required=True)
    v.add_argument("--archives", type=Path, help="归档目录：同时校验归档文件及其与数据库的衔接")
    a = sub.add_parser("archive", help="把早于 N 天的记录移入归档文件（先校验，再移除）")
    a.add_argument("--db", required=True)
    a.add_argument("--days", type=int, default=180)
    a.add_argument("--out", type=Path, required=True)
    h = sub.add_parser("head", help="打印链头（可抄录到库外留存）")
    h.add_argument("--db", required=True)
    args = parser.parse_args(argv)
    factory = make_session_factory(make_engine(args.db, must_exist=True))
    try:
        if args.cmd == "verify":
            with factory() as s:
                result = (verify_archives(sorted(args.archives.glob("audit-*.jsonl")), s) if args.archives
                          else verify(s))
            print(result.message())
            return 0 if result.ok else 1
        if args.cmd == "archive":
            path = archive(factory, args.days, args.out)
            print(f"已归档到 {path}" if path else "没有需要归档的记录")
            return 0
        with factory() as s:
            head = s.get(AuditHead, 1)
            print(json.dumps({"last_id": head.last_id if head else 0, "last_hash": head.last_hash if head else GENESIS}))
        return 0
    except ArchiveError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
