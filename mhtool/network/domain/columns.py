"""The columns a network sheet may have, the words its cells use, and the header row that names them.

A header is recognised by its text once folded (spaces, ``*`` marks of required
columns and a trailing colon dropped, full-width forms made ASCII): ``关注学生学号``,
``关注学生 学号*`` and ``关注学生学号：`` are one column. The first row among the
first :data:`HEADER_SCAN` rows that names the required columns is the header.
"""

from __future__ import annotations

import unicodedata

from mhtool.domain.labels import label

HEADER_SCAN = 10

# The roster (network import): field → the headers that mean it.
MEMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "college": ("学院", "院系", "所在学院", "学院名称", "二级学院"),
    "class": ("班级", "班级名称", "所在班级"),
    "dorm": ("宿舍", "寝室", "宿舍号", "寝室号", "宿舍名称", "寝室名称"),
    "role": ("角色", "职务", "身份", "岗位", "网络角色"),
    "person_no": ("学号/工号", "学工号", "学号", "工号", "编号"),
    "name": ("姓名", "名字"),
    "phone": ("电话", "手机", "手机号", "手机号码", "联系电话", "联系方式"),
}

# The reports (network import-reports): field → the headers that mean it.
REPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "college": MEMBER_COLUMNS["college"],
    "class": MEMBER_COLUMNS["class"],
    "dorm": MEMBER_COLUMNS["dorm"],
    "week": ("周次", "上报周次", "填报周次", "周"),
    "month": ("月份", "上报月份", "填报月份", "月"),
    "period": ("周期", "上报周期", "期次", "上报期次"),
    "reporter": ("填报人", "上报人", "填表人", "心理委员", "寝室长"),
    "status": ("本期情况", "本周情况", "本月情况", "情况", "班级情况", "寝室情况"),
    "student_no": ("关注学生学号", "学生学号", "学号"),
    "student_name": ("关注学生姓名", "学生姓名", "姓名"),
    "description": ("情况描述", "具体情况", "情况说明", "描述"),
    "told": ("是否已告知辅导员", "已告知辅导员", "是否告知辅导员", "告知辅导员"),
}

# The header a template writes, in order (the period column is 周次 or 月份, as the period is).
TEMPLATE_HEADER = ("学院", "班级", "周次", "填报人", "本期情况", "关注学生学号", "关注学生姓名", "情况描述", "是否已告知辅导员")
STATUS_CHOICES = ("无异常", "有情况")
TOLD_CHOICES = ("是", "否")

ROLES = ("peer_monitor", "dorm_head", "advisor", "station_head")
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "peer_monitor": ("心理委员", "班级心理委员", "心理健康委员", "心理委员(班级)"),
    "dorm_head": ("寝室长", "宿舍长", "舍长"),
    "advisor": ("辅导员", "班级辅导员"),
    "station_head": ("二级站负责人", "二级心理辅导站负责人", "二级站站长", "心理辅导站负责人", "站长"),
}
# What a person reads for a role or a unit kind: labels "network_role", "network_unit" (mhtool.domain.labels).
UNIT_KINDS = ("class", "dorm", "college")

STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "zero": ("无异常", "正常", "无", "零报告", "无情况", "zero"),
    "concern": ("有情况", "异常", "有", "有异常", "concern"),
}
YES_WORDS = ("是", "已告知", "已", "yes", "y", "true", "1", "√")
NO_WORDS = ("否", "未告知", "未", "no", "n", "false", "0", "×")

def fold(text: object) -> str:
    """A cell or header as compared: NFKC, no spaces, case-folded."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return "".join(s.split()).casefold()


def _header_key(text: object) -> str:
    return fold(text).replace("*", "").rstrip(":").strip()


def role_code(text: object) -> str | None:
    """``心理委员`` (or ``peer_monitor``) → ``peer_monitor``; None for a word that names no role."""
    key = fold(text)
    for code, words in ROLE_WORDS.items():
        if key == code or key in (fold(w) for w in words) or key == fold(label("network_role", code, "en")):
            return code
    return None


def status_code(text: object) -> str | None:
    key = fold(text)
    for code, words in STATUS_WORDS.items():
        if key in (fold(w) for w in words):
            return code
    return None


def told_value(text: object) -> bool | None | str:
    """``是`` → True, ``否`` → False, empty → None; anything else → ``"?"``."""
    key = fold(text)
    if not key:
        return None
    if key in (fold(w) for w in YES_WORDS):
        return True
    if key in (fold(w) for w in NO_WORDS):
        return False
    return "?"


def match_header(cells: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """field → 0-based column index for the cells of one row (the first column that names a field wins)."""
    keys = [_header_key(c) for c in cells]
    found: dict[str, int] = {}
    taken: set[int] = set()
    # The longer synonyms first, so 关注学生学号 is not taken for 学号 of the roster, and so on.
    pairs = sorted(((len(word), name, fold(word)) for name, words in columns.items() for word in words), reverse=True)
    for _length, name, word in pairs:
        if name in found:
            continue
        for j, key in enumerate(keys):
            if j not in taken and key == word:
                found[name] = j
                taken.add(j)
                break
    return found


def find_header(rows: list[list[str]], columns: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> tuple[int, dict[str, int]] | None:
    """(0-based row index, field → column) of the first row naming every ``required`` field; None when no row does."""
    for i, row in enumerate(rows[:HEADER_SCAN]):
        found = match_header(row, columns)
        if all(name in found for name in required):
            return i, found
    return None
