"""A counselor's whole daily routine, from the terminal, as a new user would run it."""

import json

import openpyxl
from casekit import audit, day, show_json, today

from mhtool.cases.usecases import service


def screen(env, no: str, proposed: str, *, instrument="phq9", band="severe", flags=("item9",)):
    """What a screening import leaves behind: a response and an interview task (through the store API)."""
    with env.open() as store:
        student = store.students.find(no)
        with store.write("test.screening") as txn:
            batch = store.batches.add(txn, {"instrument": instrument, "file": "made-up.xlsx"}, f"made-up:{no}:{instrument}", today())
            store.responses.add(
                txn, batch, student["id"], today().isoformat(),
                {"instrument": instrument, "version": "1", "scores": {"total": 21}, "band": band, "flags": list(flags), "proposed_level": proposed, "answers": {"9": 2}},
            )
            service.schedule_screening_interview(txn, student["id"], proposed, today(), batch_id=batch)


def test_daily_routine(school, tmp_path):
    c = school.add_staff("counselor1", "counselor")
    screen(school, "2024010001", "red")

    # 1. Today's tasks: the interview the screening asked for, due tomorrow.
    r = c.ok("cases", "tasks", "--json")
    tasks = json.loads(r.stdout)
    assert [(t["student_no"], t["kind"], t["due"]) for t in tasks] == [("2024010001", "interview", day(1))]
    r = c.ok("cases", "tasks")
    assert "约谈" in r.stdout and "测试甲" in r.stdout and r.stderr == ""

    # 2. Open the dossier: the screening result is on the timeline, the task in the panel.
    r = c.ok("cases", "show", "2024010001")
    # The instrument and band as people read them (issue 13), not the codes phq9/severe.
    assert "测试甲" in r.stdout and "PHQ-9 重度" in r.stdout and "约谈" in r.stdout
    assert "answers" not in r.stdout

    # 3. Record the interview that confirms a level.
    r = c.ok("cases", "interview", "2024010001", "--findings", "睡眠差，情绪低落", "--confirm", "red", "--mode", "面谈", "--duration", "45", "--risk", "高", "--next-step", "一周后回访")
    assert len(r.stdout.split()) == 2  # the interview entry and the level change
    assert f"follow-up due {day(7)}" in r.stderr
    d = show_json(c, "2024010001")
    assert d["student"]["level"] == "red" and d["student"]["level_since"] == today().isoformat()
    assert [(t["kind"], t["due"]) for t in d["tasks"]] == [("follow_up", day(7))]

    # 4. A follow-up completes the due one and schedules the next.
    r = c.ok("cases", "follow-up", "2024010001", "--content", "情绪较前平稳", "--mode", "电话")
    d = show_json(c, "2024010001")
    assert [(t["kind"], t["due"]) for t in d["tasks"]] == [("follow_up", day(7))]
    assert [i["kind"] for i in d["timeline"]].count("follow_up") == 1

    # 5. A help measure and a guardian contact.
    c.ok("cases", "measure", "2024010001", "--kind", "定期谈话", "--description", "每周一次咨询", "--responsible", "counselor1", "--end", day(60))
    c.ok("cases", "guardian", "2024010001", "--who", "母亲", "--channel", "电话", "--content", "告知约谈情况，建议就医", "--consent", "signed")

    # 6. A crisis in the night, parents told within the hour.
    r = c.ok("cases", "crisis", "2024010001", "--what", "宿舍内情绪失控", "--where", "3号楼", "--happened-at", f"{day(-1)} 22:10",
             "--actions", "辅导员陪同，送医", "--parents-notified-at", f"{day(-1)} 23:00", "--notified", f"学院书记@{day(-1)} 22:30")
    assert "warning" not in r.stderr
    d = show_json(c, "2024010001")
    crisis = next(i for i in d["timeline"] if i["kind"] == "crisis")
    assert crisis["date"] == day(-1)
    assert crisis["fields"]["notified"] == [{"who": "学院书记", "at": f"{day(-1)} 22:30"}]

    # 7. Another student watched at yellow, without a help measure.
    c.ok("cases", "level", "2024010003", "yellow", "--reason", "辅导员反映近期缺课")
    r = c.ok("cases", "check", "--json")
    rows = json.loads(r.stdout)
    assert [(x["student_no"], x["missing"]) for x in rows] == [("2024010003", ["state", "measure"])]
    r = c.ok("cases", "check")
    assert "无有效帮扶举措" in r.stdout and "lack part of the three clarities" in r.stderr

    # 8. The list of watched students, red first.
    rows = json.loads(c.ok("cases", "list", "--json").stdout)
    assert [(x["student_no"], x["level"]) for x in rows] == [("2024010001", "red"), ("2024010003", "yellow")]

    # 9. Export the dossier as a printable workbook.
    out = tmp_path / "dossier.xlsx"
    r = c.ok("cases", "export", "2024010001", "--out", str(out))
    assert r.stdout.strip() == str(out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["基本情况", "时间线"]
    text = "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "测试甲" in text and "宿舍内情绪失控" in text and "每周一次咨询" in text and "咨询师签字" in text

    # Every show, list and export is in the audit chain.
    actions = [e["action"] for e in audit(school) if e["staff"] == "counselor1"]
    for action in ("cases.tasks", "cases.show", "cases.interview", "cases.list", "cases.check", "cases.export", "cases.crisis"):
        assert action in actions
    school.cli.ok("audit", "verify")
