"""咨询伦理: clerks, the cron account and advisors learn that a session took place (date, counselor), never its content.

Every output form a clerk can ask for (dossier on the terminal and in JSON,
the session list, the agenda, the dossier export, weekly and monthly reports
in JSON and as workbooks) is searched for the clinical words a counselor
typed; the dossier export and the reports a counselor makes (what advisors
and colleges receive) too. Then the key itself: a clerk's key cannot decrypt
a session's clinical part whatever code runs.
"""

from __future__ import annotations

import json
import sqlite3

import openpyxl
import pytest

from mhtool.errors import KeyUnavailable
from mhtool.store import crypto
from mhtool.store.core import bound_columns
from tests.counseling.kit import A, C, CANARIES, as_json, day, desk  # noqa: F401  (desk is a fixture)

PURPOSE = ("--purpose", "例行工作")


@pytest.fixture
def recorded(desk):
    desk.clerk.ok("counseling", "book", A, "--at", f"{day(0)} 09:00", "--counselor", "zhang")
    desk.counselor.ok(
        "counseling", "session", A, "--concern", "恋爱情感", "--risk", "中", "--concern-text", CANARIES[0], "--next-step", CANARIES[1],
    )  # fmt: skip
    desk.counselor.ok("counseling", "session", A, "--concern", "恋爱情感", "--risk", "低", "--close", "达成咨询目标", "--outcome-text", CANARIES[3], "--walk-in")
    desk.counselor.ok("counseling", "conference", A, C, "--kind", "督导", "--decision", CANARIES[2], "--participant", "张华")
    return desk


def _cells(path) -> str:
    wb = openpyxl.load_workbook(path)
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None)


def _clean(text: str, *, concern: bool = True) -> None:
    for canary in CANARIES:
        assert canary not in text
    if concern:
        assert "恋爱情感" not in text and "romantic" not in text


def test_a_clerk_sees_that_sessions_took_place_and_nothing_of_their_content(recorded, tmp_path):
    desk = recorded
    clerk = desk.clerk
    show = json.loads(clerk.ok("cases", "show", A, "--json").stdout)
    sessions = [i for i in show["timeline"] if i["kind"] == "session"]
    assert [i["fields"]["counselor"] for i in sessions] == ["zhang", "zhang"] and all(i["restricted"] for i in sessions)
    assert [i["date"] for i in sessions] == [day(0), day(0)]
    for item in sessions:
        assert set(item["fields"]) <= {"counselor", "mode", "minutes", "number", "at", "appointment_id", "walk_in", "closes"}
    _clean(json.dumps(show, ensure_ascii=False))
    _clean(clerk.ok("cases", "show", A).stdout)
    listed = as_json(clerk.ok("counseling", "sessions", A, "--json"))
    assert len(listed) == 2 and not any(k in row for row in listed for k in ("concern", "risk", "next_step", "outcome", "concern_text"))
    _clean(json.dumps(listed, ensure_ascii=False))
    _clean(json.dumps(as_json(clerk.ok("counseling", "sessions", "--json")), ensure_ascii=False))
    _clean(clerk.ok("counseling", "agenda", "--json").stdout)
    exported = tmp_path / "clerk.xlsx"
    clerk.ok("cases", "export", A, "--out", str(exported), *PURPOSE)
    text = _cells(exported)
    _clean(text)
    assert "个体咨询" in text and "第1次" in text  # that it took place, and its place in the series
    for kind in ("weekly", "monthly"):
        report = json.loads(clerk.ok("report", kind, "--from", day(-1), "--to", day(0), "--json", *PURPOSE).stdout)
        _clean(json.dumps(report, ensure_ascii=False))
        rows = report["sheets"]["counseling"]
        total = next(r for r in rows if r["dimension"] == "个体咨询" and r["item"] == "合计")
        assert (total["count"], total["people"]) == (2, 1)  # the counts are there
        workbook = tmp_path / f"{kind}.xlsx"
        clerk.ok("report", kind, "--from", day(-1), "--to", day(0), "--out", str(workbook), *PURPOSE)
        _clean(_cells(workbook))
    concern_row = next(r for r in report["sheets"]["counseling"] if r["dimension"] == "个体咨询·问题类别")
    assert concern_row["count"] is None and "咨询师" in concern_row["item"]


def test_what_advisors_receive_from_a_counselor_holds_no_content(recorded, tmp_path):
    """The dossier export and the reports go to advisors and colleges: a counselor's copy is counts and dates too."""
    desk = recorded
    exported = tmp_path / "dossier.xlsx"
    desk.counselor.ok("cases", "export", A, "--out", str(exported))
    text = _cells(exported)
    _clean(text)
    assert "个体咨询" in text and "督导" in text
    for extra in ((), ("--redact",)):
        workbook = tmp_path / f"monthly{len(extra)}.xlsx"
        desk.counselor.ok("report", "monthly", "--from", day(-1), "--to", day(0), "--out", str(workbook), *extra)
        _clean(_cells(workbook), concern=False)
    # The counselor's report counts concern categories; the counselor's dossier on screen has the content.
    report = json.loads(desk.counselor.ok("report", "monthly", "--from", day(-1), "--to", day(0), "--json").stdout)
    assert any(r["dimension"] == "个体咨询·问题类别" and r["item"] == "恋爱情感" and r["count"] == 2 for r in report["sheets"]["counseling"])
    assert CANARIES[0] in desk.counselor.ok("cases", "show", A).stdout


def test_a_clerks_key_cannot_decrypt_session_content(recorded):
    """Sealed under the clinical tier, which a clerk's bundle does not hold: it fails if the content moved to a tier clerks hold."""
    desk = recorded
    conn = sqlite3.connect(desk.env.path)
    rows = conn.execute("SELECT id, student_id, on_date, data, clin FROM entries").fetchall()
    conn.close()
    with desk.open("zhang") as counselor:
        kinds = {rid: counselor.entries.get(rid)["kind"] for rid, *_rest in rows}
    parts = [(rid, sid, on, bytes(data), clin) for rid, sid, on, data, clin in rows if kinds[rid] in ("session", "conference")]
    assert len(parts) == 4
    with desk.open("li") as clerk, desk.open("zhang") as counselor:
        assert not any(k.holds("clinical") for k in clerk.keyring.values())
        for rid, sid, on, data, clin in parts:
            assert clin is not None, rid
            clin = bytes(clin)
            bound = bound_columns("entries", {"student_id": sid, "on_date": on})
            assert crypto.sealed_tier(clin) == "clinical"
            with pytest.raises(KeyUnavailable):
                crypto.unseal(clerk.keyring, clerk.store_id, "entries", rid, clin, bound)
            # What the clerk's key opens holds none of it.
            admin_part = crypto.unseal(clerk.keyring, clerk.store_id, "entries", rid, data, bound)
            _clean(json.dumps(admin_part, ensure_ascii=False))
            assert not {"concern", "risk", "decision", "concern_text", "next_step", "outcome_text"} & set(admin_part["fields"])
            # The counselor's key opens the clinical part.
            whole = crypto.unseal(counselor.keyring, counselor.store_id, "entries", rid, clin, bound)
            assert {"concern", "decision"} & set(whole["fields"])
        # Through the library too: the clerk's records come back without content.
        for rid, *_rest in parts:
            assert not {"concern", "risk", "decision"} & set(clerk.entries.get(rid)["fields"])
