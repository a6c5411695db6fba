"""Hash-chained audit log: verification finds edited, deleted and truncated rows; archival keeps the chain."""

import io
import json
import subprocess
import sys
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from console.security import audit
import sectest as testing
from console.security.audit import Auditor, archive, verify, verify_archive, verify_archives

testing.use_fast_hasher()


@pytest.fixture
def env(tmp_path):
    clock = testing.Clock()
    engine, factory = testing.store(tmp_path)
    auditor = Auditor(factory, clock)
    for i in range(20):
        auditor.record(f"user{i % 3}", "record.view", object=f"person:{i}", ip="10.0.0.5",
                       detail={"i": i, "note": "身份证 610902199001011234"})
        clock.advance(days=15)
    yield engine, factory, auditor, clock, tmp_path


def test_intact_chain_verifies(env):
    _, factory, *_ = env
    with factory() as s:
        result = verify(s)
    assert result.ok and result.checked == 20


def test_personal_numbers_are_redacted_in_audit_detail(env):
    _, factory, *_ = env
    with factory() as s:
        details = s.execute(text("select detail from audit_log")).scalars().all()
    assert all("610902199001011234" not in d and "610902********1234" in d for d in details)


def test_database_refuses_updates(env):
    engine, *_ = env
    with pytest.raises(DatabaseError):
        with engine.begin() as c:
            c.execute(text("update audit_log set result='granted' where id=3"))


def _drop_trigger(engine):
    with engine.begin() as c:  # what someone with the database file could do
        c.execute(text("drop trigger audit_log_no_update"))


def test_edited_row_is_detected(env):
    engine, factory, *_ = env
    _drop_trigger(engine)
    with engine.begin() as c:
        c.execute(text("update audit_log set actor='someone_else' where id=7"))
    with factory() as s:
        result = verify(s)
    assert not result.ok and result.first_bad_id == 7 and result.checked == 6


def test_edited_row_with_recomputed_hash_is_detected_at_the_next_row(env):
    engine, factory, *_ = env
    _drop_trigger(engine)
    with factory() as s:
        row = audit.row_dict(s.get(audit.AuditLog, 7))
    row["result"] = "granted" if row["result"] == "refused" else "refused"
    new_hash = audit.chain_hash(row["prev_hash"], row)
    with engine.begin() as c:
        c.execute(text("update audit_log set result=:r, hash=:h where id=7"), {"r": row["result"], "h": new_hash})
    with factory() as s:
        result = verify(s)
    assert not result.ok and result.first_bad_id == 8


def test_deleted_row_is_detected(env):
    engine, factory, *_ = env
    with engine.begin() as c:
        c.execute(text("drop trigger if exists audit_log_no_delete"))  # someone with database access
        c.execute(text("delete from audit_log where id=11"))
    with factory() as s:
        result = verify(s)
    assert not result.ok and result.first_bad_id == 11


def test_deleted_tail_is_detected(env):
    engine, factory, *_ = env
    with engine.begin() as c:
        c.execute(text("drop trigger if exists audit_log_no_delete"))  # someone with database access
        c.execute(text("delete from audit_log where id >= 19"))
    with factory() as s:
        result = verify(s)
    assert not result.ok and result.first_bad_id == 19


def test_archive_moves_old_rows_and_keeps_the_chain_verifiable(env):
    engine, factory, auditor, clock, tmp = env
    out = tmp / "archive"
    path = archive(factory, 180, out, actor="auditadmin", clock=clock)
    assert path is not None and path.exists()
    lines = path.read_text().splitlines()
    header, footer = json.loads(lines[0]), json.loads(lines[-1])
    assert header["anchor"] == audit.GENESIS and footer["count"] == len(lines) - 2
    with factory() as s:
        remaining = s.execute(text("select min(id), count(*) from audit_log")).one()
        assert remaining[0] == footer["last_id"] + 1
        assert verify(s).ok
        assert verify_archives([path], s).ok
    assert verify_archive(path)[0].ok
    # Cutoff: rows older than 180 days of the clock are gone from the database, younger ones stay.
    with factory() as s:
        oldest = s.execute(text("select min(at) from audit_log where action='record.view'")).scalar()
    assert str(oldest) >= str(clock() - timedelta(days=180))[:10]
    # Further writes and a second archive continue the same chain.
    auditor.record("user9", "export", object="x")
    clock.advance(days=400)
    second = archive(factory, 180, out, clock=clock)
    with factory() as s:
        assert verify_archives(sorted(out.glob("audit-*.jsonl")), s).ok
    # Tampering with an archive file is detected.
    lines = second.read_text().splitlines()
    row = json.loads(lines[2])
    row["actor"] = "forged"
    lines[2] = json.dumps(row, ensure_ascii=False)
    second.chmod(0o640)
    second.write_text("\n".join(lines) + "\n")
    result, _ = verify_archive(second)
    assert not result.ok and result.first_bad_id == row["id"]


def test_archive_refuses_a_broken_chain(env):
    engine, factory, auditor, clock, tmp = env
    with engine.begin() as c:
        c.execute(text("drop trigger if exists audit_log_no_delete"))  # someone with database access
        c.execute(text("delete from audit_log where id=2"))
    with pytest.raises(audit.ArchiveError):
        archive(factory, 180, tmp / "a", clock=clock)
    assert not (tmp / "a").exists() or not list((tmp / "a").iterdir())


def test_concurrent_writers_keep_one_chain(env):
    import threading

    engine, factory, auditor, clock, tmp = env
    errors = []

    def work(n):
        try:
            for i in range(15):
                Auditor(factory).record(f"t{n}", "x", object=str(i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with factory() as s:
        result = verify(s)
    assert result.ok and result.checked == 20 + 60


def test_verify_cli_reports_ok_and_the_first_broken_link(env):
    engine, factory, *_ = env
    db = str(engine.url.database)
    cmd = [sys.executable, "-m", "console.security.audit", "verify", "--db", db]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("OK")
    with engine.begin() as c:
        c.execute(text("drop trigger if exists audit_log_no_delete"))  # someone with database access
        c.execute(text("delete from audit_log where id=5"))
    engine.dispose()
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "id 5" in bad.stdout


def test_search_and_export_for_the_audit_admin(env):
    engine, factory, auditor, clock, tmp = env
    testing.add_account(factory, "aud", ["audit_admin"])
    viewer = testing.viewer_of(factory, "aud", clock)
    rows, total = audit.search(factory(), viewer, actor="user1")
    assert total == 7 and all(r["actor"] == "user1" for r in rows)
    rows, total = audit.search(factory(), viewer, text="person:1")
    assert total >= 1
    name, data = audit.export(factory(), viewer, "csv", actor="user2")
    body = data.decode("utf-8-sig")
    assert name.endswith(".csv") and body.startswith("# 平安一张图 · 导出人") and "aud" in body.splitlines()[0]
    cells = {tuple(line.split(",")[5:8:2]) for line in body.splitlines()[2:]}
    assert cells == {("查看记录详情", "允许")}  # action and result in words, not `record.view`, `granted`
    name, data = audit.export(factory(), viewer, "json")
    assert json.loads(data)["watermark"].startswith("平安一张图")
    assert {(r["action"], r["action_label"]) for r in json.loads(data)["rows"]} >= {("record.view", "查看记录详情")}
    with factory() as s:
        auditor.record("user3", "login", object="=HYPERLINK(\"http://evil\")", detail={"n": "a\x07b"}, session=s)
        s.commit()
    name, data = audit.export(factory(), viewer, "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    mark = ws["A1"].value
    assert name.endswith(".xlsx") and mark.startswith("平安一张图 · 导出人") and "aud" in mark
    assert ws.oddHeader.center.text == mark and ws.oddFooter.center.text == mark and wb.properties.creator == "aud"
    header = [c.value for c in ws[2]]
    assert header == [audit.COLUMN_LABELS[c] for c in audit.COLUMNS]
    cells = [c.value for row in ws.iter_rows(min_row=3) for c in row]
    assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for v in cells)  # formula neutralised
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert ws.max_row - 2 >= 8
    shown = {row[5].value for row in ws.iter_rows(min_row=3)}
    assert {"查看记录详情", "login"} <= shown and "record.view" not in shown  # an unknown key as it is
    with pytest.raises(ValueError):
        audit.export(factory(), viewer, "exe")
    with factory() as s:
        assert verify(s).ok  # the reads were themselves appended to the chain
