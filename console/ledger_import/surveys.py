"""两率两度 results (知晓率, 参与率, 安全感, 满意度) per county and year, as the survey office reports them: one row per
county and year, one column per indicator, rates as 92.5 / 92.5% / 0.925. Imported results replace that county-year's
figures and are not 模拟数据: the console's label goes away for them."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import delete, select

from console.ledgers.reader import Column, LedgerSpec
from console.store import Survey
from console.store.codes import SURVEY_INDICATORS
from geodata import realdata

from . import values as v
from .kinds import Converted, LedgerKind, _collect


@lru_cache(maxsize=1)
def _counties() -> dict[str, str]:
    """Name → code for Ankang's counties (with and without the 县/区/市 suffix), and code → code."""
    out = {}
    for c in realdata.counties():
        out[c.code] = c.code
        out[c.name] = c.code
        out[c.name.rstrip("县区市")] = c.code
    return out


def _rate(value, label: str):
    text = v.cell_text(value).rstrip("%％").strip()
    try:
        number = float(text) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        return None, f"{label}应为百分比数字，不是“{v.cell_text(value)}”"
    if isinstance(value, str) and value.strip().endswith(("%", "％")) or number > 1:
        number /= 100
    if not 0 <= number <= 1:
        return None, f"{label}应在0–100%之间"
    return round(number * 100, 2), None  # stored as a percentage, like the demo's figures


def _survey(values: dict) -> Converted:
    out: dict = {}
    problems: list[str] = []
    county = _counties().get(v.cell_text(values.get("county")))
    if county is None:
        problems.append(f"县区“{v.cell_text(values.get('county'))}”不是安康市的县区")
    out["county_code"] = county
    _collect(out, problems, "year", v.integer(values.get("year"), "年度", 2000, 2100))
    for key, label in SURVEY_INDICATORS.items():
        if values.get(key) not in (None, ""):
            _collect(out, problems, key, _rate(values[key], label))
    if not any(k in out for k in SURVEY_INDICATORS):
        problems.append("没有任何指标数值")
    if county and "year" in out:
        out["key"] = f"{county}:{out['year']}"
    return out, problems


def _lookup(session, kind, keys: list[str]) -> dict[str, dict]:
    stored: dict[str, dict] = {}
    wanted = {tuple(k.split(":")) for k in keys}
    counties = sorted({c for c, _ in wanted})
    rows = session.execute(select(Survey.county_code, Survey.year, Survey.indicator, Survey.rate, Survey.synthetic)
                           .where(Survey.county_code.in_(counties))).all()
    for county, year, indicator, rate, synthetic in rows:
        key = f"{county}:{year}"
        if (county, str(year)) in wanted:
            entry = stored.setdefault(key, {"_grid": county})
            # a synthetic figure never equals an imported one: the import replaces it
            entry[indicator] = None if synthetic else rate
    return stored


def _save(s, kind, new: list[dict], changed: list[dict]) -> None:
    for rec in new + changed:
        s.execute(delete(Survey).where(Survey.county_code == rec["county_code"], Survey.year == rec["year"]))
        s.execute(Survey.__table__.insert(), [
            {"county_code": rec["county_code"], "year": rec["year"], "indicator": k, "rate": rec[k], "synthetic": False}
            for k in SURVEY_INDICATORS if k in rec])


SURVEYS = LedgerKind(
    key="survey", label="两率两度测评结果", model=Survey, natural_key="key", convert=_survey, lookup=_lookup,
    save=_save, located=False, compared=tuple(SURVEY_INDICATORS),
    spec=LedgerSpec("两率两度测评结果", (
        Column("county", "县区", True, ("县（市、区）", "县市区", "地区", "单位")),
        Column("year", "年度", True, ("年份", "测评年度")),
        *(Column(k, label, False, (f"{label}（%）", f"{label}(%)", f"群众{label}")) for k, label in
          SURVEY_INDICATORS.items()),
    )))
