"""The navigation shows only the pages the logged-in viewer may open."""

from __future__ import annotations

import pytest

from console.app import create_app
from console.config import Settings
from console.security.guard import Viewer
from console.security.roles import ROLES
from console.services.navigation import NAV_PAGES, visible_pages
from tests.browser.tinyworld import build
from tests.security_login import add_account, login_client, security_settings


def _hrefs(roles):
    return [h for h, _ in visible_pages(Viewer.build("u", roles, ["610900"]))]


def test_each_role_sees_only_its_pages():
    assert _hrefs(["audit_admin"]) == ["/admin/audit"]
    assert _hrefs(["system_admin"]) == ["/admin/accounts", "/admin/assessment"]
    assert _hrefs(["security_admin"]) == ["/admin/accounts"]
    hall = ["/hall", "/analysis", "/replay"]  # the command hall's pages: counts and counted cells only
    assert _hrefs(["city_leader"]) == ["/", *hall, "/video", "/disputes", "/quality", "/assessment"]
    assert _hrefs(["duty_officer"]) == ["/", *hall, "/duty", "/incident", "/video", "/disputes", "/housing", "/followup", "/quality"]
    assert _hrefs(["grid_planner"]) == ["/", "/hall", "/analysis", "/planner", "/quality"]
    assert _hrefs(["county"]) == ["/", *hall, "/duty", "/incident", "/disputes", "/housing", "/followup", "/quality", "/assessment",
                                  "/import"]
    assert _hrefs(["wall_display"]) == ["/", *hall]  # the hall screen: aggregates only
    assert _hrefs([]) == []
    for key, role in ROLES.items():  # no business role sees an admin page, no admin a business page
        admin_links = {h for h in _hrefs([key]) if h.startswith("/admin/")}
        assert bool(admin_links) == role.admin and (set(_hrefs([key])) <= admin_links) == role.admin
    assert {h for h, _, _ in NAV_PAGES} == {"/", "/hall", "/analysis", "/replay", "/planner", "/duty", "/incident", "/video",
                                            "/disputes", "/housing", "/followup", "/quality", "/assessment", "/import",
                                            "/admin/accounts", "/admin/assessment", "/admin/audit"}


def _nav_hrefs(node):
    """The hrefs of the links inside the component with id app-nav, from a served Dash layout."""
    if isinstance(node, list):
        return next((h for n in node if (h := _nav_hrefs(n)) is not None), None)
    if not isinstance(node, dict):
        return None
    props = node.get("props", {})
    if props.get("id") == "app-nav":
        return [child["props"]["href"] for child in props["children"]]
    return _nav_hrefs(props.get("children"))


@pytest.fixture(scope="module")
def app_db(tmp_path_factory):
    db = build(tmp_path_factory.mktemp("nav") / "tiny.sqlite")
    add_account(db, "leader", ["city_leader"], ["610900"])
    return create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())


def test_served_layout_carries_the_viewers_links_only(app_db):
    c = app_db.server.test_client()
    login_client(c, "leader")
    assert _nav_hrefs(c.get("/_dash-layout").get_json()) == ["/", "/hall", "/analysis", "/replay", "/video",
                                                             "/disputes", "/quality", "/assessment"]
    anon = app_db.server.test_client().get("/_dash-layout")
    assert anon.status_code in (302, 401)
