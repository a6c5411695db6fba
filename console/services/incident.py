"""Incident command (docs/safety.md): what the console assembles for one incident — the nearest online cameras
for the wall, the grid workers of the grids around it (phones masked), the key places and 护路护线 sections within
the level's radius, the timeline — and the handover report built from the same assembly.

Reads only. The incident's scope is checked (`incidents.get`); every list is read inside the viewer's scope;
cameras only for a viewer holding `view:video` (the wall's own permission)."""

from __future__ import annotations

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.duty.feed import local
from console.safety import geo, incidents, places, response_plan
from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import VIEW_VIDEO
from console.store import Alert, Grid, GridWorker
from console.store import names as area_names
from console.store.codes import ALERT_SEVERITIES, GRID_ROLES, INCIDENT_STATES
from console.store.masking import mask_phone
from console.video import service as video

MAX_WORKERS = 20  # the nearest grids first: enough to call, short enough to read


def workers_near(s: Session, scope, lon: float, lat: float, radius_m: float, own_grid: str | None) -> list[dict]:
    """Grid workers of the current grids within `radius_m` of the point (the incident's own grid first), phones
    masked, nearest grid first."""
    x0, y0, x1, y1 = geo.bbox(lon, lat, radius_m)
    grids = s.execute(select(Grid.code, Grid.name, Grid.geom_wkb).where(
        Grid.generation_high.is_(None), Grid.max_lon >= x0, Grid.min_lon <= x1, Grid.max_lat >= y0,
        Grid.min_lat <= y1)).all()
    dist = {}
    for code, _name, wkb in grids:
        if not scope.allows(code):
            continue
        d = 0.0 if code == own_grid else geo.shape_distance_m(lon, lat, shapely.from_wkb(wkb))
        if d <= radius_m:
            dist[code] = d
    if not dist:
        return []
    labels = area_names.names(s, dist)
    rows = s.scalars(select(GridWorker).where(GridWorker.grid_code.in_(sorted(dist)))).all()
    rows = sorted(rows, key=lambda w: (dist[w.grid_code], w.grid_code, w.role != "captain", w.id))[:MAX_WORKERS]
    return [{"id": w.id, "name": w.name, "role": GRID_ROLES.get(w.role, w.role), "phone": mask_phone(w.phone),
             "grid_code": w.grid_code, "grid": labels.get(w.grid_code, w.grid_code),
             "distance_m": round(dist[w.grid_code])} for w in rows]


def assemble(s: Session, viewer: Viewer, incident_id: int, camera_index=None, max_streams: int = 16) -> dict:
    inc = incidents.get(s, viewer, incident_id)
    lv = response_plan.LEVELS[inc.level]
    alert = s.get(Alert, inc.alert_id)
    known = area_names.names(s, [inc.county_code, inc.town_code, inc.village_code, inc.grid_code])
    out = {
        "id": inc.id, "alert_id": inc.alert_id, "title": inc.title, "level": lv.key, "level_label": lv.label,
        "lead": lv.lead, "radius_m": lv.radius_m, "report_minutes": lv.report_minutes,
        "state": inc.state, "state_label": INCIDENT_STATES.get(inc.state, inc.state),
        "raised_at": inc.raised_at, "raised_by": inc.raised_by, "closed_at": inc.closed_at,
        "severity_label": ALERT_SEVERITIES.get(alert.severity, alert.severity) if alert else "",
        "place": " ".join(known[c] for c in (inc.county_code, inc.town_code, inc.village_code) if c in known),
        "grid": known.get(inc.grid_code, inc.grid_code or ""), "lon": inc.lon, "lat": inc.lat,
        "cameras": [], "camera_note": "", "workers": [], "places": [], "lines": [],
        "timeline": incidents.timeline(s, inc.id),
        "wall_url": f"/video?alert={inc.alert_id}&layout={lv.cameras}",
    }
    if inc.lon is None or inc.lat is None:
        out["camera_note"] = "该事件没有位置：无法查找附近的摄像机、网格员和重点场所"
        return out
    if viewer.can(VIEW_VIDEO):
        index = camera_index if camera_index is not None else video.CameraIndex.load(s)
        try:
            near = video.nearby(s, viewer, index, inc.alert_id, lv.cameras, max_streams)
            out["cameras"], out["camera_note"] = near["cameras"], near["note"]
        except video.VideoError as exc:
            out["camera_note"] = str(exc)
    else:
        out["camera_note"] = "您没有调阅视频的权限（view:video），不列出摄像机"
    out["workers"] = workers_near(s, viewer.scope, inc.lon, inc.lat, lv.radius_m, inc.grid_code)
    out["places"] = places.places_near(s, viewer.scope, inc.lon, inc.lat, lv.radius_m)
    out["lines"] = places.lines_near(s, viewer.scope, inc.lon, inc.lat, lv.radius_m)
    guard.audit(viewer, "record.view", f"incident:{inc.id}", guard.GRANTED,
                {"workers": len(out["workers"]), "places": len(out["places"])})
    return out


def handover_report(a: dict) -> list[tuple[str, list[str]]]:
    """The printable handover (交接报告): sections of lines, from one assembly. Phones stay masked."""
    head = [f"事件：{a['title']}", f"响应级别：{a['level_label']}（牵头：{a['lead']}，{a['report_minutes']} 分钟内首报）",
            f"状态：{a['state_label']}", f"位置：{a['place']} {a['grid']}",
            f"启动（北京时间）：{local(a['raised_at'], '%Y-%m-%d %H:%M')} {a['raised_by']}"]
    return [
        ("基本情况", head),
        ("处置时间线", [f"{local(t['at'], '%m-%d %H:%M')} {t['actor']} {t['kind_label']}：{t['note']}" for t in a["timeline"]]),
        (f"周边 {a['radius_m']} 米重点场所", [f"{p['name']}（{p['kind_label']}，{p['risk_label']}，{p['distance_m']} 米）"
                                         for p in a["places"]] or ["无"]),
        ("护路护线", [f"{x['name']}（{x['distance_m']} 米）" for x in a["lines"]] or ["无"]),
        ("周边网格员", [f"{w['grid']} {w['role']} {w['name']} {w['phone']}" for w in a["workers"]] or ["无"]),
        ("上墙摄像机", [f"{c['name']}（{c['distance_m']} 米）" for c in a["cameras"]] or [a["camera_note"] or "无"]),
    ]
