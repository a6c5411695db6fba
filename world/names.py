"""Plausible, synthetic Chinese names (never real people): surname by frequency, given name by sex and era."""

from __future__ import annotations

import numpy as np

# The most common surnames with rough national frequencies (per mille), plus a few frequent in southern Shaanxi.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_SURNAME_WEIGHTS = np.concatenate([np.linspace(72, 8, 50), np.linspace(7, 2, len(SURNAMES) - 50)])

MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志兴文东海峰亮成红春晨博宏德庆"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲燕红梅琳颖婷雪慧莉萍倩琴云洁晶璐瑶怡欣悦佳蕾丹凤英兰桂珍翠琼茜薇爽月"
# Older cohorts favour a different set of characters (秀英, 建国 …).
OLD_MALE_CHARS = "建国华明德志永福文忠兴荣富贵生发才保顺有山全成祥"
OLD_FEMALE_CHARS = "秀英兰桂珍凤玉芳淑琴翠花梅莲香娥春菊巧"


def _pick(rng: np.random.Generator, chars: str, n: int) -> np.ndarray:
    return np.array(list(chars))[rng.integers(0, len(chars), n)]


def random_names(rng: np.random.Generator, sex: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Names for people of the given sex ('M'/'F') and birth year; one or two given-name characters."""
    n = len(sex)
    p = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
    surname = np.array(list(SURNAMES))[rng.choice(len(SURNAMES), n, p=p)]
    male = sex == "M"
    old = birth_year < 1965
    first = np.where(male, np.where(old, _pick(rng, OLD_MALE_CHARS, n), _pick(rng, MALE_CHARS, n)),
                     np.where(old, _pick(rng, OLD_FEMALE_CHARS, n), _pick(rng, FEMALE_CHARS, n)))
    second = np.where(male, _pick(rng, MALE_CHARS, n), _pick(rng, FEMALE_CHARS, n))
    two = rng.random(n) < 0.72
    return np.char.add(np.char.add(surname, first), np.where(two, second, ""))


def name_for(text: str) -> str:
    """One plausible name chosen by `text` (the same text, the same name): fixtures' grid workers, for example."""
    import zlib

    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    sex = np.array(["M" if rng.random() < 0.5 else "F"])
    return str(random_names(rng, sex, np.array([1986]))[0])


FOREIGN_NAMES = (
    ("KOR", "KIM MINJUN"), ("KOR", "LEE SEOYEON"), ("JPN", "SATO HARUTO"), ("USA", "JOHN SMITH"),
    ("GBR", "EMMA JONES"), ("VNM", "NGUYEN VAN AN"), ("PAK", "MUHAMMAD ALI"), ("RUS", "IVAN PETROV"),
    ("DEU", "LUKAS MUELLER"), ("MMR", "AUNG KYAW"), ("LAO", "SOMSAK VONG"), ("IND", "ARJUN SHARMA"),
)
