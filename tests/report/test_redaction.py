"""``--redact`` de-identifies (issue 13, defect 4): every redacted workbook, read back, names nobody.

A store of real dossiers is written through the use cases, with a guardian's
name and phones, an ID-card number, dorm addresses, a landline, a classmate's
name and number, the advisor's and the counselor's names planted in the free
text a counselor types (interview findings, notes, level-change reasons, the
crisis record, guardian contacts, referral notes, help measures) and in the
name of a screening batch. Every report is produced twice through
``center.reports``: plainly, to show that the planted strings do reach the
workbooks, and with ``redact=True``, where none of them may be found in any
cell, sheet name, chart title, document property, in the raw parts of the file,
or in its name.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from mhtool.app import Center, credential_from_key_file
from mhtool.report.domain import kanon
from mhtool.report.domain import redact as redact_module
from mhtool.report.domain.kanon import K_ANONYMITY, QUASI_IDENTIFIERS, NotAnonymous
from mhtool.store.crypto import Credential, write_key_file
from tests.conftest import Cli, StoreEnv
from tests.report import report_data as rd

WEEK = "2026-W41"
MONTH = "2026-10"

STUDENT = ("2026010001", "欧阳娜娜")
TWIN = ("2026010002", "司马相如")
CLASSMATE = ("2026010011", "郑十一")
GUARDIAN = "欧阳秀英"
GUARDIAN_PHONE = "13912345678"
ID_CARD = "11010119900307123X"
DORM = "桃园6舍305"
ADVISOR = "王建军"
COUNSELOR = ("chenjing", "陈静怡")
HOSPITAL = "示例市精神卫生中心"
BATCH = f"2026秋季UPI（{CLASSMATE[1]}补测）"

# Planted string → the mask that must replace it (None: only its absence is checked).
PLANTED: dict[str, str | None] = {
    STUDENT[1]: "[学生]",
    STUDENT[0]: None,
    TWIN[1]: None,
    CLASSMATE[1]: "[学生]",
    CLASSMATE[0]: "[学号]",
    GUARDIAN: "[家长]",
    GUARDIAN_PHONE: "[电话]",
    "139 1234 5678": None,
    ID_CARD: "[身份证号]",
    DORM: "[宿舍]",
    "3号楼502": None,
    "东区5栋302": None,
    "西区3-402": None,
    "010-62751234": None,
    "(0755)8888 1234": None,
    ADVISOR: None,
    COUNSELOR[0]: None,
    COUNSELOR[1]: None,
    HOSPITAL: None,
    "汉语言2601": None,
}
# Clinical words a redacted copy never carries (they label dropped fields and segments).
CLINICAL = ("评估/诊断（医院告知）", "抑郁发作", "是否服药", "医生建议")
DROPPED_HEADERS = {"学号", "姓名", "班级", "宿舍", "专业", "手机", "辅导员", "辅导员电话", "监护人", "特殊群体", "转介医院"}


def _add_staff(admin: Center, tmp: Path, name: str, role: str, display: str | None = None) -> Path:
    key = tmp / f"{name}.key"
    admin.admin.staff_add(name, role, Credential(key_material=write_key_file(key), source="test"), display_name=display)
    return key


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The store, and every report written plainly and redacted: {kind: (plain paths, redacted paths, redacted Reports, plain Reports)}."""
    tmp = tmp_path_factory.mktemp("redaction")
    path, admin_key = tmp / "store.db", tmp / "admin.key"
    Cli(env={"MHTOOL_STORE": str(path)}).ok("init", "--admin", "admin", "--key-file", str(admin_key))
    env = StoreEnv(path=path, admin_key=admin_key, cli=Cli(env={"MHTOOL_STORE": str(path), "MHTOOL_KEY_FILE": str(admin_key), "MHTOOL_USER": "admin"}), tmp=tmp)
    with Center.open(path, credential_from_key_file(admin_key), "admin") as admin:
        key = _add_staff(admin, tmp, COUNSELOR[0], "counselor", COUNSELOR[1])
        admin.referrals.add_hospital(HOSPITAL, department="心理科")
        people = [
            (STUDENT, "文学院", "汉语言2601", "女", DORM, f"母亲,{GUARDIAN},{GUARDIAN_PHONE}"),
            (TWIN, "文学院", "汉语言2602", "男", "桃园7舍201", "父亲,司马谈,13912340000"),
            (CLASSMATE, "文学院", "汉语言2601", "女", "桃园6舍306", "母亲,郑母,13912340001"),
            (("2026020001", "钱多多"), "理学院", "数学2601", "女", "梅园1舍101", "母亲,钱母,13912340002"),
            (("2026030001", "孙小小"), "外国语学院", "英语2601", "男", "梅园2舍101", "父亲,孙父,13912340003"),
            (("2026020011", "周八"), "理学院", "数学2601", "女", "梅园1舍102", "母亲,周母,13912340004"),
            (("2026020012", "吴九"), "理学院", "数学2602", "男", "梅园2舍102", "父亲,吴父,13912340005"),
        ]
        for (no, name), college, cls, gender, dorm, guardian in people:
            admin.cases.add(
                no, name=name, college=college, class_name=cls, gender=gender, grade="2026级", dorm=dorm, phone="13800000000",
                advisor=ADVISOR, guardians=[guardian], counselor=COUNSELOR[0],
            )  # fmt: skip
    with env.open() as store:
        s = {no: store.students.find(no) for (no, _), *_ in people}
        rd.add_batch(
            store, BATCH, date(2026, 10, 1),
            [{"student": s[STUDENT[0]], "band": "A", "proposed_level": "red"}, {"student": s[TWIN[0]], "band": "A", "proposed_level": "red"},
             {"student": s["2026020011"], "band": "A", "proposed_level": "orange"}, {"student": s["2026020012"], "band": "A", "proposed_level": "orange"}],
        )  # fmt: skip

    with Center.open(path, credential_from_key_file(key), COUNSELOR[0]) as c:
        cases, referrals = c.cases, c.referrals
        for no in (STUDENT[0], TWIN[0]):
            cases.interview(no, findings="情绪低落，睡眠差", confirm="yellow", on="2026-10-02")
        for no in ("2026020001", "2026030001"):
            cases.level(no, "yellow", reason="约谈评估", on="2026-10-02")
        # The student's crisis, told as a counselor types it; the twin's in plain words.
        cases.crisis(
            STUDENT[0], what=f"在3号楼502宿舍情绪失控，室友{CLASSMATE[1]}报告辅导员{ADVISOR}", where="东区5栋302",
            actions=f"联系家长{GUARDIAN}（{GUARDIAN_PHONE}），核对身份证{ID_CARD}", happened_at="2026-10-06 22:40",
            notified=[{"who": f"家长{GUARDIAN}", "at": "2026-10-06 23:30"}], level="red", reason=f"危机事件，家长{GUARDIAN}已知悉",
        )  # fmt: skip
        cases.crisis(TWIN[0], what="情绪失控", where="学生宿舍", actions="陪伴", happened_at="2026-10-06 21:00", notified=[{"who": "家长", "at": "2026-10-06 22:00"}], level="red", reason="危机事件")
        cases.interview(STUDENT[0], findings=f"自述与室友{CLASSMATE[1]}（学号{CLASSMATE[0]}）有矛盾，住{DORM}", on="2026-10-07")
        cases.interview(TWIN[0], findings="情绪平稳", on="2026-10-07")
        cases.note(STUDENT[0], f"辅导员{ADVISOR}反映：曾借住西区3-402，座机010-62751234", on="2026-10-07")
        cases.note(TWIN[0], "按时上课", on="2026-10-07")
        cases.note(STUDENT[0], f"已转 {COUNSELOR[0]} 跟进", on="2026-10-08")
        cases.note(TWIN[0], "已转咨询师跟进", on="2026-10-08")
        cases.guardian(STUDENT[0], who="母亲", content=f"与{GUARDIAN}通话，手机139 1234 5678，座机(0755)8888 1234", channel="电话", on="2026-10-07")
        cases.guardian(TWIN[0], who="父亲", content="告知近况", channel="电话", on="2026-10-07")
        for no, note in ((STUDENT[0], f"由{GUARDIAN}陪同，{COUNSELOR[1]}联系医院"), (TWIN[0], "辅导员陪同")):
            ref = referrals.add(no, hospital=HOSPITAL, reason="持续情绪低落", urgency="urgent", when="2026-10-08", note=note)
            referrals.update(ref["id"], status="attended", when="2026-10-09", visit_date="2026-10-09")
            referrals.update(ref["id"], status="assessed", when="2026-10-10", diagnosis="抑郁发作", medication=True, advice="leave",
                             next_review="2026-11-07", note=f"复诊联系{GUARDIAN_PHONE}" if no == STUDENT[0] else "按时复诊")  # fmt: skip
        cases.measure(STUDENT[0], kind="朋辈支持", description=f"室友{CLASSMATE[1]}陪同就医", start="2026-10-09", on="2026-10-09")
        cases.measure(TWIN[0], kind="朋辈支持", description="心理委员陪同", start="2026-10-09", on="2026-10-09")
        crisis = next(i["id"] for i in cases.show(STUDENT[0])["timeline"] if i["kind"] == "crisis")
        batch = next(b["id"] for b in c.survey.batches())

        made: dict[str, tuple[list[Path], list[Path], list, list]] = {}
        plain_dir, red_dir = tmp / "plain", tmp / "redacted"
        for kind, run in {
            "weekly": lambda **kw: [c.reports.weekly(week=WEEK, **kw)],
            "monthly": lambda **kw: [c.reports.monthly(month=MONTH, **kw)],
            "census": lambda **kw: [c.reports.census(batch, **kw)],
            "census_en": lambda **kw: [c.reports.census(batch, lang="en", **kw)],
            "split": lambda **kw: [c.reports.census(batch, split_by="college", **kw)],
            "crisis": lambda **kw: [c.reports.crisis(crisis, **kw)],
            "crisis_en": lambda **kw: [c.reports.crisis(crisis, lang="en", **kw)],
        }.items():
            out = []
            for folder, redact in ((plain_dir / kind, False), (red_dir / kind, True)):
                folder.mkdir(parents=True)
                delivered = run(out=folder, redact=redact)
                paths = [p for d in delivered for p in ([d.path] if d.path else [Path(f["path"]) for f in d.files])]
                out.append((paths, [d.report for d in delivered if d.report is not None]))
            (plain, plain_reports), (redacted, reports) = out
            made[kind] = (plain, redacted, reports, plain_reports)
    return made


# --------------------------------------------------------------------------- reading workbooks back


def _texts(path: Path) -> dict[str, list[str]]:
    """Every text a reader of the file can meet, by where it is."""
    wb = openpyxl.load_workbook(path)
    cells = [str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    charts = []
    for ws in wb:
        for chart in ws._charts:
            if chart.title is not None and chart.title.tx is not None and chart.title.tx.rich is not None:
                charts.append("".join(run.t for p in chart.title.tx.rich.p for run in (p.r or [])))
    props = wb.properties
    properties = [str(getattr(props, k)) for k in ("title", "subject", "creator", "keywords", "description", "category", "lastModifiedBy", "identifier") if getattr(props, k)]
    with zipfile.ZipFile(path) as z:
        raw = [z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith((".xml", ".rels"))]
    return {"cell": cells, "sheet name": list(wb.sheetnames), "chart title": charts, "document property": properties, "file part": raw, "file name": [path.name]}


def _found(paths: list[Path], needle: str) -> list[str]:
    return [f"{p.name}: {where}" for p in paths for where, texts in _texts(p).items() if any(needle in t for t in texts)]


def _all(planted, which: int) -> list[Path]:
    return [p for kind in planted.values() for p in kind[which]]


def test_every_report_was_written_both_ways(planted):
    for kind, (plain, redacted, *_) in planted.items():
        assert plain and len(plain) == len(redacted), kind
        assert all(p.exists() for p in plain + redacted), kind
    # The split wrote one workbook per college with proposed students, redacted as well.
    assert len(planted["split"][1]) == 2


def test_the_planted_strings_reach_the_plain_workbooks(planted):
    """Without this the next test could pass by having nothing to find."""
    plain = _all(planted, 0)
    for needle in [*PLANTED, *CLINICAL]:
        assert _found(plain, needle), f"{needle!r} was planted but no plain report shows it"


def test_no_planted_string_survives_in_any_redacted_output(planted):
    redacted = _all(planted, 1)
    for needle in [*PLANTED, *CLINICAL]:
        assert _found(redacted, needle) == [], f"{needle!r} survives redaction"


def test_each_planted_kind_is_replaced_by_its_own_mask(planted):
    """The text around a masked value stays readable, and each kind was caught by its own rule."""
    crisis = planted["crisis"][1]
    cells = [t for p in crisis for t in _texts(p)["cell"]]
    for needle, mask in PLANTED.items():
        if mask is not None:
            assert any(mask in t for t in cells), f"no {mask} where {needle!r} was"
    assert any("联系家长[家长]（[电话]），核对身份证[身份证号]" in t for t in cells)
    # Staff are shown by their role title, never by login or display name.
    log = openpyxl.load_workbook(crisis[0]).worksheets[1]
    authors = {row[2] for row in log.iter_rows(min_row=3, values_only=True) if row[0] is not None and row[2]}
    assert authors == {"咨询师"}


def test_english_redacted_copies_mask_in_english(planted):
    cells = [t for p in planted["crisis_en"][1] for t in _texts(p)["cell"]]
    assert any("[guardian]" in t for t in cells) and any("[phone]" in t for t in cells)
    assert not any(token in t for t in cells for token in ("[家长]", "[电话]", "[学生]", "咨询师"))


def test_file_names_carry_no_name_or_number(planted):
    plain_census = [p.name for p in planted["census"][0]]
    assert any(CLASSMATE[1] in n for n in plain_census), "the batch name carries a name into the plain file name"
    for p in _all(planted, 1):
        assert not any(needle in p.name for needle in PLANTED), p.name
        assert "脱敏" in p.name or "redacted" in p.name


def test_dropped_columns_and_fields_are_absent(planted):
    for kind, (_, redacted, *_) in planted.items():
        for p in redacted:
            wb = openpyxl.load_workbook(p)
            for ws in wb:
                if ws.max_column > 2:  # a table: the headers are row 2
                    headers = {c.value for c in ws[2]}
                else:  # a form: the labels are column A
                    headers = {row[0] for row in ws.iter_rows(values_only=True)}
                assert not (headers & DROPPED_HEADERS), f"{kind} {p.name} [{ws.title}] keeps {headers & DROPPED_HEADERS}"
    # The plain copies have them, so the check above looks at the right places.
    plain = openpyxl.load_workbook(planted["weekly"][0][0])
    assert {"学号", "姓名", "班级"} <= {c.value for c in plain["关注名单"][2]}
    form = openpyxl.load_workbook(planted["crisis"][0][0]).worksheets[0]
    assert {"班级", "宿舍", "监护人"} <= {row[0] for row in form.iter_rows(values_only=True)}


def test_no_redacted_row_is_unique_on_what_identifies_it(planted):
    """Every table that lists students (it had a name or number column) is k-anonymous on the quasi-identifiers it keeps."""
    checked = 0
    for kind, (_, _, reports, plain_reports) in planted.items():
        for report, plain in zip(reports, plain_reports):
            lists_students = {s.key for s in plain.sheets if any(c.pii for c in s.columns)}
            for sheet in report.sheets:
                keys = [c.key for c in sheet.columns]
                qi = [keys.index(q) for q in QUASI_IDENTIFIERS if q in keys]
                if sheet.key not in lists_students or not qi:
                    continue
                groups = Counter(tuple(row[i] for i in qi) for row in sheet.rows)
                assert all(n >= K_ANONYMITY for n in groups.values()), f"{kind}: {sheet.key} has unique rows {groups}"
                checked += 1
    assert checked >= 8
    # Coarsening was needed and is said: the census list lost its gender column and says why.
    interviews = planted["census"][2][0].sheet("interviews")
    assert "gender" not in [c.key for c in interviews.columns]
    assert any("未列性别" in n for n in interviews.notes)
    roster = planted["weekly"][2][0].sheet("roster")
    assert {row[[c.key for c in roster.columns].index("college")] for row in roster.rows} == {"文学院", "其他"}


def test_the_crisis_form_shows_no_more_than_k_students_share(planted):
    form = {item.key: item.value for item in planted["crisis"][2][0].sheets[0].form if hasattr(item, "key") and hasattr(item, "value")}
    # She is the only 女 of 文学院 2026级 on 一级; with gender left out her twin shares the rest.
    assert "gender" not in form and form["college"] == "文学院" and form["level"] == "red"
    # Nor does the copy carry her record id, which would link every copy about her.
    assert "student" in planted["crisis"][3][0].meta and "student" not in planted["crisis"][2][0].meta


# --------------------------------------------------------------------------- refusal


def _store_with_one_watched_student(store_env):
    with store_env.open() as store:
        s = rd.add_student(store, "2026099001", "独一人", "文学院")
        rd.level(store, s, "red", date(2026, 10, 6))
    return store_env


def _report_entries(env) -> list:
    import json

    return [e for e in json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout) if e["action"].startswith("report.")]


def test_a_crisis_form_that_cannot_be_made_k_anonymous_is_refused_and_writes_nothing(store_env, tmp_path):
    env = _store_with_one_watched_student(store_env)
    out = tmp_path / "out"
    out.mkdir()
    crisis = env.cli.ok("cases", "crisis", "2026099001", "--what", "情绪失控", "--happened-at", "2026-10-07 22:40").stdout.split()[0]
    before = _report_entries(env)
    with Center.open(env.path, credential_from_key_file(env.admin_key), "admin") as admin:
        with pytest.raises(NotAnonymous) as refused:
            admin.reports.crisis(crisis, out=out, redact=True)
        assert refused.value.hint and "--redact" in refused.value.message
        assert admin.reports.crisis(crisis, out=out / "plain.xlsx").path.exists(), "the same report is written without --redact"
    assert sorted(p.name for p in out.iterdir()) == ["plain.xlsx"]
    assert len(_report_entries(env)) == len(before) + 1, "a refused report is not audited as written"


def test_a_list_row_that_would_identify_someone_is_withheld_and_the_sheet_says_so(store_env, tmp_path):
    """A weekly of one watched student is still written redacted: the row that would single her out is left out, with a note."""
    env = _store_with_one_watched_student(store_env)
    out = tmp_path / "out"
    out.mkdir()
    result = env.cli("report", "weekly", "--week", WEEK, "--redact", "--out", f"{out}/")
    assert result.exit_code == 0, result.stderr
    (written,) = list(out.iterdir())
    wb = openpyxl.load_workbook(written)
    texts = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("1 行即使合并后仍可识别到个人，未列出" in t for t in texts)
    assert not any("独一人" in t or "2026099001" in t for t in texts)
    roster = next(ws for ws in wb.worksheets if ws.title.startswith("关注名单"))
    levels = [c.value for row in roster.iter_rows(min_row=3) for c in row if c.value in ("一级(红色)", "关注")]
    assert levels == []


# --------------------------------------------------------------------------- the masking rules themselves


@pytest.mark.parametrize(
    "text,masked",
    [
        ("手机13912345678", "手机[电话]"),
        ("手机 139-1234-5678。", "手机 [电话]。"),
        ("+86 139 1234 5678", "[电话]"),
        ("座机010-62751234", "座机[电话]"),
        ("座机(0755)8888 1234", "座机[电话]"),
        ("座机 0755 88881234", "座机 [电话]"),
        ("身份证11010119900307123X", "身份证[身份证号]"),
        ("身份证 110101 19900307 1234", "身份证 [身份证号]"),
        ("旧证110101900307123", "旧证[身份证号]"),
        ("住3号楼502", "住[宿舍]"),
        ("住东区5栋302室", "住[宿舍]"),
        ("西区3-402 阳台", "[宿舍] 阳台"),
        ("宿舍：A302", "[宿舍]"),
        ("住5栋", "住[宿舍]"),
        ("QQ 123456789", "QQ [号码]"),
        ("得分60-100分，2026-10-06 23:40", "得分60-100分，2026-10-06 23:40"),
        ("SCL-90 阳性 3项", "SCL-90 阳性 3项"),
    ],
)
def test_patterns(text, masked):
    assert redact_module.Scrubber(None, "zh")(text) == masked


def test_known_names_are_masked_whole_and_only_whole():
    known = redact_module.KnownPeople(
        students=["张三", "张三丰", "Li Na"], guardians=["张父"], staff={"li": "counselor", "陈静怡": "admin"}, student_numbers=["2024000101"], hospitals=[HOSPITAL]
    )
    scrub = redact_module.Scrubber(known, "zh")
    assert scrub("张三丰与张三、张父见陈静怡") == "[学生]与[学生]、[家长]见管理员"
    assert scrub("Li Na met li, not list or Lina") == "[学生] met 咨询师, not list or Lina"
    assert scrub("学号2024000101，在示例市精神卫生中心") == "学号[学号]，在[医院]"
    assert redact_module.Scrubber(known, "en")("张三丰") == "[student]"


def test_clinical_segments_leave_a_summary():
    scrub = redact_module.Scrubber(None, "zh")
    text = "已就诊 → 已评估；评估/诊断（医院告知）：抑郁发作；医生建议：建议休学；是否服药：是；下次复查日期：2026-11-07"
    assert scrub(text) == "已就诊 → 已评估；下次复查日期：2026-11-07"


def test_sheet_names_chart_titles_and_meta_are_masked_in_the_workbook(tmp_path):
    """A name that reaches a sheet name, a chart title, a column header or the report's meta is masked there too."""
    from datetime import datetime

    from mhtool.domain.document import Chart, Column, Report, Sheet
    from mhtool.io.xlsx import write_report

    sheet = Sheet(
        "trend", f"{STUDENT[1]}随访", "Follow-ups", f"{STUDENT[1]}的随访", "Follow-ups",
        columns=[Column("month", "月份", "Month", "text"), Column("n", f"{GUARDIAN}来电", "Calls", "int")],
        rows=[["2026-09", 1], ["2026-10", 2]],
        charts=[Chart("line", f"{STUDENT[1]}来电趋势", "Calls", "month", ("n",))],
    )  # fmt: skip
    report = Report("weekly", f"{STUDENT[1]}个案报告", "Case", None, datetime(2026, 10, 12), sheets=[sheet], meta={"author": COUNSELOR[1]})
    known = redact_module.KnownPeople(students=[STUDENT[1]], guardians=[GUARDIAN], staff={COUNSELOR[1]: "counselor"})
    path = write_report(redact_module.redact_report(report, known), tmp_path / "r.xlsx")
    texts = _texts(path)
    # A sheet name cannot hold brackets: the writer shows [学生] as _学生_.
    assert texts["sheet name"] == ["_学生_随访"] and texts["chart title"] == ["[学生]来电趋势"]
    for needle in (STUDENT[1], GUARDIAN, COUNSELOR[1]):
        assert _found([path], needle) == []
    assert redact_module.redact_report(report, known).meta["author"] == "咨询师"


# --------------------------------------------------------------------------- the k-anonymity ladder


def _groups(keys, rows):
    idx = [keys.index(q) for q in QUASI_IDENTIFIERS if q in keys]
    return Counter(tuple(r[i] for i in idx) for r in rows)


def test_gender_goes_first_and_alone_when_that_is_enough():
    keys = ["college", "gender", "level", "note"]
    rows = [["文学院", "女", "red", "a"], ["文学院", "男", "red", "b"], ["理学院", "男", "yellow", "c"], ["理学院", "男", "yellow", "d"]]
    out = kanon.anonymise_rows(keys, rows)
    assert out.dropped == {"gender"} and out.rungs == ["gender"]
    assert [r[0] for r in out.rows] == ["文学院", "文学院", "理学院", "理学院"]


def test_grade_then_college_read_other_only_where_a_row_is_alone():
    keys = ["college", "grade", "level"]
    rows = [
        ["文学院", "2026级", "yellow"], ["文学院", "2026级", "yellow"],  # a pair: untouched
        ["文学院", "2025级", "yellow"], ["文学院", "2024级", "yellow"],  # alone by grade: 其他 together
        ["理学院", "2026级", "red"], ["外国语学院", "2026级", "red"],  # alone by college: 其他 together
    ]  # fmt: skip
    out = kanon.anonymise_rows(keys, rows)
    assert out.rungs == ["grade", "college"]
    assert [r[:2] for r in out.rows[:4]] == [["文学院", "2026级"], ["文学院", "2026级"], ["文学院", kanon.OTHER], ["文学院", kanon.OTHER]]
    assert {r[0] for r in out.rows[4:]} == {kanon.OTHER}
    assert all(n >= K_ANONYMITY for n in _groups(keys, out.rows).values())


def test_a_lone_watch_level_is_merged_with_the_smallest_other_one():
    keys = ["college", "level"]
    rows = [["文学院", "red"], ["文学院", "yellow"], ["文学院", "yellow"], ["文学院", "none"], ["文学院", "none"]]
    out = kanon.anonymise_rows(keys, rows)
    assert out.rungs[-1] == "level"
    assert [r[1] for r in out.rows] == [kanon.WATCHED, kanon.WATCHED, kanon.WATCHED, "none", "none"]


def test_a_row_alone_after_every_rung_is_withheld():
    out = kanon.anonymise_rows(["college", "level"], [["文学院", "red"], ["文学院", "none"], ["理学院", "none"]])
    assert out.suppressed == 1 and len(out.rows) == 2 and "suppress" in out.rungs
    assert not kanon.small_groups(out.rows, [1])
    # k is the one constant: with k=1 every row stands, with k=3 a pair does not.
    assert kanon.anonymise_rows(["college", "level"], [["文学院", "red"]], k=1).rungs == []
    assert kanon.anonymise_rows(["college", "level"], [["文学院", "red"], ["文学院", "red"]], k=3).rows == []


def test_a_form_is_checked_against_the_students_of_the_store():
    me = {"college": "文学院", "grade": "2026级", "gender": "女", "level": "red"}
    population = [me, {**me, "gender": "男"}, {**me, "college": "理学院", "level": "yellow"}]
    out = kanon.anonymise_person(me, population)
    assert out.dropped == {"gender"}
    out = kanon.anonymise_person({**me, "college": "理学院"}, [{**me, "college": "理学院"}, {**me, "level": "orange"}])
    assert out.dropped == {"gender", "grade", "college"} and out.rows[0][3] == kanon.WATCHED
    with pytest.raises(NotAnonymous, match="fewer than 2 students"):
        kanon.anonymise_person(me, [me, {**me, "level": "none"}])
