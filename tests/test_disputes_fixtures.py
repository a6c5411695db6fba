"""Shared fixtures for the dispute tests (imported by the other tests/test_disputes_*.py modules)."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest
import shapely
from sqlalchemy import select

from console.security.audit import Auditor
from console.security.guard import Viewer
from console.store import Grid, make_engine, make_session_factory
from console.store.identity import id_check_char

NOW = datetime(2026, 11, 26, 9, 0, 0)


def ident(region: str = "610924", born: str = "19800101", seq: str = "123") -> str:
    first = f"{region}{born}{seq}"
    return first + id_check_char(first)


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory) -> str:
    from tests.browser.tinyworld import build

    return build(tmp_path_factory.mktemp("disputes") / "tiny.sqlite")


@pytest.fixture()
def store(tiny_template, tmp_path):
    target = tmp_path / "w.sqlite"
    shutil.copy(tiny_template, target)
    engine = make_engine(str(target), must_exist=True)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def grid_point(store):
    """(lon, lat, grid code) of a point inside the first current grid."""
    with store() as s:
        code, wkb = s.execute(select(Grid.code, Grid.geom_wkb).where(Grid.generation_high.is_(None))
                              .order_by(Grid.code)).first()
    p = shapely.from_wkb(wkb).representative_point()
    return p.x, p.y, code


def viewer(store, roles=("town",), scope=("610924",), name="tester") -> Viewer:
    return Viewer.build(name, roles, scope, auditor=Auditor(store, lambda: NOW))


def case_form(lon, lat, **over) -> dict:
    form = {"title": "邻里排水纠纷", "category": "neighbour", "occurred_on": date(2026, 11, 20), "place": "一组3号",
            "lon": lon, "lat": lat, "scale": 2, "description": "排水沟堵塞引发争执", "risk_grade": "low",
            "parties": [{"role": "applicant", "name": "张三", "id_number": ident(seq="123")},
                        {"role": "respondent", "name": "李四", "id_number": ident(seq="456")}]}
    form.update(over)
    return form
