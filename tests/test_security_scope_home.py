"""An account whose scope is two areas (docs/security.md §2): the overview opens at the smallest area covering the
scope, shown as the scope — its names, its outline, its figures — never the wider area's title or figures. Tested
as the browser's cold page load asks for it (the first /_dash-layout, with and without ?area=)."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil

import pytest
from sqlalchemy import func, select

from console.app import create_app
from console.config import Settings
from console.store import Area, Grid, GridWorker, Person, make_engine, make_session_factory
from console.store.codes import CITY_NAME
from tests.security_login import ORIGIN, add_account, login_client, security_settings

pytestmark = pytest.mark.xdist_group("small_world")

ZIYANG, LANGAO = "610924", "610925"


def _grid_prefix(column, codes):
    from sqlalchemy import or_

    return or_(*(column.like(f"{c}%") for c in codes))


@pytest.fixture(scope="module")
def two_area_console(small_world_db, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("scope-home") / "w.sqlite")
    shutil.copy(small_world_db, path)
    engine = make_engine(path, must_exist=True)
    with make_session_factory(engine)() as s:
        towns = s.scalars(select(Area.code).where(Area.parent_code == ZIYANG).order_by(Area.code).limit(2)).all()
        names = dict(s.execute(select(Area.code, Area.name)).all())

        def figures(codes):
            return {"residents": s.scalar(select(func.count()).select_from(Person)
                                          .where(_grid_prefix(Person.grid_code, codes))),
                    "grids": s.scalar(select(func.count()).select_from(Grid).where(
                        Grid.generation_high.is_(None), _grid_prefix(Grid.code, codes))),
                    "workers": s.scalar(select(func.count()).select_from(GridWorker)
                                        .where(_grid_prefix(GridWorker.grid_code, codes)))}
        expected = {"counties": figures([ZIYANG, LANGAO]), "towns": figures(towns),
                    "city": figures(["6109"]), "county": figures([ZIYANG])}
    engine.dispose()
    add_account(path, "two_counties", ["county"], [ZIYANG, LANGAO])
    add_account(path, "two_towns", ["town"], towns)
    app = create_app(path, settings=Settings(warm_cache=False), security_settings=security_settings())
    return app, towns, names, expected


def _first_view(app, username, query=""):
    """What a browser's cold load of /{query} gets: the page, then the first layout (filled for "/")."""
    c = app.server.test_client()
    login_client(c, username)
    assert c.get("/" + query).status_code == 200
    r = c.get("/_dash-layout", headers={"Referer": f"{ORIGIN}/{query}"})
    assert r.status_code == 200
    page = html_lib.unescape(json.dumps(r.get_json(), ensure_ascii=False))
    return page.replace(f"{CITY_NAME}综治中心", "")  # the map's attribution names the office, not an area


def _kpi(text, key):
    m = re.search(rf'id=\\?"kpi-{key}\\?"[^>]*>([\d,]+)<', text)
    assert m, f"no kpi-{key} in the first view"
    return int(m.group(1).replace(",", ""))


@pytest.mark.parametrize("query", ["", "?area=610900"])
def test_a_two_county_account_opens_at_its_counties_not_the_city(two_area_console, query):
    app, _towns, names, expected = two_area_console
    page = _first_view(app, "two_counties", query)
    assert CITY_NAME not in page, re.findall(f".{{120}}{CITY_NAME}.{{60}}", page)
    assert names[ZIYANG] in page and names[LANGAO] in page
    assert "超出您的数据范围" not in page  # its own home: no bounce message
    want = expected["counties"]
    assert want["residents"] < expected["city"]["residents"] and want["grids"] < expected["city"]["grids"]
    assert (_kpi(page, "residents"), _kpi(page, "grids"), _kpi(page, "workers")) == \
        (want["residents"], want["grids"], want["workers"])
    others = [n for c, n in names.items() if len(c) == 6 and c not in (ZIYANG, LANGAO, "610900")]
    assert not [n for n in others if n in page], "another county is drawn or named"


@pytest.mark.parametrize("query", ["", f"?area={ZIYANG}", "?area=610900"])
def test_a_two_town_account_opens_at_its_towns_not_the_county(two_area_console, query):
    app, towns, names, expected = two_area_console
    page = _first_view(app, "two_towns", query)
    assert CITY_NAME not in page and names[ZIYANG] not in page.replace(names[towns[0]], "").replace(names[towns[1]], "")
    assert names[towns[0]] in page and names[towns[1]] in page
    want = expected["towns"]
    assert want["grids"] < expected["county"]["grids"]
    assert (_kpi(page, "residents"), _kpi(page, "grids"), _kpi(page, "workers")) == \
        (want["residents"], want["grids"], want["workers"])


def test_the_layers_of_the_home_cover_exactly_the_scope(two_area_console):
    app, _towns, names, _ = two_area_console
    c = app.server.test_client()
    login_client(c, "two_counties")
    r = c.get("/api/layers/areas.geojson?area=610900")
    codes = sorted(f["properties"]["code"] for f in r.get_json()["features"])
    assert codes == [ZIYANG, LANGAO]
