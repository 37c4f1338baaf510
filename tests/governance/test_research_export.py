"""`mhtool export research` end to end: a real store, real workbooks and CSV files, every cell checked."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from mhtool.governance.domain.research import MERGED_COLLEGE
from tests.governance import kit

PURPOSE = "新生心理健康状况研究（伦理审批 2026-01）"


def export(env, out, *args, cli=None):
    result = (cli or env.cli).ok("export", "research", "--out", out, "--purpose", PURPOSE, "--json", *args)
    return json.loads(result.stdout)


def real_dates(school):
    return {date(2026, 9, 10), date(2026, 10, 20)}


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_no_identifier_of_any_kind_in_any_cell(school_env, school, tmp_path, suffix):
    out = tmp_path / f"research{suffix}"
    summary = export(school_env, out)
    headers, rows = kit.read_table(out)
    assert summary["rows"] == len(rows) > 0
    cells = [str(v) for v in headers] + [str(v) for row in rows for v in row if v is not None]
    for canary in kit.canaries(school):
        hits = [c for c in cells if canary in c]
        assert not hits, f"{canary!r} found in {hits[:3]}"
    for forbidden in ("student_no", "name", "phone", "dorm", "guardian", "class_name", "major", "answers", "advisor"):
        assert forbidden not in headers
    # The raw file too, not only what a reader parses out of it.
    raw = out.read_bytes()
    for s in school:
        assert s["student_no"].encode() not in raw and s["phone"].encode() not in raw


def test_one_row_per_response_with_scores_and_bands(school_env, school, tmp_path):
    summary = export(school_env, tmp_path / "r.xlsx")
    rows = kit.records(tmp_path / "r.xlsx")
    withheld = summary["suppression"]["rows_withheld"]
    assert len(rows) + withheld == 2 * len(school)
    assert {r["instrument"] for r in rows} == {"upi", "phq9"}
    assert all(isinstance(r["score_total"], int) for r in rows)
    assert {r["band"] for r in rows if r["instrument"] == "phq9"} <= {"minimal", "mild", "moderate", "moderately_severe", "severe"}
    assert all(r["pseudonym"].startswith("P-") for r in rows)


def test_pseudonyms_differ_between_two_exports(school_env, tmp_path):
    export(school_env, tmp_path / "a.xlsx")
    export(school_env, tmp_path / "b.xlsx")
    a = {r["pseudonym"] for r in kit.records(tmp_path / "a.xlsx")}
    b = {r["pseudonym"] for r in kit.records(tmp_path / "b.xlsx")}
    assert len(a) == len(b) > 0
    assert not a & b


def test_intervals_between_a_students_dates_are_preserved_and_dates_move(school_env, tmp_path):
    export(school_env, tmp_path / "r.xlsx")
    by_student: dict[str, dict] = {}
    for r in kit.records(tmp_path / "r.xlsx"):
        by_student.setdefault(r["pseudonym"], {})[r["instrument"]] = kit.as_date(r["date"])
    offsets = set()
    for days in by_student.values():
        assert days["phq9"] - days["upi"] == timedelta(days=kit.INTERVAL_DAYS)
        offset = (days["upi"] - kit.UPI_DAY.date()).days
        assert offset != 0 and abs(offset) <= 180
        offsets.add(offset)
    assert len(offsets) > 1, "each student has an offset of their own"


def test_month_only_gives_the_real_month(school_env, tmp_path):
    summary = export(school_env, tmp_path / "r.csv", "--month-only")
    assert summary["dates"] == "month"
    rows = kit.records(tmp_path / "r.csv")
    assert {(r["instrument"], r["date"]) for r in rows} == {("upi", "2026-09"), ("phq9", "2026-10")}


def test_small_cells_are_merged_blanked_or_withheld(school_env, school, tmp_path):
    summary = export(school_env, tmp_path / "r.xlsx")
    rows = kit.records(tmp_path / "r.xlsx")
    cells: dict[tuple, set] = {}
    for r in rows:
        cells.setdefault((r["college"], r["gender"] or "", r["grade"] or ""), set()).add(r["pseudonym"])
    assert {c: len(m) for c, m in cells.items()} == {
        ("文学院", "男", "2026级"): 6,
        ("文学院", "女", "2026级"): 6,
        (MERGED_COLLEGE, "男", "2026级"): 5,  # 法学院 3 + 医学院 2
    }
    assert "法学院" not in {r["college"] for r in rows} and "理学院" not in {r["college"] for r in rows}
    assert summary["suppression"] == {"k": 5, "cells_merged": 3, "cells_blanked": 1, "students_withheld": 1, "rows_withheld": 2}
    assert summary["students"] == len(school) - 1


def test_k_is_configurable_upwards_but_not_below_the_store_minimum(school_env, tmp_path):
    summary = export(school_env, tmp_path / "r.xlsx", "--min-cell", "7")
    assert summary["suppression"]["k"] == 7
    cells: dict[tuple, set] = {}
    for r in kit.records(tmp_path / "r.xlsx"):
        cells.setdefault((r["college"], r["gender"], r["grade"]), set()).add(r["pseudonym"])
    assert all(len(m) >= 7 for m in cells.values())
    low = school_env.cli("export", "research", "--out", tmp_path / "low.xlsx", "--purpose", PURPOSE, "--min-cell", "3")
    assert low.exit_code == 2 and "--min-cell" in low.stderr
    assert not (tmp_path / "low.xlsx").exists()


def test_store_policy_sets_k(school_env, tmp_path):
    from mhtool.governance.usecases.purpose import set_policy

    with school_env.open() as store:
        set_policy(store, research_min_cell=3)
    summary = export(school_env, tmp_path / "r.xlsx")
    assert summary["suppression"]["k"] == 3
    assert "法学院" in {r["college"] for r in kit.records(tmp_path / "r.xlsx")}


def test_purpose_is_required_and_audited_with_the_row_count(school_env, tmp_path):
    missing = school_env.cli("export", "research", "--out", tmp_path / "r.xlsx")
    assert missing.exit_code == 2 and "--purpose" in missing.stderr
    assert not (tmp_path / "r.xlsx").exists()
    summary = export(school_env, tmp_path / "r.xlsx")
    entry = [e for e in kit.audit(school_env) if e["action"] == "export.research"][-1]
    assert entry["staff"] == "admin"
    assert entry["details"]["purpose"] == PURPOSE
    assert entry["details"]["rows"] == summary["rows"]
    assert entry["details"]["pseudonyms"] == "per-export"
    assert len(entry["targets"]) == summary["students"] + summary["suppression"]["students_withheld"]


def test_stable_pseudonyms_are_the_same_in_every_export(school_env, tmp_path):
    first = export(school_env, tmp_path / "a.xlsx", "--stable-pseudonyms")
    export(school_env, tmp_path / "b.xlsx", "--stable-pseudonyms")
    assert first["pseudonyms"] == "stable"
    a = sorted((r["pseudonym"], r["instrument"], kit.as_date(r["date"])) for r in kit.records(tmp_path / "a.xlsx"))
    b = sorted((r["pseudonym"], r["instrument"], kit.as_date(r["date"])) for r in kit.records(tmp_path / "b.xlsx"))
    assert a == b, "pseudonyms and date offsets are both stable"
    export(school_env, tmp_path / "c.xlsx")
    assert not {r[0] for r in a} & {r["pseudonym"] for r in kit.records(tmp_path / "c.xlsx")}


def test_counselor_may_export_but_not_with_stable_pseudonyms(school_env, tmp_path):
    counselor = school_env.add_staff("咨询师甲", "counselor")
    export(school_env, tmp_path / "r.xlsx", cli=counselor)
    denied = counselor("export", "research", "--out", tmp_path / "s.xlsx", "--purpose", PURPOSE, "--stable-pseudonyms")
    assert denied.exit_code == 5
    assert not (tmp_path / "s.xlsx").exists()


@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_clerk_and_auditor_cannot_make_research_exports(school_env, tmp_path, role):
    other = school_env.add_staff(f"{role}甲", role)
    denied = other("export", "research", "--out", tmp_path / "r.xlsx", "--purpose", PURPOSE)
    assert denied.exit_code == 5
    assert not (tmp_path / "r.xlsx").exists()
    entry = [e for e in kit.audit(school_env) if e["action"] == "denied"][-1]
    assert entry["details"]["attempted"] == "export.research"


def test_scoped_counselor_exports_only_their_colleges(school_env, tmp_path):
    scoped = school_env.add_staff("咨询师乙", "counselor", "文学院")
    summary = export(school_env, tmp_path / "r.xlsx", cli=scoped)
    rows = kit.records(tmp_path / "r.xlsx")
    assert summary["students"] == 12
    assert {r["college"] for r in rows} == {"文学院"}


def test_batch_and_instrument_filters(school_env, tmp_path):
    upi_batch = school_env.batches[0]
    by_batch = export(school_env, tmp_path / "a.xlsx", "--batch", upi_batch[:6])
    assert {r["instrument"] for r in kit.records(tmp_path / "a.xlsx")} == {"upi"}
    by_instrument = export(school_env, tmp_path / "b.xlsx", "--instrument", "PHQ9")
    assert {r["instrument"] for r in kit.records(tmp_path / "b.xlsx")} == {"phq9"}
    assert by_batch["rows"] == by_instrument["rows"]
    none = export(school_env, tmp_path / "c.csv", "--instrument", "scl90")
    assert none["rows"] == 0
    headers, rows = kit.read_table(tmp_path / "c.csv")
    assert headers[0] == "pseudonym" and rows == []


def test_voided_batches_are_left_out(school_env, tmp_path):
    school_env.cli.ok("survey", "void", school_env.batches[1], "--reason", "测试作废")
    export(school_env, tmp_path / "r.xlsx")
    assert {r["instrument"] for r in kit.records(tmp_path / "r.xlsx")} == {"upi"}
    named = school_env.cli("export", "research", "--out", tmp_path / "v.xlsx", "--purpose", PURPOSE, "--batch", school_env.batches[1])
    assert named.exit_code == 2 and "voided" in named.stderr


def test_csv_cells_cannot_become_formulas(store_env, tmp_path):
    # Imports refuse formula-like cells, but a dossier typed in by hand may hold one.
    students = kit.school([("=HYPERLINK(\"x\")", "男", "2026级", 5)])
    kit.add_roster(store_env, students)
    kit.import_screenings(store_env, students, tmp_path, phq=False, fields=("student_no", "name", "gender", "grade"))
    export(store_env, tmp_path / "r.csv")
    text = (tmp_path / "r.csv").read_text("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "\n=" not in text and ",=" not in text


def test_output_must_be_xlsx_or_csv(school_env, tmp_path):
    bad = school_env.cli("export", "research", "--out", tmp_path / "r.json", "--purpose", PURPOSE)
    assert bad.exit_code == 2 and ".xlsx or .csv" in bad.stderr
