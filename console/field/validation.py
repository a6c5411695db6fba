"""What a phone may send: the sync body's shape, checked by pydantic, refused with a Chinese message naming the field.

Pure: no database, no Flask. `parse_batch(body)` → list of `Submission` or raises `FieldError`."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, ValidationError, field_validator

from console.store.followup_models import FOLLOWUP_METHODS
from console.store.patrol_models import CHECKIN_KINDS, PLACE_CHECKINS

from .codes import (
    EVENT_TYPES, HOUSEHOLD_KINDS, KINDS, MAX_BATCH, MAX_TEXT, MAX_TRACK_FIXES, TASK_ACTIONS, TASK_SEEN_STATES,
)


class FieldError(ValueError):
    """A refusal for the phone: `str()` is Chinese and names what is wrong; `status` the HTTP status."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid"):
        super().__init__(message)
        self.status = status
        self.code = code


# The names people read, for the messages (pydantic reports field paths).
LABELS = {
    "uuid": "记录编号", "op_id": "操作编号", "kind": "记录类型", "base_version": "基础版本", "grid_code": "网格",
    "client_time": "手机时间", "sent_at": "发送时间", "location": "位置", "lon": "经度", "lat": "纬度",
    "accuracy": "定位精度", "source": "定位方式", "household_id": "住户", "fields": "表单内容", "type": "事件类型",
    "text": "事件描述", "address": "地址", "size": "人数", "head_name": "户主姓名", "phone": "联系电话",
    "note": "备注", "records": "记录列表", "started_at": "开始时间", "ended_at": "结束时间", "fixes": "轨迹",
    "t": "定位时间", "patrol_uuid": "巡查编号", "place_id": "重点场所", "special_person_id": "特殊人群",
    "visited_on": "随访日期", "method": "随访方式", "task_id": "任务", "action": "任务操作", "seen_state": "任务状态",
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(_Strict):
    lon: float = Field(ge=105.0, le=111.0)  # Ankang lies well inside these
    lat: float = Field(ge=31.0, le=34.0)
    accuracy: float | None = Field(default=None, ge=0, le=1_000_000)
    source: Literal["gps", "map"]


class EventFields(_Strict):
    type: Literal[tuple(EVENT_TYPES)]  # type: ignore[valid-type]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]


class HouseholdFields(_Strict):
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""  # "": unchanged
    kind: Literal[tuple(HOUSEHOLD_KINDS)]  # type: ignore[valid-type]
    size: int = Field(ge=0, le=50)
    head_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = ""
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-]{0,16}$")] = ""
    note: Text = ""


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


class Fix(_Strict):
    """One GPS fix of a patrol's track (watchPosition), with its accuracy in metres."""

    lon: float = Field(ge=105.0, le=111.0)
    lat: float = Field(ge=31.0, le=34.0)
    accuracy: float | None = Field(default=None, ge=0, le=1_000_000)
    t: datetime

    _t = field_validator("t")(classmethod(lambda cls, v: _utc(v)))


class PatrolFields(_Strict):
    started_at: datetime
    ended_at: datetime | None = None  # None: still walking
    fixes: list[Fix] = Field(default_factory=list, max_length=MAX_TRACK_FIXES)

    _times = field_validator("started_at", "ended_at")(classmethod(lambda cls, v: v if v is None else _utc(v)))


class CheckinFields(_Strict):
    patrol_uuid: UUID
    kind: Literal[tuple(CHECKIN_KINDS)]  # type: ignore[valid-type]
    place_id: int | None = Field(default=None, ge=1)  # an organisation's or a 公共安全 key place's id, by kind


class FollowupFields(_Strict):
    special_person_id: int = Field(ge=1)
    visited_on: date
    method: Literal[tuple(FOLLOWUP_METHODS)]  # type: ignore[valid-type]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class TaskFields(_Strict):
    """A step on a task taken on the phone (possibly offline): `seen_state` is the task's state as the phone saw it."""
    task_id: int = Field(ge=1)
    action: Literal[TASK_ACTIONS]  # type: ignore[valid-type]
    seen_state: Literal[TASK_SEEN_STATES]  # type: ignore[valid-type]
    text: Text = ""


FORMS = {"event": EventFields, "household": HouseholdFields, "patrol": PatrolFields, "checkin": CheckinFields,
         "followup": FollowupFields, "task": TaskFields}


class Submission(_Strict):
    """One change to one record, as a phone queued it."""

    uuid: UUID
    op_id: UUID  # one per change: a replay of the same change is answered, not applied again
    kind: Literal[tuple(KINDS)]  # type: ignore[valid-type]
    base_version: int = Field(ge=0, le=1_000_000)  # 0: a new record
    grid_code: Annotated[str, StringConstraints(pattern=r"^\d{15}$")] | None = None
    client_time: datetime
    location: Location | None = None
    household_id: int | None = Field(default=None, ge=1)
    fields: dict
    _form: BaseModel | None = PrivateAttr(default=None)  # checked once: a track may carry thousands of fixes

    @field_validator("client_time")
    @classmethod
    def _naive_utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value

    def form(self) -> BaseModel:
        if self._form is None:
            self._form = self._check_form()
        return self._form

    def _check_form(self) -> BaseModel:
        model = FORMS[self.kind]
        try:
            form = model.model_validate(self.fields)
        except ValidationError as exc:
            raise FieldError(describe(exc, prefix=("fields",))) from None
        if self.kind == "household" and self.household_id is None and len(form.address) < 2:
            raise FieldError("新登记住户需要填写地址")
        if self.kind == "patrol" and form.ended_at is not None and form.ended_at < form.started_at:
            raise FieldError("巡查结束时间早于开始时间")
        if self.kind == "checkin" and form.kind == "household" and self.household_id is None:
            raise FieldError("住户打卡需要选择住户")
        if self.kind == "checkin" and form.kind in PLACE_CHECKINS and form.place_id is None:
            raise FieldError("重点场所打卡需要选择重点场所")
        return form


class Batch(_Strict):
    sent_at: datetime  # the phone's clock when it sent: measures how far off that clock is
    records: list[dict] = Field(max_length=MAX_BATCH)

    @field_validator("sent_at")
    @classmethod
    def _naive_utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def describe(exc: ValidationError, prefix: tuple = ()) -> str:
    """The first problem, in Chinese, naming the field the way a person reads it."""
    err = exc.errors()[0]
    path = [p for p in (*prefix, *err["loc"]) if isinstance(p, str)]
    name = "、".join(LABELS.get(p, p) for p in path[-1:]) or "请求"
    kind = err["type"]
    if kind == "missing":
        return f"缺少{name}"
    if kind == "extra_forbidden":
        return f"不认识的字段：{path[-1] if path else ''}"
    if kind in ("literal_error", "enum"):
        return f"{name}不是可选的值"
    if kind.startswith("string_too_short"):
        return f"{name}不能为空"
    if kind.startswith("string_too_long") or kind == "too_long":
        return f"{name}过长"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{name}超出范围"
    return f"{name}格式不正确"


def parse_record(raw) -> Submission:
    """One queued change, fully checked (the form's fields included)."""
    if not isinstance(raw, dict):
        raise FieldError("记录格式错误：需要 JSON 对象")
    try:
        sub = Submission.model_validate(raw)
    except ValidationError as exc:
        raise FieldError(describe(exc)) from None
    sub.form()
    return sub


def parse_sent_at(value) -> datetime:
    try:
        return Batch.model_validate({"sent_at": value, "records": []}).sent_at
    except ValidationError as exc:
        raise FieldError(describe(exc)) from None


def parse_batch(body) -> tuple[datetime, list[Submission | FieldError]]:
    """The batch's sending time and, per record, the checked change or the reason it is refused: one bad
    record does not hold up the others."""
    if not isinstance(body, dict):
        raise FieldError("请求格式错误：需要 JSON 对象（sent_at、records）")
    try:
        batch = Batch.model_validate(body)
    except ValidationError as exc:
        raise FieldError(describe(exc)) from None
    out: list[Submission | FieldError] = []
    for raw in batch.records:
        try:
            out.append(parse_record(raw))
        except FieldError as exc:
            out.append(exc)
    return batch.sent_at, out
