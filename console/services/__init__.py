"""Pure functions behind the console: navigation, KPIs, GeoJSON, viewer. No Dash imports here."""
