"""Browser: register a case on the 台账 page, route it (分流交办) and close it (化解成功 → 归档)."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import select

from console.store import Dispute, DisputeEvent, Grid
from tests.security_login import console_on_copy, login_page
from tests.test_disputes_fixtures import ident, tiny_template  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture()
def console(tiny_template, tmp_path):
    # A 镇办 account scoped to 紫阳县 (610924), logged in through the login form in the test.
    with console_on_copy(tiny_template, tmp_path, [("town_clerk", ["town"], ["610924"])]) as served:
        yield served


def _dropdown(page, dom_id, text):
    """Pick `text` in a Dash dropdown the way a person does: open, type, click the option. On a loaded machine the
    menu can open late or close before the filtered option shows, so the whole gesture is retried."""
    shows = "([id, t]) => (document.getElementById(id) || {}).innerText.includes(t)"
    for _ in range(3):
        page.click(f"#{dom_id}")
        page.keyboard.type(text)
        option = page.get_by_role("option", name=text, exact=True).first
        try:  # click the option itself: Enter on a busy machine can pick before the list is filtered
            option.wait_for(timeout=10000)
            option.click()
        except Exception:  # noqa: BLE001 - a dropdown without option roles: the keyboard then
            page.keyboard.press("Enter")
        try:
            page.wait_for_function(shows, arg=[dom_id, text], timeout=10000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; retried, asserted below
            page.keyboard.press("Escape")
    page.wait_for_function(shows, arg=[dom_id, text], timeout=5000)


def test_register_route_close(console):
    from playwright.sync_api import sync_playwright

    url, sessions = console
    with sessions() as s:
        wkb = s.scalar(select(Grid.geom_wkb).where(Grid.generation_high.is_(None), Grid.code.like("610924%"))
                       .order_by(Grid.code))
    point = shapely.from_wkb(wkb).representative_point()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1200})
        login_page(page, url, "town_clerk")
        page.goto(url + "/disputes")
        page.wait_for_selector("#dl-r-save")
        page.wait_for_selector("#dl-r-map .leaflet-map-pane", state="attached")
        box = page.locator("#dl-r-map").bounding_box()  # pick on the map fills the coordinates
        for _ in range(10):  # a loaded machine may still be wiring Leaflet's click handler: click again
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            try:
                page.wait_for_function("document.getElementById('dl-r-lon').value !== ''", timeout=3000)
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError; retried, asserted below
                continue
        assert page.input_value("#dl-r-lon") != "", "a click on the map did not fill the coordinates"
        page.fill("#dl-r-title", "浏览器测试邻里纠纷")
        _dropdown(page, "dl-r-category", "邻里纠纷")
        page.fill("#dl-r-scale", "2")
        page.fill("#dl-r-place", "一组5号")
        page.fill("#dl-r-lon", f"{point.x:.6f}")
        page.fill("#dl-r-lat", f"{point.y:.6f}")
        page.fill("#dl-r-description", "院墙排水引发争执")
        page.fill("#dl-r-p1_name", "张三")
        page.fill("#dl-r-p1_id", "610924198001011234")  # wrong check digit first: refused with a clear message
        page.click("#dl-r-save")
        page.wait_for_selector("text=身份证号码校验位错误")
        page.fill("#dl-r-p1_id", ident(seq="123"))
        page.fill("#dl-r-p2_name", "李四")
        page.fill("#dl-r-p2_id", ident(seq="456"))
        page.click("#dl-r-save")
        page.wait_for_selector("text=登记成功")
        code = page.inner_text("#dl-r-msg").split()[-1]
        assert code.startswith("JF610924")
        page.wait_for_selector("text=浏览器测试邻里纠纷")
        assert ident(seq="123") not in page.inner_text("#dl-detail")  # masked in the view

        def act(label, wait_label):
            page.get_by_role("button", name=label, exact=True).click()
            page.get_by_role("button", name=wait_label, exact=True).wait_for()

        act("受理", "分流交办")
        page.get_by_role("button", name="分流交办", exact=True).click()  # level pre-filled from routing suggestion
        page.get_by_role("button", name="开始调处", exact=True).wait_for()
        act("开始调处", "化解成功")
        page.fill("#dl-a-outcome", "双方达成调解协议")
        act("化解成功", "结果反馈")
        page.fill("#dl-a-note", "已向双方反馈")
        act("结果反馈", "回访")
        _dropdown(page, "dl-a-sat", "满意")
        page.get_by_role("button", name="回访", exact=True).click()
        page.get_by_role("button", name="归档", exact=True).wait_for()
        page.get_by_role("button", name="归档", exact=True).click()
        page.wait_for_selector("text=无可办理操作")
        browser.close()
    with sessions() as s:
        case = s.scalar(select(Dispute).where(Dispute.code == code))
        steps = s.scalars(select(DisputeEvent.to_state).where(DisputeEvent.dispute_id == case.id)
                          .order_by(DisputeEvent.seq)).all()
    assert case.state == "archived" and case.handling_level == "village" and case.success
    assert steps == ["registered", "accepted", "assigned", "mediating", "resolved", "feedback", "revisited",
                     "archived"]
