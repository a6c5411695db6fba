"""Column-mapping templates per source (docs/import.md, "Mapping templates"): the pure matching of a file's header
signature to a template, the store (one template per source, audited), and the command line applying a template
automatically or by name, on a copy of the small world."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from console.ledger_import import templates
from console.ledger_import.__main__ import main
from console.ledger_import.kinds import KINDS
from console.ledger_import.mapping import relaxed
from console.ledgers.reader import read_ledger
from console.store import AreaScope, ImportTemplate, Organisation
from console.store.security_models import AuditLog
from tests.test_ledger_import import ZIYANG, _county_office_xlsx, _orgs, _points

OWN_HEADER = ["信用代码号", "单位全称", "类型", "法人代表", "住所", "登记状态", "从业人数", "经度", "纬度"]
OWN_MAPPING = {"信用代码号": "credit_code", "单位全称": "name"}


def _t(id_, sig_headers, mapping, kind="organisation", area=ZIYANG, used=None):
    return templates.Template(id_, f"T{id_}", kind, area, templates.signature(sig_headers), tuple(sig_headers),
                              mapping, used)


def test_the_signature_ignores_order_spaces_width_and_bracketed_notes():
    a = templates.signature(["信用代码号", "单位全称", "经度"])
    assert a == templates.signature(["经度", " 单位 全称", "信用代码号（必填）"])
    assert a == templates.signature(["ＸＸ"[:0] + "信用代码号", "单位全称", "经度", ""])
    assert a != templates.signature(["信用代码号", "单位名称", "经度"])


def test_a_file_finds_its_sources_template_and_no_other():
    headers = OWN_HEADER
    exact = _t(1, headers, OWN_MAPPING)
    other_area = _t(2, headers, OWN_MAPPING, area="610925")
    other_kind = _t(3, headers, OWN_MAPPING, kind="camera")
    assert templates.best_match([other_area, other_kind, exact], "organisation", ZIYANG, headers) is exact
    assert templates.best_match([other_area, other_kind], "organisation", ZIYANG, headers) is None
    # the source added a column: the template whose mapped headers are all there still applies
    assert templates.best_match([exact], "organisation", ZIYANG, [*headers, "联系电话"]) is exact
    # a file without one of the mapped headers is another source
    assert templates.best_match([exact], "organisation", ZIYANG, [h for h in headers if h != "单位全称"]) is None
    # two templates for the same signature: the one used last
    old = _t(4, headers, OWN_MAPPING, used=datetime(2026, 1, 1))
    new = _t(5, headers, {"信用代码号": "credit_code"}, used=datetime(2026, 6, 1))
    assert templates.best_match([old, new], "organisation", ZIYANG, headers) is new
    # without an exact signature, the covering template that maps most headers
    small = _t(6, ["x"], {"信用代码号": "credit_code"})
    big = _t(7, ["y"], OWN_MAPPING)
    assert templates.best_match([small, big], "organisation", ZIYANG, headers) is big


def _file(sessions, n=3) -> bytes:
    return _county_office_xlsx(OWN_HEADER, _orgs(_points(sessions, ZIYANG, n)))


def test_one_template_per_source_saved_changed_and_removed_audited(world_sessions):
    scope = AreaScope.of([ZIYANG])
    ledger = read_ledger(_file(world_sessions), "org.xlsx", relaxed(KINDS["organisation"].spec))
    headers = templates.file_headers(ledger)
    assert set(OWN_HEADER) <= set(headers)
    with world_sessions() as s, s.begin():
        first = templates.save(s, kind="organisation", scope=scope, headers=headers, mapping={"信用代码号": "credit_code"},
                               actor="clerk", name="紫阳县工商局导出（社会组织/非公企业台账）")
    with world_sessions() as s, s.begin():
        again = templates.save(s, kind="organisation", scope=scope, headers=headers, mapping=OWN_MAPPING,
                               actor="clerk", name="another name")
    assert again.id == first.id and again.mapping == OWN_MAPPING and again.name == first.name
    with world_sessions() as s:
        assert s.scalar(select(func.count()).select_from(ImportTemplate)) == 1
        assert templates.find(s, "organisation", scope, headers).id == first.id
        assert templates.find(s, "organisation", AreaScope.of(["610925"]), headers) is None
        actions = [a.detail for a in s.scalars(select(AuditLog).where(AuditLog.action == "import_template")
                                               .order_by(AuditLog.id))]
    assert ['"新建"' in d for d in actions] == [True, False] and '"修改"' in actions[1]
    with world_sessions() as s, s.begin():
        assert not templates.remove(s, first.id, scope=AreaScope.of(["610925"]), actor="other")
        assert templates.remove(s, first.id, scope=scope, actor="clerk")
    with world_sessions() as s:
        assert s.scalar(select(func.count()).select_from(ImportTemplate)) == 0
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "import_template")) == 3


def test_the_command_line_applies_the_sources_template_automatically_or_by_name(world_sessions, tmp_path, capsys):
    db = world_sessions.kw["bind"].url.database
    path = tmp_path / "工商导出.xlsx"
    path.write_bytes(_file(world_sessions))
    args = ["--db", db, "--kind", "organisation", "--file", str(path), "--scope", ZIYANG]
    assert main(args) == 2  # no template yet: the required columns are missing under the source's own names
    assert "缺少必填列：统一社会信用代码、名称" in capsys.readouterr().err
    ledger = read_ledger(path.read_bytes(), path.name, relaxed(KINDS["organisation"].spec))
    with world_sessions() as s, s.begin():
        templates.save(s, kind="organisation", scope=AreaScope.of([ZIYANG]), headers=templates.file_headers(ledger),
                       mapping=OWN_MAPPING, actor="clerk", name="工商导出")
    assert main(args + ["--save"]) == 0
    out = capsys.readouterr().out
    assert "已应用列对应关系模板「工商导出」" in out and "新增 3 行" in out
    with world_sessions() as s:
        assert s.scalar(select(func.count()).select_from(Organisation)
                        .where(Organisation.name.like("紫阳县测试商贸有限公司%"))) == 3
        # the bulk insert stamps updated_at (数据质量's stale check reads it)
        stamps = s.scalars(select(Organisation.updated_at).where(Organisation.name.like("紫阳县测试商贸有限公司%")))
        assert all(t is not None and (datetime.now() - t).total_seconds() < 600 for t in stamps)
    # another county's account has no template for this source
    assert main(["--db", db, "--kind", "organisation", "--file", str(path), "--scope", "610925"]) == 2
    capsys.readouterr()
    # by name: the named template must exist and be of the kind
    assert main(args + ["--template", "工商导出"]) == 0
    assert "无变化 3 行" in capsys.readouterr().out
    assert main(args + ["--template", "没有这个模板"]) == 2
    assert "没有名为“没有这个模板”的社会组织/非公企业台账列对应关系模板" in capsys.readouterr().err
    assert main(["--db", db, "--kind", "camera", "--file", str(path), "--scope", ZIYANG, "--template", "工商导出"]) == 2


@pytest.mark.parametrize("name,label,expected", [("上报/紫阳县工商局.xlsx", "台账", "紫阳县工商局（台账）"),
                                                 (".xlsx", "台账", "台账（台账）")])
def test_default_names(name, label, expected):
    assert templates.default_name(label, name) == expected


@pytest.fixture()
def page_env(small_world_db, tmp_path):
    """A console on a copy of the small world, a 紫阳县 clerk logged in, another county's template stored."""
    import shutil

    from console.app import create_app
    from console.config import Settings as ConsoleSettings
    from console.store import make_engine, make_session_factory
    from tests.security_login import add_account, security_settings
    from tests.test_admin_pages import login

    db = str(tmp_path / "w.sqlite")
    shutil.copy(small_world_db, db)
    engine = make_engine(db, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        other = templates.save(s, kind="organisation", scope=AreaScope.of(["610925"]), headers=OWN_HEADER,
                               mapping=OWN_MAPPING, actor="岚皋", name="岚皋县模板")
    add_account(factory, "clerk", ["county"], [ZIYANG])
    settings = security_settings()
    app = create_app(db, settings=ConsoleSettings(warm_cache=False), security_settings=settings)
    client, csrf = login((app, factory, settings.clock), "clerk")
    yield factory, client, csrf, other
    engine.dispose()


OUTPUTS = [("li-file", "data"), ("li-mapping", "children"), ("li-summary", "children"), ("li-preview", "rowData"),
           ("li-preview", "style"), ("li-save", "style"), ("li-result", "children"), ("li-apply", "style"),
           ("li-template", "children"), ("li-template-box", "style")]


def _upload(client, csrf, data: bytes, name: str, kind: str, trigger: str, stored=None, clicks=0):
    import base64

    from tests.test_admin_pages import call

    url = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    inputs = [("li-upload", "contents", url), ("li-apply", "n_clicks", 0), ("li-kind", "value", kind),
              ("li-crs", "value", "wgs84"), ("li-save", "n_clicks", clicks), ("li-tpl-edit", "n_clicks", 0),
              ("li-tpl-del", "n_clicks", clicks)]
    state = [({"type": "li-map", "header": "x"}, "value", []), ({"type": "li-map", "header": "x"}, "id", []),
             ("li-upload", "filename", name), ("li-file", "data", stored and {"contents": url, "name": name,
                                                                            **stored})]
    return call(client, csrf, OUTPUTS, inputs, state, trigger=trigger)


def test_forged_page_state_is_refused_without_a_500_and_another_areas_template_stays(page_env):
    """The import page's store comes back from the browser: a forged mapping, template or kind is typed away, a
    forged template id of another county is not deleted."""
    factory, client, csrf, other = page_env
    data = _file(factory)
    for forged in ({"mapping": "x", "template": {"id": other.id, "name": "y" * 5000}, "known": 5, "kind": "none"},
                   {"mapping": {"信用代码号": 7}, "template": "z", "known": [None], "kind": "organisation"},
                   {"mapping": {}, "template": {"id": other.id}, "kind": "organisation"}):
        status, out = _upload(client, csrf, data, "org.xlsx", "organisation", "li-tpl-del.n_clicks", forged, 1)
        assert status == 200, out
    with factory() as s:
        assert templates.by_name(s, "岚皋县模板") is not None  # another county's template is not the clerk's to delete


def test_the_page_takes_a_geopackage_and_saves_it(page_env, tmp_path):
    """The /import page reads a .gpkg point layer like a sheet: preview, then save."""
    import geopandas as gpd
    import shapely

    from console.store.safety_models import KeyPlace

    factory, client, csrf, _other = page_env
    points = _points(factory, ZIYANG, 2)
    frame = gpd.GeoDataFrame({"场所编号": ["PG-1", "PG-2"], "场所名称": ["页面测试学校", "页面测试医院"],
                              "场所类别": ["学校", "医院"]},
                             geometry=[shapely.Point(x, y) for x, y in points], crs="EPSG:4490")
    path = tmp_path / "场所.gpkg"
    frame.to_file(path, layer="场所", engine="pyogrio")
    status, out = _upload(client, csrf, path.read_bytes(), path.name, "key_place", "li-upload.contents")
    assert status == 200 and "新增 2 行" in str(out["li-summary"]) and "CGCS2000" in str(out["li-summary"])
    stored = out["li-file"]["data"]
    status, out = _upload(client, csrf, path.read_bytes(), path.name, "key_place", "li-save.n_clicks",
                          {k: v for k, v in stored.items() if k not in ("contents", "name")}, 1)
    assert status == 200 and "已保存：新增 2 行" in str(out["li-result"])
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(KeyPlace).where(KeyPlace.code.in_(["PG-1", "PG-2"]))) == 2
