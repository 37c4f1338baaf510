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
    # Final-year students (see :func:`add_seniors`): in the roster and the 教务 export, not in the census.
    seniors: list[Student] = field(default_factory=list)


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
        for s in [*school.students, *school.seniors]
    ]
    return write_table_xlsx(path, "学生名册", header, rows)


def census_start(today: date, weeks_ago: int = 4) -> datetime:
    d = today - timedelta(weeks=weeks_ago)
    return datetime(d.year, d.month, d.day, 8, 0)


# -- campus data (多源预警): dorm passes, card transactions, course results --------------------------
#
# Shaped like ../shared/samples/campus: a 门禁 CSV (人员编号 holding the 学号, 进/出, one row per
# pass), a 一卡通 transaction list (学号, 交易时间, 交易地点, 交易金额 positive for spending,
# 交易类型) and a 教务 workbook (学年 and 学期 in two columns, numbers or grade words). Most
# students live ordinary lives; a few, chosen by the seed, trip each rule and a few more come
# close without tripping it, so the radar has something to show and something to leave out.

CAMPUS_RULES = ("dorm_out", "meals_drop", "hidden_hardship", "first_fail", "academic_warning", "credits_short")
CANTEENS = ("一食堂", "二食堂", "三食堂", "清真餐厅", "教工餐厅")
FRESHMAN_COURSES = (
    ("高等数学", 5.0), ("大学英语", 3.0), ("思想道德与法治", 3.0), ("中国近现代史纲要", 3.0),
    ("大学计算机基础", 2.0), ("军事理论", 2.0), ("专业导论", 2.0), ("体育", 1.0),
)  # fmt: skip
_SENIOR_BASE = (
    "高等数学", "大学英语", "大学物理", "线性代数", "概率论与数理统计", "思想道德与法治", "中国近现代史纲要",
    "马克思主义基本原理", "毛泽东思想和中国特色社会主义理论体系概论", "形势与政策", "体育", "大学计算机基础",
    "专业导论", "学术写作", "专业英语", "专业基础", "专业核心课", "专业选修课", "创新创业基础", "心理健康教育",
    "军事理论", "大学语文", "职业生涯规划", "社会实践", "毕业实习",
)  # fmt: skip
# A senior's term: seven courses, 24 credits; seven terms make 168, above the 160 a degree needs.
_SENIOR_CREDITS = (5.0, 4.0, 4.0, 3.0, 3.0, 3.0, 2.0)
_GRADE_WORDS = ((90, "优"), (80, "良"), (70, "中"), (60, "及格"))


@dataclass
class CampusPlan:
    """Who trips which campus rule in the demo's exports (student numbers), and who comes close.

    ``near`` holds the students who come close to a rule without tripping it
    (one night out; spending at about half the school's median; a course
    passed at exactly 60).
    """

    trips: dict[str, list[str]] = field(default_factory=dict)
    near: dict[str, list[str]] = field(default_factory=dict)

    def expected(self) -> dict[str, set[str]]:
        """Rule → the students it must raise a signal for (failing 11 credits is a first failure too)."""
        out = {rule: set(nos) for rule, nos in self.trips.items()}
        out.setdefault("first_fail", set()).update(self.trips.get("academic_warning", ()))
        return out


def academic_term(day: date) -> tuple[str, str]:
    """(学年, 学期) of the term a day falls in: autumn (1) from September to January, spring (2) from February."""
    if day.month >= 9:
        return f"{day.year}-{day.year + 1}", "1"
    if day.month == 1:
        return f"{day.year - 1}-{day.year}", "1"
    return f"{day.year - 1}-{day.year}", "2"


def final_year_cohort(day: date, years: int = 4) -> int:
    """The year the cohort in its final year on ``day`` entered (a 4-year 本科 programme)."""
    return day.year - years + 1 if day.month >= 9 else day.year - years


def add_seniors(school: School, count: int, entered: int, *, seed: int) -> list[Student]:
    """Final-year students (``{entered}级``) for the roster and the 教务 export; not in the census exports."""
    rng = random.Random(seed * 7919 + entered)
    colleges = list(COLLEGES)
    seniors = []
    for i in range(count):
        college = colleges[i % len(colleges)]
        major = rng.choice(COLLEGES[college])
        advisor, advisor_phone = school.advisors[college]
        seniors.append(
            Student(
                student_no=f"{entered}{colleges.index(college) + 1:02d}{i:05d}",
                name=_name(rng),
                gender=rng.choice("男女"),
                college=college,
                major=major,
                grade=f"{entered}级",
                class_name=f"{CLASS_CODES[major]}{entered % 100:02d}01",
                dorm=f"{rng.randrange(21, 31)}栋{rng.randrange(1, 7)}{rng.randrange(1, 30):02d}",
                phone=_phone(rng),
                advisor=advisor,
                advisor_phone=advisor_phone,
                guardian_name=_name(rng),
                guardian_relation=rng.choice(RELATIONS),
                guardian_phone=_phone(rng),
                distress=rng.betavariate(1.2, 9),
            )
        )
    school.seniors = seniors
    return seniors


def campus_plan(school: School, *, seed: int, per_rule: int | None = None) -> CampusPlan:
    """Pick the students who trip each rule (and a few who come close), deterministic for the seed.

    The first students picked trip several sources at once (nights out, fewer
    meals and a failed course), so the radar's ranking by sources shows.
    """
    rng = random.Random(seed + 17)
    k = per_rule or max(2, len(school.students) // 600)
    # The most distressed students first, so a signal tends to meet a watched student, as in life.
    ranked = sorted(school.students, key=lambda s: -s.distress)
    pool = [s.student_no for s in ranked[: max(6 * k, 40)]]
    rng.shuffle(pool)
    rest = [s.student_no for s in school.students if s.student_no not in set(pool)]
    rng.shuffle(rest)
    several, pool = pool[:2], pool[2:]
    trips = {
        "dorm_out": several + pool[: k - 1],
        "meals_drop": several[:1] + pool[k - 1 : 2 * k - 2],
        "hidden_hardship": rest[:k],
        "first_fail": several + pool[2 * k - 2 : 3 * k - 3],
        "academic_warning": pool[3 * k - 3 : 4 * k - 3],
    }
    near = {"dorm_out": rest[k : 2 * k], "hidden_hardship": rest[2 * k : 3 * k], "first_fail": rest[3 * k : 4 * k]}
    seniors = [s.student_no for s in school.seniors]
    trips["credits_short"] = seniors[1 : 1 + min(k, max(1, len(seniors) // 4))]
    return CampusPlan(trips={rule: list(dict.fromkeys(trips[rule])) for rule in CAMPUS_RULES}, near=near)


def write_dorm_passes(path: Path, school: School, first_night: date, plan: CampusPlan, *, nights: int = 7, rng: random.Random) -> Path:
    """门禁通行记录 CSV (UTF-8 with BOM) for ``nights`` nights from ``first_night``, and the morning after the last.

    Everyone leaves in the morning and is back before 23:30, some via a lunch break
    in the dorm. A student who trips 未归寝 leaves again in the evening and is next
    seen the following morning, on two or three nights; one who comes close does so
    once; and a few come back after 23:30 but before 05:00 (not a night out).
    """
    out_nights: dict[str, set[int]] = {}
    for no in plan.trips.get("dorm_out", ()):
        out_nights[no] = set(rng.sample(range(nights), min(nights, rng.choice((2, 2, 3)))))
    for no in plan.near.get("dorm_out", ()):
        out_nights[no] = {rng.randrange(nights)}
    rows: list[tuple[str, str, str, str, str, str, str]] = []
    students = school.students
    days = [first_night + timedelta(days=d) for d in range(nights + 1)]
    stamps = [datetime(d.year, d.month, d.day) for d in days]
    rand = rng.random
    for s in students:
        gate = f"{s.dorm.split('栋')[0]}栋东门闸机"
        out = out_nights.get(s.student_no, ())
        late = rand() < 0.03
        base = (s.student_no, s.name, s.college, gate)

        def add(day_i: int, minutes: int, direction: str) -> None:
            rows.append((*base, direction, (stamps[day_i] + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S"), "人脸"))

        for i in range(nights + 1):
            if i > 0 and (i - 1) in out:
                add(i, 360 + int(rand() * 50), "进")  # back in the morning after a night out
            add(i, 420 + int(rand() * 150), "出")
            if i == nights:
                break  # the morning after the last night: only what closes that night
            if rand() < 0.2:
                add(i, 720 + int(rand() * 40), "进")
                add(i, 810 + int(rand() * 30), "出")
            if i in out:
                add(i, 1080 + int(rand() * 60), "进")
                add(i, 1200 + int(rand() * 150), "出")  # out again at night, not back before 05:00
            elif late and i == nights // 2:
                add(i, 1425 + int(rand() * 60), "进")  # back at 23:45–00:45: late, but not a night out
            else:
                add(i, 1080 + int(rand() * 315), "进")
    rows.sort(key=lambda r: r[5])
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("人员编号", "姓名", "部门", "设备名称", "进出方向", "通行时间", "验证方式"))
        writer.writerows(rows)
    return path


def _clock(minutes: int) -> str:
    """``HH:MM:00`` of a minute of the day (0–1439)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


_CLOCK = tuple(_clock(m) for m in range(24 * 60))


def write_card_transactions(path: Path, school: School, last_day: date, plan: CampusPlan, *, days: int = 70, rng: random.Random) -> Path:
    """一卡通交易流水 CSV (UTF-8 with BOM) for the ``days`` days ending ``last_day``: canteen meals, shop purchases, top-ups.

    Ten weeks, because 就餐骤减 compares the last 14 days with the 8 weeks
    before them. A student who trips it eats in the canteens a fifth as often in
    the last 14 days; one who trips 隐性困难 eats nearly every lunch and dinner
    at about a third of what others spend, one who comes close at about half.
    Rows are in order of the day and the meal, as a card system exports a day's
    takings.
    """
    drop = set(plan.trips.get("meals_drop", ()))
    poor = set(plan.trips.get("hidden_hardship", ()))
    thrifty = set(plan.near.get("hidden_hardship", ()))
    first = last_day - timedelta(days=days - 1)
    rand = rng.random
    people = []
    for s in school.students:
        habit, price = 0.55 + 0.4 * rand(), 0.75 + 0.55 * rand()
        if s.student_no in poor:
            habit, price = 1.0, 0.3
        elif s.student_no in thrifty:
            habit, price = 1.0, 0.55
        people.append((s.student_no, s.name, habit, price, CANTEENS[int(rand() * len(CANTEENS))], s.student_no in drop))
    # Breakfast, lunch, dinner: the first minute, the spread in minutes, the share of a student's habit, the price in cents.
    meals = ((420, 90, 0.35, 450), (690, 100, 1.0, 1300), (1050, 120, 0.9, 1250))
    recent = days - 14
    n_canteens = len(CANTEENS)
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("学号", "姓名", "交易时间", "交易地点", "交易金额", "交易类型"))
        for d in range(days):
            day = (first + timedelta(days=d)).isoformat() + " "
            rows = []
            for start, spread, share, cents in meals:
                for no, name, habit, price, canteen, drops in people:
                    if rand() < habit * share * (0.2 if drops and d >= recent else 1.0):
                        place = canteen if rand() < 0.7 else CANTEENS[int(rand() * n_canteens)]
                        amount = round(cents * price * (0.8 + 0.4 * rand())) / 100
                        rows.append((no, name, day + _CLOCK[start + int(rand() * spread)], place, f"{amount:.2f}", "消费"))
            for no, name, *_rest in people:
                roll = rand()
                if roll < 0.08:
                    rows.append((no, name, day + _CLOCK[1200 + int(rand() * 100)], "校园超市", f"{rand() * 30 + 3:.2f}", "消费"))
                elif roll > 0.9:
                    rows.append((no, name, day + _CLOCK[720 + int(rand() * 60)], "自助充值机", f"{(1 + int(rand() * 4)) * 50:.2f}", "充值"))
            writer.writerows(rows)
    return path


def _column_name(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def write_plain_xlsx(path: Path, sheet_name: str, header, rows) -> Path:
    """A bare workbook of one sheet, the way business systems stream their exports: inline strings, no styles.

    Tens of thousands of rows in a fraction of a second, where a styled
    workbook takes seconds; strings are always text cells (never a formula),
    numbers number cells.
    """
    import zipfile
    from xml.sax.saxutils import escape

    def cell(ref: str, value) -> str:
        if value is None:
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f'<c r="{ref}"><v>{value!r}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'

    parts = []
    for r, row in enumerate([header, *rows], start=1):
        cells = "".join(cell(f"{_column_name(c)}{r}", v) for c, v in enumerate(row))
        parts.append(f'<row r="{r}">{cells}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + "".join(parts)
        + "</sheetData></worksheet>"
    )
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>",
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": sheet,
    }
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return path


def _score(rng: random.Random, credits: float, failed: bool) -> object:
    """A result as 教务 exports write it: a number, or a grade word for 1-credit courses such as 体育."""
    value = rng.randrange(30, 58) if failed else rng.randrange(62, 97)
    if credits <= 1.0:
        return "不及格" if failed else next(word for mark, word in _GRADE_WORDS if value >= mark)
    return float(value)


def write_academic_results(path: Path, school: School, today: date, plan: CampusPlan, *, rng: random.Random) -> Path:
    """教务成绩 workbook: this term's results of every freshman, and the whole record of every senior.

    A student who trips 首次挂科 fails one course (some pass its 补考 in the same
    term); one who trips 学业预警 fails 11 credits; one who comes close passes
    高等数学 with exactly 60. A senior short of credits failed courses in two
    different terms and never retook them.
    """
    year, term = academic_term(today)
    first_fail = set(plan.trips.get("first_fail", ()))
    warning = set(plan.trips.get("academic_warning", ()))
    near = set(plan.near.get("first_fail", ()))
    short = set(plan.trips.get("credits_short", ()))
    rows: list[list] = []
    for s in school.students:
        failed: set[str] = set()
        if s.student_no in warning:
            failed = {"高等数学", "大学英语", "中国近现代史纲要"}
        elif s.student_no in first_fail:
            failed = {rng.choice(("高等数学", "大学英语", "大学计算机基础"))}
        for course, credits in FRESHMAN_COURSES:
            score = 60.0 if s.student_no in near and course == "高等数学" else _score(rng, credits, course in failed)
            rows.append([s.student_no, s.name, year, term, course, credits, score, "正常"])
        if s.student_no in first_fail and rng.random() < 0.5:
            # A 补考 passed in the same term: the failure stays in the record (首次挂科), its credits are earned.
            course = next(iter(failed))
            credits = dict(FRESHMAN_COURSES)[course]
            rows.append([s.student_no, s.name, year, term, course, credits, float(rng.randrange(60, 75)), "补考"])
    entered = int(year[:4])
    for s in school.seniors:
        cohort = int(s.grade[:4])
        names = [f"{_SENIOR_BASE[j % len(_SENIOR_BASE)]}{'（二）' if j >= len(_SENIOR_BASE) else ''}" for j in range(7 * 7)]
        terms = [(f"{y}-{y + 1}", t) for y in range(cohort, entered + 1) for t in ("1", "2")]
        terms = [t for t in terms if t <= (year, term)][:7]
        failing = {(2, 1), (2, 4), (2, 6), (4, 2), (4, 5)} if s.student_no in short else set()
        for i, (y, t) in enumerate(terms):
            for k, credits in enumerate(_SENIOR_CREDITS):
                rows.append([s.student_no, s.name, y, t, names[7 * i + k], credits, _score(rng, credits, (i, k) in failing), "正常"])
    return write_plain_xlsx(path, "Sheet1", ("学号", "姓名", "学年", "学期", "课程名称", "学分", "成绩", "考试性质"), rows)


# -- the 五级网络 (issue 18): one 心理委员 per class and the weekly 班级心理晴雨表 they send -------------------
#
# Shaped like ../shared/samples/campus/peer_report_sample.xlsx: the roster as a center keeps it (学院,
# 班级, 角色, 学号, 姓名, 电话) and one combined sheet per week with a row per class (学院, 班级, 周次,
# 填报人, 本期情况 无异常/有情况, 关注学生学号/姓名, 情况描述, 是否已告知辅导员): most classes send a 零报告, a
# few name a classmate, and the classes ``missing`` leaves out send nothing that week.

NETWORK_ROSTER_HEADER = ("学院", "班级", "角色", "学号", "姓名", "电话")
CLASS_REPORT_HEADER = ("学院", "班级", "周次", "填报人", "本期情况", "关注学生学号", "关注学生姓名", "情况描述", "是否已告知辅导员")
PEER_CONCERNS = (
    "近两周常独自待在宿舍，不去上课，室友反映夜里睡不着",
    "最近情绪低落，和同学说过“活着没意思”，已陪同去辅导员处",
    "与室友矛盾加深，饭量明显减少，上课注意力不集中",
)


@dataclass
class NetworkPlan:
    """The demo's network: class → its 心理委员 (a student of the class), and what each week's sheet holds.

    ``missing``: week label → the classes that send nothing that week;
    ``concerns``: week label → ``(class, student)`` pairs a 心理委员 reports 有情况 about.
    """

    monitors: dict[str, Student] = field(default_factory=dict)
    colleges: dict[str, str] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    concerns: dict[str, list[tuple[str, Student]]] = field(default_factory=dict)


def network_plan(school: School, weeks: list[str], *, seed: int, concerns: int = 2) -> NetworkPlan:
    """One 心理委员 per class of the school; exactly one class missing in the last week; ``concerns`` named students in it.

    The named students are classmates of their 心理委员 among the most
    distressed of the school, so a peer report tends to meet a screening result,
    as in life. Deterministic for the seed.
    """
    rng = random.Random(seed + 23)
    by_class: dict[str, list[Student]] = {}
    for s in [*school.students, *school.seniors]:
        by_class.setdefault(s.class_name, []).append(s)
    plan = NetworkPlan()
    for name in sorted(by_class):
        members = sorted(by_class[name], key=lambda s: s.student_no)
        plan.monitors[name] = members[0]
        plan.colleges[name] = members[0].college
    last = weeks[-1]
    plan.missing = {week: [] for week in weeks}
    plan.missing[last] = [rng.choice(sorted(plan.monitors))]
    ranked = sorted((s for s in school.students if plan.monitors[s.class_name] is not s), key=lambda s: -s.distress)
    named = [s for s in ranked if s.class_name not in plan.missing[last]][:concerns]
    plan.concerns = {week: [] for week in weeks}
    plan.concerns[last] = [(s.class_name, s) for s in named]
    return plan


def write_network_roster(path: Path, plan: NetworkPlan) -> Path:
    """The 五级网络 roster a center keeps: a 心理委员 per class, with 学号 and phone."""
    rows = [[plan.colleges[c], c, "心理委员", s.student_no, s.name, s.phone] for c, s in plan.monitors.items()]
    return write_plain_xlsx(path, "五级网络名册", NETWORK_ROSTER_HEADER, rows)


def write_class_reports(path: Path, plan: NetworkPlan, week: str, *, rng: random.Random) -> Path:
    """One week's 班级心理晴雨表, every class on one sheet as a college office gathers them."""
    named = {}
    for class_name, s in plan.concerns.get(week, ()):
        named.setdefault(class_name, []).append(s)
    skip = set(plan.missing.get(week, ()))
    rows: list[list] = []
    for c, monitor in plan.monitors.items():
        if c in skip:
            continue
        if c not in named:
            rows.append([plan.colleges[c], c, week, monitor.name, "无异常", None, None, None, None])
            continue
        for s in named[c]:
            said = PEER_CONCERNS[len([r for r in rows if r[4] == "有情况"]) % len(PEER_CONCERNS)]
            rows.append([plan.colleges[c], c, week, monitor.name, "有情况", s.student_no, s.name, said, rng.choice(("是", "是", "否"))])
    return write_plain_xlsx(path, "班级心理晴雨表", CLASS_REPORT_HEADER, rows)


# -- 个体咨询与团体辅导: a month of the counseling desk ------------------------------------------------

# What students bring, by concern code (made-up, short, as a counselor notes it).
SESSION_NOTES = {
    "emotion": ("期中后情绪低落，兴趣减退", "考试前焦虑明显，心慌失眠"),
    "relationship": ("与室友作息冲突，关系紧张", "社团中被孤立感，不敢表达"),
    "romance": ("分手后反复回想，影响学习", "恋爱中争吵频繁，情绪起伏"),
    "academic": ("挂科后自责，担心评优", "专业兴趣不足，考虑转专业"),
    "career": ("考研还是就业犹豫不决", "实习受挫，对未来迷茫"),
    "family": ("父母关系紧张，假期不愿回家", "家中经济压力，自觉愧疚"),
    "adaptation": ("新生适应困难，想家", "不适应集体生活和上课节奏"),
    "sleep": ("入睡困难两周，白天精力差", "作息颠倒，早晨起不来"),
}
# Bookings per weekday over the month, the share of them attended, missed (爽约) and cancelled.
BOOKINGS_PER_DAY = 3
ATTENDED, NO_SHOW = 0.8, 0.1
SESSION_TIMES = ("09:00", "10:00", "11:00", "14:00", "15:00", "16:00")


@dataclass
class CounselingPlan:
    """A month of the desk: bookings with what became of them, walk-ins, one group, two activities and a conference."""

    bookings: list[dict] = field(default_factory=list)  # {student_no, at (datetime), counselor, outcome, concern, risk, minutes, mode, close}
    walk_ins: list[dict] = field(default_factory=list)  # {student_no, on (date), concern, risk}
    group_members: list[str] = field(default_factory=list)
    group_meetings: list[tuple[date, list[str]]] = field(default_factory=list)  # (day, absent student numbers)
    activities: list[dict] = field(default_factory=list)
    conference: list[str] = field(default_factory=list)


def counseling_plan(school: School, today: date, counselors: tuple[str, ...], *, seed: int, days: int = 28) -> CounselingPlan:
    """The demo month before ``today`` (and the next three days' bookings), deterministic for a seed.

    About :data:`BOOKINGS_PER_DAY` bookings each weekday, mostly the same
    students coming back (a series of sessions, the last one closing it), a
    few no-shows and cancellations, one high-risk session; a group of eight
    meeting weekly; a lecture and a 5·25 event; a case conference on two of
    the students seen.
    """
    rng = random.Random(seed + 41)
    clients = rng.sample(school.students, min(len(school.students), 24))
    plan = CounselingPlan()
    series: dict[str, int] = {}
    for offset in range(days, -4, -1):
        day = today - timedelta(days=offset)
        if day.weekday() >= 5 or offset == 0:
            continue
        times = rng.sample(SESSION_TIMES, BOOKINGS_PER_DAY)
        for i, t in enumerate(sorted(times)):
            s = clients[rng.randrange(len(clients))]
            if any(b["student_no"] == s.student_no and b["at"].date() == day for b in plan.bookings):
                continue
            hour, minute = (int(x) for x in t.split(":"))
            when = datetime(day.year, day.month, day.day, hour, minute)
            roll = rng.random()
            outcome = "future" if offset < 0 else "attended" if roll < ATTENDED else "no_show" if roll < ATTENDED + NO_SHOW else "cancelled"
            concern = list(SESSION_NOTES)[int(s.distress * 97) % len(SESSION_NOTES)]
            booking = {
                "student_no": s.student_no, "at": when, "counselor": counselors[i % len(counselors)], "outcome": outcome,
                "concern": concern, "risk": "low", "minutes": rng.choice((50, 50, 50, 60)),
                "mode": rng.choice(("in_person", "in_person", "in_person", "online", "phone")), "close": None,
            }  # fmt: skip
            if outcome == "attended":
                series[s.student_no] = series.get(s.student_no, 0) + 1
                booking["risk"] = "medium" if s.distress > 0.6 else "low"
                if series[s.student_no] >= 4 and rng.random() < 0.5:
                    booking["close"] = rng.choice(("achieved", "improved", "improved"))
                    series[s.student_no] = 0
            plan.bookings.append(booking)
    attended = [b for b in plan.bookings if b["outcome"] == "attended"]
    if attended:
        attended[len(attended) // 2]["risk"] = "high"
    seen = sorted({b["student_no"] for b in attended})
    plan.walk_ins = [{"student_no": no, "on": today - timedelta(days=d), "concern": "emotion", "risk": "low"} for no, d in zip(seen[:2], (9, 2))]
    others = [s.student_no for s in school.students if s not in clients]
    plan.group_members = rng.sample(others, min(len(others), 8))
    first = today - timedelta(days=days - 2)
    for week in range(4):
        day = first + timedelta(weeks=week)
        if day < today:
            plan.group_meetings.append((day, rng.sample(plan.group_members, rng.choice((0, 1, 1, 2)))))
    plan.activities = [
        {"kind": "lecture", "title": "新生心理适应讲座", "on": today - timedelta(days=20), "audience": f"{school.year}级新生", "count": 320},
        # 5·25 falls in May; in another month the second activity is a class meeting the 心理委员 hold.
        {"kind": "month_525", "title": "5·25心理健康月·心理游园会", "on": today - timedelta(days=6), "audience": "全校学生", "count": 580}
        if today.month in (5, 6)
        else {"kind": "class_meeting", "title": "“认识压力”主题班会", "on": today - timedelta(days=6), "audience": "各班学生", "count": 860},
    ]
    plan.conference = seen[2:4]
    return plan
