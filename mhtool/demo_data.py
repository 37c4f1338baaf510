"""A synthetic school and its census exports, for `mhtool demo` and the benchmarks.

Everything is made up and deterministic for a seed: names are drawn from common
surnames and given-name characters, answers from a latent-distress model so
that most students score low and a few score high, as in a real census.
The exports are shaped like the platforms' own: 问卷星 UPI in text mode, 问卷星
SCL-90 as a position-mode matrix question, 腾讯问卷 PHQ-9 CSV (UTF-8 BOM,
every field quoted, a trailing comma).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "子涵浩宇欣怡梓轩雨萱一诺思远佳琪俊杰嘉怡明轩诗涵宇航晨曦若曦浩然雅婷文博梦瑶志强晓燕海峰丽娟建华秀英国栋慧敏天翊书瑶泽宇静怡昊然紫萱博文可馨皓轩乐瑶子墨"
)
COLLEGES = {
    "计算机学院": ("计算机科学与技术", "软件工程", "人工智能"),
    "法学院": ("法学", "知识产权"),
    "外国语学院": ("英语", "日语", "翻译"),
    "数学与统计学院": ("数学与应用数学", "统计学"),
    "物理科学与技术学院": ("物理学", "光电信息科学与工程"),
    "经济与管理学院": ("经济学", "会计学", "工商管理"),
    "文学院": ("汉语言文学", "新闻学"),
    "医学院": ("临床医学", "护理学", "药学"),
}
CLASS_CODES = {
    "计算机科学与技术": "计科", "软件工程": "软工", "人工智能": "智能", "法学": "法学", "知识产权": "知产",
    "英语": "英语", "日语": "日语", "翻译": "翻译", "数学与应用数学": "数学", "统计学": "统计",
    "物理学": "物理", "光电信息科学与工程": "光电", "经济学": "经济", "会计学": "会计", "工商管理": "工管",
    "汉语言文学": "汉语言", "新闻学": "新闻", "临床医学": "临床", "护理学": "护理", "药学": "药学",
}
RELATIONS = ("父亲", "母亲", "母亲", "父亲", "祖母", "舅舅")


@dataclass
class Student:
    student_no: str
    name: str
    gender: str
    college: str
    major: str
    grade: str
    class_name: str
    dorm: str
    phone: str
    advisor: str
    advisor_phone: str
    guardian_name: str
    guardian_relation: str
    guardian_phone: str
    distress: float  # latent 0..1, drives every instrument's answers

    def roster(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "gender", "college", "major", "grade", "class_name", "dorm", "phone", "advisor", "advisor_phone")}


@dataclass
class School:
    seed: int
    year: int
    students: list[Student] = field(default_factory=list)
    advisors: dict[str, tuple[str, str]] = field(default_factory=dict)


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN_CHARS) + (rng.choice(GIVEN_CHARS) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def _phone(rng: random.Random) -> str:
    # 170 numbers are virtual-operator blocks; with the random tail they are
    # plainly synthetic and never a real student's line.
    return "170" + "".join(str(rng.randrange(10)) for _ in range(8))


def build_school(n: int, *, seed: int = 2026, year: int = 2026) -> School:
    rng = random.Random(seed)
    school = School(seed=seed, year=year)
    for college in COLLEGES:
        school.advisors[college] = (_name(rng), _phone(rng))
    colleges = list(COLLEGES)
    for i in range(n):
        college = colleges[i % len(colleges)]
        major = rng.choice(COLLEGES[college])
        class_no = 1 + rng.randrange(max(1, n // 240) + 1)
        # Distress: mostly low, a long tail; roughly 10% elevated and 2% severe.
        r = rng.random()
        distress = rng.betavariate(1.2, 9) if r < 0.88 else rng.uniform(0.35, 0.7) if r < 0.98 else rng.uniform(0.7, 0.95)
        advisor, advisor_phone = school.advisors[college]
        surname_parent = _name(rng)
        school.students.append(
            Student(
                student_no=f"{year}{colleges.index(college) + 1:02d}{i:05d}",
                name=_name(rng),
                gender=rng.choice("男女"),
                college=college,
                major=major,
                grade=f"{year}级",
                class_name=f"{CLASS_CODES[major]}{year % 100:02d}{class_no:02d}",
                dorm=f"{rng.randrange(1, 21)}栋{rng.randrange(1, 7)}{rng.randrange(1, 30):02d}",
                phone=_phone(rng),
                advisor=advisor,
                advisor_phone=advisor_phone,
                guardian_name=surname_parent,
                guardian_relation=rng.choice(RELATIONS),
                guardian_phone=_phone(rng),
                distress=distress,
            )
        )
    return school


# -- answers -----------------------------------------------------------------------------------


def _graded(rng: random.Random, distress: float, levels: int, noise: float = 0.45) -> int:
    """An answer 0..levels-1 whose expected value follows distress, with item noise."""
    x = distress * (levels - 1) * 1.1 - 0.15 + rng.gauss(0, noise)
    return max(0, min(levels - 1, int(x)))


def _critical(rng: random.Random, distress: float, levels: int) -> int:
    """Critical items (self-harm thoughts) are rare below severe distress."""
    if rng.random() >= 0.002 + 1.4 * max(0.0, distress - 0.6):
        return 0
    return rng.randrange(1, levels)


def upi_answers(rng: random.Random, s: Student) -> list[int]:
    out = []
    for item in range(1, 61):
        if item in (5, 20, 35, 50):
            p = 0.5
        elif item in (8, 16, 26):
            p = 0.01 + 0.35 * max(0.0, s.distress - 0.2)
        elif item == 25:
            p = 0.001 + 1.2 * max(0.0, s.distress - 0.6)
        else:
            p = 0.03 + 0.55 * s.distress
        out.append(1 if rng.random() < p else 0)
    return out


def scl90_answers(rng: random.Random, s: Student) -> list[int]:
    return [1 + (_critical(rng, s.distress, 5) if item == 15 else _graded(rng, s.distress * 0.8, 5, 0.35)) for item in range(1, 91)]


def phq9_answers(rng: random.Random, s: Student) -> list[int]:
    return [_critical(rng, s.distress, 4) if item == 9 else _graded(rng, s.distress, 4, 0.5) for item in range(1, 10)]


UPI_TEXT = {1: "是", 0: "否"}
PHQ_TEXT = {0: "完全不会", 1: "好几天", 2: "一半以上的天数", 3: "几乎每天"}
WJX_META = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP")


def _submitted(rng: random.Random, start: datetime, i: int) -> datetime:
    # A census is answered class by class within one day.
    return start + timedelta(seconds=15 * i + rng.randrange(15))


def _wjx_roster_header(first_q: int = 1) -> list[str]:
    return [f"{first_q}、学号", f"{first_q + 1}、姓名", f"{first_q + 2}、性别", f"{first_q + 3}、学院", f"{first_q + 4}、专业", f"{first_q + 5}、班级"]


def _wjx_meta(rng: random.Random, i: int, when: datetime) -> list:
    return [i + 1, when.strftime("%Y/%m/%d %H:%M:%S"), f"{rng.randrange(180, 1500)}秒", "手机提交", "微信", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}(示例省-示例市)"]


def write_wjx_upi(path: Path, school: School, start: datetime, *, rng: random.Random, supplementary: bool = False, dirty: bool = True) -> Path:
    """问卷星, 按选项文本: answers are 是/否; a few dirty rows as real exports have.

    ``supplementary`` adds UPI's optional items 61–64 (64 item columns).
    """
    from mhtool.io.xlsx import write_table_xlsx

    n_items = 64 if supplementary else 60
    header = [*WJX_META, *_wjx_roster_header(), *[f"{6 + k}、UPI第{k}题" for k in range(1, n_items + 1)]]
    rows = []
    for i, s in enumerate(school.students):
        when = _submitted(rng, start, i)
        answers = [UPI_TEXT[a] for a in upi_answers(rng, s)]
        if supplementary:
            answers += [UPI_TEXT[1 if rng.random() < 0.02 + 0.3 * s.distress else 0] for _ in range(4)]
        student_no: object = s.student_no
        if not dirty:
            i_dirty = -1
        else:
            i_dirty = i
        if i_dirty == 7:
            student_no = int(s.student_no)  # a number typed into the student-number cell
        if i_dirty == 11:
            student_no = s.student_no.translate(str.maketrans("0123456789", "０１２３４５６７８９"))  # full-width digits
        if i_dirty == 13:
            answers[29] = "(跳过)"  # a skipped item: rejected, listed in the rejects workbook
        rows.append([*_wjx_meta(rng, i, when), student_no, s.name, s.gender, s.college, s.major, s.class_name, *answers])
        if i_dirty == 3:
            # A student who submitted twice: the later submission is kept.
            again = [UPI_TEXT[a] for a in upi_answers(rng, s)] + answers[60:]
            rows.append([*_wjx_meta(rng, i, when + timedelta(hours=2)), s.student_no, s.name, s.gender, s.college, s.major, s.class_name, *again])
    return write_table_xlsx(path, "Sheet1", header, rows)


def write_wjx_scl90(path: Path, school: School, start: datetime, *, rng: random.Random) -> Path:
    """问卷星, 按选项序号, SCL-90 as one matrix question: only the first item column has the number."""
    from mhtool.io.xlsx import write_table_xlsx

    header = [*WJX_META, "总分", "1、学号", "2、姓名", "3、性别", "4、年级", "5、学院", "6、以下列出了有些人可能会有的问题，请根据最近一星期的情况选择—症状描述1"]
    header += ["症状描述" + str(k) for k in range(2, 91)]
    rows = []
    for i, s in enumerate(school.students):
        when = _submitted(rng, start, i)
        answers = scl90_answers(rng, s)
        rows.append([*_wjx_meta(rng, i, when), sum(answers), s.student_no, s.name, s.gender, s.grade, s.college, *answers])
    return write_table_xlsx(path, "Sheet1", header, rows)


def write_tencent_phq9(path: Path, school: School, start: datetime, *, rng: random.Random) -> Path:
    """腾讯问卷 CSV: UTF-8 with BOM, every field quoted, a trailing comma on every line."""
    header = ["编号", "开始答题时间", "结束答题时间", "答题时长", "地理位置国家和地区", "地理位置省", "地理位置市", "自定义字段", "1.学号", "2.姓名", "3.学院"]
    header += [f"{3 + k}.PHQ-9第{k}题" for k in range(1, 10)]
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator=",\r\n")
        writer.writerow(header)
        for i, s in enumerate(school.students):
            begin = _submitted(rng, start, i)
            end = begin + timedelta(seconds=rng.randrange(90, 600))
            answers = [PHQ_TEXT[a] for a in phq9_answers(rng, s)]
            writer.writerow([i + 1, begin.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S"), f"{(end - begin).seconds}秒", "中国", "示例省", "示例市", "", s.student_no, s.name, s.college, *answers])
    return path


def write_roster(path: Path, school: School) -> Path:
    from mhtool.io.xlsx import write_table_xlsx

    header = ["学号", "姓名", "性别", "学院", "专业", "年级", "班级", "宿舍", "手机", "辅导员", "辅导员电话", "监护人", "监护人关系", "监护人电话"]
    rows = [
        [s.student_no, s.name, s.gender, s.college, s.major, s.grade, s.class_name, s.dorm, s.phone, s.advisor, s.advisor_phone, s.guardian_name, s.guardian_relation, s.guardian_phone]
        for s in school.students
    ]
    return write_table_xlsx(path, "学生名册", header, rows)


def census_start(today: date, weeks_ago: int = 4) -> datetime:
    d = today - timedelta(weeks=weeks_ago)
    return datetime(d.year, d.month, d.day, 8, 0)
