"""Console settings: defaults, overridable by environment variables (PINGAN_*) or by the caller."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Settings:
    title: str = "平安一张图"
    # Raster basemap (intranet 天地图 / GeoServer). Off by default: the map is drawn from shipped data.
    tile_url: str | None = None
    tile_kind: str = "xyz"  # "xyz" or "wms"
    wms_layers: str = ""
    attribution: str = "平安一张图 · 安康市综治中心"
    theme: str = "light"  # "light" or "dark" (big-screen)
    kpi_cache_seconds: int = 300
    geojson_cache_seconds: int = 300
    max_points: int = 1500  # above this many records in the area, a point layer sends count bubbles per child
    # (1500: every town (max 1,395 of a kind) still shows points; big counties show one bubble per town)
    warm_cache: bool = True  # compute the city-wide KPIs in the background at start-up
    # POST /api/events per source: 1,000 events/s (above what one server sustains, ~900/s measured in
    # docs/duty.md), burst 2,000 — a runaway or stolen source key cannot flood the alert tables
    ingest_per_minute: float = 60_000
    ingest_burst: int = 2_000
    kiosk_seconds: int = 20  # the wall's rotating dashboard: seconds per panel (?interval= overrides per screen)
    # The wall's read-only figures from a streaming replica (docs/deploy.md § Replica); beyond the lag limit, or
    # when the replica cannot be reached, the wall reads the primary
    replica_url: str | None = None
    replica_max_lag_s: float = 60.0

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        values: dict = {}
        if env.get("PINGAN_TILE_URL"):
            values["tile_url"] = env["PINGAN_TILE_URL"].strip()
        if env.get("PINGAN_TILE_KIND") in ("xyz", "wms"):
            values["tile_kind"] = env["PINGAN_TILE_KIND"]
        if env.get("PINGAN_WMS_LAYERS"):
            values["wms_layers"] = env["PINGAN_WMS_LAYERS"]
        if env.get("PINGAN_ATTRIBUTION"):
            values["attribution"] = env["PINGAN_ATTRIBUTION"]
        if env.get("PINGAN_THEME") in ("light", "dark"):
            values["theme"] = env["PINGAN_THEME"]
        if env.get("PINGAN_WARM_CACHE") in ("0", "false", "no"):
            values["warm_cache"] = False
        if env.get("PINGAN_INGEST_PER_MINUTE"):
            values["ingest_per_minute"] = float(env["PINGAN_INGEST_PER_MINUTE"])
        if env.get("PINGAN_KIOSK_SECONDS", "").strip().isdigit():
            values["kiosk_seconds"] = int(env["PINGAN_KIOSK_SECONDS"])
        if env.get("PINGAN_REPLICA_URL", "").strip():
            values["replica_url"] = env["PINGAN_REPLICA_URL"].strip()
        if env.get("PINGAN_REPLICA_MAX_LAG", "").strip():
            try:
                values["replica_max_lag_s"] = float(env["PINGAN_REPLICA_MAX_LAG"])
            except ValueError:
                raise ValueError(f"PINGAN_REPLICA_MAX_LAG 应为秒数，而不是 {env['PINGAN_REPLICA_MAX_LAG']!r}") from None
        return replace(cls(**values), **overrides)
