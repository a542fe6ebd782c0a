"""Realistic fake dealer data: Chinese names, mobile numbers, valid ID numbers and VINs.

Deterministic for a given ``random.Random`` seed, so the backup benchmark's 1x/10x/100x
databases are the same on every machine. Nothing here is a real person.
"""

from __future__ import annotations

import datetime as dt
import random

from storedms.identifiers import id_check_char, vin_check_char

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁"
    "谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁沈"
)
# Rare compound surnames: 0002 splits them after their first character (and joins back).
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
GIVEN_NAMES = (  # noqa: SIM905 (a word list reads better as text)
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英"
    " 浩 宇轩 子涵 欣怡 梓萱 思远 晨 博文 雨桐 俊杰 佳怡 志强 建华 海燕 晓东"
    " 嘉怡 一鸣 诗涵 天佑 若曦 浩然 文静"
).split()
MOBILE_PREFIXES = "133 135 136 137 138 139 150 151 152 158 159 177 180 186 187 188 189 199".split()  # noqa: SIM905
# Districts of the group's cities (Shanghai, Hangzhou, Suzhou, Ningbo): ID number prefixes.
AREA_CODES = ("310101", "310104", "310115", "330102", "330106", "330108", "320505", "330203")
MODELS = (
    "325Li", "530Li", "740Li", "M340i", "X1 sDrive25Li", "X3 xDrive30i", "X5 xDrive40Li",
    "iX3", "i3 eDrive35L", "i5 eDrive35L",
)  # fmt: skip
# LBV = BMW Brilliance Automotive (Shenyang); VDS codes are made up but use VIN letters.
VIN_WMI = "LBV"
VIN_VDS = ("5A110", "5U520", "7R180", "3K330", "8C710", "2V790")
VIN_YEARS = "GHJKLMNPRS"  # 2016 .. 2025
VIN_PLANTS = "ABCDEFGHJKLMNPRSTUVWXYZ"
WORK = (
    "常规保养（更换机油机滤）",  # noqa: RUF001 (Chinese punctuation)
    "更换前刹车片", "空调系统检查", "轮胎换位及四轮定位",
    "更换雨刮片", "蓄电池检测", "召回：更新 iDrive 软件", "钣喷：左前门划痕修复",  # noqa: RUF001
    "更换空气滤芯", "底盘异响检查", "高压电池健康检测", "更换火花塞",
)  # fmt: skip


def person_name(rng: random.Random) -> tuple[str, str]:
    """(family name, given name); about 1 in 50 has a compound surname."""
    family = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
    return family, rng.choice(GIVEN_NAMES)


def mobile_number(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def id_number(rng: random.Random) -> str:
    """An 18-character resident ID number with a valid check character."""
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(365 * 44))
    first17 = rng.choice(AREA_CODES) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return first17 + id_check_char(first17)


def vin(rng: random.Random, serial: int) -> str:
    """A 17-character VIN with a valid check digit; unique per ``serial`` (< 23 million)."""
    plant, number = divmod(serial, 10**6)
    body = (
        VIN_WMI
        + rng.choice(VIN_VDS)
        + "0"
        + rng.choice(VIN_YEARS)
        + VIN_PLANTS[plant % len(VIN_PLANTS)]
        + f"{number:06d}"
    )
    return body[:8] + vin_check_char(body) + body[9:]


def model(rng: random.Random) -> str:
    return rng.choice(MODELS)


def work_description(rng: random.Random) -> str:
    return rng.choice(WORK)
