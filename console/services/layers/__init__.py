"""Map layers, one module each, all of the shape query → GeoJSON → style (see `layers.base`)."""

from . import areas, cameras, coverage, disputes, grids, incidents, keyplaces, orgs, population, safetylines, special
from .base import Layer, LegendItem, PointLayer

LAYERS: dict[str, Layer] = {m.LAYER.key: m.LAYER for m in (areas, grids, population, special, disputes, orgs, cameras,
                                                         coverage, keyplaces, safetylines, incidents)}
OVERLAY_KEYS = tuple(k for k in LAYERS if k != "areas")

__all__ = ["LAYERS", "OVERLAY_KEYS", "Layer", "LegendItem", "PointLayer"]
