"""Native geometry on PostGIS (docs/postgresql.md § PostGIS), else the portable WKB path.

On PostgreSQL with the postgis extension available, `enable_postgis` (run by migration 0013, idempotent, safe to
re-run after installing PostGIS later) adds a stored generated column `geom geometry(Geometry, 4326)` computed
from `geom_wkb` to `area` and `grid`, each with a GiST index. Writers keep writing `geom_wkb` only: the database
derives `geom`, so the two can never disagree. SRID 4326 (WGS84 lon/lat); the city's CGCS2000 coordinates are
used as they are (the two frames differ by centimetres, far below the grid scale).

`backend(bind)` says which path a database uses: "postgis" or "wkb" (SQLite, or PostgreSQL without PostGIS).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import text

SRID = 4326
TABLES = ("area", "grid")
COLUMN = "geom"
log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_BACKEND: dict[str, str] = {}


def _index_name(table: str) -> str:
    return f"ix_{table}_{COLUMN}_gist"


def native_names() -> set[str]:
    """Columns and indexes that exist only in the database (not in the models): schema comparisons skip them."""
    return {COLUMN} | {_index_name(t) for t in TABLES}


def postgis_available(conn) -> bool:
    """Is the postgis extension installed or installable in this database (PostgreSQL only)?"""
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first() is not None


def enable_postgis(conn) -> bool:
    """Create the extension and the native geometry columns and indexes when PostGIS is available; False (and
    nothing changed) otherwise. A role that may not create the extension also gets False: the WKB path stays."""
    if not postgis_available(conn):
        return False
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except Exception as exc:  # noqa: BLE001 - e.g. not allowed to create it: keep the portable path
        log.warning("PostGIS 可用但无法启用（%s），继续使用 WKB 几何", exc)
        return False
    for table in TABLES:
        conn.execute(text(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {COLUMN} geometry(Geometry, {SRID})"
            f" GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromWKB(geom_wkb), {SRID})) STORED"))
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {_index_name(table)} ON {table} USING gist ({COLUMN})"))
    return True


def backend(bind) -> str:
    """"postgis" when the grid table has the native column, else "wkb". Cached per database URL."""
    engine = getattr(bind, "engine", bind)
    key = str(engine.url)
    with _LOCK:
        found = _BACKEND.get(key)
    if found is None:
        found = "wkb"
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                if conn.execute(text("SELECT 1 FROM information_schema.columns WHERE table_name = 'grid'"
                                     " AND column_name = :c AND table_schema = current_schema()"),
                                {"c": COLUMN}).first():
                    found = "postgis"
        with _LOCK:
            _BACKEND[key] = found
        log.info("空间数据：%s", describe(found))
    return found


def describe(kind: str) -> str:
    return {"postgis": f"PostGIS 原生几何（SRID {SRID}，GiST 索引）",
            "wkb": "WKB 几何（内存网格索引，未使用 PostGIS）"}[kind]


def forget() -> None:
    with _LOCK:
        _BACKEND.clear()


def grids_covering(session, lon: float, lat: float) -> list[str]:
    """Codes of the current grids whose closed area covers the point (PostGIS only). A point on a shared edge is
    covered by both neighbours: the caller applies the edge rule of docs/assignment.md."""
    rows = session.execute(text(
        f"SELECT code FROM grid WHERE generation_high IS NULL"
        f" AND ST_Covers({COLUMN}, ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID})) ORDER BY code"),
        {"lon": float(lon), "lat": float(lat)})
    return [r[0] for r in rows]


def grids_in_bbox(session, bbox: tuple[float, float, float, float]) -> list[str]:
    """Codes of the current grids whose area meets the box (min_lon, min_lat, max_lon, max_lat), ordered by
    code: the GiST index on PostGIS, the stored bounding boxes then the exact shape on the WKB path."""
    x0, y0, x1, y1 = (float(v) for v in bbox)
    if backend(session.get_bind()) == "postgis":
        rows = session.execute(text(
            f"SELECT code FROM grid WHERE generation_high IS NULL"
            f" AND ST_Intersects({COLUMN}, ST_MakeEnvelope(:x0, :y0, :x1, :y1, {SRID})) ORDER BY code"),
            {"x0": x0, "y0": y0, "x1": x1, "y1": y1})
        return [r[0] for r in rows]
    import shapely
    from sqlalchemy import select

    from .areas import Grid

    box = shapely.box(x0, y0, x1, y1)
    rows = session.execute(select(Grid.code, Grid.geom_wkb).where(
        Grid.generation_high.is_(None), Grid.max_lon >= x0, Grid.min_lon <= x1, Grid.max_lat >= y0,
        Grid.min_lat <= y1).order_by(Grid.code)).all()
    return [code for code, wkb in rows if shapely.from_wkb(wkb).intersects(box)]


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter for schema comparisons: the native geometry and PostGIS's own table are not models."""
    if type_ == "table" and name == "spatial_ref_sys":
        return False
    return not (reflected and compare_to is None and name in native_names())
