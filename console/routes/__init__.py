"""Flask routes of the console (layer GeoJSON by URL, popup details, basemap)."""

from .layers import blueprint

__all__ = ["blueprint"]
