"""The ledger kinds, in one registry: the columns a county office's ledger has (with the header spellings seen in
practice), how a row becomes a record, and the natural key that makes an import idempotent.

A kind's `convert(values)` is pure: cell values in, (record fields, problems) out. Locating and the comparison with
what is stored are the pipeline's business (plan.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.ledgers.cells import Cells
from console.ledgers.reader import Column, LedgerSpec
from console.store import Camera, GridWorker, Organisation
from console.store.codes import (
    CAMERA_KINDS, CAMERA_STATUS, CONCERN_LEVELS, ENTERPRISE_TYPES, GRID_ROLES, ORG_KINDS, ORG_STATUS,
    SOCIAL_ORG_TYPES,
)

from . import values as v

Converted = tuple[dict, list[str]]
LOCATION_COLUMNS = (
    Column("lon", "经度", aliases=("X坐标", "x", "lng", "lon", "longitude", "经度(°)")),
    Column("lat", "纬度", aliases=("Y坐标", "y", "lat", "latitude", "纬度(°)")),
)


@dataclass(frozen=True)
class LedgerKind:
    key: str
    label: str  # 社会组织/非公企业台账
    spec: LedgerSpec
    model: type
    natural_key: str  # the model's column that identifies a record across imports
    convert: Callable[[dict], Converted]
    compared: tuple[str, ...]  # the fields an update may change (reported per row)
    # How stored records are found by key ({key: {"_grid": grid code, field: value…}}) and how a plan is saved;
    # None: one table, looked up and written by `natural_key` (plan.py / commit.py).
    lookup: Callable | None = None
    save: Callable | None = None
    located: bool = True  # False: a record of a whole county (surveys); its scope is its county code
    # How rows are placed, when not by their own coordinates or address: (session, rows, scope, refuse) → None
    placement: Callable | None = None
    # The natural key as the file writes it, without converting the row (raw cells → key text): kinds that have
    # one remember the hash of each row they save and skip it when it comes again (rowhash.py). None: not hashed.
    raw_key: Callable[[dict], str] | None = None
    # (session, kind, keys) → {key: record id} when the key is not a plain column (persons: blind index)
    ids_by_key: Callable | None = None
    # The stored column that holds the key, and keys → {stored value: key} when it is not the key itself
    key_column: str | None = None  # default: natural_key
    key_values: Callable[[list[str]], dict[str, str]] | None = None
    # the key column's value for each key under the ring's current key, in order (a sealed key's blind index)
    current_key: Callable[[list[str]], list] | None = None
    # `convert` for a chunk of rows at once, a column at a time (ledgers/cells.py), the same results (persons: cells
    # that repeat converted once, identity numbers checked with numpy); None: row by row
    convert_many: Callable[[Cells], list[Converted]] | None = None
    # (session, state) → None after the last chunk of a chunked save (stream.py), with the state `save` kept
    finish: Callable | None = None
    # (verdicts) → None, before a chunk crosses to the save process (saver.py): what the plan computed and the save
    # would compute again, put on the records (persons: the blind indexes of the identity numbers)
    carry: Callable | None = None

    @property
    def key_header(self) -> str:
        return next(c.header for c in self.spec.columns if c.field == self.natural_key)


def _collect(out: dict, problems: list[str], field: str, result) -> None:
    value, problem = result
    if problem:
        problems.append(problem)
    else:
        out[field] = value


# -- 社会组织 / 非公有制企业 -------------------------------------------------------------------------------------
ORG_TYPES = {**SOCIAL_ORG_TYPES, **ENTERPRISE_TYPES}
ORG_KIND_ALIASES = {"社会团体": "social", "民办非企业单位": "social", "基金会": "social", "企业": "enterprise",
                    "非公企业": "enterprise", "私营企业": "enterprise", "个体工商户": "enterprise"}
ORG_STATUS_ALIASES = {"在业": "active", "开业": "active", "正常": "active", "存续（在营、开业、在册）": "active",
                      "注销": "revoked", "吊销，未注销": "revoked"}


def _org(values: dict) -> Converted:
    out: dict = {}
    problems: list[str] = []
    _collect(out, problems, "credit_code", v.credit_code(values.get("credit_code")))
    _collect(out, problems, "name", v.plain(values.get("name"), 128, "名称"))
    kind_text = values.get("kind") or values.get("org_type")
    _collect(out, problems, "kind", v.code(kind_text, ORG_KINDS, "组织类别", ORG_KIND_ALIASES))
    if values.get("org_type") not in (None, ""):
        _collect(out, problems, "org_type", v.code(values["org_type"], ORG_TYPES, "组织类型"))
    else:
        out["org_type"] = "private" if out.get("kind") == "enterprise" else "association"
    _collect(out, problems, "registration_authority", v.plain(values.get("registration_authority", ""), 64, "登记机关"))
    _collect(out, problems, "legal_rep", v.plain(values.get("legal_rep"), 32, "法定代表人"))
    _collect(out, problems, "address", v.plain(values.get("address"), 128, "地址"))
    _collect(out, problems, "status", v.code(values.get("status", "存续"), ORG_STATUS, "经营状态", ORG_STATUS_ALIASES))
    _collect(out, problems, "security_head", v.plain(values.get("security_head", ""), 32, "治保负责人"))
    _collect(out, problems, "concern_level", v.code(values.get("concern_level", "一般"), CONCERN_LEVELS, "关注程度"))
    _collect(out, problems, "has_party_org", v.yes_no(values.get("has_party_org", "否"), "是否建立党组织"))
    _collect(out, problems, "foreign_background", v.yes_no(values.get("foreign_background", "否"), "是否有境外背景"))
    _collect(out, problems, "employees", v.integer(values.get("employees", 0), "从业人数"))
    return out, problems


ORGANISATIONS = LedgerKind(
    key="organisation", label="社会组织/非公企业台账", model=Organisation, natural_key="credit_code", convert=_org,
    raw_key=lambda values: v.key_text(values.get("credit_code")),
    compared=("name", "kind", "org_type", "registration_authority", "legal_rep", "address", "status", "security_head",
              "concern_level", "has_party_org", "foreign_background", "employees", "lon", "lat"),
    spec=LedgerSpec("社会组织/非公企业台账", (
        Column("credit_code", "统一社会信用代码", True, ("信用代码", "社会信用代码", "组织机构代码")),
        Column("name", "名称", True, ("单位名称", "组织名称", "企业名称", "机构名称")),
        Column("kind", "组织类别", False, ("类别",)),
        Column("org_type", "组织类型", False, ("类型", "企业类型", "登记类型")),
        Column("registration_authority", "登记机关", False, ("登记管理机关", "业务主管单位")),
        Column("legal_rep", "法定代表人", True, ("法人", "法人代表", "负责人")),
        Column("address", "地址", True, ("住所", "经营场所", "详细地址", "注册地址")),
        Column("status", "经营状态", False, ("状态", "登记状态")),
        Column("security_head", "治保负责人", False, ("安全负责人",)),
        Column("concern_level", "关注程度", False, ("关注等级",)),
        Column("has_party_org", "是否建立党组织", False, ("党组织",)),
        Column("foreign_background", "是否有境外背景", False, ("境外背景",)),
        Column("employees", "从业人数", False, ("职工人数", "员工人数", "人数")),
        *LOCATION_COLUMNS,
    )))


# -- 雪亮工程 camera device list (GB/T 28181 ids) ---------------------------------------------------------------
CAMERA_KIND_ALIASES = {"枪型": "bullet", "枪式": "bullet", "球型": "dome", "球形": "dome", "半球型": "hemisphere",
                       "人脸": "face", "人脸抓拍": "face", "卡口": "vehicle", "车辆": "vehicle"}
CAMERA_STATUS_ALIASES = {"ON": "online", "OFF": "offline", "正常": "online", "故障": "offline"}


def _camera(values: dict) -> Converted:
    out: dict = {}
    problems: list[str] = []
    raw = values.get("device_id")
    device = v.cell_text(raw) if not isinstance(raw, float) else ""
    if isinstance(raw, float):
        problems.append("设备编码被Excel存成了数字，后几位已丢失：请把该列设为“文本”后重新填写")
    elif not (len(device) == 20 and device.isdigit()):
        problems.append(f"设备编码应为20位数字（GB/T 28181），不是“{device}”")
    else:
        out["device_id"] = device
    _collect(out, problems, "name", v.plain(values.get("name"), 128, "设备名称"))
    _collect(out, problems, "kind", v.code(values.get("kind", "枪机"), CAMERA_KINDS, "设备类型", CAMERA_KIND_ALIASES))
    _collect(out, problems, "direction", v.integer(values.get("direction", 0), "朝向（度）", 0, 359))
    _collect(out, problems, "status", v.code(values.get("status", "在线"), CAMERA_STATUS, "在线状态",
                                             CAMERA_STATUS_ALIASES))
    return out, problems


CAMERAS = LedgerKind(
    key="camera", label="视频监控设备清单（雪亮工程）", model=Camera, natural_key="device_id", convert=_camera,
    raw_key=lambda values: v.cell_text(values.get("device_id")),
    compared=("name", "kind", "direction", "status", "lon", "lat"),
    spec=LedgerSpec("视频监控设备清单", (
        Column("device_id", "设备编码", True, ("国标编码", "通道编码", "设备国标编码", "国标ID", "设备ID")),
        Column("name", "设备名称", True, ("点位名称", "通道名称", "名称")),
        Column("kind", "设备类型", False, ("摄像机类型", "类型")),
        Column("direction", "朝向", False, ("方向角", "朝向（度）", "拍摄方向")),
        Column("status", "在线状态", False, ("状态",)),
        *LOCATION_COLUMNS,
    )))


# -- 网格员 roster ----------------------------------------------------------------------------------------------
ROLE_ALIASES = {"网格员": "worker", "专职网格员": "worker", "兼职网格员": "worker", "网格长": "captain"}


def _worker(values: dict) -> Converted:
    out: dict = {}
    problems: list[str] = []
    grid = v.cell_text(values.get("grid_code"))
    if not (len(grid) == 15 and grid.isdigit()):
        problems.append(f"网格编码应为15位数字，不是“{grid}”")
    else:
        out["grid_code"] = grid
    _collect(out, problems, "name", v.plain(values.get("name"), 32, "姓名"))
    _collect(out, problems, "role", v.code(values.get("role", "专职网格员"), GRID_ROLES, "职务", ROLE_ALIASES))
    phone = v.cell_text(values.get("phone"))
    if not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
        problems.append(f"手机号码“{phone}”应为11位")
    else:
        out["phone"] = phone
    return out, problems


GRID_WORKERS = LedgerKind(
    key="grid_worker", label="网格员花名册", model=GridWorker, natural_key="phone", convert=_worker, located=False,
    raw_key=lambda values: v.cell_text(values.get("phone")),
    compared=("grid_code", "name", "role"),
    spec=LedgerSpec("网格员花名册", (
        Column("grid_code", "网格编码", True, ("所属网格编码", "网格编号", "网格代码")),
        Column("name", "姓名", True, ("网格员姓名",)),
        Column("role", "职务", False, ("岗位", "角色", "人员类别")),
        Column("phone", "手机号码", True, ("联系电话", "电话", "手机号")),
    )))


def _all() -> dict[str, LedgerKind]:
    from .persons import PERSONS  # kinds with their own lookup and save, each in its own module
    from .linked import KEY_YOUTH, SPECIAL
    from .surveys import SURVEYS
    from .keyplaces import KEY_PLACES
    from .lines import SAFETY_LINES

    return {k.key: k for k in (PERSONS, SPECIAL, KEY_YOUTH, ORGANISATIONS, CAMERAS, GRID_WORKERS, SURVEYS,
                               KEY_PLACES, SAFETY_LINES)}


KINDS: dict[str, LedgerKind] = _all()
