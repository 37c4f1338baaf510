"""Every user-facing label, in zh-CN (default) and en.

Codes (``red``, ``leave``, ``interview`` …) are the identifiers of the design's
glossary and are what the store, the JSON output and the command line use.
Labels are only for people: tables, workbooks and messages.
"""

from __future__ import annotations

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

# Watch levels, most to least severe. ``none`` means not on the watch list.
LEVELS = ("red", "orange", "yellow", "none")
LEVEL_COLOURS = {"red": "FFC7CE", "orange": "FFD8A8", "yellow": "FFF2A8"}

_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "level": {
        "red": ("一级(红色)", "Level 1 (red)"),
        "orange": ("二级(橙色)", "Level 2 (orange)"),
        "yellow": ("三级(黄色)", "Level 3 (yellow)"),
        "none": ("无", "none"),
    },
    "status": {
        "enrolled": ("在读", "enrolled"),
        "leave": ("休学", "on leave"),
        "returned": ("复学", "returned"),
        "withdrawn": ("退学", "withdrawn"),
        "graduated": ("毕业", "graduated"),
    },
    "group": {
        "hardship": ("家庭经济困难", "financial hardship"),
        "single_parent_orphan": ("单亲或孤儿", "single parent or orphan"),
        "academic": ("学业问题", "academic difficulty"),
        "psychological": ("心理问题", "psychological problems"),
        "disability": ("身体残疾", "physical disability"),
        "readmitted": ("退学重新参加高考入学", "readmitted after withdrawal"),
    },
    "entry": {
        "screening": ("筛查", "screening"),
        "interview": ("约谈", "interview"),
        "level_change": ("等级变更", "level change"),
        "note": ("记录", "note"),
        "measure": ("帮扶举措", "help measure"),
        "guardian_contact": ("家校沟通", "guardian contact"),
        "crisis": ("危机事件", "crisis"),
        "status_change": ("学籍变动", "status change"),
        "follow_up": ("回访", "follow-up"),
        "close": ("结案", "watch closed"),
        "reopen": ("重新关注", "watch reopened"),
        "referral": ("转介", "referral"),
        "correction": ("更正", "correction"),
    },
    "task": {
        "interview": ("约谈", "interview"),
        "follow_up": ("回访", "follow-up"),
        "review": ("复学评估", "return review"),
        "reminder": ("提醒", "reminder"),
    },
    "role": {
        "admin": ("管理员", "admin"),
        "counselor": ("咨询师", "counselor"),
        "clerk": ("文员", "clerk"),
        "auditor": ("审计员", "auditor"),
    },
    "consent": {
        "signed": ("已签署", "signed"),
        "refused": ("拒绝签署", "refused"),
        "not_needed": ("无需签署", "not needed"),
        "pending": ("待签署", "pending"),
    },
    "referral_status": {
        "referred": ("已转介", "referred"),
        "attended": ("已就诊", "attended"),
        "assessed": ("已评估", "assessed"),
        "treatment_outpatient": ("门诊治疗", "outpatient treatment"),
        "hospitalized": ("住院治疗", "hospitalized"),
        "closed": ("已结束", "closed"),
        "declined": ("拒绝转介", "declined"),
        "cancelled": ("已取消", "cancelled"),
    },
    "urgency": {
        "emergency": ("紧急", "emergency"),
        "urgent": ("加急", "urgent"),
        "routine": ("常规", "routine"),
    },
    "advice": {
        "continue_study": ("继续学习", "continue study"),
        "outpatient": ("门诊治疗", "outpatient"),
        "leave": ("建议休学", "leave of absence"),
        "hospitalize": ("住院治疗", "hospitalize"),
        "other": ("其他", "other"),
    },
    "field": {
        "student_no": ("学号", "Student no."),
        "name": ("姓名", "Name"),
        "gender": ("性别", "Gender"),
        "college": ("学院", "College"),
        "major": ("专业", "Major"),
        "grade": ("年级", "Grade"),
        "class_name": ("班级", "Class"),
        "dorm": ("宿舍", "Dorm"),
        "phone": ("手机", "Phone"),
        "advisor": ("辅导员", "Advisor"),
        "advisor_phone": ("辅导员电话", "Advisor phone"),
        "guardians": ("监护人", "Guardians"),
        "groups": ("特殊群体", "Special groups"),
        "tags": ("标签", "Tags"),
        "status": ("状态", "Status"),
        "level": ("关注等级", "Watch level"),
        "level_since": ("关注起始", "Since"),
        "level_reason": ("关注原因", "Reason"),
        "counselor": ("负责咨询师", "Counselor"),
        "date": ("日期", "Date"),
        "author": ("记录人", "Recorded by"),
        "kind": ("类型", "Kind"),
        "summary": ("内容", "Summary"),
        "due": ("截止日期", "Due"),
        "task": ("任务", "Task"),
        "instrument": ("量表", "Instrument"),
        "band": ("分级", "Band"),
        "proposed_level": ("建议关注等级", "Proposed level"),
        "flags": ("关键条目", "Critical items"),
        "row": ("行", "Row"),
        "count": ("人数", "Count"),
        "total": ("合计", "Total"),
    },
}


def label(domain: str, code: str | None, lang: str = DEFAULT_LANG) -> str:
    """The label of ``code`` in ``domain`` (e.g. ``label("level", "red")``).

    Unknown codes come back unchanged, so a new code never crashes a report.
    """
    if code is None:
        return ""
    entry = _LABELS.get(domain, {}).get(code)
    if entry is None:
        return str(code)
    return entry[0] if lang == "zh" else entry[1]


def level_label(code: str | None, lang: str = DEFAULT_LANG) -> str:
    return label("level", code, lang)


def codes(domain: str) -> tuple[str, ...]:
    """Every code known in ``domain``, in display order."""
    return tuple(_LABELS[domain])


def code_from_label(domain: str, text: str) -> str | None:
    """Accept a code or either label (``红色``, ``一级``, ``red``) and return the code."""
    t = (text or "").strip().lower()
    if not t:
        return None
    for code, (zh, en) in _LABELS.get(domain, {}).items():
        if t in (code, zh.lower(), en.lower()):
            return code
    if domain == "level":
        aliases = {
            "red": ("一级", "红", "红色", "1", "i"),
            "orange": ("二级", "橙", "橙色", "2", "ii"),
            "yellow": ("三级", "黄", "黄色", "3", "iii"),
            "none": ("无", "否", "不关注", "解除", "0", "无需关注"),
        }
        for code, names in aliases.items():
            if t in names:
                return code
    return None
