"""One student's whole path through the CLI, from a screening flag to the reviews after returning to school.

screening flag → interview confirming red → crisis → guardian contact → urgent
referral → attended → assessed (advice: leave) → leave → return with a
certificate → review tasks; then the dossier must show every step in order with
authors and dates, and `referral export` must write a sheet to print and file.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

import openpyxl

from tests.referral.conftest import COLLEGE, HOSPITAL, as_json, days_ago

STUDENT = "2024030077"
PHQ9_LABELS = {0: "完全不会", 1: "好几天", 2: "一半以上的天数", 3: "几乎每天"}


def write_phq9_export(path, submitted: str) -> None:
    """A campus-system export with one made-up student whose item 9 is answered 好几天 (a critical flag)."""
    answers = [2, 2, 1, 2, 1, 2, 1, 1, 1]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["学号", "姓名", "性别", "学院", "班级", "提交时间", *[str(i) for i in range(1, 10)]])
        w.writerow([STUDENT, "王示例", "女", COLLEGE, "软件2403", f"{submitted} 20:15:00", *[PHQ9_LABELS[a] for a in answers]])


def test_full_path_of_one_student(store_env):
    admin = store_env.cli
    wang = store_env.add_staff("wang", "counselor")
    export = store_env.tmp / "phq9.csv"
    write_phq9_export(export, days_ago(40))

    # Screening flag: the import proposes red (item 9) and opens an interview task.
    admin.ok("survey", "import", str(export), "--instrument", "phq9")
    [task] = [t for t in as_json(wang.ok("cases", "tasks", "--json")) if t["student_no"] == STUDENT]
    assert task["kind"] == "interview" and task["proposed_level"] == "red"

    wang.ok("cases", "interview", STUDENT, "--findings", "近两周情绪低落，有消极念头", "--confirm", "red", "--mode", "面谈", "--date", days_ago(39))
    wang.ok("cases", "crisis", STUDENT, "--what", "深夜在宿舍情绪崩溃，表达轻生想法", "--where", "宿舍", "--happened-at", f"{days_ago(38)} 22:10",
            "--actions", "值班老师陪护，联系家长", "--parents-notified-at", f"{days_ago(38)} 22:40")
    wang.ok("cases", "guardian", STUDENT, "--who", "母亲", "--channel", "电话", "--content", "告知危机情况，建议尽快到专科医院就诊",
            "--consent", "signed", "--date", days_ago(38))
    admin.ok("referral", "hospitals", "add", HOSPITAL, "--department", "心理门诊", "--level", "三甲", "--green-channel")

    ref = wang.ok("referral", "add", STUDENT, "--hospital", HOSPITAL, "--reason", "危机事件后评估，疑似抑郁发作伴自杀意念", "--urgency", "urgent",
                  "--date", f"{days_ago(38)} 23:00", "--guardian-informed", f"{days_ago(38)} 22:40", "--guardian-how", "电话",
                  "--consent", "signed", "--escort", "李老师").stdout.strip()
    wang.ok("referral", "update", ref, "--status", "attended", "--visit-date", days_ago(37), "--escort", "李老师、母亲")
    assessed = wang.ok("referral", "update", ref, "--status", "assessed", "--date", days_ago(36), "--diagnosis", "中度抑郁发作（医院告知）",
                       "--icd10", "F32.1", "--advice", "leave", "--medication", "--next-review", days_ago(-20))
    assert f"cases status {STUDENT} leave" in assessed.stderr
    wang.ok("cases", "status", STUDENT, "leave", "--from", days_ago(35), "--until", days_ago(6), "--reason", "遵医嘱休学治疗",
            "--document", "休学审批表")
    wang.ok("referral", "update", ref, "--status", "treatment_outpatient", "--date", days_ago(34), "--note", "居家休养，门诊规律复诊")
    wang.ok("cases", "status", STUDENT, "return", "--on", days_ago(5), "--certificate", f"{HOSPITAL}, {days_ago(8)}, 病情稳定，可复学",
            "--assessed-by", "王老师")

    # Review tasks: the return schedules reviews at +14 and +30 days; the referral its own review.
    open_tasks = {(t["kind"], t["due"]) for t in as_json(wang.ok("cases", "tasks", "--json")) if t["student_no"] == STUDENT}
    back = date.fromisoformat(days_ago(5))
    assert ("review", (back + timedelta(days=14)).isoformat()) in open_tasks
    assert ("review", (back + timedelta(days=30)).isoformat()) in open_tasks
    assert ("referral_review", days_ago(-20)) in open_tasks
    assert not any(kind in ("interview", "referral_visit", "referral_guardian") for kind, _ in open_tasks)
    assert as_json(wang.ok("referral", "list", "--overdue", "--json")) == []

    # The dossier shows every step, in order, with its author and date.
    d = as_json(wang.ok("cases", "show", STUDENT, "--json"))
    assert d["student"]["status"] == "returned" and d["student"]["level"] == "red"
    steps = [(i["date"], i["kind"], i["author"], (i["fields"] or {}).get("status") if i["kind"] == "referral" else (i["fields"] or {}).get("to"))
             for i in d["timeline"] if i["kind"] not in ("level_change",)]
    assert steps == [
        (days_ago(40), "screening", None, None),
        (days_ago(39), "interview", "wang", None),
        (days_ago(38), "crisis", "wang", None),
        (days_ago(38), "guardian_contact", "wang", None),
        (days_ago(38), "referral", "wang", "referred"),
        (days_ago(37), "referral", "wang", "attended"),
        (days_ago(36), "referral", "wang", "assessed"),
        (days_ago(35), "status_change", "wang", "leave"),
        (days_ago(34), "referral", "wang", "treatment_outpatient"),
        (days_ago(5), "status_change", "wang", "returned"),
    ]
    dates = [i["date"] for i in d["timeline"]]
    assert dates == sorted(dates)
    assessed_entry = [i for i in d["timeline"] if i["kind"] == "referral" and i["fields"]["status"] == "assessed"][0]
    assert "中度抑郁发作" in assessed_entry["fields"]["summary"] and "建议休学" in assessed_entry["fields"]["summary"]

    # A clerk sees neither the referral nor the diagnosis.
    clerk = store_env.add_staff("clerk1", "clerk")
    assert clerk("referral", "show", ref).exit_code == 5
    assert "中度抑郁发作" not in clerk.ok("cases", "show", STUDENT, "--json").stdout

    # The record sheet a counselor prints and files.
    out = store_env.tmp / "转介记录表.xlsx"
    wang.ok("referral", "export", ref, "--out", str(out))
    ws = openpyxl.load_workbook(out).active
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    for expected in (
        "转介记录表", "王示例", STUDENT, HOSPITAL, "三甲", "加急", "危机事件后评估", "李老师、母亲", "已签署", "中度抑郁发作（医院告知）", "F32.1",
        "建议休学", "门诊治疗", "居家休养，门诊规律复诊", "转介咨询师签字", "监护人签字", "中心负责人签字",
    ):
        assert expected in text, expected
    history_lines = [line for line in text.splitlines() if "（记录人：wang）" in line]
    assert [line[:10] for line in history_lines] == [days_ago(38), days_ago(37), days_ago(36), days_ago(34)]
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4) and ws.print_area
