"""A grid file as a draft state: read (geodata.planner.gridfile), snap to the stored borders, inherit codes."""

from __future__ import annotations

from geodata.planner import gridfile
from geodata.planner.codes import inherit_codes
from geodata.planner.draft import DraftGrid, EditError, State, snap_to_current

from .village import VillageData


def imported_state(data: bytes, filename: str, village: VillageData, *, crs: str | None = None,
                   encoding: str | None = None) -> tuple[State, list[str]]:
    """(draft state, warnings). File problems raise EditError with the reader's message for the planner.

    Codes in the file are kept as they are (validity reports codes of another village or duplicates);
    grids without a code inherit the code of the current grid they mostly cover."""
    try:
        result = gridfile.read_grid_file(data, filename, crs=crs, encoding=encoding)
    except gridfile.GridFileError as exc:
        raise EditError(str(exc)) from exc
    grids = tuple(DraftGrid(g.code or None, g.geometry, g.name or "") for g in result.grids)
    snapped = snap_to_current(grids, village.geometry, village.grids)
    return inherit_codes(snapped, village.grids), list(result.warnings)
