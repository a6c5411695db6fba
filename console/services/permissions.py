"""Permission names the console checks. The names are owned by the security layer (docs/security.md §2,
`console.security.permissions`); they are re-exported here so that console code has one import."""

from console.security.permissions import (  # noqa: F401 - re-exported
    LAYER_AREAS, LAYER_CAMERAS, LAYER_DISPUTES, LAYER_GRIDS, LAYER_ORGS, LAYER_PERMISSIONS, LAYER_POPULATION,
    LAYER_SPECIAL, UNMASK, VIEW_ALERTS, VIEW_CASES, VIEW_KPI, VIEW_PERSONS, VIEW_VIDEO, LAYER_SAFETY, LAYER_INCIDENTS,
)

# Everything the console itself checks (pages, callbacks, layer routes).
ALL = frozenset({
    LAYER_AREAS, LAYER_GRIDS, LAYER_POPULATION, LAYER_SPECIAL, LAYER_DISPUTES, LAYER_CAMERAS, LAYER_ORGS,
    VIEW_KPI, VIEW_PERSONS, VIEW_CASES, UNMASK, VIEW_VIDEO, LAYER_SAFETY, LAYER_INCIDENTS,
})
