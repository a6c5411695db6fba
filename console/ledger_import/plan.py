"""A ledger file → a plan: one verdict per row (new, changed with the fields that change, unchanged, or the problems
that keep it out), before anything is written. Pure over the session: reads only."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from sqlalchemy import select

from console.ledgers.cells import Cells
from console.ledgers.reader import Ledger, Row
from console.store import AreaScope, Building
from console.store.bulk import where_key_in
from console.store.grid_locator import locator_for
from geodata.planner.gcj02 import gcj02_to_wgs84

from . import rowhash
from . import values as v
from .kinds import LedgerKind

CRS_CHOICES = {"wgs84": "WGS84 / CGCS2000（GPS、天地图）", "gcj02": "GCJ-02（高德、腾讯地图导出）"}
LOCATED = ("lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")
STATUS_LABELS = {"new": "新增", "changed": "更新", "unchanged": "无变化", "error": "有错误"}


@dataclass
class RowVerdict:
    number: int  # the spreadsheet row the user sees
    status: str  # STATUS_LABELS key
    key: str | None = None  # the natural key's value
    problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # labels of the fields an update changes
    record: dict = field(default_factory=dict)
    row_hash: bytes | None = None  # the row's cells (rowhash.py), for kinds that remember rows
    skipped: bool = False  # recognised by its hash as the row the stored record was written from


@dataclass
class ImportPlan:
    kind: str
    file_hash: str
    filename: str
    sheet: str
    crs: str
    notices: list[str]
    rows: list[RowVerdict]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def problem_rows(self) -> list[RowVerdict]:
        return [r for r in self.rows if r.problems]

    @property
    def accepted(self) -> list[RowVerdict]:
        return [r for r in self.rows if r.status in ("new", "changed")]

    @property
    def summary(self) -> str:
        parts = [f"{STATUS_LABELS[s]} {self.count(s)} 行" for s in STATUS_LABELS if self.count(s)]
        return "，".join(parts) or "没有数据行"


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plan_import(session, kind: LedgerKind, ledger: Ledger, *, data_hash: str, filename: str, scope: AreaScope,
                crs: str = "wgs84") -> ImportPlan:
    check_crs(crs)
    verdicts = plan_rows(session, kind, ledger.rows, crs=crs, scope=scope, written=ledger.columns)
    notices = list(ledger.notices)
    if not ledger.rows:
        notices.append(EMPTY)
    return ImportPlan(kind.key, data_hash, filename, ledger.sheet, crs, notices, verdicts)


EMPTY = "文件只有表头，没有数据行"


def check_crs(crs: str) -> None:
    if crs not in CRS_CHOICES:
        raise ValueError(f"未知的坐标系：{crs}")


def plan_rows(session, kind: LedgerKind, rows: list[Row] | Cells, *, crs: str, scope: AreaScope,
              written: dict[str, str], hashes: list[str] | None = None, duplicates: dict[str, list[int]] | None = None,
              placed: dict[str, tuple] | None = None) -> list[RowVerdict]:
    """The verdicts of `rows`: the whole file, or one chunk of it (stream.py). For a chunk, the caller has already
    set aside the rows seen before and gives the others' `hashes`, and `duplicates` names each key on several rows
    of the whole file with all their numbers. `placed`: the addresses the file's earlier chunks will have
    registered (address key → location), when those are not in the database this session reads (saver.py)."""
    verdicts = _verdicts(session, kind, rows, crs, scope, hashes)
    _mark_duplicates(kind, verdicts, duplicates)
    todo = [r for r in verdicts if not r.skipped]
    if kind.placement is not None:
        for r in todo:
            r.record.pop("_address", None)
            r.record.pop("lon", None) if r.record.get("lon") is None else None
        kind.placement(session, [r for r in todo if r.status != "error"], scope, _refuse)
    elif kind.located:
        _locate(session, [r for r in todo if r.status != "error"], crs, scope, placed)
    else:
        _check_grids(session, [r for r in todo if r.status != "error" and r.record.get("grid_code")])
        for r in todo:
            r.record.pop("_address", None)
            area = r.record.get("grid_code") or r.record.get("county_code")
            if r.status != "error" and not scope.allows(area):
                _refuse(r, "不在您的数据范围内")
    _compare(session, kind, [r for r in todo if r.status != "error"], scope, written)
    return verdicts


def _verdicts(session, kind: LedgerKind, rows: list[Row] | Cells, crs: str, scope: AreaScope,
              hashes: list[str] | None) -> list[RowVerdict]:
    """Rows the stored records were written from are recognised by hash (rowhash.py); the others are converted."""
    if hashes is not None:  # a chunk whose rows seen before were set aside by the caller
        out = _convert_many(kind, rows)
        for verdict, h in zip(out, hashes):
            verdict.row_hash = h
        return out
    if not rowhash.hashed(kind):
        return _convert_many(kind, rows)
    if isinstance(rows, Cells):
        rows = rows.rows()
    hashes = rowhash.row_hashes(kind, crs, [row.values for row in rows])
    seen = rowhash.seen_before(session, kind, [(h, row.values) for h, row in zip(hashes, rows)], scope)
    out: list[RowVerdict | None] = []
    todo: list[Row] = []
    for row, h in zip(rows, hashes):
        hit = seen.get(h)
        if hit is None:
            out.append(None)
            todo.append(row)
            continue
        record = {"grid_code": hit["grid_code"], "_id": hit["id"]}
        if "name" in row.values:
            record["name"] = v.cell_text(row.values["name"])
        out.append(RowVerdict(row.number, "unchanged", hit["key"], record=record, skipped=True))
    converted = iter(_convert_many(kind, todo))
    out = [next(converted) if verdict is None else verdict for verdict in out]
    for verdict, h in zip(out, hashes):
        verdict.row_hash = h
    return out


def _convert_many(kind: LedgerKind, rows: list[Row] | Cells) -> list[RowVerdict]:
    """Each row's cells → a record and its problems: in bulk, a column at a time, for kinds that can (persons), else
    row by row."""
    if kind.convert_many is None:
        return [_convert(kind, row.number, row.values) for row in (rows.rows() if isinstance(rows, Cells) else rows)]
    cells = rows if isinstance(rows, Cells) else Cells.of_rows(rows)
    located = kind.located and kind.placement is None
    lons, lats = (cells.column("lon"), cells.column("lat")) if located else (repeat(None), repeat(None))
    return [_verdict(kind, number, record, problems, lon, lat, address)
            for number, (record, problems), lon, lat, address in zip(
                cells.numbers, kind.convert_many(cells), lons, lats, cells.column("address"))]


def _convert(kind: LedgerKind, number: int, values: dict) -> RowVerdict:
    record, problems = kind.convert(values)
    return _verdict(kind, number, record, problems, values.get("lon"), values.get("lat"), values.get("address"))


_LON, _LAT = v.LON_RANGE, v.LAT_RANGE


def _verdict(kind: LedgerKind, number: int, record: dict, problems: list[str], lon, lat, address) -> RowVerdict:
    if kind.located and kind.placement is None:
        # numbers inside Ankang's box, as most rows have them: what v.coordinate would return, without its checks
        if not (type(lon) is float and type(lat) is float and _LON[0] <= lon <= _LON[1] and _LAT[0] <= lat <= _LAT[1]):
            (lon, lat), problem = v.coordinate(lon, lat)
            if problem:
                problems.append(problem)
        record["lon"], record["lat"] = lon, lat
    record["_address"] = address
    key = record.get(kind.natural_key)
    return RowVerdict(number, "error" if problems else "new", key, problems, record=record)


def _mark_duplicates(kind: LedgerKind, rows: list[RowVerdict], in_file: dict[str, list[int]] | None = None) -> None:
    """The same key on several rows: every row involved is refused, naming them all (`in_file`: the rows of the
    whole file, when `rows` is one chunk of it)."""
    if in_file is not None:
        for r in rows:
            numbers = in_file.get(r.key) if r.key else None
            if numbers:
                r.problems.append(f"{kind.key_header}在文件中重复（第{'、'.join(map(str, numbers))}行）")
                r.status = "error"
        return
    by_key: dict[str, list[RowVerdict]] = defaultdict(list)
    for r in rows:
        if r.key:
            by_key[r.key].append(r)
    for same in by_key.values():
        if len(same) > 1:
            numbers = "、".join(str(r.number) for r in same)
            for r in same:
                r.problems.append(f"{kind.key_header}在文件中重复（第{numbers}行）")
                r.status = "error"


def _locate(session, rows: list[RowVerdict], crs: str, scope: AreaScope, placed: dict[str, tuple] | None = None
            ) -> None:
    """Coordinates (converted from GCJ-02 when the file says so) → grid; no coordinates → the registered building
    with the same address (or, with `placed`, one an earlier chunk of the file registers); else the row cannot be
    placed."""
    by_address = _buildings_by_address(session, {r.record["_address"] for r in rows
                                                 if r.record["lon"] is None and r.record.get("_address")})
    pts = [r for r in rows if r.record["lon"] is not None]
    if pts:
        lon = np.array([r.record["lon"] for r in pts])
        lat = np.array([r.record["lat"] for r in pts])
        if crs == "gcj02":
            lon, lat = gcj02_to_wgs84(lon, lat)
        for r, x, y, where in zip(pts, lon.tolist(), lat.tolist(), locator_for(session).locate_many(lon, lat)):
            record = r.record
            record["lon"], record["lat"] = round(x, 7), round(y, 7)
            if where is None:
                _refuse(r, f"坐标 ({x:.6f}, {y:.6f}) 不在任何现行网格内")
            else:
                record.update(where)
    allowed: dict[str | None, bool] = {}  # scope.allows per grid, once
    for r in rows:
        record = r.record
        if record["lon"] is None:
            found = by_address.get(_address_key(record.get("_address")))
            if found is None and placed:
                found = placed.get(record.get("_address"))
                found = dict(zip(LOCATED, found)) if found is not None else None
            if found is None:
                _refuse(r, "无法定位：请填写经纬度，或使地址与已登记的房屋地址一致")
                continue
            record.update(found)
        if r.status != "error":
            grid = record.get("grid_code")
            ok = allowed.get(grid)
            if ok is None:
                ok = allowed[grid] = scope.allows(grid)
            if not ok:
                _refuse(r, "位置不在您的数据范围内")
        record.pop("_address", None)


def _check_grids(session, rows: list[RowVerdict]) -> None:
    """Records tied to a grid by its code (rosters): the grid must be a current one."""
    from console.store import Grid

    codes = sorted({r.record["grid_code"] for r in rows})
    current = set(session.scalars(select(Grid.code).where(Grid.code.in_(codes), Grid.generation_high.is_(None))))
    for r in rows:
        if r.record["grid_code"] not in current:
            _refuse(r, f"网格编码 {r.record['grid_code']} 不是现行网格")


def _refuse(r: RowVerdict, problem: str) -> None:
    r.problems.append(problem)
    r.status = "error"


def remember_places(placed: dict[str, tuple], verdicts: list[RowVerdict]) -> None:
    """The addresses whose buildings a save of `verdicts` registers (new and changed records with coordinates),
    for `plan_rows(placed=…)` of the later chunks: address as written → location (a tuple in LOCATED order,
    ~100 bytes an address); the first row of an address wins, as in the database."""
    for r in verdicts:
        record = r.record
        if r.status in ("new", "changed") and record.get("lon") is not None:
            address = record.get("address")
            if address and address not in placed:
                placed[address] = tuple(record.get(c) for c in LOCATED)


def _address_key(text) -> str:
    return "".join(v.cell_text(text).split())


def _buildings_by_address(session, addresses: set[str]) -> dict[str, dict]:
    keys = {_address_key(a) for a in addresses if a}
    if not keys:
        return {}
    out: dict[str, dict] = {}
    rows = session.execute(select(Building.address, *[getattr(Building, c) for c in LOCATED])
                           .where(Building.address.in_(sorted(addresses)))).all()
    for row in rows:
        out.setdefault(_address_key(row[0]), dict(zip(LOCATED, row[1:])))
    return {k: out[k] for k in keys if k in out}


def _compare(session, kind: LedgerKind, rows: list[RowVerdict], scope: AreaScope, written: dict[str, str]) -> None:
    """new / changed (naming the columns as the file writes them) / unchanged, against the stored records."""
    keys = sorted({r.key for r in rows if r.key})
    stored = (kind.lookup or lookup_by_key)(session, kind, keys)
    labels = {**{c.field: c.header for c in kind.spec.columns}, **written}
    for r in rows:
        if r.status == "error":
            continue
        old = stored.get(r.key)
        if old is None:
            r.status = "new"
            continue
        if not scope.allows(old["_grid"]):  # the same key is registered elsewhere: never touch another area's record
            _refuse(r, f"{kind.key_header}已登记在您数据范围以外的地区，不能由本次导入修改")
            continue
        if "_id" in old:  # a lookup that read the record's id: the save updates and remembers by it, no look-up
            r.record["_id"] = old["_id"]
        if "details" in r.record and old.get("details"):
            r.record["details"] = merged_details(old["details"], r.record["details"])
        record = r.record  # `!=` first: most fields are equal, and _same only decides for those that are not
        changed = [f for f in kind.compared if f in record and old[f] != record[f] and not _same(old[f], record[f])]
        r.status = "changed" if changed else "unchanged"
        r.changes = sorted({"位置" if f in ("lon", "lat") else labels.get(f, f) for f in changed})


def merged_details(stored: str, given: str) -> str:
    """A record's category facts (a JSON object): the ledger's columns replace what they name, facts the ledger
    has no column for (刑期, 监所 … from another source) are kept."""
    try:
        old = json.loads(stored or "{}")
        new = json.loads(given or "{}")
    except ValueError:
        return given
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return given
    merged = {**old, **new}
    return stored if merged == old else json.dumps(merged, ensure_ascii=False, sort_keys=True)


def lookup_by_key(session, kind: LedgerKind, keys: list[str]) -> dict[str, dict]:
    """The stored records of a one-table kind, by natural key: {key: {"_grid": grid code, compared field: value}}."""
    model = kind.model
    key_col = getattr(model, kind.natural_key)
    cols = [getattr(model, c) for c in kind.compared]
    # a sealed key (a worker's phone) is matched by its blind index
    return {row[0]: {"_grid": row[1], **dict(zip(kind.compared, row[2:]))}
            for row in where_key_in(session, select(key_col, model.grid_code, *cols), model, kind.natural_key, keys)}


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6
    return a == b
