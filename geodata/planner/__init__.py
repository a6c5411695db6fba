"""Grid planner core (网格规划): pure functions over shapely geometry, no database and no Dash.

- `draft`     -- a draft state (grids with codes and geometry) and the edits on it
- `validity`  -- 不重不漏 checks: overlap, gap, outside, multipart, sliver, invalid ring
- `balance`   -- households/residents per grid with the assignment engine, deviation from the band
- `propose`   -- automatic proposal of K compact, balanced grids for a village
- `moves`     -- who changes grid between two states
- `codes`     -- which grid keeps which code; codes for new grids
- `rules`     -- the band and tolerances, metric helpers
- `gridfile`  -- import/export of grid boundaries (GeoJSON, Shapefile, GeoPackage; WGS84/CGCS2000/GCJ-02), with
                 `gridfile_source` (containers), `gridfile_crs`, `gridfile_text` (encodings) and `gcj02`
"""
