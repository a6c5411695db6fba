"""Reading dash-leaflet EditControl reports into planner actions (no browser)."""

from __future__ import annotations

from shapely.geometry import box, mapping

from console.planner.editcontrol import interpret, mount_id

GRID = box(109.0, 32.7, 109.01, 32.71)


def feature(geom, kind="polygon", lid=1):
    return {"type": "Feature", "properties": {"type": kind, "_leaflet_id": lid}, "geometry": mapping(geom)}


def test_the_first_report_after_a_mount_names_the_selected_grid():
    assert mount_id([feature(GRID, lid=77)]) == 77
    assert mount_id([]) is None


def test_an_untouched_report_means_nothing_to_do():
    assert interpret([feature(GRID, lid=5)], 5, GRID) == []


def test_vertex_drag_is_a_redraw_of_the_selected_grid():
    moved = box(109.0, 32.7, 109.012, 32.71)
    (a,) = interpret([feature(moved, lid=5)], 5, GRID)
    assert a.name == "redraw" and a.geometry.equals(moved)


def test_same_ring_from_another_start_vertex_is_not_a_change():
    rotated = {"type": "Polygon", "coordinates": [[list(c) for c in list(GRID.exterior.coords)[1:]]
                                                  + [list(GRID.exterior.coords)[1]]]}
    f = {"type": "Feature", "properties": {"type": "polygon", "_leaflet_id": 5}, "geometry": rotated}
    assert interpret([f], 5, GRID) == []


def test_removed_selected_grid_is_a_delete():
    assert [a.name for a in interpret([], 5, GRID)] == ["delete"]


def test_new_shapes_are_create_and_split():
    line = {"type": "Feature", "properties": {"type": "polyline", "_leaflet_id": 9},
            "geometry": {"type": "LineString", "coordinates": [[109.0, 32.7], [109.01, 32.71]]}}
    acts = interpret([feature(GRID, lid=5), feature(box(109.001, 32.701, 109.002, 32.702), "rectangle", 8), line],
                     5, GRID)
    assert [a.name for a in acts] == ["create", "split"]


def test_a_malformed_feature_is_ignored():
    bad = {"type": "Feature", "properties": {"type": "polygon", "_leaflet_id": 3}, "geometry": {"type": "Polygon"}}
    assert interpret([feature(GRID, lid=5), bad], 5, GRID) == []
