"""Importing a county's ledgers (docs/import.md): files made the way county offices make them — a merged title row
and notes above the header, a 序号 column and 备注, Chinese labels for codes, GBK CSV from an old system, GCJ-02
coordinates from 高德 — go through the real reader, the plan and the save, on a copy of the small world."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from console.ledger_import.commit import commit_import
from console.ledger_import.kinds import KINDS
from console.ledger_import.plan import file_hash, plan_import
from console.ledgers.reader import read_ledger
from console.store import AreaScope, Camera, Grid, Organisation
from console.store.identity import credit_check_char
from console.store.security_models import AuditLog
from geodata.planner.gcj02 import wgs84_to_gcj02

ZIYANG = "610924"


@pytest.fixture()
def store(world_sessions):
    return world_sessions


def _points(sessions, county: str, n: int) -> list[tuple[float, float]]:
    """Points well inside n current grids of a county (their bounding-box centres, checked by the engine later)."""
    import shapely

    with sessions() as s:
        rows = s.execute(select(Grid.geom_wkb).where(Grid.generation_high.is_(None), Grid.code.like(f"{county}%"))
                         .order_by(Grid.code).limit(n)).scalars().all()
    pts = shapely.point_on_surface(shapely.from_wkb(rows))
    return [(round(p.x, 6), round(p.y, 6)) for p in pts]


def _credit(seed: int) -> str:
    first = f"52610924MJ{seed:07d}"[:17]
    return first + credit_check_char(first)


def _county_office_xlsx(header: list[str], rows: list[list], *, sheet="台账") -> bytes:
    """As a county office saves it: a merged title, a note line, a 序号 column, a 备注 column, one other sheet first."""
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active["A1"] = "请按模板填写，带*为必填"
    ws = wb.create_sheet(sheet)
    ws["A1"] = "紫阳县社会组织和非公有制经济组织基本情况台账"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header) + 2)
    ws["A2"] = "填报单位：紫阳县综治中心    填报日期：2026年11月"
    ws.append(["序号", *header, "备注"])
    for i, row in enumerate(rows, 1):
        ws.append([i, *row, ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


ORG_HEADER = ["*统一社会信用代码", "单位名称", "类型", "法人代表", "住所", "登记状态", "从业人数", "经度", "纬度"]


def _orgs(points, **over) -> list[list]:
    rows = []
    for i, (lon, lat) in enumerate(points):
        rows.append([_credit(100 + i), f"紫阳县测试商贸有限公司{i}", "私营企业", f"张{i}", f"城关镇新民街{i}号",
                     "存续", 12 + i, lon, lat])
    return rows


def _plan(sessions, kind, data, name, scope=AreaScope.of([ZIYANG]), crs="wgs84"):
    ledger = read_ledger(data, name, KINDS[kind].spec)
    with sessions() as s:
        return ledger, plan_import(s, KINDS[kind], ledger, data_hash=file_hash(data), filename=name, scope=scope,
                                   crs=crs)


def _save(sessions, kind, data, name, scope=AreaScope.of([ZIYANG]), crs="wgs84"):
    ledger = read_ledger(data, name, KINDS[kind].spec)
    return commit_import(sessions, ledger, kind_key=kind, data_hash=file_hash(data), filename=name, scope=scope,
                         actor="ziyang_clerk", crs=crs)


def test_organisations_from_a_county_office_workbook_import_once(store):
    pts = _points(store, ZIYANG, 4)
    data = _county_office_xlsx(ORG_HEADER, _orgs(pts))
    ledger, plan = _plan(store, "organisation", data, "紫阳县社会组织台账.xlsx")
    assert ledger.sheet == "台账" and any("序号" in n and "备注" in n for n in plan.notices)
    assert [r.status for r in plan.rows] == ["new"] * 4, [r.problems for r in plan.rows]
    assert all(r.record["grid_code"].startswith(ZIYANG) for r in plan.rows)
    with store() as s:
        before = s.scalar(select(func.count()).select_from(Organisation))
    saved = _save(store, "organisation", data, "紫阳县社会组织台账.xlsx")
    assert saved.count("new") == 4
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Organisation)) == before + 4
        org = s.scalar(select(Organisation).where(Organisation.credit_code == _credit(100)))
        assert (org.kind, org.org_type, org.status, org.employees) == ("enterprise", "private", "active", 12)
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "ledger_import")).all()[-1]
        assert file_hash(data) in entry.detail and '"new": 4' in entry.detail
    again = _save(store, "organisation", data, "紫阳县社会组织台账.xlsx")  # the same file twice changes nothing
    assert again.count("unchanged") == 4 and not again.accepted
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Organisation)) == before + 4


def test_a_changed_file_updates_what_changed_and_says_which_fields(store):
    pts = _points(store, ZIYANG, 3)
    rows = _orgs(pts)
    _save(store, "organisation", _county_office_xlsx(ORG_HEADER, rows), "v1.xlsx")
    rows[1][5] = "吊销"
    rows[2][3] = "李四"
    _, plan = _plan(store, "organisation", _county_office_xlsx(ORG_HEADER, rows), "v2.xlsx")
    assert [r.status for r in plan.rows] == ["unchanged", "changed", "changed"]
    assert plan.rows[1].changes == ["登记状态"] and plan.rows[2].changes == ["法人代表"]


def test_bad_rows_are_named_and_kept_out_and_the_good_ones_saved_together(store):
    pts = _points(store, ZIYANG, 4)
    rows = _orgs(pts)
    rows[0][0] = rows[0][0][:-1] + ("0" if rows[0][0][-1] != "0" else "1")  # wrong check character
    rows[2][0] = rows[3][0]  # the same organisation twice in one file
    rows[1][7], rows[1][8] = 116.39, 39.9  # Beijing: outside Ankang
    _, plan = _plan(store, "organisation", _county_office_xlsx(ORG_HEADER, rows), "bad.xlsx")
    by_row = {r.number: r for r in plan.rows}
    first = min(by_row)
    assert "校验位" in by_row[first].problems[0]
    assert "不在安康市范围内" in " ".join(by_row[first + 1].problems)
    dup = f"第{first + 2}、{first + 3}行"
    assert dup in " ".join(by_row[first + 2].problems) and dup in " ".join(by_row[first + 3].problems)
    assert plan.count("error") == 4 and not plan.accepted


def test_rows_outside_the_clerks_scope_are_refused(store):
    other = _points(store, "610925", 1)  # 岚皋县, not the clerk's county
    _, plan = _plan(store, "organisation", _county_office_xlsx(ORG_HEADER, _orgs(other)), "x.xlsx")
    assert plan.rows[0].status == "error" and "数据范围" in plan.rows[0].problems[0]


def test_gbk_camera_list_with_gcj02_coordinates_lands_on_the_right_grid(store):
    """A 雪亮工程 platform's export: GBK CSV, 20-digit GB/T 28181 ids kept as text, coordinates in GCJ-02."""
    pts = _points(store, ZIYANG, 2)
    lines = ["国标编码,点位名称,摄像机类型,方向角,状态,经度,纬度"]
    for i, (lon, lat) in enumerate(pts):
        glon, glat = wgs84_to_gcj02(lon, lat)
        lines.append(f"61092400001320{i:06d},紫阳县城关镇路口{i},球型,{90 * i},在线,{glon:.6f},{glat:.6f}")
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    _, as_wgs = _plan(store, "camera", data, "设备清单.csv")
    _, as_gcj = _plan(store, "camera", data, "设备清单.csv", crs="gcj02")
    assert all(r.status == "new" for r in as_gcj.rows), [r.problems for r in as_gcj.rows]
    assert [round(r.record["lon"], 5) for r in as_gcj.rows] == [round(p[0], 5) for p in pts]
    # read as WGS84 the same file sits ~500 m off: a different (or no) grid for at least one point
    assert any(a.record.get("lon") != b.record.get("lon") for a, b in zip(as_wgs.rows, as_gcj.rows))
    saved = _save(store, "camera", data, "设备清单.csv", crs="gcj02")
    assert saved.count("new") == 2
    with store() as s:
        cam = s.scalar(select(Camera).where(Camera.device_id == "61092400001320000000"))
        assert cam.kind == "dome" and cam.grid_code.startswith(ZIYANG)


def test_device_ids_excel_turned_into_numbers_are_refused_by_name(store):
    pts = _points(store, ZIYANG, 1)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["设备编码", "设备名称", "经度", "纬度"])
    ws.append([61092400001320000001.0, "某路口", *pts[0]])  # what Excel does to a 20-digit id typed as a number
    buf = io.BytesIO()
    wb.save(buf)
    _, plan = _plan(store, "camera", buf.getvalue(), "cams.xlsx")
    assert plan.rows[0].status == "error" and "存成了数字" in plan.rows[0].problems[0]


def test_headers_only_says_so(store):
    _, plan = _plan(store, "organisation", _county_office_xlsx(ORG_HEADER, []), "empty.xlsx")
    assert not plan.rows and any("没有数据行" in n for n in plan.notices)


# -- 实有人口: persons with their households and buildings (以房管人) -------------------------------------------------
def _id(seq: int, born: str = "19850304", male: bool = True) -> str:
    from console.store.identity import id_check_char

    serial = f"{seq:02d}{(1 if male else 2) + 2 * (seq % 4)}"
    first = f"610924{born}{serial}"
    return first + id_check_char(first)


PERSON_HEADER = ["姓名", "性别", "身份证号码", "民族", "人员类型", "户号", "与户主关系", "现居住地址", "房屋编号",
                 "联系电话", "婚姻状况", "文化程度", "经度", "纬度"]


def _household_rows(pt) -> list[list]:
    lon, lat = pt
    addr, bld, hh = "紫阳县城关镇测试村一组18号", "610924B-TEST-0001", "HH610924-TEST-01"
    return [["王建国", "男", _id(11), "汉族", "户籍人口", hh, "户主", addr, bld, "13991500011", "已婚", "高中", lon, lat],
            ["李秀英", "女", _id(12, "19870611", male=False), "汉族", "户籍", hh, "妻", addr, bld, "", "已婚", "初中",
             lon, lat],
            ["王小明", "男", _id(13, "20120901"), "汉族", "户籍人口", hh, "长子", addr, bld, "", "未婚", "小学",
             lon, lat]]


def test_a_household_ledger_creates_building_household_and_persons_once(store):
    from console.store import Building, Household, Person
    from console.store.sensitive import id_number_match

    pt = _points(store, ZIYANG, 1)[0]
    data = _county_office_xlsx(PERSON_HEADER, _household_rows(pt), sheet="实有人口")
    _, plan = _plan(store, "person", data, "实有人口台账.xlsx")
    assert [r.status for r in plan.rows] == ["new"] * 3, [r.problems for r in plan.rows]
    _save(store, "person", data, "实有人口台账.xlsx")
    with store() as s:
        head = s.scalar(select(Person).where(id_number_match(Person.id_number_bidx, _id(11))))
        assert head.name == "王建国" and head.relation_to_head == "head" and head.grid_code.startswith(ZIYANG)
        household = s.get(Household, head.household_id)
        building = s.get(Building, household.building_id)
        assert household.code == "HH610924-TEST-01" and building.code == "610924B-TEST-0001"
        members = s.scalars(select(Person.name).where(Person.household_id == household.id)).all()
        assert sorted(members) == ["李秀英", "王小明", "王建国"]
        wife = s.scalar(select(Person).where(id_number_match(Person.id_number_bidx, _id(12, "19870611", False))))
        assert (wife.sex, wife.relation_to_head, wife.birth_date.isoformat()) == ("F", "spouse", "1987-06-11")
    again = _save(store, "person", data, "实有人口台账.xlsx")
    assert again.count("unchanged") == 3 and not again.accepted
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Household).where(Household.code == "HH610924-TEST-01")) == 1


def test_person_rows_name_what_is_wrong(store):
    pt = _points(store, ZIYANG, 1)[0]
    rows = _household_rows(pt)
    rows[0][2] = _id(11)[:-1] + ("0" if _id(11)[-1] != "0" else "1")  # wrong check character
    rows[1][1] = "男"  # the number says female
    rows[2][5] = ""  # no 户号
    _, plan = _plan(store, "person", _county_office_xlsx(PERSON_HEADER, rows), "p.xlsx")
    problems = [" ".join(r.problems) for r in plan.rows]
    assert "校验" in problems[0] and "性别与身份证号不符" in problems[1] and "缺少户号" in problems[2]


def test_gbk_csv_persons_located_by_a_registered_buildings_address(store):
    """No coordinates: the ledger's address matches a building already registered, which places the row."""
    from console.store import Building

    with store() as s:
        b = s.scalar(select(Building).where(Building.county_code == ZIYANG).order_by(Building.id).limit(1))
        addr, grid = b.address, b.grid_code
    csv = "姓名,身份证号,人口类型,户号,与户主关系,现住址\r\n" + f"赵六,{_id(21)},流动人口,HH-GBK-1,户主,{addr}\r\n"
    _, plan = _plan(store, "person", csv.encode("gbk"), "流动人口.csv")
    row = plan.rows[0]
    assert row.status == "new", row.problems
    assert row.record["grid_code"] == grid and row.record["residence_type"] == "floating"


def test_command_line_previews_then_saves(store, small_world_db, tmp_path):
    """The server-side path for a county's first load: preview by default, --save writes, exit codes say which."""
    import subprocess
    import sys

    db = str(store.kw["bind"].url.database)
    pt = _points(store, ZIYANG, 1)[0]
    rows = _household_rows(pt)
    rows.append(["坏行", "男", "123", "汉族", "户籍人口", "HH-X", "户主", "某地", "", "", "", "", "", ""])
    f = tmp_path / "实有人口台账.xlsx"
    f.write_bytes(_county_office_xlsx(PERSON_HEADER, rows))
    base = [sys.executable, "-m", "console.ledger_import", "--db", db, "--kind", "person", "--file", str(f),
            "--scope", ZIYANG]
    preview = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert preview.returncode == 1 and "身份证号码应为18位" in preview.stdout and "新增 3 行" in preview.stdout
    saved = subprocess.run(base + ["--save"], capture_output=True, text=True, timeout=120)
    assert saved.returncode == 1 and "已保存" in saved.stdout
    again = subprocess.run(base + ["--save"], capture_output=True, text=True, timeout=120)
    assert "无变化 3 行" in again.stdout
    missing = subprocess.run(base[:-2] + ["--scope", "61092X"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "不是有效的区划代码" in missing.stderr


def test_survey_results_replace_the_simulated_figures(store):
    """The survey office's sheet: one row per county and year, rates as 92.5 / 92.5% / 0.925."""
    from console.services import kpis
    from console.services.areas import get_node
    from console.store import Survey

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2026年度平安建设两率两度测评结果"])
    ws.append(["序号", "县（市、区）", "年度", "知晓率（%）", "参与率（%）", "群众安全感", "满意度"])
    ws.append([1, "紫阳县", 2026, 92.5, "88.1%", 0.973, "96.2"])
    ws.append([2, "岚皋县", 2026, 90, 85, 97, 95])  # not the clerk's county
    ws.append([3, "西安市", 2026, 90, 85, 97, 95])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    _, plan = _plan(store, "survey", data, "两率两度.xlsx")
    assert [r.status for r in plan.rows] == ["new", "error", "error"], [r.problems for r in plan.rows]
    assert "数据范围" in plan.rows[1].problems[0] and "不是安康市的县区" in plan.rows[2].problems[0]
    _save(store, "survey", data, "两率两度.xlsx")
    with store() as s:
        rows = dict(s.execute(select(Survey.indicator, Survey.rate).where(Survey.county_code == ZIYANG,
                                                                           Survey.year == 2026)).all())
        assert rows == {"awareness": 92.5, "participation": 88.1, "security": 97.3, "satisfaction": 96.2}
        figures = kpis.survey(s, get_node(s, ZIYANG))
        assert figures["year"] == 2026 and figures["synthetic"] is False
    again = _save(store, "survey", data, "两率两度.xlsx")
    assert again.count("unchanged") == 1


def test_grid_worker_roster_checks_grids_and_phones(store):
    from console.store import GridWorker
    from console.store.sensitive import phone_match

    with store() as s:
        grid = s.scalar(select(Grid.code).where(Grid.generation_high.is_(None), Grid.code.like(f"{ZIYANG}%"))
                        .order_by(Grid.code).limit(1))
    csv = ("网格编号,网格员姓名,岗位,联系电话\r\n"
           f"{grid},陈晓梅,专职网格员,13891500001\r\n"
           f"{grid[:-3]}999,刘强,网格员,13891500002\r\n"
           f"{grid},张三,网格长,1389150\r\n")
    _, plan = _plan(store, "grid_worker", csv.encode("gbk"), "花名册.csv")
    assert [r.status for r in plan.rows] == ["new", "error", "error"]
    assert "不是现行网格" in plan.rows[1].problems[0] and "11位" in plan.rows[2].problems[0]
    _save(store, "grid_worker", csv.encode("gbk"), "花名册.csv")
    with store() as s:
        w = s.scalar(select(GridWorker).where(phone_match(GridWorker.phone_bidx, "13891500001")))
        assert (w.name, w.role, w.grid_code) == ("陈晓梅", "worker", grid)


def test_special_population_ledger_links_registered_persons(store):
    """A 综治 office's 特殊人群 sheet: persons by identity number, the category as offices write it, 危险性等级 as 3级."""
    from console.store import Person, SpecialPerson
    from console.store.sensitive import id_number_match

    pt = _points(store, ZIYANG, 1)[0]
    _save(store, "person", _county_office_xlsx(PERSON_HEADER, _household_rows(pt)), "p.xlsx")
    header = ["姓名", "身份证号", "人员类别", "列管日期", "管理状态", "危险等级", "诊断", "监护人"]
    rows = [["王建国", _id(11), "严重精神障碍", "2025年3月1日", "在册管理", "3级", "精神分裂症", "李秀英"],
            ["李秀英", _id(12, "19870611", False), "社区矫正", "2025-06-01", "在管", "", "", ""],
            ["路人甲", _id(99), "吸毒", "2025-06-01", "在管", "", "", ""],  # not registered
            ["王小明", _id(13, "20120901"), "精神障碍", "2025-06-01", "在管", "", "", ""]]  # level missing
    data = _county_office_xlsx(header, rows, sheet="特殊人群")
    _, plan = _plan(store, "special", data, "特殊人群.xlsx")
    assert [r.status for r in plan.rows] == ["new", "new", "error", "error"], [r.problems for r in plan.rows]
    assert "实有人口中没有此身份证号" in plan.rows[2].problems[0] and "危险性评估等级" in plan.rows[3].problems[0]
    _save(store, "special", data, "特殊人群.xlsx")
    with store() as s:
        person = s.scalar(select(Person).where(id_number_match(Person.id_number_bidx, _id(11))))
        sp = s.scalar(select(SpecialPerson).where(SpecialPerson.person_id == person.id))
        assert (sp.category, sp.risk_level, sp.risk_grade, sp.grid_code) == ("mental", 3, "high", person.grid_code)
        assert "精神分裂症" in sp.details and sp.since.isoformat() == "2025-03-01"
    rows[0][5] = "4级"
    _, again = _plan(store, "special", _county_office_xlsx(header, rows, sheet="特殊人群"), "v2.xlsx")
    assert again.rows[0].status == "changed" and "危险等级" in again.rows[0].changes
    assert again.rows[1].status == "unchanged"
    youth = "姓名,身份证号,类型,关注程度,监护人\r\n" + f"王小明,{_id(13, '20120901')},留守儿童,中等,王建国\r\n"
    saved = _save(store, "key_youth", youth.encode("gbk"), "重点青少年.csv")
    assert saved.count("new") == 1 and saved.rows[0].record["youth_type"] == "left_behind"
