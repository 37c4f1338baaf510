"""`mhtool report census` and `mhtool report crisis` end to end, including the advisors' round trip."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart

from tests.report import report_data as rd

IMPORTED = date(2026, 9, 10)


def _rows(ws) -> list[dict]:
    headers = [c.value for c in ws[2]]
    out = []
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] is None or row[0] in ("合计", "Total"):
            break
        out.append(dict(zip(headers, row)))
    return out


@pytest.fixture
def census(store_env):
    """A roster of six freshmen in two colleges (plus a senior), five of whom took the UPI."""
    with store_env.open() as store:
        s = {
            no: rd.add_student(store, no, name, college, cls, gender=gender, grade="2026")
            for no, name, college, cls, gender in (
                ("2026010101", "陈一", "文学院", "汉语言1班", "女"),
                ("2026010102", "林二", "文学院", "汉语言1班", "男"),
                ("2026010103", "黄三", "文学院", "汉语言2班", "女"),
                ("2026020201", "周四", "理学院", "数学1班", "男"),
                ("2026020202", "吴五", "理学院", "数学1班", "女"),
                ("2026020203", "郑六", "理学院", "物理1班", "男"),
            )
        }
        rd.add_student(store, "2023020299", "冯七", "理学院", "数学9班", grade="2023")
        rd.add_batch(
            store,
            "2026秋季新生UPI",
            IMPORTED,
            [
                {"student": s["2026010101"], "band": "A", "proposed_level": "red", "flags": ["item25"], "total": 31},
                {"student": s["2026010102"], "band": "B", "proposed_level": "yellow", "total": 21},
                {"student": s["2026020201"], "band": "A", "proposed_level": "orange", "total": 27},
                {"student": s["2026020202"], "band": "C", "total": 3},
                {"student": s["2026020203"], "band": "C", "total": 8},
            ],
        )
    return store_env


def test_census_workbook(census, tmp_path):
    path = census.cli.ok("report", "census", "2026秋季新生UPI", "--out", f"{tmp_path}/", "--print-path").stdout.strip()
    assert Path(path).name == "普查报告_2026秋季新生UPI.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["参与情况", "分级统计", "约谈名单"]
    colleges = {r["学院"]: r for r in _rows(wb["参与情况"])}
    # Participation against the roster of the batch's grade: the 2023 senior is not expected.
    assert (colleges["文学院"]["应参与"], colleges["文学院"]["实参与"]) == (3, 2)
    assert (colleges["理学院"]["应参与"], colleges["理学院"]["实参与"]) == (3, 3)
    assert colleges["文学院"]["参与率"] == pytest.approx(2 / 3)
    assert colleges["理学院"]["阳性率"] == pytest.approx(1 / 3)
    assert wb["参与情况"]["D3"].number_format == "0.0%"
    assert any(isinstance(ch, BarChart) for ch in wb["参与情况"]._charts)
    groups = _rows(wb["分级统计"])
    by = {(r["维度"], r["分组"]): r for r in groups}
    assert (by[("性别", "女")]["人数"], by[("性别", "男")]["人数"]) == (2, 3)
    assert (by[("学院", "理学院")]["分级：A类"], by[("学院", "理学院")]["分级：C类"]) == (1, 2)
    assert by[("年级", "2026级")]["筛查阳性"] == 3  # grades in their one form (issue 15 item 7)
    interviews = _rows(wb["约谈名单"])
    assert [r["学号"] for r in interviews] == ["2026010101", "2026020201", "2026010102"]
    # The critical item's wording from the instrument definition (issue 13), not its code item25.
    assert interviews[0]["关键条目"] == "想轻生（第25题）" and interviews[0]["分级"] == "A类"
    assert interviews[0]["约谈截止"].date() == date(2026, 9, 11)

    data = json.loads(census.cli.ok("report", "census", "2026秋季新生UPI", "--json").stdout)
    assert data["totals"]["colleges"]["respondents"] == 5 and data["totals"]["colleges"]["roster"] == 6
    assert data["sheets"]["interviews"][0]["band"] == "A" and data["sheets"]["interviews"][0]["flags"] == "item25"


def test_census_split_round_trips_through_the_interview_import(census, tmp_path):
    out = tmp_path / "advisors"
    out.mkdir()
    result = census.cli.ok("report", "census", "2026秋季新生UPI", "--split-by", "college", "--out", str(out), "--print-path")
    paths = result.stdout.split()
    assert sorted(Path(p).name for p in paths) == ["约谈名单_2026秋季新生UPI_文学院.xlsx", "约谈名单_2026秋季新生UPI_理学院.xlsx"]
    wen = Path(next(p for p in paths if "文学院" in p))
    wb = openpyxl.load_workbook(wen)
    ws = wb.active
    headers = [c.value for c in ws[2]]
    assert headers[-5:] == ["约谈日期", "约谈人", "情况描述", "评估等级", "后续措施"]
    assert [r["学号"] for r in _rows(ws)] == ["2026010101", "2026010102"]
    # An advisor fills in the blank columns and sends the sheet back.
    col = {h: i + 1 for i, h in enumerate(headers)}
    for r, (level, text) in zip((3, 4), (("橙色", "情绪低落，有轻生念头但无计划"), ("无", "适应期压力，已缓解"))):
        ws.cell(r, col["约谈日期"]).value = datetime(2026, 9, 12)
        ws.cell(r, col["约谈人"]).value = "王老师"
        ws.cell(r, col["情况描述"]).value = text
        ws.cell(r, col["评估等级"]).value = level
        ws.cell(r, col["后续措施"]).value = "每周谈话"
    wb.save(wen)

    imported = json.loads(census.cli.ok("cases", "import-interviews", str(wen), "--json").stdout)
    assert (imported["imported"], imported["rejected"], imported["level_changes"]) == (2, 0, 1)
    with census.open() as store:
        assert store.students.find("2026010101")["level"] == "orange"
    again = json.loads(census.cli.ok("cases", "import-interviews", str(wen), "--json").stdout)
    assert (again["imported"], again["duplicates"]) == (0, 2)

    data = json.loads(census.cli.ok("report", "census", "2026秋季新生UPI", "--json").stdout)
    listed = {r["student_no"]: r for r in data["sheets"]["interviews"]}
    assert listed["2026010101"]["interviewed_on"] == "2026-09-12" and listed["2026010101"]["level"] == "orange"
    assert {r["college"]: r["interviewed"] for r in data["sheets"]["colleges"]} == {"文学院": 2, "理学院": 0}


def test_census_options(census, tmp_path):
    scoped = census.add_staff("li", "counselor", "理学院")
    data = json.loads(scoped("report", "census", "2026秋季新生UPI", "--json").stdout)
    assert [r["college"] for r in data["sheets"]["colleges"]] == ["理学院"]
    # Redacted split copies are allowed (issue 13); 理学院's would list one student, whose row is withheld with a note.
    split = tmp_path / "split"
    split.mkdir()
    census.cli.ok("report", "census", "2026秋季新生UPI", "--split-by", "college", "--redact", "--out", str(split))
    copies = {p.name: openpyxl.load_workbook(p).active for p in split.iterdir()}
    science = next(ws for name, ws in copies.items() if "理学院" in name or "science" in name.lower())
    cells = [str(c.value) for row in science.iter_rows() for c in row if c.value is not None]
    assert any("未列出" in c for c in cells) and "2026010101" not in cells
    assert census.cli("report", "census", "2026秋季新生UPI", "--split-by", "class").exit_code == 2
    assert census.cli("report", "census", "2026秋季新生UPI", "--split-by", "college", "--out", str(tmp_path / "nope")).exit_code == 2
    assert census.cli("report", "census", "no-such-batch").exit_code == 1
    red = census.cli.ok("report", "census", "2026秋季新生UPI", "--redact", "--lang", "en", "--out", f"{tmp_path}/", "--print-path").stdout.strip()
    assert Path(red).name == "census_2026秋季新生UPI_redacted.xlsx"
    wb = openpyxl.load_workbook(red)
    assert wb.sheetnames == ["Participation", "By group", "Interview list"]
    # Issue 13: no name or number at all, and gender and college left out so that no row stands alone.
    rows = _rows(wb["Interview list"])
    assert len(rows) == 3 and not {"Name", "Student no.", "Gender", "College", "Class"} & set(rows[0])


@pytest.fixture
def crisis(store_env):
    """A crisis recorded with `cases crisis`, as a counselor types it."""
    with store_env.open() as store:
        s = rd.add_student(
            store, "2025030301", "欧阳娜娜", "外国语学院", "英语1班", dorm="西区3-402",
            guardians=[{"relation": "母亲", "name": "欧阳某", "phone": "13900000000"}],
        )
        rd.level(store, s, "orange", date(2026, 10, 1))
    out = store_env.cli.ok(
        "cases", "crisis", "2025030301", "--what", "欧阳娜娜在宿舍情绪失控，称不想活了", "--where", "西区3-402",
        "--happened-at", "2026-11-02 22:40", "--actions", "辅导员与咨询师到场陪伴，联系家长",
        "--parents-notified-at", "2026-11-03 09:00", "--notified", "辅导员@2026-11-02 22:45", "--notified", "学工部@2026-11-02 23:30",
        "--level", "red", "--reason", "危机事件",
    )
    eid = out.stdout.split()[0]
    store_env.cli.ok("cases", "interview", "2025030301", "--findings", "情绪稳定，签订安全协议", "--date", "2026-11-04")
    return store_env, eid


def test_crisis_report(crisis, tmp_path):
    env, eid = crisis
    path = env.cli.ok("report", "crisis", eid[:8], "--out", f"{tmp_path}/", "--print-path").stdout.strip()
    assert Path(path).name == f"危机事件报告_2026-11-02_{eid[:8]}.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["危机事件报告", "处置记录"]
    form = {r[0]: r[1] for r in wb["危机事件报告"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert form["姓名"] == "欧阳娜娜" and form["宿舍"] == "西区3-402"
    assert form["发生时间"] == datetime(2026, 11, 2, 22, 40)
    assert form["辅导员"] == "王老师" and form["学工部"] == datetime(2026, 11, 2, 23, 30)
    assert form["家长知悉时间"] == datetime(2026, 11, 3, 9, 0)
    assert form["时限"] == "24小时内已通知家长"
    assert form["关注等级"] == "一级(红色)" and form["事件后记录"] == 2
    assert "13900000000" in form["监护人"]
    assert wb["危机事件报告"].page_setup.orientation == "portrait"
    log = _rows(wb["处置记录"])
    assert [r["类型"] for r in log] == ["危机事件", "等级变更", "约谈"]

    data = json.loads(env.cli.ok("report", "crisis", eid, "--json").stdout)
    fields = {(r["section"], r["key"]): r["value"] for r in data["sheets"]["crisis"]}
    assert fields[("notified", "notified_1")] == "2026-11-02T22:45:00"

    # A correction replaces the original in the report, whichever id is given.
    env.cli.ok("cases", "crisis", "2025030301", "--corrects", eid[:8], "--where", "西区3-402 阳台")
    corrected = json.loads(env.cli.ok("report", "crisis", eid, "--json").stdout)
    assert {r["key"]: r["value"] for r in corrected["sheets"]["crisis"]}["where"] == "西区3-402 阳台"


def test_crisis_redacted_and_refusals(crisis, tmp_path):
    env, eid = crisis
    # The only student of the store: a redacted copy would still describe one person (issue 13).
    refused = env.cli("report", "crisis", eid, "--redact", "--out", f"{tmp_path}/")
    assert refused.exit_code == 2 and "fewer than 2 students" in refused.stderr
    with env.open() as store:
        rd.level(store, rd.add_student(store, "2025030302", "林某", "外国语学院", "英语2班"), "red", date(2026, 10, 1))
    path = env.cli.ok("report", "crisis", eid, "--redact", "--out", f"{tmp_path}/", "--print-path").stdout.strip()
    wb = openpyxl.load_workbook(path)
    text = " ".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    for secret in ("欧阳娜娜", "2025030301", "13900000000", "13800000000", "欧阳某", "西区3-402", "英语1班"):
        assert secret not in text
    assert "[学生]在宿舍情绪失控" in text
    with env.open() as store:
        other = store.students.find("2025030301")
        not_crisis = store.entries.for_student(other["id"])[-1]["id"]
    assert env.cli("report", "crisis", not_crisis).exit_code == 2
    scoped = env.add_staff("li", "counselor", "理学院")
    assert scoped("report", "crisis", eid).exit_code == 5


def test_monthly_screening_statistics(census):
    data = json.loads(census.cli.ok("report", "monthly", "--month", "2026-09", "--json").stdout)
    [batch] = data["sheets"]["screening"]
    assert (batch["batch"], batch["respondents"], batch["proposed"], batch["proposed_red"]) == ("2026秋季新生UPI", 5, 3, 1)
    assert batch["positive_rate"] == pytest.approx(0.6)
    assert (batch["interviews_done"], batch["interviews_overdue"]) == (0, 3)
    one = json.loads(census.cli.ok("report", "monthly", "--month", "2026-09", "--college", "理学院", "--json").stdout)
    [batch] = one["sheets"]["screening"]
    assert (batch["respondents"], batch["proposed"], batch["proposed_orange"], batch["interviews_overdue"]) == (3, 1, 1, 1)
    assert json.loads(census.cli.ok("report", "monthly", "--month", "2026-10", "--json").stdout)["sheets"]["screening"] == []
