"""The phone app's code tables and limits: one home for each (docs/field.md)."""

from __future__ import annotations

# Record kinds a phone may send.
KINDS = {"event": "事件上报", "household": "住户登记/更新", "patrol": "巡查", "checkin": "巡查打卡",
         "followup": "特殊人群随访", "task": "任务办理"}
# Kinds written once: a later change of the same record is refused (a correction is a new record).
WRITE_ONCE = ("checkin", "followup", "task")
# The steps a phone takes on a task (console/field/tasks.py ACTIONS) and the states it may have seen them in.
TASK_ACTIONS = ("accept", "handle", "report")
TASK_SEEN_STATES = ("assigned", "accepted", "handling")

# Event types of 事件上报 (the form's choices).
EVENT_TYPES = {
    "dispute": "矛盾纠纷", "safety": "安全隐患", "public_order": "治安问题", "environment": "环境卫生",
    "facility": "公共设施损坏", "special": "特殊人群异常", "other": "其他",
}

HOUSEHOLD_KINDS = {"registered": "户籍户", "rental": "出租户", "vacant": "空置户", "other": "其他"}

LOCATION_SOURCES = {"gps": "GPS 定位", "map": "地图选点"}

ACCURACY_LIMIT_M = 100.0  # a fix coarser than this is stored and flagged, never used to pick a grid
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_CHUNK_MAX = 1024 * 1024  # one upload request carries at most this many bytes
CLOCK_SKEW_LIMIT_S = 5 * 60  # a phone clock further off than this is flagged
MAX_TEXT = 2000
MAX_BATCH = 100  # records per sync request
MAX_TRACK_FIXES = 5000  # GPS fixes one patrol may carry (one fix every 5 s for 7 hours)
ON_DUTY_MINUTES = 30  # a usable fix this recent makes a worker "on duty" (besides an open patrol)
PATROL_MAX_HOURS = 16  # a patrol open longer than this is not "on duty" any more (forgotten to stop)
