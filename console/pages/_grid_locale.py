"""AG Grid's own texts in Chinese (its localeText), for every table in the console: no "No Rows To Show"."""

from __future__ import annotations

GRID_LOCALE = {
    "page": "第", "to": "至", "of": "共", "more": "更多", "next": "下一页", "previous": "上一页",
    "first": "首页", "last": "末页", "pageSizeSelectorLabel": "每页条数：", "noRowsToShow": "暂无数据",
    "loadingOoo": "加载中……", "filterOoo": "筛选……", "contains": "包含", "notContains": "不包含",
    "equals": "等于", "notEqual": "不等于", "startsWith": "开头是", "endsWith": "结尾是", "blank": "为空",
    "notBlank": "不为空", "lessThan": "小于", "greaterThan": "大于", "lessThanOrEqual": "小于等于",
    "greaterThanOrEqual": "大于等于", "inRange": "介于", "andCondition": "并且", "orCondition": "或者",
    "applyFilter": "应用", "resetFilter": "重置", "clearFilter": "清除", "cancelFilter": "取消",
    "selectAll": "全选", "searchOoo": "搜索……", "noMatches": "无匹配项", "columns": "列", "filters": "筛选",
    "pinColumn": "固定列", "autosizeThisColumn": "自动调整此列宽度", "autosizeAllColumns": "自动调整全部列宽",
    "resetColumns": "重置列", "sortAscending": "升序", "sortDescending": "降序", "sortUnSort": "取消排序",
    "ariaFilterInput": "筛选输入", "ariaSearch": "搜索", "dateFormatOoo": "yyyy-mm-dd",
}


def grid_options(**more) -> dict:
    """dashGridOptions with the Chinese locale."""
    return {"localeText": GRID_LOCALE, **more}
