"""Flask routes of the console (layer GeoJSON by URL, popup details, basemap, popup 「显示」)."""

from flask import Blueprint

from .layers import blueprint as _layers
from .popups import blueprint as _popups
from .unmask import blueprint as _unmask

blueprint = Blueprint("pingan_routes", __name__)
blueprint.register_blueprint(_layers)
blueprint.register_blueprint(_unmask)
blueprint.register_blueprint(_popups)

__all__ = ["blueprint"]
