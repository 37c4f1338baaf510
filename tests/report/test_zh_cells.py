"""Chinese throughout: no code identifier in any cell of a zh workbook the demo writes.

The demo store is built once (240 students); every zh workbook in its reports
folder, an advisors' per-college interview sheet and a referral record sheet
are read back with openpyxl, and every cell, sheet name and chart title is
scanned for ASCII words. What may legitimately be ASCII in a Chinese report is
listed (instrument display names, ICD-10 codes, band letters, record ids);
anything else (``item25``, ``positive``, ``SCL90``, ``moderately_severe``,
``follow_up``, an English sentence, a staff login such as ``demo-counselor``)
fails the test with the file, sheet and cell it is in.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from mhtool import demo
from mhtool.app.center import Center, credential_from_key_file
from mhtool.survey.domain.instruments import load_instruments

# A run of ASCII letters and digits (with inner - or .): a word if it holds a letter.
RUN = re.compile(r"[A-Za-z0-9_]+(?:[-.][A-Za-z0-9_]+)*")
# Code identifiers the issue found in zh reports, named so a failure says what it is.
CODES = re.compile(
    r"\b(item\d+|positive|negative|minimal|mild|moderate|moderately_severe|severe|normal|very_high|"
    r"scl90|phq9|gad7|SCL90|PHQ9|GAD7|red|orange|yellow|none|interview|follow_up|level_change|"
    r"guardian_contact|status_change|crisis|referral|enrolled|leave|returned|self_harm\w*|suicide_attempt|"
    r"acute_distress|high|medium|low)\b"
)
ALLOWED = {
    *(inst.display_name for inst in load_instruments().values()),  # UPI, SCL-90, PHQ-9, GAD-7, SDS, SAS, K10, PSQI
    "ICD-10",
}
ICD10 = re.compile(r"[A-Z]\d{2}(?:\.\d{1,2})?")
RECORD_ID = re.compile(r"[0-9a-f]{8}")  # the dossier timeline's 记录编号 (an id prefix)
LOGINS = (demo.ADMIN, demo.COUNSELOR, demo.CLERK)


def foreign_words(text: str) -> list[str]:
    """The ASCII words of ``text`` that have no place in a Chinese report."""
    out = []
    for word in RUN.findall(text):
        if not re.search("[A-Za-z]", word) or word in ALLOWED or ICD10.fullmatch(word) or RECORD_ID.fullmatch(word):
            continue
        if len(word) == 1 and word.isupper():  # UPI's A类/B类/C类
            continue
        out.append(word)
    return out


def chart_titles(ws) -> list[str]:
    titles = []
    for chart in getattr(ws, "_charts", []):
        rich = getattr(getattr(getattr(chart, "title", None), "tx", None), "rich", None)
        if rich is not None:
            titles.append("".join(run.t for p in rich.p for run in (p.r or [])))
    return titles


def texts(path: Path):
    """(where, text) of every sheet name, chart title and text cell of a workbook."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        yield f"{path.name} sheet name", ws.title
        for title in chart_titles(ws):
            yield f"{path.name} {ws.title} chart", title
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    yield f"{path.name} {ws.title}!{cell.coordinate}", cell.value


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("zh") / "demo"
    result = demo.build_demo(folder, students=240, seed=7)
    extra = folder / "extra"
    extra.mkdir()
    with Center.open(result.store, credential_from_key_file(result.keys[demo.COUNSELOR]), demo.COUNSELOR) as center:
        batch = next(b for b in center.survey.batches() if b["instrument"] == "scl90")
        split = center.reports.census(batch["id"], split_by="college", out=extra, purpose="zh test")
        referral = center.referrals.export(result.sample_referral, extra, purpose="zh test")
    # A clerk's copy: the notes that say what a clerk may not see are Chinese too.
    with Center.open(result.store, credential_from_key_file(result.keys[demo.CLERK]), demo.CLERK) as center:
        clerk = center.reports.monthly(out=extra / "clerk_monthly.xlsx", purpose="zh test").path
    paths = sorted((folder / "reports").glob("*.xlsx")) + [Path(split.files[0]["path"]), Path(referral), Path(clerk)]
    assert len(paths) >= 10
    return paths


def test_the_scan_finds_what_the_issue_found():
    """The checker itself: each defect of the issue is caught, legitimate ASCII is not."""
    for bad in ("item25", "SCL90 positive", "PHQ9 moderately_severe", "demo-counselor", "Screening results are indications"):
        assert foreign_words(bad), bad
    for good in ("SCL-90 阳性", "PHQ-9 中重度", "UPI A类", "F32.1", "ICD-10编码", "2026-11-15 23:40", "e4a309bb", "软件2403"):
        assert not foreign_words(good), good


def test_no_code_identifier_in_any_cell_of_a_zh_report(workbooks):
    found = [f"{where}: {words} in {value!r}" for path in workbooks for where, value in texts(path) if (words := foreign_words(value))]
    assert not found, "\n".join(found[:40])


def test_no_code_or_login_where_a_display_name_exists(workbooks):
    """Named explicitly, so a regression reads as what it is (a code or a login), not only as a stray word."""
    for path in workbooks:
        for where, value in texts(path):
            assert not CODES.search(value), f"{where}: {value!r}"
            assert not any(login in value for login in LOGINS), f"{where}: {value!r}"


def test_display_names_and_item_wording_are_shown(workbooks):
    """What replaced the codes is really there: 张华 for the counselor, item wording, band and instrument names."""
    everything = {path.name: " ".join(v for _, v in texts(path)) for path in workbooks}
    weekly = next(v for k, v in everything.items() if k.startswith("周报_"))
    assert demo.DISPLAY_NAMES[demo.COUNSELOR] in weekly
    upi = next(v for k, v in everything.items() if k.startswith("普查报告_") and "UPI" in k)
    assert "想轻生（第25题）" in upi
    dossier = next(v for k, v in everything.items() if k.startswith("档案_"))
    assert "UPI A类" in dossier and "SCL-90 " in dossier
    crisis = next(v for k, v in everything.items() if k.startswith("危机事件报告_"))
    assert "急性情绪危机" in crisis and "高风险" in crisis and "学生工作部值班领导" in crisis


def test_a_clerks_copy_says_in_chinese_what_is_withheld(workbooks):
    clerk = next(p for p in workbooks if p.name == "clerk_monthly.xlsx")
    text = " ".join(v for _, v in texts(clerk))
    assert "原因仅咨询师可见。" in text and "转介医院仅咨询师可见。" in text
