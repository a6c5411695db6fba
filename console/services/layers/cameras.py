"""公共安全视频 (雪亮工程): online / offline."""

from __future__ import annotations

from console.services import permissions as perm
from console.store import Camera
from console.store.codes import CAMERA_KINDS, CAMERA_STATUS

from .base import LegendItem, PointLayer, label

STATUS_COLORS = {"online": "#3182ce", "offline": "#a0aec0"}


def _describe(c: Camera) -> list:
    beat = c.last_heartbeat.strftime("%Y-%m-%d %H:%M") if c.last_heartbeat else ""
    return [("名称", c.name), ("设备编码", c.device_id), ("类型", label(CAMERA_KINDS, c.kind)),
            ("状态", label(CAMERA_STATUS, c.status)), ("朝向", f"{c.direction}°"), ("最后心跳", beat)]


LAYER = PointLayer(
    key="cameras", title="视频监控", permission=perm.LAYER_CAMERAS, kind="point", default_on=False,
    model=Camera, columns=("status",), props=lambda r: {"s": r.status}, describe=_describe, min_level="town",
    bubble_color="#2c5282", bubble_label="摄像机台数",
    legend=tuple(LegendItem(f"摄像机{CAMERA_STATUS[k]}", c) for k, c in STATUS_COLORS.items()),
    hideout={"layer": "cameras", "bubbleOffset": [-24, 60], "colorBy": "s", "colors": STATUS_COLORS, "radius": 4},
)
