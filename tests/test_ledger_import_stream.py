"""The chunked import (docs/import.md "A million rows"): files past the browser's 100,000-row limit go through the
command line a chunk at a time in one transaction; duplicates are found across chunks and named with every row;
a failure in a later chunk leaves nothing behind; the result is the same as the whole-file plan's."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select, text

from console.ledger_import import stream
from console.ledger_import.__main__ import main as cli
from console.ledger_import.plan import file_hash
from console.ledgers.reader import open_ledger, read_ledger
from console.store import AreaScope, Building, Household, LedgerRow, Person
from console.store.identity import id_check_chars
from console.store.security_models import AuditLog
from console.store.sensitive import id_number_match
from tests.test_ledger_import import (
    PERSON_HEADER, ZIYANG, _county_office_xlsx, _household_rows, _id, _plan, _points, _save,
)

KIND = stream.KINDS["person"]


@pytest.fixture()
def store(world_sessions):
    return world_sessions


def _ids(n: int) -> list[str]:
    """n distinct valid numbers (issued in Beijing: the demo world's are local): a birth day per thousand, a sequence
    within it."""
    born = (np.datetime64("1950-01-01") + (np.arange(n) // 1000).astype("timedelta64[D]")).astype(str)
    first = [f"110101{d.replace('-', '')}{i % 1000:03d}" for i, d in enumerate(born)]  # none of the world's
    checks = id_check_chars(np.frombuffer("".join(first).encode(), dtype=np.uint8).reshape(n, 17) - 48)
    out = [f + c for f, c in zip(first, checks)]
    assert len(set(out)) == n
    return out


def _counts(sessions) -> tuple[int, ...]:
    with sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Person, Household, Building, LedgerRow,
                                                                            AuditLog))


def _stream(sessions, data: bytes, name: str, chunk: int):
    ledger = open_ledger(data, name, KIND.spec, max_rows=stream.MAX_ROWS)
    return stream.import_stream(sessions, ledger, kind_key="person", data_hash=file_hash(data), filename=name,
                                scope=AreaScope.of([ZIYANG]), actor="ziyang_clerk", chunk=chunk)


def test_a_file_past_the_browsers_limit_goes_through_the_command_line(store, tmp_path, capsys):
    """100,010 persons in households of three (one household spans the 50,000-row chunk boundary), a GBK CSV as an
    old system exports it: saved in chunks, every household with its members."""
    n = 100_010
    lon, lat = _points(store, ZIYANG, 1)[0]
    ids = _ids(n)
    lines = ["姓名,身份证号码,人口类型,户号,与户主关系,现居住地址,房屋编号,经度,纬度"]
    lines += [f"居民{i},{ids[i]},户籍人口,HB{i // 3:06d},{'户主' if i % 3 == 0 else '子女'},紫阳县流式路{i // 3}号,"
              f"BS{i // 3:06d},{lon},{lat}" for i in range(n)]
    f = tmp_path / "实有人口台账.csv"
    f.write_bytes("\r\n".join(lines).encode("gbk"))
    with pytest.raises(Exception, match="超过单次导入上限100000行"):  # the browser's path refuses it, as before
        read_ledger(f.read_bytes(), f.name, KIND.spec)
    before = _counts(store)
    db = str(store.kw["bind"].url.database)
    argv = ["--db", db, "--kind", "person", "--file", str(f), "--scope", ZIYANG, "--save"]
    assert cli(argv) == 0
    out = capsys.readouterr().out
    assert f"新增 {n} 行" in out and "已保存" in out
    after = _counts(store)
    households = -(-n // 3)
    assert after[:4] == (before[0] + n, before[1] + households, before[2] + households, before[3] + n)
    with store() as s:
        spanning = s.scalar(select(Household).where(Household.code == f"HB{49_999 // 3:06d}"))
        assert spanning.size == 3  # two rows in the first chunk, one in the second
        assert s.scalar(select(Household.size).where(Household.code == f"HB{(n - 1) // 3:06d}")) == n - 3 * (n // 3)
        last = s.scalar(select(Person).where(id_number_match(Person.id_number_bidx, ids[-1])))
        assert last.name == f"居民{n - 1}" and last.grid_code.startswith(ZIYANG)


def _rows(store, count: int) -> list[list]:
    pt = _points(store, ZIYANG, 1)[0]
    template = _household_rows(pt)[0]
    out = []
    for i in range(count):
        row = list(template)
        row[0], row[2], row[5], row[8] = f"测{i}", _id(20 + i), f"HH-CHUNK-{i:02d}", f"B-CHUNK-{i:02d}"
        out.append(row)
    return out


def test_duplicates_in_different_chunks_are_named_with_both_rows(store):
    rows = _rows(store, 7)
    rows[5][2] = rows[0][2]  # file rows 4 and 9 (title, note and header above), three chunks apart
    data = _county_office_xlsx(PERSON_HEADER, rows, sheet="实有人口")
    plan = _stream(store, data, "实有人口台账.xlsx", chunk=2)
    assert plan.count("new") == 5 and plan.count("error") == 2
    assert [(r.number, r.problems) for r in plan.problem_rows] == [
        (4, ["公民身份号码在文件中重复（第4、9行）"]), (9, ["公民身份号码在文件中重复（第4、9行）"])]
    whole = _plan(store, "person", data, "实有人口台账.xlsx")[1]  # the whole-file plan says the same
    assert [(r.number, r.problems) for r in whole.rows if r.problems] == [
        (r.number, r.problems) for r in plan.problem_rows]
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Person).where(Person.name.like("测%"))) == 5
    again = _stream(store, data, "实有人口台账.xlsx", chunk=2)  # seen before, except the repeated key's rows
    assert again.count("unchanged") == 5 and again.count("error") == 2


def test_a_small_file_against_many_remembered_rows_is_checked_as_it_is_read(store, monkeypatch):
    """A file much smaller than what is remembered (rows × 4 < remembered) is scanned for its keys alone; its rows
    seen before are recognised as the second pass reads them, and a repeated key is refused on every row, the row
    seen before included."""
    rows = _rows(store, 30)
    first = _stream(store, _county_office_xlsx(PERSON_HEADER, rows, sheet="实有人口"), "全部.xlsx", chunk=10)
    assert first.count("new") == 30
    monkeypatch.setattr(stream, "_scan_rows", lambda *a, **k: pytest.fail("scanned whole, not for its keys"))
    renamed, twin = list(rows[1]), list(rows[3])
    renamed[0], twin[0] = "改名", "冒名"  # twin: rows[3]'s number on a second row
    plan = _stream(store, _county_office_xlsx(PERSON_HEADER, [rows[0], renamed, rows[3], twin], sheet="实有人口"),
                   "部分.xlsx", chunk=10)  # file rows 4–7
    assert (plan.count("unchanged"), plan.count("changed"), plan.count("error")) == (1, 1, 2)
    assert [(r.number, r.problems) for r in plan.problem_rows] == [
        (6, ["公民身份号码在文件中重复（第6、7行）"]), (7, ["公民身份号码在文件中重复（第6、7行）"])]
    with store() as s:
        assert s.scalar(select(Person.name).where(id_number_match(Person.id_number_bidx, rows[1][2]))) == "改名"
        assert s.scalar(select(Person.name).where(id_number_match(Person.id_number_bidx, rows[3][2]))) == rows[3][0]


def test_a_failure_in_a_later_chunk_leaves_nothing_written(store):
    rows = _rows(store, 7)
    rows[6][0] = "拒收"
    data = _county_office_xlsx(PERSON_HEADER, rows, sheet="实有人口")
    before = _counts(store)
    with store() as s, s.begin():  # the store refuses the last chunk's person, after three chunks were saved
        s.execute(text("CREATE TRIGGER refuse_one BEFORE INSERT ON person WHEN NEW.name = '拒收' "
                       "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    with pytest.raises(Exception, match="disk full"):
        _stream(store, data, "实有人口台账.xlsx", chunk=2)
    assert _counts(store) == before  # persons, households, buildings, remembered rows and the audit
    with store() as s, s.begin():
        s.execute(text("DROP TRIGGER refuse_one"))
    saved = _stream(store, data, "实有人口台账.xlsx", chunk=2)
    assert saved.count("new") == 7
    assert _save(store, "person", data, "实有人口台账.xlsx").count("unchanged") == 7  # the whole-file path agrees


def test_the_command_line_names_a_file_past_its_limit(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(stream, "MAX_ROWS", 5)
    f = tmp_path / "p.xlsx"
    f.write_bytes(_county_office_xlsx(PERSON_HEADER, _rows(store, 7), sheet="实有人口"))
    before = _counts(store)
    db = str(store.kw["bind"].url.database)
    assert cli(["--db", db, "--kind", "person", "--file", str(f), "--scope", ZIYANG, "--save"]) == 2
    assert "文件有7行数据，超过单次导入上限5行" in capsys.readouterr().err
    assert _counts(store) == before


def test_a_second_import_waits_for_the_first_then_is_refused(store, tmp_path, capsys):
    """Another writer holds the database (an import in progress): the command line waits its busy timeout, then
    says why and saves nothing."""
    import sqlite3

    f = tmp_path / "p.xlsx"
    f.write_bytes(_county_office_xlsx(PERSON_HEADER, _rows(store, 3), sheet="实有人口"))
    before = _counts(store)
    db = str(store.kw["bind"].url.database)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        assert cli(["--db", db, "--kind", "person", "--file", str(f), "--scope", ZIYANG, "--save"]) == 2
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "数据库正由另一个导入写入" in capsys.readouterr().err
    assert _counts(store) == before


def test_the_command_line_parses_a_workbook_once(store, tmp_path, monkeypatch):
    """Looking for the source's template and reading the rows share one parse (a million-row sheet: ~7 s each)."""
    from console.ledgers import sheets

    parses = []
    real = sheets._workbook_sheets
    monkeypatch.setattr(sheets, "_workbook_sheets", lambda data, opened=None: parses.append(1) or real(data, opened))
    f = tmp_path / "p.xlsx"
    f.write_bytes(_county_office_xlsx(PERSON_HEADER, _rows(store, 3), sheet="实有人口"))
    db = str(store.kw["bind"].url.database)
    assert cli(["--db", db, "--kind", "person", "--file", str(f), "--scope", ZIYANG, "--save"]) == 0
    assert len(parses) == 1


def test_a_kept_pass_reads_back_the_same_cells_and_lets_the_workbook_go(store):
    """reader.raw_chunks(keep=True): after a pass to the end, the cells (dates and blanks included) come back from
    the compact copy, batch for batch, with `wanted`; the workbook is no longer held; another batch size is a bug."""
    import gc
    from datetime import date

    pt = _points(store, ZIYANG, 1)[0]
    rows = [list(r) for r in _household_rows(pt)] * 3
    rows[1] = [None] * len(rows[1])  # a blank row inside a batch
    data = _county_office_xlsx(PERSON_HEADER, rows, sheet="实有人口")
    ledger = open_ledger(data, "人口.xlsx", KIND.spec, max_rows=stream.MAX_ROWS)
    fresh = open_ledger(data, "人口.xlsx", KIND.spec, max_rows=stream.MAX_ROWS)
    expected = list(fresh.raw_chunks(4))
    del fresh
    assert sum(len(n) for n, _ in expected) == len(rows) - 1
    assert list(ledger.raw_chunks(4, keep=True)) == expected
    gc.collect()  # the workbook's cells are no longer held by anything (the formula scan held the sheet once)
    assert not [o for o in gc.get_objects() if type(o).__name__ == "CalamineSheet"]
    assert list(ledger.raw_chunks(4)) == expected
    assert list(ledger.raw_chunks(4, wanted=lambda i: i != 1)) == [expected[0], None, *expected[2:]]
    with pytest.raises(ValueError, match="batches of 4"):
        next(ledger.raw_chunks(5))
    from console.ledgers import reader  # a workbook's date and time cells survive the compact copy too

    batch = ([7, 9], [("甲", date(2020, 1, 2), None, 1.5), ("乙", None, True, 3)])
    assert reader._unpack(reader._pack(batch)) == batch and reader._pack(batch)[:1] == b"p"
    assert reader._pack(([7], [("甲", None, 1.5)]))[:1] == b"m"
