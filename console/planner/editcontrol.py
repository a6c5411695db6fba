"""What the planner did with dash-leaflet's EditControl, read from its `geojson` prop.

The page puts at most one editable polygon in the control's FeatureGroup: the selected grid. The control
reports every layer it holds with Leaflet's `_leaflet_id`; the first report after a (re)mount tells us
which id is the selected grid. Later reports are read as:
- that id's polygon changed → redraw the selected grid; that id gone → delete the selected grid;
- a new polygon or rectangle → create a grid; a new polyline → split along it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geodata.planner.codes import same_shape

POLYGON_TYPES = {"polygon", "rectangle"}


@dataclass(frozen=True)
class Action:
    name: str                           # redraw / delete / create / split
    geometry: BaseGeometry | None = None


def _id(feature: dict):
    return (feature.get("properties") or {}).get("_leaflet_id")


def _geometry(feature: dict) -> BaseGeometry | None:
    try:
        geom = shape(feature.get("geometry") or {})
    except Exception:  # noqa: BLE001 - a malformed feature is ignored, not a crash
        return None
    return None if geom.is_empty else geom


def mount_id(features: list[dict]) -> int | None:
    """The Leaflet id of the selected grid in the report that follows a mount (None: nothing editable)."""
    polys = [f for f in features if (f.get("properties") or {}).get("type") in POLYGON_TYPES]
    return _id(polys[0]) if len(polys) == 1 else None


def interpret(features: list[dict], mounted: int | None, selected: BaseGeometry | None) -> list[Action]:
    actions: list[Action] = []
    seen_selected = False
    for f in features or []:
        kind = (f.get("properties") or {}).get("type")
        geom = _geometry(f)
        if mounted is not None and _id(f) == mounted:
            seen_selected = True
            if geom is not None and selected is not None and not same_shape(geom, selected, 1e-7):
                actions.append(Action("redraw", geom))
        elif kind in POLYGON_TYPES and geom is not None:
            actions.append(Action("create", geom))
        elif kind == "polyline" and geom is not None:
            actions.append(Action("split", geom))
    if mounted is not None and not seen_selected:
        actions.insert(0, Action("delete"))
    return actions
