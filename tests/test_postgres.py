"""The same code on PostgreSQL: migrations, the demo world builder, scoped reads, KPIs, the console, duty ingest,
the planner's commit, the dispute workflow, the audit chain and encryption at rest.

One throwaway cluster per session (`postgres` fixture, tests/pg.py; skipped when PostgreSQL is not installed). The
demo world is built once onto an empty database; tests that write get their own copy (CREATE DATABASE … TEMPLATE),
taken before anything else connects to the original. The same built world is also written to a SQLite file, so
the KPIs and scoped reads are compared across the two databases: the answers must be identical.
"""

from __future__ import annotations

import gzip
import json
import threading
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
import shapely
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from console.store import (
    SCHEMA_HEAD, AreaScope, Base, Dispute, Grid, Person, SpecialPerson, make_engine, make_session_factory,
    upgrade_schema,
)
from console.store.schema import alembic_config, current_revision
from console.store.spatial import include_object

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install -e '.[test]'")
pytestmark = pytest.mark.xdist_group("postgres")

SEED, SCALE, AS_OF = 1, 0.01, date(2026, 11, 1)
COPIES = ("console", "duty", "planner", "disputes")


def engine_for(url):
    return make_engine(url, poolclass=NullPool)  # no idle connection left behind (CREATE DATABASE … TEMPLATE)


@pytest.fixture(scope="module")
def world(postgres, tmp_path_factory):
    """The demo world built onto an empty PostgreSQL database, private copies of it, and a SQLite twin."""
    from world.build import build_and_write, write_world

    url = postgres.create_database("world")
    built = build_and_write(SEED, SCALE, AS_OF, url)
    copies = {name: postgres.create_database(f"world_{name}", template="world") for name in COPIES}
    twin = str(tmp_path_factory.mktemp("pg-twin") / "twin.sqlite")
    write_world(built, twin)
    return SimpleNamespace(url=url, built=built, copies=copies, twin=twin)


def raw_rows(url: str, sql: str) -> list[tuple]:
    """Rows as stored, read with the driver alone (no SQLAlchemy types, no decryption)."""
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


# -- schema ---------------------------------------------------------------------------------------------------
def test_cluster_collation_is_not_bytewise(postgres):
    """The cluster sorts like a deployment in China (ICU zh-CN), so bytewise-only range tricks would fail here."""
    assert raw_rows(postgres.url(), "SELECT daticulocale, '610924100201001' < '610924100201:' FROM pg_database"
                                    " WHERE datname = current_database()") == [("zh-CN", False)]


def test_migrations_from_empty_produce_the_models_and_round_trip(postgres):
    engine = engine_for(postgres.create_database("migrations"))
    upgrade_schema(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True,
                                                                    "include_object": include_object}),
                                Base.metadata)
    assert diff == [], f"models and migrations differ on PostgreSQL: {diff}"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (id, at, actor, roles, ip, action, object, result, detail,"
                          " prev_hash, hash) VALUES (1, now(), 'a', '', '', 'x', '', 'granted', '', 'p', 'h')"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'b'"))
    with pytest.raises(DBAPIError, match="never deleted"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))  # not archived yet: refused (migration 0007)
    with engine.begin() as conn:  # archival moves the anchor first; then the row may go
        conn.execute(text("UPDATE audit_head SET archived_through_id = 1 WHERE id = 1"))
        conn.execute(text("DELETE FROM audit_log"))
    command.downgrade(alembic_config(engine), "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    upgrade_schema(engine)
    # PostGIS's own table is there when the extension is (console/store/spatial.py)
    tables = set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def _column_type(engine, table: str, column: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT data_type FROM information_schema.columns WHERE table_name = :t"
                                 " AND column_name = :c"), {"t": table, "c": column}).scalar()


def test_migrations_0005_0006_seal_existing_rows_and_downgrade(postgres):
    url = postgres.create_database("reseal")
    engine = engine_for(url)
    command.upgrade(alembic_config(engine), "0004")
    plain = {i: f"61092419900101{i:03d}X" for i in range(1, 4)}
    with engine.begin() as c:
        c.execute(text("INSERT INTO building (id, code, address, kind, floors, dwellings) VALUES (1,'b','a','house',1,1)"))
        c.execute(text("INSERT INTO household (id, code, building_id, address, kind, size, is_rental)"
                       " VALUES (1,'h',1,'a','registered',1,false)"))
        for i, idn in plain.items():
            c.execute(text(
                "INSERT INTO person (id, id_number, name, sex, birth_date, ethnicity, native_place, marital, education,"
                " occupation, residence_type, household_id, relation_to_head, registered_here)"
                " VALUES (:i, :n, 'n', 'M', '1990-01-01', '汉族', '610924', 'single', 'none', 'x', 'registered', 1,"
                " 'head', true)"), {"i": i, "n": idn})
        c.execute(text("INSERT INTO special_person (id, person_id, category, since, status, risk_level, risk_grade,"
                       " details) VALUES (1, 1, 'mental', '2020-01-01', 'x', 3, 'high', '{\"diagnosis\": \"精神分裂症\"}')"))
        c.execute(text("INSERT INTO foreign_info (person_id, foreign_name, nationality, document_type, document_no,"
                       " document_expiry, purpose, arrived_on) VALUES (2, 'Ann', 'GBR', 'passport', 'P1234567',"
                       " '2030-01-01', 'work', '2025-01-01')"))
    upgrade_schema(engine)  # 0005 and 0006: column types changed with ALTER, rows resealed in batches
    assert (_column_type(engine, "person", "id_number"), _column_type(engine, "foreign_info", "document_no")) == \
        ("text", "text")
    stored = raw_rows(url, "SELECT id_number, id_number_bidx FROM person ORDER BY id")
    assert all(v.startswith("aes1:") and len(b) == 32 for v, b in stored)
    assert raw_rows(url, "SELECT details FROM special_person")[0][0].startswith("aes1:")
    assert raw_rows(url, "SELECT document_no FROM foreign_info")[0][0].startswith("aes1:")
    from console.store import ForeignInfo
    from console.store.sensitive import id_number_match

    with make_session_factory(engine)() as s:
        assert s.scalar(select(Person.id).where(id_number_match(Person.id_number_bidx, plain[3]))) == 3
        assert "精神分裂症" in s.get(SpecialPerson, 1).details and s.get(ForeignInfo, 2).document_no == "P1234567"
    command.downgrade(alembic_config(engine), "0004")
    assert _column_type(engine, "person", "id_number") == "character varying"
    assert dict(raw_rows(url, "SELECT id, id_number FROM person")) == plain
    assert raw_rows(url, "SELECT document_no FROM foreign_info") == [("P1234567",)]


# -- the demo world builder ---------------------------------------------------------------------------------------
def test_world_is_complete_and_ids_continue_after_it(world):
    counts = {name: raw_rows(world.url, f"SELECT count(*) FROM {name}")[0][0] for name in world.built.tables}
    assert counts == {name: len(frame) for name, frame in world.built.tables.items()}
    assert counts["person"] > 20_000
    indexes = {r[0] for r in raw_rows(world.url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert {ix.name for t in Base.metadata.tables.values() for ix in t.indexes} <= indexes  # rebuilt after COPY
    # rows were loaded with explicit ids: each serial sequence continues after the largest one
    nxt = raw_rows(world.url, "SELECT last_value FROM person_id_seq")[0][0]
    assert nxt == counts["person"] + 1 == raw_rows(world.url, "SELECT max(id) + 1 FROM person")[0][0]


def test_builder_refuses_to_overwrite_a_url_database(world, capsys):
    from world.__main__ import main

    for extra in ([], ["--force"]):
        assert main(["--db", world.url, "--scale", "0.01", "--seed", "2", *extra]) == 2
        err = capsys.readouterr().err
        assert "已有演示数据" in err and f"seed {SEED}" in err
    assert "dropdb" in err  # --force: told how to rebuild
    assert main(["--db", world.url, "--scale", "0.01", "--if-missing"]) == 0  # what `make world DB=URL` runs
    assert "跳过构建" in capsys.readouterr().err
    assert raw_rows(world.url, "SELECT value FROM world_meta WHERE key = 'seed'") == [(str(SEED),)]


def test_a_failed_build_leaves_the_database_as_it_was(postgres, world):
    from world.build import World, write_world

    url = postgres.create_database("broken")
    tables = dict(world.built.tables)
    tables["camera"] = tables["camera"].assign(id=1)  # duplicate primary keys: the load fails at the end
    with pytest.raises((IntegrityError, psycopg.IntegrityError)):
        write_world(World(tables=tables, meta=world.built.meta), url)
    assert inspect(engine_for(url)).get_table_names() == []  # no schema, no half world: one transaction


# -- reads: scope, KPIs, cube (identical on both databases) -------------------------------------------------
def _on_both(world, fn):
    out = []
    for db in (world.url, world.twin):
        engine = engine_for(db)
        with make_session_factory(engine)() as s:
            out.append(fn(s))
        engine.dispose()
    return out


def test_scoped_reads_are_the_same_as_on_sqlite(world):
    from console.services import queries

    with make_session_factory(engine_for(world.url))() as s:
        grid = s.scalar(select(Person.grid_code).group_by(Person.grid_code).order_by(func.count().desc()).limit(1))
    codes = [grid[:6], grid[:9], grid[:12], grid]

    def read(s):
        got = {}
        for code in codes:
            ids = s.scalars(select(Person.id).where(AreaScope.of([code]).clause(Person))).all()
            got[code] = sorted(ids)
        got["grid_persons"] = queries.grid_persons(s, AreaScope.of([grid[:9]]), grid)
        got["outside"] = queries.grid_persons(s, AreaScope.of(["610925" if grid[:6] != "610925" else "610926"]), grid)
        return got

    pg, lite = _on_both(world, read)
    assert pg == lite
    assert len(pg[codes[0]]) > len(pg[codes[1]]) > len(pg[codes[2]]) >= len(pg[grid]) > 0
    assert pg["grid_persons"] and pg["outside"] == []
    assert all("*" in r["公民身份号码"] for r in pg["grid_persons"])  # masked, decrypted first


def test_kpis_and_cube_are_the_same_as_on_sqlite(world):
    import kpi_oracle
    from console.services import areas, cube, kpis

    now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, 0)

    def read(s):
        city = areas.city_node(s)
        county = areas.get_node(s, "610924")
        built = cube.build_cube(s, now, kpis.months_back(now, kpis.TREND_MONTHS - 1), kpis.month_start(now))
        return {"city": kpi_oracle.oracle_kpis(s, city, AreaScope.city(), now),
                "county": kpi_oracle.oracle_kpis(s, county, AreaScope.of(["610924"]), now),
                "county_from_cube": kpis.from_cube(s, built, county, AreaScope.of(["610924"])),
                "cube": built.tables}

    pg, lite = _on_both(world, read)
    assert pg == lite
    assert pg["city"]["residents"]["total"] == len(world.built.tables["person"])
    assert pg["city"]["dispute_trend"] and pg["city"]["survey"]["synthetic"] is True
    assert pg["county"]["residents"]["total"] == pg["city"]["residents"]["by_child"]["610924"]


# -- the console ----------------------------------------------------------------------------------------------
def test_console_logs_in_and_serves_pages_layers_and_kpis(world):
    from console.app import create_app
    from console.config import Settings
    from tests.security_login import ORIGIN, add_account, login_client, security_settings
    from tests.test_console_routes import area_callback_body, get_json

    url = world.copies["console"]
    add_account(url, "pg_city")
    app = create_app(url, settings=Settings(warm_cache=False), security_settings=security_settings())
    client = app.server.test_client()
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 302  # the login gate first
    csrf = login_client(client, "pg_city")
    for page in ("/", "/disputes", "/disputes/stats", "/duty"):
        assert client.get(page).status_code == 200, page
    r, data = get_json(client, "/api/layers/areas.geojson?area=610924")
    assert r.status_code == 200 and len(data["features"]) == raw_rows(
        url, "SELECT count(*) FROM area WHERE parent_code = '610924'")[0][0]
    r, data = get_json(client, "/api/layers/special.geojson?area=610924")
    assert r.status_code == 200 and data["features"]
    pid = raw_rows(url, "SELECT id FROM special_person WHERE county_code = '610924' ORDER BY id LIMIT 1")[0][0]
    r, data = get_json(client, f"/api/layers/special/{pid}")
    assert r.status_code == 200 and data["rows"]
    r = client.post("/_dash-update-component", json=area_callback_body(app, "610924"),
                    headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    out = json.loads(gzip.decompress(r.data) if r.headers.get("Content-Encoding") == "gzip" else r.data)["response"]
    residents = raw_rows(url, "SELECT count(*) FROM person WHERE county_code = '610924'")[0][0]
    assert f"{residents:,}" in out["ov-kpis-html"]["data"]
    # every read above was audited, in one unbroken chain
    assert raw_rows(url, "SELECT count(*) FROM audit_log WHERE actor = 'pg_city' AND action = 'record.view'") \
        == [(1,)]
    from console.security.audit import verify

    with make_session_factory(engine_for(url))() as s:
        assert verify(s).ok


# -- duty ingest ------------------------------------------------------------------------------------------------
def test_duty_ingest_is_idempotent_and_raises_alerts_once(world):
    from console.duty import actions, rules
    import sectest as testing
    from console.duty.ingest import offline_sweep
    from tests.duty_helpers import bare_app, make_source, samples

    url = world.copies["duty"]
    key, ref = make_source(url), samples(url)
    client = bare_app(url, clock=lambda: datetime(2026, 11, 26, 3, 0)).test_client()  # "now" for event times

    def post(body):
        return client.post("/api/events", data=json.dumps(body), content_type="application/json",
                           headers={"X-API-Key": key})

    when = "2026-11-26T09:00:00+08:00"
    fence = {"event_id": "tag-1", "type": "tag_position", "occurred_at": when, "person_id": ref["correction"],
             "location": {"lon": ref["away"][0], "lat": ref["away"][1]}}
    first = post(fence)
    assert first.status_code == 201, first.json
    assert len(first.json["alerts"]) == 1
    again = post(fence)
    assert again.status_code == 200 and again.json == first.json
    assert post(dict(fence, payload={"x": 1})).status_code == 409
    mental = post({"event_id": "m-1", "type": "mental_incident", "occurred_at": when, "person_id": ref["mental"]})
    assert mental.status_code == 201 and mental.json["alerts"]
    # repeated reports in one grid within the window (3 in 60 min): counted in SQL, the third raises one alert
    got = [post({"event_id": f"g-{i}", "type": "grid_report", "occurred_at": when, "grid_code": ref["grid"]})
           for i in range(4)]
    assert [(r.status_code, len(r.json["alerts"])) for r in got] == [(201, 0), (201, 0), (201, 1), (201, 0)]
    alerts = raw_rows(url, "SELECT a.rule, a.event_id, i.dedup_key FROM alert a JOIN alert_info i ON i.alert_id = a.id"
                           " ORDER BY a.id")
    assert [(r[0], r[1]) for r in alerts] == [("geofence", first.json["id"]), ("mental_risk", mental.json["id"]),
                                              ("repeated_in_grid", got[2].json["id"])]
    events = raw_rows(url, "SELECT source_event_id, received_at FROM event WHERE source = 'test' ORDER BY id")
    assert [e[0] for e in events] == ["tag-1", "m-1", "g-0", "g-1", "g-2", "g-3"]
    assert all(isinstance(e[1], datetime) for e in events)  # a timestamp column, not text
    history = raw_rows(url, "SELECT count(*) FROM alert_history")[0][0]
    assert history == len(alerts) == raw_rows(url, "SELECT count(*) FROM alert_change")[0][0]
    seen, cursor, more = [], 0, True  # the duty page's change feed, paged by cursor
    while more:
        data = client.get(f"/api/alerts/changes?cursor={cursor}").json
        seen, cursor, more = seen + [a["id"] for a in data["alerts"]], data["cursor"], data["more"]
    assert sorted(seen) == [r[0] for r in raw_rows(url, "SELECT id FROM alert ORDER BY id")]
    sessions = make_session_factory(make_engine(url))
    testing.use_fast_hasher()
    testing.add_account(sessions, "pg_duty", ["duty_officer"], ["610900"])
    with sessions() as s, s.begin():
        actions.act(s, testing.viewer_of(sessions, "pg_duty"), first.json["alerts"][0], "acknowledge")
    assert raw_rows(url, f"SELECT state FROM alert WHERE id = {first.json['alerts'][0]}") == [("acknowledged",)]
    # a heartbeat, then the offline sweep: ORM updates and the writer's raw statements on one connection
    beat = post({"event_id": "cam-1", "type": "camera_heartbeat", "occurred_at": "2026-11-26T02:00:00Z",
                 "camera_id": ref["camera"], "payload": {"status": "online"}})
    assert beat.status_code == 201 and beat.json["alerts"] == []
    config = rules.load_config()
    with sessions() as s, s.begin():
        first = offline_sweep(s, config, datetime(2026, 11, 26, 4, 0))
    with sessions() as s, s.begin():
        second = offline_sweep(s, config, datetime(2026, 11, 26, 4, 5))
    assert len(first) == 1 and second == []  # the demo's day-old heartbeats are past max_silence_hours
    assert raw_rows(url, f"SELECT rule, camera_id FROM alert a JOIN alert_info i ON i.alert_id = a.id"
                         f" WHERE a.id = {first[0]}") == [("camera_offline", ref["camera_pk"])]


def test_duty_writers_take_turns_on_postgres(postgres):
    """Raw.begin takes a transaction-scoped advisory lock: a second writer waits until the first commits."""
    from console.duty.rawsql import Raw

    with postgres.connect() as one, postgres.connect() as two:
        first, second = Raw(one, "postgresql"), Raw(two, "postgresql")
        first.begin()
        two.execute("SET lock_timeout = '200ms'")
        two.commit()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            second.begin()
        second.rollback()
        first.commit()
        second.begin()  # free again
        second.commit()


def test_duty_writer_reconnects_after_the_server_drops_its_connection(postgres):
    """A PostgreSQL restart (here: the writer's backend terminated) costs one retried batch, not every later one."""
    from console.duty.writer import GroupWriter

    engine = make_engine(postgres.url())
    writer = GroupWriter(engine)
    backend = lambda raw, now: raw.one("SELECT pg_backend_pid()")[0]  # noqa: E731
    try:
        pid = writer.submit(backend)
        with postgres.connect(autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)
        again = writer.submit(backend)
        assert again != pid and writer.submit(backend) == again
        assert writer.stats["retried_alone"] == 1
    finally:
        writer.close()
        engine.dispose()


# -- planner --------------------------------------------------------------------------------------------------
def test_planner_commit_moves_records_and_serialises_commits_of_a_village(world):
    from console.planner import commit as committing, drafts
    from console.planner.village import ConflictError, current_generation, load_village
    from console.store.planner_models import GridMove
    from geodata.planner import draft as drafting
    from tests.test_planner_service import NOW, busiest, planner, split_line

    url = world.copies["planner"]
    store = make_session_factory(make_engine(url))
    with store() as s:
        village = s.scalar(select(Grid.village_code).where(Grid.generation_high.is_(None), Grid.households > 20)
                           .group_by(Grid.village_code).having(func.count() >= 2)
                           .order_by(func.sum(Grid.households).desc(), Grid.village_code))
    v = planner(store, [village[:6]])
    with store() as s:
        data = load_village(s, village)
        base = current_generation(s, village)
    state = drafting.split(data.grids, data.geometry, split_line(data, busiest(data)))

    # another planner's commit of the same village holds the village's row lock: this one waits, then rebases
    holder = store()
    holder.begin()
    committing._lock_village(holder, village)
    waiter = store()
    waiter.begin()
    waiter.execute(text("SET LOCAL lock_timeout = '300ms'"))
    with pytest.raises(OperationalError, match="lock timeout"):
        committing.commit_state(waiter, v, village, state, base, "拆分", now=NOW)
    waiter.rollback()
    holder.rollback()

    with store() as s, s.begin():
        d = drafts.start(s, v, village, now=NOW)
        drafts.push(s, v, d.id, state, "拆分", now=NOW)
        result = committing.commit_draft(s, v, d.id, "人口增长，拆分网格", now=NOW)
    assert result.added and result.retired and sum(result.moved.values()) > 0
    with store() as s:
        moves = s.scalar(select(func.count()).select_from(GridMove).where(GridMove.generation_id == result.generation))
        assert moves == sum(result.moved.values())
        assert current_generation(s, village) == result.generation
        stamped = s.scalar(select(func.count()).select_from(Person).where(
            Person.grid_code.in_(result.added), Person.assign_generation == result.generation))
        assert stamped == s.scalar(select(func.count()).select_from(Person).where(Person.grid_code.in_(result.added)))
        assert stamped > 0
    with store() as s, s.begin(), pytest.raises(ConflictError):  # the same base again: told to rebase
        committing.commit_state(s, v, village, state, base, "再次拆分", now=NOW)


# -- disputes and the audit chain ------------------------------------------------------------------------------
def test_dispute_workflow_from_register_to_archive(world):
    from console.disputes import ledger, service
    from console.store.security_models import AuditLog
    from tests.test_disputes_fixtures import NOW, case_form, ident, viewer

    url = world.copies["disputes"]
    store = make_session_factory(make_engine(url))
    with store() as s:
        code, wkb = s.execute(select(Grid.code, Grid.geom_wkb).where(Grid.generation_high.is_(None),
                                                                   Grid.code.like("610924%")).order_by(Grid.code)).first()
        last_id = s.scalar(select(func.max(Dispute.id)))
    point = shapely.from_wkb(wkb).representative_point()
    v = viewer(store)
    res = service.register(store, v, case_form(point.x, point.y), now=NOW)
    assert res.ok, res.message
    assert res.dispute_id == last_id + 1  # the id sequence continues after the demo world's rows
    assert res.code.startswith(f"JF{code[:6]}20261126")
    t = NOW
    for action, values in [("accept", {}), ("assign", {"level": "town", "department": ""}), ("start", {}),
                           ("resolve", {"outcome": "达成调解协议"}), ("feedback", {"note": "已告知双方"}),
                           ("revisit", {"satisfaction": "满意"}), ("archive", {})]:
        t += timedelta(hours=1)
        r = service.transition(store, v, res.dispute_id, action, values, now=t)
        assert r.ok, (action, r.message)
    assert not service.transition(store, v, res.dispute_id, "accept", {}, now=t).ok
    with store() as s:
        case = s.get(Dispute, res.dispute_id)
        assert (case.state, case.success, case.closed_at, case.grid_code) == \
            ("archived", True, NOW + timedelta(hours=4), code)
        detail = ledger.case_detail(s, v.scope, res.dispute_id, t)
        actions = s.scalars(select(AuditLog.action).where(AuditLog.object == f"dispute:{res.code}")).all()
    assert [h["to"] for h in detail["history"]][-1] == "归档" and len(actions) == 8
    assert detail["parties"][0]["id_number"] == ident(seq="123")[:6] + "********" + ident(seq="123")[-4:]
    sealed = raw_rows(url, f"SELECT id_number FROM dispute_party WHERE dispute_id = {res.dispute_id}")
    assert len(sealed) == 2 and all(v.startswith("aes1:") for (v,) in sealed)
    others = [{"role": "applicant", "name": "王五", "id_number": ident(seq="789")}]
    second = service.register(store, v, case_form(point.x, point.y, title="另一起纠纷", category="contract", parties=others), now=NOW)
    assert second.ok and second.code.endswith("0002")  # numbering per county and day continues


def test_audit_chain_appends_concurrently_archives_and_verifies(postgres, tmp_path):
    import sectest as testing
    from console.security.audit import Auditor, archive, verify, verify_archives

    engine = make_engine(postgres.create_database("audit"))
    upgrade_schema(engine)
    factory = make_session_factory(engine)
    clock = testing.Clock()
    auditor = Auditor(factory, clock)
    errors = []

    def writer(name):
        try:
            for i in range(15):
                auditor.record(name, "record.view", object=f"person:{i}", detail={"i": i})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"user{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        result = verify(s)
    assert result.ok and result.checked == 45  # the head row lock let no two appends chain onto one row
    clock.advance(days=200)
    path = archive(factory, 180, tmp_path / "archive", actor="auditadmin", clock=clock)
    for i in range(3):
        auditor.record("user9", "export", object=f"x{i}")
    with factory() as s:
        assert verify_archives([path], s).ok
        assert s.execute(text("SELECT min(id), count(*) FROM audit_log")).one() == (46, 4)  # archive row + 3
    with engine.begin() as c:  # the guard refuses a plain DELETE of a row not yet archived
        with pytest.raises(Exception, match="never deleted"):
            with c.begin_nested():
                c.execute(text("DELETE FROM audit_log WHERE id = 48"))
    with engine.begin() as c:  # what someone with database access could do: drop the guards, delete a row
        c.execute(text("DROP TRIGGER audit_log_no_update ON audit_log"))
        c.execute(text("DROP TRIGGER audit_log_no_delete ON audit_log"))
        c.execute(text("DELETE FROM audit_log WHERE id = 48"))
    with factory() as s:
        broken = verify(s)
    assert not broken.ok and broken.first_bad_id == 48


def test_sensitive_columns_are_ciphertext_in_the_database(world):
    from console.store.sensitive import id_number_match

    plain = world.built.tables["person"]["id_number"].tolist()
    stored = [v for (v,) in raw_rows(world.url, "SELECT id_number FROM person")]
    assert len(stored) == len(plain) and all(v.startswith("aes1:") for v in stored)
    assert not set(plain) & set(stored)
    for table, column in (("dispute_party", "id_number"), ("special_person", "details"),
                          ("foreign_info", "document_no"), ("person", "phone"), ("person", "registered_address"),
                          ("household", "address"), ("key_youth", "guardian_phone"), ("organisation", "address"),
                          ("dispute_party", "phone"), ("grid_worker", "phone")):  # phones and addresses: 0010
        values = [v for (v,) in raw_rows(world.url, f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")]
        assert values and all(v.startswith("aes1:") for v in values), table
    # no column of any stored person row holds an identity number
    cells = {str(v) for r in raw_rows(world.url, "SELECT * FROM person") for v in r}
    assert not set(plain) & cells
    phones = {p for p in world.built.tables["person"]["phone"].tolist() if isinstance(p, str)}
    assert phones and not phones & cells
    with make_session_factory(engine_for(world.url))() as s:
        pid = int(world.built.tables["person"]["id"].iloc[-1])
        assert s.scalars(select(Person.id).where(id_number_match(Person.id_number_bidx, plain[-1]))).all() == [pid]
        assert s.get(Person, pid).id_number == plain[-1]
