"""Build the demo world: real counties, synthetic towns/villages/grids, residents and cases.

Deterministic: the same (seed, scale, as_of) gives the same world, byte for byte in every table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm import tqdm

from geodata import realdata
from geodata.assign import PolygonIndex

from . import cases, eventmonth, fieldmonth, freshness, geometry, people, safety, special
from .plan import population_plan
from .writer import TableLoader, atomic_target, load_tables

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m"
CODE_COLS = ("county_code", "town_code", "village_code", "grid_code", "assign_generation")
GENERATION = 1


@dataclass
class World:
    """Everything built, as frames keyed like the store's tables (written by `write_world`)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def _area_rows(codes, names, level, parents, kinds, synthetic, geoms, pops, sources, households):
    gs = gpd.GeoSeries(list(geoms), crs="EPSG:4326")
    bounds = gs.bounds
    label = shapely.point_on_surface(np.asarray(list(geoms), dtype=object))
    return pd.DataFrame({
        "code": codes, "name": names, "level": level, "parent_code": parents, "kind": kinds, "synthetic": synthetic,
        "population": pops, "population_source": sources, "households": households,
        "geom_wkb": shapely.to_wkb(np.asarray(list(geoms), dtype=object)),
        "min_lon": bounds["minx"].to_numpy(), "min_lat": bounds["miny"].to_numpy(),
        "max_lon": bounds["maxx"].to_numpy(), "max_lat": bounds["maxy"].to_numpy(),
        "label_lon": shapely.get_x(label), "label_lat": shapely.get_y(label),
        "area_km2": (gs.to_crs(ALBERS).area / 1e6).round(3).to_numpy(),
    })


def _short(name: str) -> str:
    return name.replace("社区居委会", "社区").replace("居委会", "社区").replace("村委会", "村")


def build_areas(rng, progress):
    """Towns, villages, buildings and grids; returns frames and the grid index."""
    counties, towns, villages = population_plan(rng)
    seats = realdata.county_seats()
    county_geom = {c.code: c.geometry for c in realdata.counties()}
    town_geom, town_seed = {}, {}
    for code, grp in towns.groupby("county_code", sort=True):
        polys, seeds = geometry.town_polygons(rng, county_geom[code], grp, seats[code])
        town_geom.update(zip(grp["code"], polys))
        town_seed.update(zip(grp["code"], map(tuple, seeds)))
        progress.update(1)
    village_geom, village_seed = {}, {}
    for code, grp in villages.groupby("town_code", sort=True):
        polys, seeds = geometry.village_polygons(rng, town_geom[code], town_seed[code], grp)
        village_geom.update(zip(grp["code"], polys))
        village_seed.update(zip(grp["code"], map(tuple, seeds)))
    progress.update(1)

    parts: dict[str, list] = {"xy": [], "dwellings": [], "kind": [], "village_code": [], "village_kind": []}
    grid_rows = []
    for v in villages.itertuples(index=False):
        pts, dwell, kinds = geometry.buildings_in_village(rng, village_geom[v.code], village_seed[v.code], v.kind, int(v.households))
        gcodes, gpolys = geometry.grid_polygons(v.code, v.kind, village_geom[v.code], pts, dwell)
        grid_rows.extend(zip(gcodes, [v.code] * len(gcodes), gpolys))
        for key, value in (("xy", pts), ("dwellings", dwell), ("kind", kinds),
                           ("village_code", np.full(len(pts), v.code)), ("village_kind", np.full(len(pts), v.kind))):
            parts[key].append(value)
    progress.update(1)
    xy = np.concatenate(parts.pop("xy"))
    buildings = pd.DataFrame({"lon": xy[:, 0], "lat": xy[:, 1], **{k: np.concatenate(v) for k, v in parts.items()}})
    grids = pd.DataFrame(grid_rows, columns=["code", "village_code", "geometry"])
    return counties, towns, villages, town_geom, village_geom, buildings, grids


def _assign(index: PolygonIndex, frame: pd.DataFrame) -> pd.DataFrame:
    """Stamp county/town/village/grid codes from the grid index; jittered points that fell outside the
    city go back to the building they were placed around."""
    res = index.assign(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    if len(res.outside) and "base_lon" in frame:
        frame.loc[frame.index[res.outside], ["lon", "lat"]] = frame.loc[frame.index[res.outside], ["base_lon", "base_lat"]].to_numpy()
        res = index.assign(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    if len(res.outside):
        raise RuntimeError(f"{len(res.outside)} demo points fell outside every grid")
    grid = np.asarray(index.codes, dtype=object)[res.poly_idx].astype(str)
    frame = frame.drop(columns=[c for c in ("base_lon", "base_lat") if c in frame])
    frame["grid_code"] = grid
    frame["village_code"] = pd.Series(grid).str[:12].to_numpy()
    frame["town_code"] = pd.Series(grid).str[:9].to_numpy()
    frame["county_code"] = pd.Series(grid).str[:6].to_numpy()
    frame["assign_generation"] = GENERATION
    return frame


def build_world(seed: int, scale: float, as_of: date, progress=None, sink=None) -> World:
    """Synthesise the world. `sink(name, frame)`, when given, receives each table as soon as it is final
    (so that a writer can load it while the rest is drawn); the returned World holds them all too."""
    if not 0 < scale <= 1.0:
        raise ValueError("--scale 应在 (0, 1] 之间")
    world = World()

    def publish(name: str, frame: pd.DataFrame) -> None:
        world.tables[name] = frame
        if sink is not None:
            sink(name, frame)

    rng = np.random.default_rng(seed)
    progress = progress or tqdm(total=12, disable=True)
    started = time.perf_counter()
    as_of64 = np.datetime64(as_of, "D")
    counties, towns, villages, town_geom, village_geom, buildings, grids = build_areas(rng, progress)
    stages = {"geometry": round(time.perf_counter() - started, 2)}

    index = PolygonIndex.build(grids["code"].tolist(), grids["geometry"].tolist())
    keep = rng.random(len(buildings)) < scale if scale < 1 else np.ones(len(buildings), bool)
    full_hh = buildings.groupby("village_code")["dwellings"].sum()
    buildings = buildings[keep].reset_index(drop=True)
    town_names = dict(zip(towns["code"], towns["name"]))
    vname = dict(zip(villages["code"], villages["name"].map(_short)))
    buildings = _assign(index, buildings)
    serial = buildings.groupby("village_code", sort=False).cumcount().to_numpy() + 1
    buildings.insert(0, "id", np.arange(1, len(buildings) + 1))
    buildings["code"] = "B" + buildings["village_code"] + pd.Series(serial).astype(str).str.zfill(5)
    group = (serial - 1) // 40 + 1
    buildings["address"] = (buildings["town_code"].map(town_names) + buildings["village_code"].map(vname)
                            + np.where(buildings["village_kind"].eq("community"),
                                       pd.Series(group).astype(str) + "区" + pd.Series(serial).astype(str) + "号楼",
                                       pd.Series(group).astype(str) + "组" + pd.Series(serial).astype(str) + "号"))
    buildings["floors"] = np.where(buildings["kind"].isin(["apartment", "mixed"]), rng.integers(6, 33, len(buildings)),
                                   rng.integers(1, 4, len(buildings)))
    publish("building", buildings[["id", "code", "address", "kind", "floors", "dwellings", "lon", "lat", *CODE_COLS]])
    progress.update(1)
    stages["buildings"] = round(time.perf_counter() - started - sum(stages.values()), 2)

    households = people.build_households(rng, buildings)
    kept_hh = households.groupby("village_code").size()
    pop = villages.set_index("code")["population"]
    target = {c: int(round(pop[c] * kept_hh[c] / full_hh[c])) for c in kept_hh.index}
    sizes = people.household_sizes(rng, households, target)
    households["size"] = sizes
    households["updated_at"] = freshness.last_updated(seed, 1, len(households), as_of64)
    publish("household", households[["id", "code", "building_id", "address", "kind", "size", "is_rental", "lon", "lat",
                                      "updated_at", *CODE_COLS]])
    county_names = dict(zip(counties["code"], counties["name"]))
    persons, floating, foreign = people.build_persons(rng, households, sizes, as_of64, county_names)
    progress.update(1)
    stages["people"] = round(time.perf_counter() - started - sum(stages.values()), 2)

    ages = persons.pop("age").to_numpy()
    persons["updated_at"] = freshness.last_updated(seed, 2, len(persons), as_of64)
    publish("person", persons.copy(deep=False))  # the writer thread reads its own frame object
    publish("floating_info", floating)
    publish("foreign_info", foreign)
    pview = persons[["id", "sex", "residence_type", "name", "id_number", "phone", "lon", "lat", *CODE_COLS]].copy()
    pview["age"] = ages
    pview["village_kind"] = households["village_kind"].to_numpy()[persons["household_id"].to_numpy() - 1]
    specials = special.special_persons(rng, pview, as_of64)
    youth = special.key_youth(rng, pview)
    residents = len(persons)
    orgs = _assign(index, cases.organisations(rng, buildings, residents))
    orgs.insert(0, "id", np.arange(1, len(orgs) + 1))
    orgs["updated_at"] = freshness.last_updated(seed, 3, len(orgs), as_of64)
    cams = _assign(index, cases.cameras(rng, buildings, scale, as_of))
    cams.insert(0, "id", np.arange(1, len(cams) + 1))
    places = _assign(index, safety.key_places(seed, buildings, town_names, vname, scale))
    places.insert(0, "id", np.arange(1, len(places) + 1))
    lines = safety.safety_lines(index, town_geom, town_names)
    disputes, parties, events = cases.disputes(rng, buildings, pview, residents, datetime.combine(as_of, datetime.min.time()))
    disputes = _assign(index, disputes)
    progress.update(1)
    stages["records"] = round(time.perf_counter() - started - sum(stages.values()), 2)

    # Grid rows with counts at this scale.
    hh_per_grid = households.groupby("grid_code").size()
    res_per_grid = persons.groupby("grid_code").size()
    gvill = grids["village_code"]
    serial_in_village = grids["code"].str[-3:].astype(int)
    grid_frame = _area_rows(grids["code"], gvill.map(vname) + "第" + serial_in_village.astype(str) + "网格",
                            "grid", gvill, "comprehensive", True, grids["geometry"], None, None, None)
    grid_frame = grid_frame.drop(columns=["level", "parent_code", "synthetic", "population", "population_source"])
    grid_frame["village_code"] = gvill.to_numpy()
    grid_frame["generation_low"] = GENERATION
    grid_frame["generation_high"] = None
    grid_frame["households"] = grid_frame["code"].map(hh_per_grid).fillna(0).astype(int)
    grid_frame["residents"] = grid_frame["code"].map(res_per_grid).fillna(0).astype(int)
    grid_frame["drawn_by"] = "演示数据生成"
    grid_frame["drawn_at"] = f"{as_of.isoformat()} 00:00:00"
    grid_frame.insert(0, "id", np.arange(1, len(grid_frame) + 1))

    city = realdata.city()
    # Area populations are the planned (census) figures at any scale; only the records are scaled.
    county_geom = {c.code: c.geometry for c in realdata.counties()}
    areas = pd.concat([
        _area_rows([city.code], [city.name], "city", [None], [None], False, [city.geometry],
                   [int(counties["population"].sum())], ["census"], [int(counties["households"].sum())]),
        _area_rows(counties["code"], counties["name"], "county", "610900", None, False,
                   [county_geom[c] for c in counties["code"]], counties["population"],
                   counties["population_source"], counties["households"]),
        _area_rows(towns["code"], towns["name"], "town", towns["county_code"], towns["kind"], True,
                   [town_geom[c] for c in towns["code"]], towns["population"], towns["population_source"], towns["households"]),
        _area_rows(villages["code"], villages["name"], "village", villages["town_code"], villages["kind"], True,
                   [village_geom[c] for c in villages["code"]], villages["population"], villages["population_source"],
                   villages["households"]),
    ], ignore_index=True)
    progress.update(1)
    stages["areas_and_grids"] = round(time.perf_counter() - started - sum(stages.values()), 2)

    for name, frame in (
        ("area", areas),
        ("generation", pd.DataFrame([{"id": GENERATION, "scope_code": "610900",
                                      "created_at": f"{as_of.isoformat()} 00:00:00", "created_by": "演示数据生成",
                                      "reason": "初始网格划分（演示数据，合成边界）", "rollback_of": None}])),
        ("grid", grid_frame),
        ("grid_worker", cases.grid_workers(rng, grid_frame["code"].tolist())),
        ("survey", cases.surveys(rng, counties["code"].tolist(), as_of.year)),
        ("special_person", specials), ("followup_visit", special.followup_visits(seed, specials, as_of64)),
        ("key_youth", youth), ("organisation", orgs), ("camera", cams),
        ("key_place", places), ("safety_line", lines),
        ("dispute", disputes), ("dispute_party", parties), ("dispute_event", events),
    ):
        publish(name, frame)
    started_field = time.perf_counter()
    for name, frame in fieldmonth.field_month(seed, scale, grid_frame, households, orgs, as_of64).items():
        publish(name, frame)  # a month of patrols, check-ins and tasks (docs/demo-world.md)
    stages["field_month"] = round(time.perf_counter() - started_field, 2)
    publish("event", eventmonth.event_month(seed, scale, households, as_of64))  # a month of reports (docs/demo-world.md)
    world.meta = {
        "seed": str(seed), "scale": str(scale), "as_of": as_of.isoformat(), "generator": "pingan world 1",
        "synthetic": "true", **{f"seconds.{k}": str(v) for k, v in stages.items()},
        **{f"rows.{k}": str(len(v)) for k, v in world.tables.items()},
    }
    return world


def _meta_frame(world: World) -> pd.DataFrame:
    meta = {**world.meta, "built_at": datetime.now().isoformat(timespec="seconds")}
    return pd.DataFrame({"key": list(meta), "value": list(meta.values())})


def write_world(world: World, db: str, *, force: bool = False, progress=None) -> None:
    """Write an already built world (tests, or a world built once and written to several databases)."""
    started = time.perf_counter()
    with atomic_target(db, force=force) as engine:
        load_tables(engine, {**world.tables, "world_meta": _meta_frame(world)}, progress)
    world.meta["seconds.write"] = f"{time.perf_counter() - started:.2f}"
    if progress is not None:
        progress.update(1)


def build_and_write(seed: int, scale: float, as_of: date, db: str, *, force: bool = False, progress=None) -> World:
    """Build and write at once: each table is loaded on a background thread as soon as it is final."""
    started = time.perf_counter()
    with atomic_target(db, force=force) as engine:
        with TableLoader(engine, progress) as loader:
            world = build_world(seed, scale, as_of, progress=progress, sink=loader.put)
            loader.put("world_meta", _meta_frame(world))
    world.meta["seconds.total_with_write"] = f"{time.perf_counter() - started:.2f}"
    if progress is not None:
        progress.update(1)
    return world
