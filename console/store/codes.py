"""Code tables (docs/domain.md §1, §3, §4).

Stored values are short ASCII keys; the UI shows the Chinese labels. One place for every
enumeration so that forms, filters, legends and the demo world agree.
"""

CITY_CODE = "610900"
CITY_NAME = "安康市"

# Area levels, top to bottom; a code's length tells its level (city is the exception: 610900).
LEVELS = ("city", "county", "town", "village", "grid")
LEVEL_LABELS = {"city": "市", "county": "县区", "town": "镇办", "village": "村社区", "grid": "网格"}
CODE_LENGTH = {"county": 6, "town": 9, "village": 12, "grid": 15}
LEVEL_BY_LENGTH = {n: level for level, n in CODE_LENGTH.items()}
CHILD_LEVEL = {"city": "county", "county": "town", "town": "village", "village": "grid"}
# The column of a located record that holds the code of its area at each level (docs/domain.md §1).
AREA_COLUMN = {level: f"{level}_code" for level in CODE_LENGTH}


def level_of(code: str | None) -> str | None:
    """The level an area code names, from its length (the city is the exception: 610900); None if not a code."""
    if not code or not code.isdigit():
        return None
    if code == CITY_CODE:
        return "city"
    return LEVEL_BY_LENGTH.get(len(code))


def ancestor_code(code: str, level: str) -> str:
    """The code of the area at `level` that contains `code` (610924100201001, "town" → 610924100)."""
    return CITY_CODE if level == "city" else code[:CODE_LENGTH[level]]


def area_codes_of(code: str) -> dict[str, str]:
    """{level: code} for the area itself and every level above it, below the city."""
    own = LEVELS.index(level_of(code) or "city")
    return {level: ancestor_code(code, level) for level in LEVELS[1:own + 1]}

TOWN_KINDS = {"subdistrict": "街道", "town": "镇", "township": "乡"}
VILLAGE_KINDS = {"village": "村委会", "community": "居委会/社区"}

RESIDENCE_TYPES = {"registered": "户籍人口", "floating": "流动人口", "foreign": "境外人员"}
SEXES = {"M": "男", "F": "女"}
RELATIONS = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女", "other": "其他"}
MARITAL = {"single": "未婚", "married": "已婚", "widowed": "丧偶", "divorced": "离婚"}
EDUCATION = {
    "none": "未上学", "primary": "小学", "junior": "初中", "senior": "高中/中专",
    "college": "大专", "bachelor": "本科", "graduate": "研究生",
}
INFLOW_REASONS = {"work": "务工", "business": "经商", "study": "就学", "family": "投亲靠友", "other": "其他"}
FOREIGN_PURPOSES = {"work": "工作", "study": "学习", "visit": "探亲", "business": "商务", "tourism": "旅游"}

BUILDING_KINDS = {"apartment": "住宅楼", "house": "自建房", "bungalow": "平房", "mixed": "商住楼"}
HOUSEHOLD_KINDS = {"registered": "户籍户", "rental": "出租户", "foreign": "境外人员户"}

SPECIAL_CATEGORIES = {
    "released": "刑满释放人员",
    "correction": "社区矫正对象",
    "drug": "吸毒人员",
    "mental": "严重精神障碍患者",
    "aids": "艾滋病危险行为人群",
}
# Danger assessment of severe mental disorder patients (docs/domain.md §3); ≥ 3 is reported to police.
MENTAL_RISK_LEVELS = {
    0: "0级 无符合以下1-5级中的任何行为",
    1: "1级 口头威胁，喊叫，但没有打砸行为",
    2: "2级 打砸行为，局限在家里，针对财物，能被劝说制止",
    3: "3级 明显打砸行为，不分场合，针对财物，不能接受劝说而停止",
    4: "4级 持续的打砸行为，不分场合，针对财物或人，不能接受劝说而停止",
    5: "5级 持械针对人的任何暴力行为，或者纵火、爆炸等行为",
}
RISK_GRADES = {"low": "低", "medium": "中", "high": "高"}
CORRECTION_TYPES = {"control": "管制", "probation": "缓刑", "parole": "假释", "medical_parole": "暂予监外执行"}
DRUG_CONTROL = {"community_detox": "社区戒毒", "community_rehab": "社区康复", "voluntary": "自愿戒毒", "abstinent": "戒断三年未复吸"}

YOUTH_TYPES = {
    "idle": "闲散青少年", "misbehaving": "不良行为青少年", "vagrant": "流浪乞讨青少年",
    "prisoner_child": "服刑人员未成年子女", "left_behind": "农村留守儿童", "other": "其他",
}
CONCERN_LEVELS = {"normal": "一般", "medium": "中等", "serious": "严重"}

ORG_KINDS = {"social": "社会组织", "enterprise": "非公有制企业"}
SOCIAL_ORG_TYPES = {"association": "社会团体", "nonprofit": "民办非企业单位", "foundation": "基金会"}
ENTERPRISE_TYPES = {"private": "私营企业", "individual": "个体工商户", "foreign": "外资企业", "joint": "合资企业"}
ORG_STATUS = {"active": "存续", "suspended": "停业", "revoked": "吊销"}

DISPUTE_CATEGORIES = {
    "family": "婚姻家庭", "neighbour": "邻里纠纷", "homestead": "房屋宅基地", "contract": "合同纠纷",
    "business": "生产经营", "damages": "损害赔偿", "land": "山林土地", "demolition": "征地拆迁",
    "environment": "环境污染", "labour": "劳动争议", "medical": "医疗纠纷", "traffic": "道路交通事故",
    "property": "物业纠纷", "fire": "消防", "other": "其他",
}
# Complexity decides the default handling level and time limit (docs/domain.md §4).
DISPUTE_COMPLEXITY = {"simple": "简易", "ordinary": "一般", "complex": "复杂", "mediation": "人民调解"}
DISPUTE_DEADLINE_DAYS = {"simple": 1, "ordinary": 7, "complex": 20, "mediation": 30}
HANDLING_LEVELS = {"village": "村社区", "town": "镇办", "county": "县区"}
DISPUTE_STATES = {
    "registered": "登记", "accepted": "受理", "assigned": "分流交办", "mediating": "调处中",
    "resolved": "化解成功", "unresolved": "化解不成功", "escalated": "提级会商", "referred": "转诉讼/信访",
    "feedback": "反馈", "revisited": "回访", "archived": "归档",
}
OPEN_DISPUTE_STATES = ("registered", "accepted", "assigned", "mediating", "unresolved", "escalated")
PARTY_ROLES = {"applicant": "申请人", "respondent": "被申请人"}
SATISFACTION = {"very_satisfied": "非常满意", "satisfied": "满意", "neutral": "基本满意", "dissatisfied": "不满意"}

CAMERA_KINDS = {"bullet": "枪机", "dome": "球机", "hemisphere": "半球", "face": "人脸卡口", "vehicle": "车辆卡口"}
CAMERA_STATUS = {"online": "在线", "offline": "离线"}

ALERT_SEVERITIES = {"info": "提示", "low": "一般", "medium": "较重", "high": "严重", "critical": "特别严重"}
ALERT_STATES = {
    "new": "未处置", "acknowledged": "已签收", "dispatched": "已派单", "escalated": "已上报",
    "resolved": "已办结", "false_alarm": "误报",
}
OPEN_ALERT_STATES = ("new", "acknowledged", "dispatched", "escalated")  # 未办结; the page gets this list from the server

GRID_KINDS = {"comprehensive": "综合网格", "dedicated": "专属网格"}
GRID_ROLES = {"captain": "网格长", "worker": "专职网格员"}

SURVEY_INDICATORS = {"awareness": "知晓率", "participation": "参与率", "security": "安全感", "satisfaction": "满意度"}

# -- 公共安全 (docs/safety.md): key places, risk levels, 护路护线 lines, incidents --------------------------------
KEY_PLACE_KINDS = {
    "school": "学校（校园周边）", "hospital": "医院", "hazard": "重大危险源", "petrol": "加油站",
    "logistics": "寄递物流网点", "market": "集贸市场",
}
KIND_GLYPHS = {"school": "校", "hospital": "医", "hazard": "危", "petrol": "油", "logistics": "递", "market": "市"}
# Spellings seen in county ledgers for each kind
KIND_ALIASES = {
    "学校": "school", "校园": "school", "校园周边": "school", "中小学": "school", "幼儿园": "school",
    "小学": "school", "中学": "school", "医疗机构": "hospital", "卫生院": "hospital", "危险源": "hazard",
    "重大危险源": "hazard", "危化品": "hazard", "危险化学品": "hazard", "加油站": "petrol", "加油加气站": "petrol",
    "寄递物流": "logistics", "物流": "logistics", "快递": "logistics", "寄递": "logistics", "快递网点": "logistics",
    "市场": "market", "农贸市场": "market", "集市": "market",
}

RISK_LEVELS = {"high": "高风险", "medium": "较高风险", "low": "一般风险"}
RISK_COLORS = {"high": "#c53030", "medium": "#dd6b20", "low": "#2f855a"}
RISK_ALIASES = {"高": "high", "重大": "high", "重大风险": "high", "较高": "medium", "较大": "medium",
                "较大风险": "medium", "中": "medium", "一般": "low", "低": "low", "低风险": "low"}

LINE_KINDS = {"railway": "铁路", "highway": "高速公路"}
LINE_DASH = {"railway": "8 4", "highway": ""}

INCIDENT_STATES = {"active": "处置中", "closed": "已结束"}
INCIDENT_ACTIONS = {"raise": "启动响应", "level": "调整级别", "note": "处置记录", "close": "结束响应"}
