"""Grid planner service (网格规划): drafts in the store, evaluation, preview, commit as a generation, rollback.

Geometry and rules are pure functions in `geodata.planner`; this package reads and writes the store and
enforces who may do what (`grid:edit` within the viewer's scope).
"""
