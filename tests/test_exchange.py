"""数据交换包 (console/exchange, docs/exchange.md): exported per kind under the ledger headers, checked by its
manifest, and imported through the one ledger pipeline — its own export changes nothing, a county's deleted
records come back from it, a tampered or foreign package is refused naming the file."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import delete, func, select

from console.exchange import ExchangeError, export_package, import_package, read_manifest
from console.ledger_import.kinds import KINDS
from console.store import AreaScope, Camera, Organisation, Person

COUNTY = "610925"  # 岚皋县


@pytest.fixture()
def package(world_sessions):
    out = io.BytesIO()
    done = export_package(world_sessions, AreaScope.of([COUNTY]), out, source="测试", actor="tester")
    return world_sessions, out.getvalue(), done


def test_each_kind_is_a_csv_under_the_ledger_headers_counted_in_the_manifest(package):
    sessions, data, done = package
    manifest, z = read_manifest(data)
    assert manifest["format"] == "pingan-exchange" and manifest["scope"] == [COUNTY]
    with sessions() as s:
        persons = s.scalar(select(func.count()).select_from(Person).where(Person.grid_code.startswith(COUNTY)))
        cameras = s.scalar(select(func.count()).select_from(Camera).where(Camera.grid_code.startswith(COUNTY)))
    files = {f["kind"]: f for f in manifest["files"]}
    assert files["person"]["rows"] == persons == done.counts["person"] and files["camera"]["rows"] == cameras
    raw = z.read("person.csv")
    assert raw.startswith("\ufeff".encode())  # Excel and WPS open it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [c.header for c in KINDS["person"].spec.columns]
    col = {h: i for i, h in enumerate(rows[0])}
    assert all(len(r[col["公民身份号码"]]) == 18 and "*" not in r[col["公民身份号码"]] for r in rows[1:])  # in full
    assert all(r[col["经度"]].startswith("10") and len(r[col["籍贯"]]) == 6 for r in rows[1:])
    with sessions() as s:  # scope: nothing of another county
        codes = {g for (g,) in s.execute(select(Person.grid_code).where(Person.grid_code.startswith("610924")))}
    assert codes and not any(r[col["户号"]].startswith("610924") for r in rows[1:])


def test_importing_its_own_export_changes_nothing(package):
    sessions, data, _done = package
    plans = import_package(sessions, data, scope=AreaScope.of([COUNTY]), actor="tester")
    for key, plan in plans.items():
        assert plan.count("new") == plan.count("changed") == plan.count("error") == 0, (key, plan.summary)


def test_deleted_records_come_back_from_the_package(package):
    sessions, data, _done = package
    with sessions() as s, s.begin():
        before = {o.credit_code: (o.name, o.legal_rep, o.address, o.kind, o.status, o.employees) for o in
                  s.scalars(select(Organisation).where(Organisation.grid_code.startswith(COUNTY)))}
        s.execute(delete(Organisation).where(Organisation.grid_code.startswith(COUNTY)))
    plans = import_package(sessions, data, scope=AreaScope.of([COUNTY]), actor="tester")
    assert plans["organisation"].count("new") == len(before) > 0
    with sessions() as s:
        after = {o.credit_code: (o.name, o.legal_rep, o.address, o.kind, o.status, o.employees) for o in
                 s.scalars(select(Organisation).where(Organisation.grid_code.startswith(COUNTY)))}
    assert after == before


def test_key_places_and_lines_travel_and_come_back(world_sessions):
    """公共安全重点场所 and 护路护线 sections: in the package under their ledger headers (a line as WKT), counted,
    and deleted ones come back as they were — the line's geometry to the stored precision, its grids again."""
    from console.store.safety_models import KeyPlace, SafetyLine

    COUNTY = "610924"  # 紫阳县: key places and sections of 襄渝铁路 in the small world
    sessions, out = world_sessions, io.BytesIO()
    done = export_package(sessions, AreaScope.of([COUNTY]), out, source="测试", actor="tester")
    data = out.getvalue()
    manifest, z = read_manifest(data)
    files = {f["kind"]: f for f in manifest["files"]}
    fields = ("code", "name", "kind", "risk_level", "address", "contact", "lon", "lat", "grid_code")
    line_fields = ("code", "name", "kind", "risk_level", "geometry", "grid_code", "grids")
    with sessions() as s:
        places = {p.code: tuple(getattr(p, f) for f in fields)
                  for p in s.scalars(select(KeyPlace).where(KeyPlace.grid_code.startswith(COUNTY)))}
        lines = {x.code: tuple(getattr(x, f) for f in line_fields)
                 for x in s.scalars(select(SafetyLine).where(SafetyLine.grid_code.startswith(COUNTY)))}
    assert files["key_place"]["rows"] == len(places) == done.counts["key_place"] > 0
    assert files["safety_line"]["rows"] == len(lines) == done.counts["safety_line"] > 0
    rows = list(csv.reader(io.StringIO(z.read("safety_line.csv").decode("utf-8-sig"))))
    assert rows[0] == ["线路编号", "线路名称", "线路类别", "风险等级", "线路几何"]
    assert all(r[4].startswith("LINESTRING (10") and r[2] in ("铁路", "高速公路") for r in rows[1:])
    with sessions() as s, s.begin():
        s.execute(delete(KeyPlace).where(KeyPlace.grid_code.startswith(COUNTY)))
        s.execute(delete(SafetyLine).where(SafetyLine.grid_code.startswith(COUNTY)))
    plans = import_package(sessions, data, scope=AreaScope.of([COUNTY]), actor="tester")
    assert plans["key_place"].count("new") == len(places) and plans["safety_line"].count("new") == len(lines)
    with sessions() as s:
        after = {p.code: tuple(getattr(p, f) for f in fields)
                 for p in s.scalars(select(KeyPlace).where(KeyPlace.grid_code.startswith(COUNTY)))}
        back = {x.code: tuple(getattr(x, f) for f in line_fields)
                for x in s.scalars(select(SafetyLine).where(SafetyLine.grid_code.startswith(COUNTY)))}
    assert after.keys() == places.keys() and back.keys() == lines.keys()
    for code, old in places.items():
        new = after[code]
        assert new[:6] == old[:6] and new[8] == old[8] and abs(new[6] - old[6]) < 1e-6 and abs(new[7] - old[7]) < 1e-6
    for code, old in lines.items():
        new = back[code]
        assert new[:6] == old[:6], code
        assert new[6].split(",")[0] == old[5] and set(new[6].split(",")) & set(old[6].split(",")) == set(new[6].split(","))
    again = import_package(sessions, data, scope=AreaScope.of([COUNTY]), actor="tester")
    assert again["safety_line"].count("unchanged") == len(lines) and again["key_place"].count("unchanged") == len(places)


def _rezip(data: bytes, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            name, body = change(info.filename, src.read(info))
            if name:
                z.writestr(name, body)
    return out.getvalue()


@pytest.mark.parametrize("change, said", [
    (lambda n, b: (n, b.replace("李".encode(), "王".encode(), 1) if n == "person.csv" else b), "person.csv 的校验值"),
    (lambda n, b: (None if n == "manifest.json" else n, b), "没有 manifest.json"),
    (lambda n, b: (n, b.replace(b'"version": 1', b'"version": 9') if n == "manifest.json" else b), "版本"),
    (lambda n, b: (n, b.replace(b'"person.csv"', b'"../etc/passwd"') if n == "manifest.json" else b), "不在数据包里"),
])
def test_a_tampered_or_foreign_package_is_refused_naming_the_file(package, change, said):
    sessions, data, _done = package
    with pytest.raises(ExchangeError, match=said):
        import_package(sessions, _rezip(data, change), scope=AreaScope.of([COUNTY]), actor="tester")
    with pytest.raises(ExchangeError, match="zip"):
        read_manifest(b"PK\x03\x04 not really a zip")


def test_the_export_is_audited_with_the_package_checksum(package):
    from console.store.security_models import AuditLog

    sessions, data, done = package
    with sessions() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "export", AuditLog.actor == "tester")).first()
    assert row is not None and done.sha256 in row.detail and json.loads(row.detail)["rows"]["person"] > 0


def test_a_ledger_updates_the_facts_it_names_and_keeps_the_others():
    """特殊人群 details: a ledger has columns for some facts (原罪名 …); facts from another source (刑期, 监所) stay."""
    from console.ledger_import.plan import merged_details

    stored = json.dumps({"original_charge": "盗窃罪", "prison": "陕西省汉中监狱", "sentence_months": 30},
                        ensure_ascii=False)
    assert merged_details(stored, json.dumps({"original_charge": "盗窃罪"}, ensure_ascii=False)) == stored
    out = json.loads(merged_details(stored, json.dumps({"original_charge": "诈骗罪"}, ensure_ascii=False)))
    assert out == {"original_charge": "诈骗罪", "prison": "陕西省汉中监狱", "sentence_months": 30}
    assert merged_details("not json", '{"a": 1}') == '{"a": 1}'


@pytest.mark.parametrize("place, ok", [("610924", True), ("", True), ("紫阳县", False), ("61092", False)])
def test_a_stated_native_place_is_a_six_digit_area_code(place, ok):
    from console.ledger_import.persons import PERSONS
    from console.store.identity import id_check_char

    number = "61092419850101655" + id_check_char("61092419850101655")
    record, problems = PERSONS.convert({"name": "张三", "id_number": number, "household_code": "H1",
                                        "address": "城关镇1号", "native_place": place})
    assert (not any("籍贯" in p for p in problems)) == ok
    if ok:
        assert record["native_place"] == (place or "610924")


@pytest.mark.parametrize("wkt, said", [
    ("", "不能为空"), ("LINESTRING (108.1 32.6", "WKT格式"), ("POINT (108.1 32.6)", "不是Point"),
    ("POLYGON ((108.1 32.6, 108.2 32.6, 108.2 32.7, 108.1 32.6))", "不是Polygon"),
    ("LINESTRING (116.4 39.9, 116.5 39.9)", "不在安康市范围内"), ("LINESTRING (32.6 108.1, 32.7 108.2)", "填反了"),
])
def test_a_line_that_is_not_one_linestring_in_ankang_is_refused_saying_what(wkt, said):
    from console.ledger_import.lines import geometry_of

    geom, problem = geometry_of(wkt)
    assert geom is None and said in problem
