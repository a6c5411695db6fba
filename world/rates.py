"""Rates for the demo world's records, per resident unless stated — with the reasoning (docs/demo-world.md).

National figures divided by 1.41 billion people, then adjusted for Ankang (a labour-exporting,
ageing, mountainous prefecture). They are orders of magnitude, good enough for a realistic console.
"""

SPECIAL_RATES = {
    # 安置帮教 covers five years after release; ~2.5 M nationally → ~0.18 %.
    "released": 0.0018,
    # 社区矫正: ~0.65 M under correction in 2020 → ~0.05 %.
    "correction": 0.0005,
    # Registered drug users: ~1.8 M (2020) nationally; Shaanxi below average → 0.08 %.
    "drug": 0.0008,
    # Registered severe mental disorder patients: ~6.6 M managed (2020) → ~0.47 %.
    "mental": 0.0047,
    # 艾滋病危险行为人群 followed by grid workers: small.
    "aids": 0.0001,
}
# Danger assessment levels 0–5 of managed patients: most stable, a few percent ≥ 3.
MENTAL_LEVEL_SHARES = (0.62, 0.19, 0.11, 0.05, 0.02, 0.01)
# 重点青少年: Ankang exports labour, so 留守儿童 dominate.
KEY_YOUTH_RATE = 0.006
KEY_YOUTH_TYPES = {"left_behind": 0.62, "idle": 0.14, "misbehaving": 0.12, "prisoner_child": 0.04,
                   "vagrant": 0.02, "other": 0.06}
# Organisations: ~0.9 M social organisations nationally (0.064 %); non-public enterprises tracked by
# 综治 (private firms, larger 个体户, foreign-invested) ~1.2 % of residents here.
SOCIAL_ORG_RATE = 0.00064
ENTERPRISE_RATE = 0.012
# Disputes: people's mediation handles ~0.8 cases per 100 residents a year in Shaanxi; the demo keeps
# 13 months of cases so that "this month" and the year's trend both have data.
DISPUTES_PER_RESIDENT_YEAR = 0.008
DISPUTE_MONTHS = 13
DISPUTE_CATEGORY_SHARES = {
    "family": 0.16, "neighbour": 0.22, "homestead": 0.10, "contract": 0.06, "business": 0.03,
    "damages": 0.08, "land": 0.09, "demolition": 0.03, "environment": 0.02, "labour": 0.07,
    "medical": 0.02, "traffic": 0.05, "property": 0.03, "fire": 0.005, "other": 0.025,
}
# Cameras: Ankang's 雪亮工程 integrated ~38,000 channels (docs/domain.md §6); ~93 % online on a normal day.
CAMERAS_FULL_SCALE = 38_000
CAMERA_ONLINE_RATE = 0.93
CAMERA_KIND_SHARES = {"bullet": 0.45, "dome": 0.25, "hemisphere": 0.15, "face": 0.08, "vehicle": 0.07}
CAMERA_KIND_CODE = {"bullet": "132", "dome": "132", "hemisphere": "132", "face": "131", "vehicle": "131"}
