"""实有人口 ledger rows → person records, a chunk at a time and a column at a time (ledgers/cells.py): the cells
converted to the code tables (GB/T 31000, console/store/codes.py), the identity numbers checked, and every problem
of a row named in the order of its columns. Saving them is persons.py's."""

from __future__ import annotations

from console.ledgers.cells import Cells
from console.store.codes import EDUCATION, MARITAL, RELATIONS, RESIDENCE_TYPES, SEXES
from console.store.identity import id_sex, valid_id_numbers

from . import values as v
from .kinds import Converted, _collect

RELATION_ALIASES = {"本人": "head", "户主本人": "head", "妻": "spouse", "夫": "spouse", "妻子": "spouse",
                    "丈夫": "spouse", "子": "child", "女": "child", "儿子": "child", "女儿": "child", "长子": "child",
                    "长女": "child", "次子": "child", "次女": "child", "父亲": "parent", "母亲": "parent",
                    "孙子": "grandchild", "孙女": "grandchild"}
RESIDENCE_ALIASES = {"户籍": "registered", "常住人口": "registered", "流动": "floating", "暂住人口": "floating",
                     "境外": "foreign"}
EDUCATION_ALIASES = {"高中": "senior", "中专": "senior", "大学本科": "bachelor", "研究生及以上": "graduate",
                     "文盲": "none", "无": "none"}


def _code_step(default: str, table: dict, label: str, aliases: dict | None = None):
    return default, lambda x: v.code(x, table, label, aliases)


def _plain_step(default, max_len: int, label: str):
    return default, lambda x: v.plain(x, max_len, label)


# (field, default when the cell is empty, cell → (value, problem)), in the order a row's problems are listed
_STEPS = (
    ("ethnicity", *_plain_step("汉族", 8, "民族")),
    ("residence_type", *_code_step("户籍人口", RESIDENCE_TYPES, "人口类型", RESIDENCE_ALIASES)),
    ("relation_to_head", *_code_step("其他", RELATIONS, "与户主关系", RELATION_ALIASES)),
    ("marital", *_code_step("未婚", MARITAL, "婚姻状况")),
    ("education", *_code_step("初中", EDUCATION, "文化程度", EDUCATION_ALIASES)),
    ("occupation", *_plain_step("", 16, "职业")),
)


def convert_person(values: dict) -> Converted:
    return convert_persons(Cells([0], tuple(values), [tuple(values.values())]))[0]


def convert_persons(rows: Cells) -> list[Converted]:
    """Rows of cells → (record, problems) each, a column at a time. Identity numbers are checked together with numpy
    (the others one by one, for their message); a cell text that repeats in a column (codes, 户号, addresses) is
    converted once."""
    ids = rows.column("id_number")
    valid = valid_id_numbers([x for x in ids if type(x) is str])
    births: dict[str, object] = {}
    steps = [(field, default, convert, {}) for field, default, convert in (
        *_STEPS, ("household_code", None, _plain_step(None, 24, "户号")[1]),
        ("address", None, _plain_step(None, 128, "现住址")[1]), ("building_code", "", _plain_step(None, 24, "房屋编号")[1]))]
    head, tail = steps[:len(_STEPS)], steps[len(_STEPS):]
    sex_of, sexes = _code_step(None, SEXES, "性别")[1], {}
    out_rows: list[Converted] = []

    def run(steps, values, out, problems) -> None:
        for field, default, convert, memo in steps:  # each text once per column (the memo), else converted here
            x = values.get(field, default)
            if type(x) is str:
                result = memo.get(x)
                if result is None:
                    result = memo[x] = convert(x)
            else:
                result = convert(x)
            if result[1]:
                problems.append(result[1])
            else:
                out[field] = result[0]

    # every step's result a column at a time (list comprehensions); rows where all of them are fine take them as
    # they are, the others go step by step (run) for their problems in order
    value_columns, problem_columns = [], []
    for field, default, convert, memo in steps:
        column = rows.column(field, default)
        for x in {x for x in column if type(x) is str}.difference(memo):
            memo[x] = convert(x)
        results = [memo[x] if type(x) is str else convert(x) for x in column]
        value_columns.append([r[0] for r in results])
        problem_columns.append([r[1] for r in results])
    fine = [not any(problems) for problems in zip(*problem_columns)]
    names = [field for field, *_ in head]
    for i, raw, name, stated_place, stated, phone, registered, ok, converted in zip(
            range(len(rows)), ids, rows.column("name"), rows.column("native_place"), rows.column("sex"),
            rows.column("phone"), rows.column("registered_address"), fine, zip(*value_columns)):
        out: dict = {}
        problems: list[str] = []
        if raw in valid:  # as the check would return it: 18 ASCII characters, upper case, no spaces
            out["id_number"] = number = raw
        else:
            _collect(out, problems, "id_number", v.id_number(raw))
            number = out.get("id_number")
        _collect(out, problems, "name", v.plain(name, 64, "姓名"))
        if not out.get("name"):
            problems.append("缺少姓名")
        if number:
            day = number[6:14]
            born = births.get(day)
            if born is None:
                born = births[day] = v.parse_date(f"{number[6:10]}-{number[10:12]}-{number[12:14]}")[0]
            out["birth_date"] = born
            stated_place = v.cell_text(stated_place) if stated_place is not None else ""
            if stated_place and not (len(stated_place) == 6 and stated_place.isdigit()):
                problems.append(f"籍贯应为6位行政区划代码（如 610924），不是“{stated_place}”")
            out["native_place"] = stated_place or number[:6]  # unstated: where the number was issued
            if stated not in (None, ""):
                found = sexes.get(stated) if type(stated) is str else None
                if found is None:
                    found = sex_of(stated)
                    if type(stated) is str:
                        sexes[stated] = found
                sex, problem = found
                if problem:
                    problems.append(problem)
                elif sex != id_sex(number):
                    problems.append("性别与身份证号不符")
            out["sex"] = id_sex(number)
        values = None if ok else rows.values(i)  # the cells by field, for a row whose problems are listed in order
        if ok:
            out.update(zip(names, converted))
        else:
            run(head, values, out, problems)
        phone = v.cell_text(phone) if phone is not None else ""
        if phone and not (phone.isdigit() and 7 <= len(phone) <= 12):
            problems.append(f"联系电话“{phone}”不是有效号码")
        out["phone"] = phone or None
        if ok:
            out["household_code"] = converted[-3]
        else:
            run(tail[:1], values, out, problems)
        if not out.get("household_code"):
            problems.append("缺少户号")
        if ok:
            out["address"], out["building_code"] = converted[-2], converted[-1]
        else:
            run(tail[1:], values, out, problems)
        registered = v.cell_text(registered) if registered is not None else ""
        out["registered_here"] = not registered or registered == out.get("address")
        out["registered_address"] = None if out["registered_here"] else registered[:128]
        out_rows.append((out, problems))
    return out_rows
