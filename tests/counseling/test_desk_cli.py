"""`mhtool counseling slots/book/cancel/no-show/agenda`: the duty desk through the command line, on a real store."""

from __future__ import annotations

from datetime import date

from tests.counseling.kit import A, B, C, audit, as_json, day, desk  # noqa: F401  (desk is a fixture)


def _book(cli, student: str, at: str, *extra: str):
    return cli("counseling", "book", student, "--at", at, "--counselor", "zhang", *extra)


def test_booking_gives_the_counselor_a_reminder_and_the_agenda_lists_it(desk):
    when = f"{day(1)} 09:00"
    booked = as_json(desk.clerk.ok("counseling", "book", A, "--at", when, "--counselor", "zhang", "--mode", "电话", "--json"))
    assert (booked["date"], booked["at"], booked["end"], booked["minutes"], booked["mode"], booked["status"]) == (day(1), "09:00", "09:50", 50, "phone", "booked")
    assert booked["counselor_name"] == "张华" and booked["student_no"] == A
    # The counselor's reminder task for the day.
    tasks = [t for t in as_json(desk.counselor.ok("cases", "tasks", "--mine", "--json")) if t["kind"] == "appointment"]
    assert [(t["due"], t["student_no"]) for t in tasks] == [(day(1), A)]
    # The duty desk's agenda and the counselor's own.
    assert [r["id"] for r in as_json(desk.clerk.ok("counseling", "agenda", "--day", day(1), "--json"))] == [booked["id"]]
    assert [r["id"] for r in as_json(desk.counselor.ok("counseling", "agenda", "--day", day(1), "--mine", "--json"))] == [booked["id"]]
    table = desk.clerk.ok("counseling", "agenda", "--day", day(1)).stdout
    assert "09:00" in table and "张华" in table and A in table
    # Piped (a script, a file), headers and labels are Chinese whoever runs it; at a terminal, the reader's language.
    assert table.splitlines()[0].split("\t")[:4] == ["日期", "开始", "结束", "咨询师"] and "\t已预约\t" in table
    assert "Counselor" in desk.clerk.ok("counseling", "agenda", "--day", day(1), env={"FORCE_TERMINAL": "1"}).stdout
    # An empty day is [] in JSON.
    assert desk.clerk.ok("counseling", "agenda", "--day", day(3), "--json").stdout.strip() == "[]"
    actions = [e["action"] for e in audit(desk.env)]
    assert "counseling.book" in actions and "counseling.agenda" in actions


def test_a_double_booking_is_refused_naming_the_booking_and_nothing_is_written(desk):
    first = as_json(desk.clerk.ok("counseling", "book", A, "--at", f"{day(1)} 14:00", "--counselor", "zhang", "--json"))
    before = desk.dump()
    # The counselor is busy 14:00–14:50: 14:30 overlaps.
    clash = _book(desk.clerk, B, f"{day(1)} 14:30")
    assert clash.exit_code == 2
    assert "--at" in clash.stderr and "already booked" in clash.stderr and first["id"][:8] in clash.stderr and A in clash.stderr
    assert desk.dump() == before
    # The student cannot be in two places either: another counselor, the same hour.
    desk.env.add_staff("wang", "counselor")
    desk.admin.ok("counseling", "slots", "set", "wang", "--slot", f"{('周一', '周二', '周三', '周四', '周五', '周六', '周日')[date.fromisoformat(day(1)).weekday()]} 14:00-17:00")
    before = desk.dump()
    same_student = desk.clerk("counseling", "book", A, "--at", f"{day(1)} 14:45", "--counselor", "wang")
    assert same_student.exit_code == 2 and f"{A} already has a booking" in same_student.stderr and first["id"][:8] in same_student.stderr
    assert desk.dump() == before
    desk.clerk.ok("counseling", "book", A, "--at", f"{day(1)} 15:00", "--counselor", "wang")
    # Back to back is fine.
    desk.clerk.ok("counseling", "book", B, "--at", f"{day(1)} 14:50", "--counselor", "zhang")


def test_bookings_outside_slots_or_working_hours_and_bad_lengths_are_refused(desk):
    before = desk.dump()
    late = _book(desk.clerk, A, f"{day(1)} 20:30")  # 50 minutes from 20:30 ends after 21:00
    assert late.exit_code == 2 and "working hours" in late.stderr and "--at" in late.stderr
    lunch = _book(desk.clerk, A, f"{day(1)} 12:00")  # between the morning and afternoon slots
    assert lunch.exit_code == 2 and "not within" in lunch.stderr and "张华" in lunch.stderr
    for minutes in ("0", "600"):
        bad = _book(desk.clerk, A, f"{day(1)} 09:00", "--minutes", minutes)
        assert bad.exit_code == 2 and "--minutes" in bad.stderr and "1 to 240" in bad.stderr
    no_time = _book(desk.clerk, A, day(1))
    assert no_time.exit_code == 2 and "time of day" in no_time.stderr
    for impossible in ("25:00", "14:60", "9:75:00"):  # read as a time, but no clock shows it
        wrong = _book(desk.clerk, A, f"{day(1)} {impossible}")
        assert wrong.exit_code == 2 and f"--at: cannot read '{impossible}' as a time of day" in wrong.stderr, wrong.stderr
        assert "unexpected" not in wrong.stderr and "Traceback" not in wrong.stderr
    nobody = desk.clerk("counseling", "book", A, "--at", f"{day(1)} 09:00", "--counselor", "li")
    assert nobody.exit_code == 2 and "no counselor" in nobody.stderr
    assert desk.dump() == before


def test_slots_outside_working_hours_are_refused(desk):
    before = desk.dump()
    for slot in ("周一 07:00-09:00", "周二 20:00-22:00", "周三 12:00-11:00", "星期八 09:00-10:00", "周一 9点"):
        result = desk.clerk("counseling", "slots", "set", "zhang", "--slot", slot)
        assert result.exit_code == 2 and "--slot" in result.stderr, (slot, result.stderr)
    assert desk.dump() == before
    # A counselor without slots cannot be booked.
    desk.admin.ok("counseling", "slots", "set", "zhang", "--clear")
    refused = _book(desk.clerk, A, f"{day(1)} 09:00")
    assert refused.exit_code == 2 and "no weekly slots" in refused.stderr
    desk.admin.ok("counseling", "slots", "set", "zhang", "--slot", "周一 09:00-12:00", "--slot", "mon 11:00-12:30")
    rows = as_json(desk.clerk.ok("counseling", "slots", "list", "--json"))
    assert [(r["weekday"], r["start"], r["end"]) for r in rows] == [(1, "09:00", "12:30")]  # overlapping slots merged
    # Piped, the list is in Chinese like every other table, whatever the reader's language.
    piped = desk.clerk.ok("counseling", "slots", "list", env={"MHTOOL_LANG": "en"}).stdout.splitlines()
    assert piped[0].split("\t") == ["咨询师", "登录名", "星期", "开始", "结束"] and piped[1].split("\t")[1:] == ["zhang", "周一", "09:00", "12:30"]


def test_cancel_and_no_show_close_the_booking_and_its_reminder(desk):
    tomorrow = as_json(desk.clerk.ok("counseling", "book", A, "--at", f"{day(1)} 09:00", "--counselor", "zhang", "--json"))
    past = as_json(desk.clerk.ok("counseling", "book", B, "--at", f"{day(-1)} 09:00", "--counselor", "zhang", "--json"))
    # A no-show cannot be marked before the day.
    early = desk.clerk("counseling", "no-show", tomorrow["id"][:8])
    assert early.exit_code == 2 and "no-show" in early.stderr
    cancelled = as_json(desk.clerk.ok("counseling", "cancel", tomorrow["id"][:8], "--reason", "学生改约", "--json"))
    assert cancelled["status"] == "cancelled"
    again = desk.clerk("counseling", "cancel", tomorrow["id"][:8])
    assert again.exit_code == 2 and "already cancelled" in again.stderr
    missed = as_json(desk.clerk.ok("counseling", "no-show", past["id"][:8], "--json"))
    assert missed["status"] == "no_show"
    # Both reminders are closed: no appointment task is left open.
    assert not [t for t in as_json(desk.counselor.ok("cases", "tasks", "--json")) if t["kind"] == "appointment"]
    # The hour is free again for someone else.
    desk.clerk.ok("counseling", "book", C, "--at", f"{day(1)} 09:00", "--counselor", "zhang")
    statuses = {r["student_no"]: r["status"] for r in as_json(desk.clerk.ok("counseling", "agenda", "--day", day(1), "--json"))}
    assert statuses == {A: "cancelled", C: "booked"}


def test_a_scoped_clerk_sees_and_books_only_their_colleges(desk):
    desk.clerk.ok("counseling", "book", A, "--at", f"{day(1)} 09:00", "--counselor", "zhang")  # 法学院
    desk.scoped.ok("counseling", "book", C, "--at", f"{day(1)} 10:00", "--counselor", "zhang")  # 文学院
    rows = as_json(desk.scoped.ok("counseling", "agenda", "--day", day(1), "--json"))
    assert [r["student_no"] for r in rows] == [C]
    refused = desk.scoped("counseling", "book", B, "--at", f"{day(1)} 11:00", "--counselor", "zhang")
    assert refused.exit_code == 5 and "not found in your colleges" in refused.stderr and "法学院" not in refused.stderr
