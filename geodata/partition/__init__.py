"""Exact polygon partitions for the synthetic administrative hierarchy (pure shapely 2 / numpy).

Public API
----------
- :func:`partition_by_seeds` -- Voronoi / weighted power-diagram cells of seeds, clipped to a parent.
- :func:`balanced_bisection` -- k compact pieces with (nearly) equal point counts + point labels.
- :func:`farthest_point_seeds` -- n well-spread seeds inside a polygon, optional density.
- :func:`check_partition` -- list of problems (gap, overlap, invalid/multipart/empty piece, ...).
- :func:`label_points` -- piece index of each point, consistent with ``shapely.contains_xy``.
- :func:`gaussian_density`, :func:`line_density` -- density helpers for seed placement.

Coordinates are lon/lat degrees; distances internally use x * cos(mid-latitude).
All functions are deterministic. See ``_common`` for how exactness is achieved.
"""
from ._common import PartitionError
from .bisection import balanced_bisection, label_points
from .check import check_partition
from .seeds import farthest_point_seeds, gaussian_density, line_density, partition_by_seeds

__all__ = [
    "PartitionError",
    "balanced_bisection",
    "check_partition",
    "farthest_point_seeds",
    "gaussian_density",
    "label_points",
    "line_density",
    "partition_by_seeds",
]
