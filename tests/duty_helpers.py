"""Shared set-up for the duty tests: a copy of the small world, one source key, sample references."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from console.duty.sources import add_source
from console.store import Camera, Grid, SpecialPerson, make_engine, make_session_factory


def world_copy(small_world_db: str, folder: Path) -> str:
    path = folder / "duty.sqlite"
    shutil.copy(small_world_db, path)
    return str(path)


def make_source(db: str, name: str = "test") -> str:
    sessions = make_session_factory(make_engine(db))
    with sessions() as s, s.begin():
        return add_source(s, name, "测试来源")


def samples(db: str) -> dict:
    """Ids and points the tests post about."""
    with make_session_factory(make_engine(db))() as s:
        correction = s.scalars(select(SpecialPerson).where(SpecialPerson.category == "correction",
                                                          SpecialPerson.lon.is_not(None))).first()
        mental = s.scalars(select(SpecialPerson).where(SpecialPerson.category == "mental",
                                                      SpecialPerson.risk_level >= 3)).first()
        camera = s.scalars(select(Camera).where(Camera.lon.is_not(None))).first()
        grid = s.scalars(select(Grid).where(Grid.generation_high.is_(None)).order_by(Grid.code)).first()
        other = s.scalars(select(Grid).where(Grid.generation_high.is_(None),
                                            Grid.village_code.notlike(correction.county_code + "%"))).first()
        return {"correction": correction.person_id, "correction_county": correction.county_code,
                "home": (correction.lon, correction.lat), "away": (other.label_lon, other.label_lat),
                "mental": mental.person_id, "camera": camera.device_id, "camera_pk": camera.id,
                "grid": grid.code, "grid_point": (grid.label_lon, grid.label_lat)}


def bare_app(db: str, clock=None) -> Flask:
    from console.routes import ingest
    from console.security.guard import Viewer

    server = Flask("duty-test")  # no security gate here: the change feed reads as a city-wide viewer
    city = Viewer.build("feed-test", ["duty_officer"], ["610900"])
    ingest.register(server, make_engine(db), viewer=lambda: city, clock=clock)
    return server
