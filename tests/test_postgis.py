"""PostGIS (docs/postgresql.md § PostGIS): native geometry with GiST indexes when the extension is available, the
engine and PostGIS agree on every person's grid under the edge rule of docs/assignment.md, and a database whose
role may not create the extension keeps the WKB path and says so."""

from __future__ import annotations

import os
import re
from datetime import date

import numpy as np
import pytest
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from console.store import Grid, make_engine, upgrade_schema
from console.store import grid_locator, spatial
from geodata.assign import PolygonIndex

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install -e '.[test]'")
pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="module")
def world(postgres):
    from world.build import build_and_write

    rows = postgres.connect().execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchall()
    if not rows:
        if os.environ.get("PINGAN_REQUIRE_POSTGRES") == "1":  # CI installs it (scripts/system-deps.sh)
            pytest.fail("PostGIS required (PINGAN_REQUIRE_POSTGRES=1) but postgresql-15-postgis-3 is not installed")
        pytest.skip("PostGIS is not installed: scripts/system-deps.sh installs postgresql-15-postgis-3")
    url = postgres.create_database("gis_world")
    build_and_write(1, 0.01, date(2026, 11, 1), url)
    engine = make_engine(url, poolclass=NullPool)
    spatial.forget()
    grid_locator.forget()
    yield engine
    engine.dispose()


def test_native_geometry_columns_with_srid_and_gist_indexes(world):
    with world.connect() as conn:
        cols = conn.execute(text("SELECT f_table_name, srid, type FROM geometry_columns ORDER BY 1")).all()
        idx = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE indexdef LIKE '%USING gist%'"
                                " ORDER BY 1")).all()
        stale = conn.execute(text("SELECT count(*) FROM grid WHERE NOT ST_Equals(geom,"
                                  " ST_SetSRID(ST_GeomFromWKB(geom_wkb), 4326))")).scalar()
    assert [tuple(c) for c in cols] == [("area", 4326, "GEOMETRY"), ("grid", 4326, "GEOMETRY")]
    assert [i[0] for i in idx] == ["ix_area_geom_gist", "ix_grid_geom_gist"]
    assert stale == 0
    assert spatial.backend(world) == "postgis"


def test_point_lookups_use_the_gist_index(world):
    with world.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # tiny tables: make the planner show what it can use
        plan = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT code FROM grid WHERE generation_high IS NULL"
            " AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(109.0, 32.7), 4326))")))
    assert "ix_grid_geom_gist" in plan, plan


def _engine_grids(session, lon, lat):
    rows = session.execute(select(Grid.code, Grid.geom_wkb).where(Grid.generation_high.is_(None))).all()
    index = PolygonIndex.build([r[0] for r in rows], shapely.from_wkb([r[1] for r in rows]))
    res = index.assign(np.asarray(lon, float), np.asarray(lat, float), nearest=False)
    return [index.codes[i] if i >= 0 else None for i in res.poly_idx.tolist()], rows


def test_engine_and_postgis_agree_on_every_person_and_on_edges(world):
    """Every person of the small world: the engine's grid is the one grid PostGIS's ST_Covers finds. Points on
    shared edges and vertices are covered by several grids; the engine's pick is one of them (the edge rule picks
    the east / north side) and the PostGIS locator defers to it there."""
    with Session(world) as s:
        people = s.execute(text(
            "SELECT p.lon, p.lat, array_agg(g.code ORDER BY g.code) FILTER (WHERE g.code IS NOT NULL)"
            " FROM person p LEFT JOIN grid g ON g.generation_high IS NULL"
            " AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))"
            " WHERE p.lon IS NOT NULL GROUP BY p.id, p.lon, p.lat")).all()
        assert len(people) > 1000
        engine_pick, rows = _engine_grids(s, [p[0] for p in people], [p[1] for p in people])
        agree = sum(1 for p, mine in zip(people, engine_pick) if (p[2] or [None]) == [mine])
        assert agree == len(people), f"{len(people) - agree} of {len(people)} persons disagree"
        # shared vertices of the grids: covered by two or more
        verts = shapely.get_coordinates(shapely.boundary(shapely.from_wkb([r[1] for r in rows[:40]])))[::7]
        picks, _ = _engine_grids(s, verts[:, 0], verts[:, 1])
        locator = grid_locator.locator_for(s)
        assert isinstance(locator, grid_locator.PostgisLocator)
        ties = 0
        for (x, y), mine in zip(verts.tolist(), picks):
            covering = spatial.grids_covering(s, x, y)
            found = locator.locate(x, y)
            assert (found or {}).get("grid_code") == mine
            if mine is not None:
                assert mine in covering
            ties += len(covering) > 1
        assert ties > 10


def test_bbox_reads_agree_between_postgis_and_wkb(world):
    with Session(world) as s:
        box = s.execute(select(Grid.min_lon, Grid.min_lat).where(Grid.generation_high.is_(None))
                        .order_by(Grid.code).limit(1)).one()
        bbox = (box[0], box[1], box[0] + 0.05, box[1] + 0.03)
        native = spatial.grids_in_bbox(s, bbox)
        spatial._BACKEND[str(world.url)] = "wkb"
        try:
            portable = spatial.grids_in_bbox(s, bbox)
        finally:
            spatial.forget()
    assert native == portable and len(native) >= 2


def test_a_role_without_postgis_rights_keeps_the_wkb_path_and_says_so(postgres, caplog):
    """PostGIS installed but not creatable by the database's owner (it is not a trusted extension): the
    migrations still succeed, no native column, and the node reports the WKB path."""
    postgres.execute("DO $$ BEGIN CREATE ROLE plain LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    postgres.execute('CREATE DATABASE "plain_db" OWNER plain')
    url = postgres.url("plain_db").replace("postgres@", "plain@")
    engine = make_engine(url, poolclass=NullPool)
    with caplog.at_level("WARNING"):
        upgrade_schema(engine)
    assert any("无法启用" in r.getMessage() for r in caplog.records)
    spatial.forget()
    assert spatial.backend(engine) == "wkb"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar() == 0
    engine.dispose()


def _status(db: str) -> dict:
    from console.app import create_app
    from console.config import Settings
    import pyotp

    from tests.security_login import ORIGIN, PASSWORD, add_account, security_settings

    secret = "JBSWY3DPEHPK3PXPCCCCCCCC"
    add_account(db, "sysadmin", ["system_admin"], [], totp_secret=secret)
    gate = security_settings()
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=gate)
    client = app.server.test_client()
    for path, field, value in (("/login", "password", PASSWORD),
                               ("/login/totp", "code", pyotp.TOTP(secret).at(gate.clock()))):
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)
        form = {"csrf_token": token, field: value, **({"username": "sysadmin"} if path == "/login" else {})}
        assert client.post(path, data=form, headers={"Origin": ORIGIN}).status_code == 303
    r = client.get("/api/status")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()


def test_status_says_which_spatial_path_a_node_uses(world, tmp_path, caplog):
    from tests.browser.tinyworld import build

    with caplog.at_level("WARNING", logger="console.services.cluster"):
        native = _status(str(world.url.render_as_string(hide_password=False)))
    assert native["spatial"] == "postgis" and native["srid"] == 4326 and native["cache_sync"] == "listen_notify"
    assert any("PostGIS 原生几何" in r.getMessage() for r in caplog.records)
    plain = _status(build(tmp_path / "tiny.sqlite"))
    assert plain["spatial"] == "wkb" and plain["srid"] is None and plain["cache_sync"] == "local"
