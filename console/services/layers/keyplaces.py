"""公共安全重点场所: schools, hospitals, hazardous sites, petrol stations, delivery points, markets — a glyph per
kind, coloured by risk level (docs/safety.md). The popup says whether an online camera's sector covers it."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from console.services import permissions as perm
from console.store import Camera
from console.store.codes import KEY_PLACE_KINDS, KIND_GLYPHS, RISK_COLORS, RISK_LEVELS
from console.store.safety_models import KeyPlace
from console.video import coverage
from console.video.coverage_service import camera_sectors

from .base import LegendItem, PointLayer, label

NEAR_DEG = 0.002  # cameras further than this (≈ 200 m) cannot cover the place: the longest range is 80 m


def covered_by_camera(session, place: KeyPlace) -> bool:
    if place.lon is None:
        return False
    rows = session.execute(select(Camera.lon, Camera.lat, Camera.direction, Camera.kind).where(
        Camera.status == "online", Camera.lon.between(place.lon - NEAR_DEG, place.lon + NEAR_DEG),
        Camera.lat.between(place.lat - NEAR_DEG, place.lat + NEAR_DEG))).all()
    geoms = camera_sectors(np.array([r[0] for r in rows], float), np.array([r[1] for r in rows], float),
                           np.array([r[2] or 0 for r in rows], float), np.array([r[3] for r in rows], dtype=object))
    return bool(coverage.covered(geoms, np.array([place.lon]), np.array([place.lat]))[0])


def _describe(p: KeyPlace) -> list:
    rows = [("名称", p.name), ("类别", label(KEY_PLACE_KINDS, p.kind)), ("风险等级", label(RISK_LEVELS, p.risk_level)),
            ("地址", p.address), ("安全负责人", p.contact), ("场所编号", p.code)]
    return rows + ([("数据来源", "演示数据（合成）")] if p.synthetic else [])


class KeyPlacesLayer(PointLayer):
    def detail(self, session, scope, fid: int) -> list | None:
        rows = super().detail(session, scope, fid)
        if rows is None:
            return None
        seen = covered_by_camera(session, session.get(KeyPlace, fid))
        return rows + [("视频覆盖", "在线摄像机可见" if seen else "未被在线摄像机覆盖")]


LAYER = KeyPlacesLayer(
    key="keyplaces", title="重点场所", permission=perm.LAYER_SAFETY, kind="point", default_on=False,
    model=KeyPlace, columns=("kind", "risk_level"), props=lambda r: {"k": r.kind, "r": r.risk_level},
    describe=_describe, min_level="town", bubble_color="#97266d", bubble_label="重点场所个数",
    legend=(*(LegendItem(KEY_PLACE_KINDS[k], "#4a5568", "glyph", g) for k, g in KIND_GLYPHS.items()),
            *(LegendItem(RISK_LEVELS[k], c, "square") for k, c in RISK_COLORS.items())),
    hideout={"layer": "keyplaces", "bubbleOffset": [0, -40], "glyphBy": "k", "glyphs": KIND_GLYPHS, "colorBy": "r",
             "colors": RISK_COLORS, "square": True},
)
