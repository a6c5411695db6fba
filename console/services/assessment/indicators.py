"""督导考评 indicators: the one registry. Each has a name, what it divides by what (the formula as a person reads it),
a period, a unit, a default weight and the levels it applies to. The SQL behind each is in `measures.py`; the
administrator's weights override the defaults (`weights.py`). See docs/assessment.md."""

from __future__ import annotations

from dataclasses import dataclass

AREA_LEVELS = ("city", "county", "town", "village", "grid")
WORKER = "worker"  # an indicator that also applies to each grid worker


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    formula: str  # numerator ÷ denominator, in words
    period: str  # 月 / 年 / 当前
    unit: str
    weight: float  # default weight (an administrator may change it)
    levels: tuple[str, ...]  # area levels (and WORKER) it applies to
    floor: float | None = None  # a rate below this is flagged on the page (a common provincial floor)


# A report is timely when it reaches the console within this long of the moment it describes.
TIMELY_REPORT_S = 2 * 3600

INDICATORS: tuple[Indicator, ...] = (
    Indicator("patrol_coverage", "巡查覆盖率", "近三个月（本月及前两月）有巡查签到的住户数 ÷ 住户总数（每户每季度至少走访一次）",
              "月", "%", 25,
              (*AREA_LEVELS, WORKER)),
    Indicator("report_timely", "事件上报及时率", "发生后 2 小时内上报的事件数 ÷ 本月发生的事件数（网格员：采集后 2 小时内送达的上报数 ÷ 上报数）",
              "月", "%", 15, (*AREA_LEVELS, WORKER)),
    Indicator("task_on_time", "任务按时办结率", "期限前回报的任务数 ÷ 本月到期的任务数", "月", "%", 20,
              (*AREA_LEVELS, WORKER)),
    Indicator("completeness", "信息完整度", "1 − 数据质量问题数 ÷ 登记记录数（人员、住户、组织、摄像机）", "当前", "%", 15,
              AREA_LEVELS, floor=0.95),
    Indicator("followup_on_time", "特殊人群随访按时率", "本月到期且按期随访的人次 ÷ 本月到期的随访人次", "月", "%", 15,
              (*AREA_LEVELS, WORKER)),
    Indicator("satisfaction", "群众满意度", "年度群众满意度调查（两率两度；全市为各县区平均）", "年", "%", 10, ("city", "county")),
)
BY_KEY = {i.key: i for i in INDICATORS}


def applies(indicator: Indicator, level: str) -> bool:
    return level in indicator.levels
