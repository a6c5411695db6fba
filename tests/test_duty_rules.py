"""Each duty rule on its own (pure: no database, no browser)."""

from __future__ import annotations

from datetime import datetime

import pytest

from console.duty import rules
from console.duty.actions import ActionError, check

CFG = rules.load_config()
T0 = datetime(2026, 11, 26, 9, 0)
AREAS = {"county": "610924", "town": "610924100", "village": "610924100201", "grid": "610924100201001"}


def ev(kind, payload=None, lon=108.5, lat=32.5, areas=AREAS, at=T0):
    return {"kind": kind, "payload": payload or {}, "lon": lon, "lat": lat, "areas": dict(areas), "occurred_at": at}


def names(specs):
    return [s.rule for s in specs]


def test_config_file_is_valid_and_has_every_rule():
    assert set(rules.RULE_LABELS) <= set(CFG)
    for name in rules.RULE_LABELS:
        assert CFG[name]["severity"] in rules.SEVERITY_ORDER


def test_bad_severity_in_config_is_refused(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('[geofence]\nenabled = true\nseverity = "huge"\n')
    with pytest.raises(ValueError, match="severity"):
        rules.load_config(bad)


def test_geofence_home_county():
    person = {"category": "correction", "county_code": "610924"}
    assert rules.evaluate(CFG, ev("tag_position"), {"person": person}) == []
    away = ev("tag_position", areas=dict(AREAS, county="610925"))
    specs = rules.evaluate(CFG, away, {"person": person})
    assert names(specs) == ["geofence"] and specs[0].severity == "high" and "户籍县区" in specs[0].title


def test_geofence_polygon_overrides_county():
    fence = [[108.4, 32.4], [108.6, 32.4], [108.6, 32.6], [108.4, 32.6]]
    person = {"category": "correction", "county_code": "610924", "fence": fence}
    assert rules.evaluate(CFG, ev("tag_position", lon=108.5, lat=32.5), {"person": person}) == []
    assert names(rules.evaluate(CFG, ev("tag_position", lon=108.7, lat=32.5), {"person": person})) == ["geofence"]


def test_geofence_ignores_other_categories_and_disabled_rule():
    assert rules.evaluate(CFG, ev("tag_position", areas=dict(AREAS, county="610925")),
                          {"person": {"category": "drug", "county_code": "610924"}}) == []
    off = dict(CFG, geofence=dict(CFG["geofence"], enabled=False))
    assert rules.evaluate(off, ev("tag_position", areas=dict(AREAS, county="610925")),
                          {"person": {"category": "correction", "county_code": "610924"}}) == []


@pytest.mark.parametrize("level,expected", [(2, []), (3, ["mental_risk"]), (4, ["mental_risk"])])
def test_mental_risk_threshold(level, expected):
    facts = {"person": {"category": "mental", "risk_level": level}}
    assert names(rules.evaluate(CFG, ev("mental_incident"), facts)) == expected


def test_mental_risk_level5_is_critical():
    specs = rules.evaluate(CFG, ev("mental_incident"), {"person": {"category": "mental", "risk_level": 5}})
    assert specs[0].severity == "critical"


def test_missing_person_once_per_report():
    assert names(rules.evaluate(CFG, ev("missing_person"), {})) == ["missing_person"]
    high = {"person": {"category": "mental", "risk_level": 4}}
    assert names(rules.evaluate(CFG, ev("missing_person"), high)) == ["mental_risk"]  # not both


@pytest.mark.parametrize("payload,expected", [
    ({"scale": 29, "category": "neighbour"}, []),
    ({"scale": 30, "category": "neighbour"}, ["dispute_scale"]),
    ({"scale": 9, "category": "demolition"}, []),
    ({"scale": 10, "category": "demolition"}, ["dispute_scale"]),
    ({"scale": 12, "category": "labour"}, ["dispute_scale"]),
])
def test_dispute_scale(payload, expected):
    assert names(rules.evaluate(CFG, ev("dispute_report", payload), {})) == expected


def test_case_overdue():
    late = ev("case_update", {"case_code": "JF1", "deadline": "2026-11-25T00:00:00"})
    specs = rules.evaluate(CFG, late, {})
    assert names(specs) == ["case_overdue"] and specs[0].dedup_key == "case_overdue:JF1"
    assert rules.evaluate(CFG, ev("case_update", {"case_code": "JF1", "deadline": "2026-11-27T00:00:00"}), {}) == []
    done = ev("case_update", {"case_code": "JF1", "deadline": "2026-11-25", "state": "resolved"})
    assert rules.evaluate(CFG, done, {}) == []


def test_camera_offline_longer_than_t():
    cam = {"id": 7, "name": "X", "last_seen": "2026-11-26T08:00:00"}
    short = ev("camera_heartbeat", {"status": "offline", "offline_minutes": 10})
    assert rules.evaluate(CFG, short, {"camera": cam}) == []
    long = ev("camera_heartbeat", {"status": "offline", "offline_minutes": 45})
    specs = rules.evaluate(CFG, long, {"camera": cam})
    assert names(specs) == ["camera_offline"] and specs[0].dedup_key == "camera_offline:7:2026-11-26T08:00:00"


def test_repeated_in_grid_window():
    assert rules.evaluate(CFG, ev("grid_report"), {"grid_recent": 2}) == []
    a = rules.evaluate(CFG, ev("grid_report"), {"grid_recent": 3})
    b = rules.evaluate(CFG, ev("grid_report"), {"grid_recent": 4})
    assert names(a) == ["repeated_in_grid"] and a[0].dedup_key == b[0].dedup_key  # one alert per window


def test_action_state_machine():
    assert check("acknowledge", "new", "") == "acknowledged"
    assert check("resolve", "dispatched", "已化解") == "resolved"
    with pytest.raises(ActionError, match="处理结果"):
        check("resolve", "dispatched", " ")
    with pytest.raises(ActionError, match="不能"):
        check("acknowledge", "resolved", "")
    with pytest.raises(ActionError):
        check("explode", "new", "")
