"""实有人口 ledger: one row per person, carrying the household (户号, 现住址) and the building (房屋编号) — 以房管人.
Persons are identified by the identity number through its blind index (the number itself is sealed at rest);
households by 户号, buildings by 房屋编号 or, without one, by the address."""

from __future__ import annotations

import hashlib
import operator
from collections import Counter

from sqlalchemy import func, select, update

from console.ledgers.reader import Column, LedgerSpec
from console.store import Building, Household, Person
from console.store.bulk import insert_tuples, next_ids, update_tuples, where_in
from console.store.crypto import require_keyring

from . import values as v
from .kinds import LOCATION_COLUMNS, LedgerKind
from .person_rows import convert_person, convert_persons

PERSON_FIELDS = ("name", "sex", "birth_date", "ethnicity", "native_place", "marital", "education", "occupation",
                 "phone", "residence_type", "relation_to_head", "registered_here", "registered_address")
_PERSON_COLUMNS = (*PERSON_FIELDS, "lon", "lat", "county_code", "town_code", "village_code", "grid_code",
                   "assign_generation")
_PICK_COLUMNS = operator.itemgetter(*_PERSON_COLUMNS)


def _person_columns(record: dict) -> tuple:
    try:
        return _PICK_COLUMNS(record)  # a located, converted row has them all
    except KeyError:
        return tuple(record.get(c) for c in _PERSON_COLUMNS)


_INDEXES: dict = {"ring": None, "memo": {}}
_INDEX_MEMO = 150_000  # identity numbers whose blind indexes are kept: more than a chunk's, for its four look-ups


def index_map(keys) -> dict[str, str]:
    """{blind index: identity number} under every key of the ring (KeyRing.blind_index_map), each number hashed
    once however many times a chunk looks it up (compare, save, remember)."""
    keys = [k for k in keys if k is not None]
    memo = _indexes(keys)
    return {index: k for k in keys for index in memo[k]}


def _indexes(keys: list[str]) -> dict[str, tuple[str, ...]]:
    """The memo, holding every number of `keys` with its blind indexes under the ring's keys (current first)."""
    ring = require_keyring()
    if _INDEXES["ring"] is not ring or len(_INDEXES["memo"]) > _INDEX_MEMO:
        _INDEXES.update(ring=ring, memo={})
    memo = _INDEXES["memo"]
    missing = list({k for k in keys if k not in memo})
    if missing:
        columns = [ring.blind_index_many(missing, "id_number", key) for key in ring.keys]
        memo.update(zip(missing, zip(*columns)))
    return memo


def current_indexes(keys: list[str]) -> list[str]:
    """The blind index under the ring's current key (the first of `index_map`'s) of each number."""
    memo = _indexes(keys)
    return [memo[k][0] for k in keys]


def _carry(verdicts) -> None:
    """The blind indexes the comparison computed for the new persons' numbers ride along with their records to the
    save process (saver.py), which would otherwise hash the same numbers again."""
    new = [r.record for r in verdicts if r.status == "new"]
    memo = _indexes([record["id_number"] for record in new])
    for record in new:
        record["_bidx"] = memo[record["id_number"]]


def _new_indexes(new: list[dict]) -> list[str]:
    """The blind index under the ring's current key of each new person's number: carried from the importing
    process (`_carry`), else computed here."""
    if new and "_bidx" in new[0]:  # a chunk's records are all carried or none
        return [r.pop("_bidx")[0] for r in new]
    return current_indexes([r["id_number"] for r in new])


def current_index_column(keys: list[str]) -> list[str]:
    """`current_indexes` for a column as long as a whole file (a million numbers checked against the rows they were
    remembered from): computed in one pass, not kept in the memo, which serves a chunk's four look-ups."""
    return require_keyring().blind_index_many(keys, "id_number")


def _lookup(session, kind, keys: list[str]) -> dict[str, dict]:
    by_index = index_map(keys)
    cols = [getattr(Person, c) for c in kind.compared if hasattr(Person, c)]
    names = [c.key for c in cols]
    stored: dict[str, dict] = {}
    for row in where_in(session, select(Person.id_number_bidx, Person.grid_code, Household.code, Person.id, *cols)
                        .join(Household, Household.id == Person.household_id), Person.id_number_bidx, by_index):
        stored[by_index[row[0]]] = {"_grid": row[1], "household_code": row[2], "_id": row[3],
                                    **dict(zip(names, row[4:]))}
    return stored


def _ids(session, kind, keys: list[str]) -> dict[str, int]:
    """identity number → person id, through the blind index (under every key of the ring)."""
    by_index = index_map(keys)
    return {by_index[bidx]: pid for bidx, pid in where_in(session, select(Person.id_number_bidx, Person.id),
                                                          Person.id_number_bidx, by_index)}


def _building_code(rec: dict) -> str:
    if rec.get("building_code"):
        return rec["building_code"]
    # no 房屋编号 in the ledger: one building per address, with a code derived from it (stable across imports)
    return "A" + hashlib.sha1(rec["address"].encode("utf-8")).hexdigest()[:20].upper()


def _by(s, column, key_column, values) -> dict:
    """{key: value of `column`} for the rows whose `key_column` is among `values`."""
    return dict(where_in(s, select(key_column, column), key_column, values))


_PICK_FIELDS = operator.itemgetter(*PERSON_FIELDS)


def _person_fields(record: dict) -> tuple:
    try:
        return _PICK_FIELDS(record)
    except KeyError:
        return tuple(record.get(c) for c in PERSON_FIELDS)


_LOCATED = ("lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")
_PICK_LOCATED = operator.itemgetter(*_LOCATED)


def _located(record: dict) -> tuple:
    try:
        return _PICK_LOCATED(record)
    except KeyError:
        return tuple(record.get(c) for c in _LOCATED)


def _insert_new(s, model, names: tuple[str, ...], fresh: dict[str, tuple]) -> dict[str, int]:
    """Insert the rows (tuples in `names` order, keyed by their unique code) and return {code: id}: given their ids
    (SQLite under the write lock, bulk.next_ids), else read back in one range scan past the largest id before."""
    if not fresh:
        return {}
    ids, last = _insert_numbered(s, model, names, list(fresh.values()))
    if ids is not None:
        return dict(zip(fresh, ids))
    return {code: i for code, i in s.execute(select(model.code, model.id).where(model.id > last)) if code in fresh}


def _insert_numbered(s, model, names: tuple[str, ...], rows: list[tuple]) -> tuple[range | None, int]:
    """Insert the rows with the ids they get (bulk.next_ids: SQLite) and return them; elsewhere (None) the largest
    id before, for the caller to read them back in one range scan past it."""
    ids = next_ids(s, model, len(rows))
    if ids is not None:
        insert_tuples(s, model, names, rows, ids=ids)
        return ids, 0
    last = s.scalar(select(func.max(model.id))) or 0
    insert_tuples(s, model, names, rows)
    return None, last


def _save(s, kind, new: list[dict], changed: list[dict], state: dict | None = None) -> None:
    """Buildings, households and persons in bulk (console/store/bulk.py): new ones inserted, their ids read back by
    code; changed persons updated one by one. `state`: kept across the chunks of one import (stream.py), for
    `_finish` to count the members of a household created in one chunk and joined in a later one."""
    rows = new + changed
    if not rows:
        return
    indexes = _new_indexes(new)
    located = _LOCATED
    by_address = _by(s, Building.code, Building.address, {r["address"] for r in rows if not r.get("building_code")})
    # the buildings named by code, and those found by address (a row without 房屋编号 joins the registered one)
    by_code = _by(s, Building.id, Building.code, {r["building_code"] for r in rows if r.get("building_code")}
                  | set(by_address.values()))
    fresh: dict[str, tuple] = {}
    for r in rows:
        code = r.get("building_code") or by_address.get(r["address"]) or _building_code(r)
        if code not in by_code and code not in fresh:
            fresh[code] = (code, r["address"], "house", 1, 1, *_located(r))
        r["_building"] = code
    building_ids = {**by_code, **_insert_new(s, Building, ("code", "address", "kind", "floors", "dwellings",
                                                           *located), fresh)}
    sizes = Counter(r["household_code"] for r in rows)
    households = _by(s, Household.id, Household.code, sizes)
    fresh = {}
    for r in rows:
        code = r["household_code"]
        if code not in households and code not in fresh:
            kind_of = r["residence_type"]
            fresh[code] = (code, building_ids[r["_building"]], r["address"],
                           "rental" if kind_of == "floating" else ("foreign" if kind_of == "foreign" else "registered"),
                           sizes[code], kind_of == "floating", *_located(r))
    created = _insert_new(s, Household, ("code", "building_id", "address", "kind", "size", "is_rental", *located),
                          fresh)
    if state is not None:
        mine = state.setdefault("households", {})
        state.setdefault("grown", set()).update(households[c] for c in households if c in mine)
        mine.update(created)
    households.update(created)
    if new:  # the column type seals the numbers in bulk
        # id_valid: the numbers passed the full check (validate_id_number) before they got here
        names = ("id_number", "id_number_bidx", "id_valid", "household_id", *_PERSON_COLUMNS)
        ids, last = _insert_numbered(s, Person, names, [(r["id_number"], b, True, households[r["household_code"]],
                                                         *_person_columns(r)) for r, b in zip(new, indexes)])
        if ids is None:  # their ids for the rows to remember, read back by blind index in one range scan
            inserted = dict(s.execute(select(Person.id_number_bidx, Person.id).where(Person.id > last)).all())
            ids = [inserted.get(b) for b in indexes]
        for r, i in zip(new, ids):
            if i is not None:
                r["_id"] = i
    if changed:
        _update_changed(s, changed, households)


def _update_changed(s, changed: list[dict], households: dict[str, int]) -> None:
    """One UPDATE run over every changed person (executemany), by the id the comparison read (`_lookup`), in id
    order: each table page is then written once for all its rows, not once per row in file order (half the time
    for 219,320 persons of one county)."""
    params = sorted(((*_person_fields(r), *_located(r), households[r["household_code"]], r["_id"]) for r in changed),
                    key=operator.itemgetter(-1))
    update_tuples(s, Person, (*PERSON_FIELDS, *_LOCATED, "household_id"), "id", params)


def _finish(s, state: dict) -> None:
    """Households this import created in one chunk and joined in a later one: their size is their members."""
    grown = sorted(state.get("grown", ()))
    if grown:
        members = select(func.count()).where(Person.household_id == Household.id).scalar_subquery()
        where_in(s, update(Household).values(size=members), Household.id, grown)


def _raw_key(values: dict) -> str:
    raw = values.get("id_number")
    # a number Excel stored as a float lost its last digits: never the key of a row (the check refuses it)
    return "" if type(raw) is float else v.key_text(raw)


PERSONS = LedgerKind(
    key="person", label="实有人口台账", model=Person, natural_key="id_number", convert=convert_person,
    lookup=_lookup, save=_save, raw_key=_raw_key, ids_by_key=_ids, convert_many=convert_persons, finish=_finish,
    carry=_carry,
    key_column="id_number_bidx", key_values=index_map,
    current_key=current_index_column,
    compared=(*PERSON_FIELDS, "household_code", "lon", "lat"),
    spec=LedgerSpec("实有人口台账", (
        Column("name", "姓名", True),
        Column("id_number", "公民身份号码", True, ("身份证号", "身份证号码", "证件号码", "身份证")),
        Column("sex", "性别"),
        Column("ethnicity", "民族"),
        Column("residence_type", "人口类型", False, ("人员类型", "类别", "人口类别")),
        Column("household_code", "户号", True, ("户编号", "家庭编号")),
        Column("relation_to_head", "与户主关系", False, ("关系", "与户主关系（本人/配偶/子女…）")),
        Column("address", "现住址", True, ("现居住地址", "居住地址", "现住地址", "住址")),
        Column("building_code", "房屋编号", False, ("房屋编码", "楼栋编号", "标准地址编码")),
        Column("registered_address", "户籍地址", False, ("户籍地", "户籍地详址")),
        Column("phone", "联系电话", False, ("电话", "手机号", "手机号码", "联系方式")),
        Column("marital", "婚姻状况", False, ("婚姻",)),
        Column("education", "文化程度", False, ("学历",)),
        Column("occupation", "职业", False, ("职业（工作单位）", "从业情况")),
        Column("native_place", "籍贯", False, ("籍贯代码", "籍贯地")),
        *LOCATION_COLUMNS,
    )))
