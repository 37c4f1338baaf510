"""Import robustness (issue 15, items 9–11): absurd sheets, damaged files, password-protected and
legacy workbooks, a partial UPI supplementary block, values that are not student numbers or dates.

Every file is built here: raw workbook XML written with zipfile, legacy .xls with xlwt, encrypted
workbooks with msoffcrypto-tool. Files that made the old reader allocate gigabytes (or abort) are
read in a child process, so a regression fails the test instead of taking pytest down with it.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mhtool.errors import InvalidInput
from mhtool.io.readers import read_sheet
from tests.survey.export_factory import (
    YES_NO,
    generic_rows,
    labels,
    make_students,
    roster_rows,
    write_csv,
    write_roster_xlsx,
    write_wjx_xlsx,
    write_xlsx,
    wjx_rows,
)

ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- raw workbooks

_CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def _cell(ref: str | None, value) -> str:
    r = f' r="{ref}"' if ref else ""
    if isinstance(value, str):
        return f'<c{r} t="inlineStr"><is><t>{value}</t></is></c>'
    return f"<c{r}><v>{value}</v></c>"


def write_raw_xlsx(path: Path, rows: dict[int, list[tuple[str | None, object]]], *, dimension: str | None = None) -> Path:
    """A workbook written as XML: ``rows`` maps a row number to its (reference or None, value) cells."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(f'<row r="{r}">' + "".join(_cell(ref, v) for ref, v in cells) + "</row>" for r, cells in sorted(rows.items()))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{body}</sheetData></worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def _phq9_header() -> list[tuple[str, object]]:
    letters = "ABCDEFGHIJK"
    return [(f"{letters[j]}1", h) for j, h in enumerate(["学号", "姓名", *map(str, range(1, 10))])]


def _phq9_row(r: int, no: str) -> list[tuple[str, object]]:
    letters = "ABCDEFGHIJK"
    return [(f"{letters[j]}{r}", v) for j, v in enumerate([no, "张三", *[0] * 9])]


def mhtool_process(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command in a child process (a native abort ends the child, not the test run)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "mhtool", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=full, cwd=ROOT)


def _no_crash(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr and "unexpected" not in proc.stderr, proc.stderr
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}"


# ---------------------------------------------------------------- item 9: absurd sheets, damaged files


@pytest.mark.parametrize("far", ["XFD100000", "XFD4000"])
def test_a_value_far_outside_the_table_is_refused_before_reading(tmp_path, far):
    # 5 KB on disk; the old reader asked for 50 GB (XFD100000, abort) or 3.1 GB and 18 s (XFD4000).
    path = write_raw_xlsx(tmp_path / f"far_{far}.xlsx", {1: _phq9_header(), 2: _phq9_row(2, "2026601000"), int(far[3:]): [(far, "x")]},
                          dimension="A1:K2")  # the declared range lies
    assert path.stat().st_size < 5000
    started = time.monotonic()
    proc = mhtool_process("survey", "score", path, "--instrument", "phq9")
    _no_crash(proc)
    assert proc.returncode == 3, proc.stderr
    assert time.monotonic() - started < 60
    first = proc.stderr.splitlines()[0]
    assert path.name in first and "sheet Sheet1" in first and f"A1:{far}" in first


def test_cells_without_references_are_measured_too(tmp_path):
    # No <dimension>, no r= on the cells: the place of a cell is implied by order (row 200,000, 40 cells).
    rows = {1: _phq9_header(), 2: _phq9_row(2, "2026601000"), 200_000: [(None, "x")] * 40}
    path = write_raw_xlsx(tmp_path / "implied.xlsx", rows)
    proc = mhtool_process("survey", "score", path, "--instrument", "phq9")
    _no_crash(proc)
    assert proc.returncode == 3 and "A1:AN200000" in proc.stderr, proc.stderr


def test_a_sane_sheet_with_a_lying_dimension_is_still_read(tmp_path):
    # Declared far too large (some writers do), but the cells themselves are a small table.
    path = write_raw_xlsx(tmp_path / "inflated.xlsx", {1: _phq9_header(), 2: _phq9_row(2, "2026601000")}, dimension="A1:XFD1048576")
    raw = read_sheet(path)
    assert len(raw.rows) == 2 and len(raw.rows[0]) == 11


def test_legacy_xls_declaring_an_absurd_range_is_refused(tmp_path):
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sheet1")
    for j, h in enumerate(["学号", "姓名", *map(str, range(1, 10))]):
        ws.write(0, j, h)
    path = tmp_path / "dims.xls"
    wb.save(str(path))
    data = bytearray(path.read_bytes())
    at = data.find(struct.pack("<HH", 0x0200, 14))  # DIMENSIONS
    assert at > 0
    struct.pack_into("<IIHH", data, at + 4, 0, 0xFFFFFFF0, 0, 0xFFF0)
    path.write_bytes(bytes(data))
    proc = mhtool_process("survey", "score", path, "--instrument", "phq9")
    _no_crash(proc)
    assert proc.returncode == 3 and path.name in proc.stderr, proc.stderr


def _zip_with_unsupported_method(path: Path, members: dict[str, str], broken: str) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    data = bytearray(buf.getvalue())
    for sig, method_at, name_len_at, name_at in ((b"PK\x03\x04", 8, 26, 30), (b"PK\x01\x02", 10, 28, 46)):
        i = data.find(sig)
        while i >= 0:
            n = struct.unpack_from("<H", data, i + name_len_at)[0]
            if bytes(data[i + name_at: i + name_at + n]).decode() == broken:
                struct.pack_into("<H", data, i + method_at, 99)
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))
    return path


def _rezip(source: Path, target: Path, replace: dict[str, str]) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            if name not in replace:
                zout.writestr(name, zin.read(name))
        for name, text in replace.items():
            zout.writestr(name, text)
    return target


@pytest.mark.parametrize(
    "damage",
    ["unsupported_compression", "truncated", "garbage_after_magic", "bad_xml", "bad_shared_strings"],
)
def test_any_unreadable_workbook_is_invalid_input_naming_the_file(store_env, tmp_path, damage):
    path = tmp_path / f"{damage}.xlsx"
    if damage == "unsupported_compression":
        # The old reader said "unexpected NotImplementedError" (exit 1).
        _zip_with_unsupported_method(path, {"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}, "mimetype")
    elif damage == "truncated":
        good = write_raw_xlsx(tmp_path / "good.xlsx", {1: _phq9_header(), 2: _phq9_row(2, "2026601000")})
        path.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    elif damage == "garbage_after_magic":
        path.write_bytes(b"PK\x03\x04" + os.urandom(3000))
    elif damage == "bad_xml":
        good = write_raw_xlsx(tmp_path / "good.xlsx", {1: _phq9_header()})
        _rezip(good, path, {"xl/worksheets/sheet1.xml": "<worksheet><sheetData><row r='1'><c r='A1'"})
    else:
        good = write_raw_xlsx(tmp_path / "good.xlsx", {1: _phq9_header(), 2: _phq9_row(2, "2026601000")})
        _rezip(good, path, {"xl/sharedStrings.xml": '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                                    'count="1" uniqueCount="999999999999"><si><t>x</t></si></sst>'})
    proc = mhtool_process("survey", "import", path, "--instrument", "phq9", "--dry-run",
                          env={"MHTOOL_STORE": str(store_env.path), "MHTOOL_KEY_FILE": str(store_env.admin_key), "MHTOOL_USER": "admin"})
    _no_crash(proc)
    assert proc.returncode == 3, proc.stderr
    assert path.name in proc.stderr.splitlines()[0]


# ---------------------------------------------------------------- item 10: real-world shapes


def test_upi_with_a_partial_supplementary_block_imports_and_says_what_is_absent(store_env, tmp_path):
    students = make_students(4, seed=3)
    answers = [[0] * 63 for _ in students]
    answers[0][60] = answers[0][61] = 1  # 2 of the 3 supplementary items present: band A, orange
    answers[1][62] = 1  # 1 of them: band B, yellow
    path = write_wjx_xlsx(tmp_path / "upi63.xlsx", students, labels(answers, YES_NO))
    result = store_env.cli("survey", "import", path, "--instrument", "upi", "--json")
    assert result.exit_code == 0, result.stderr
    assert "supplementary item 64 not in the sheet" in result.stderr and "61, 62, 63" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["imported"] == 4 and summary["proposed"] == {"red": 0, "orange": 1, "yellow": 1}
    with store_env.open() as store:
        responses = {r["student_no"]: r for b in store.batches.all() for r in store.responses.for_batch(b["id"])}
    assert responses[students[0]["student_no"]]["band"] == "A"
    assert "64" not in responses[students[0]["student_no"]]["answers"]


def _encrypt(plain: Path, target: Path, password: str) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with plain.open("rb") as fh:
        OOXMLFile(fh).encrypt(password, out)
    target.write_bytes(out.getvalue())
    plain.unlink()
    return target


def test_password_protected_workbooks_open_with_a_password_file(store_env, tmp_path):
    students = make_students(5, seed=4)
    export = _encrypt(write_wjx_xlsx(tmp_path / "plain_upi.xlsx", students, labels([[0] * 60] * 5, YES_NO)),
                      tmp_path / "locked_upi.xlsx", "普查2026!")
    roster = _encrypt(write_roster_xlsx(tmp_path / "plain_roster.xlsx", students), tmp_path / "locked_roster.xlsx", "普查2026!")
    good = tmp_path / "pw.txt"
    good.write_text("普查2026!\n", encoding="utf-8")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("guess\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())

    refused = store_env.cli("survey", "import", export, "--instrument", "upi")
    assert refused.exit_code == 3 and "password-protected" in refused.stderr and "--password-file" in refused.stderr
    bad = store_env.cli("survey", "import", export, "--instrument", "upi", "--password-file", wrong)
    assert bad.exit_code == 3 and f"cannot open {export.name}: wrong password" in bad.stderr
    missing = store_env.cli("survey", "import", export, "--instrument", "upi", "--password-file", tmp_path / "nope.txt")
    assert missing.exit_code == 2

    ok = store_env.cli("cases", "import-roster", roster, "--password-file", good, "--json")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["students_created"] == 5
    ok = store_env.cli("survey", "import", export, "--instrument", "upi", "--password-file", good, "--json")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["imported"] == 5
    # Nothing decrypted was written beside the files (the store's own files aside).
    after = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("store.db"))
    assert after == [n for n in before if not n.startswith("store.db")]


def _write_xls(path: Path, rows: list[list]) -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    wb.save(str(path))
    return path


def test_legacy_xls_written_by_xlwt_imports(store_env, tmp_path):
    students = make_students(6, seed=5)
    roster = _write_xls(tmp_path / "名册.xls", roster_rows(students))
    assert roster.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    ok = store_env.cli("cases", "import-roster", roster, "--json")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["students_created"] == 6
    answers = [[0] * 60 for _ in students]
    answers[2][24] = 1
    export = _write_xls(tmp_path / "upi.xls", wjx_rows(students, labels(answers, YES_NO)))
    ok = store_env.cli("survey", "import", export, "--instrument", "upi", "--json")
    assert ok.exit_code == 0, ok.stderr
    summary = json.loads(ok.stdout)
    assert summary["imported"] == 6 and summary["proposed"]["red"] == 1 and summary["students_created"] == 0


# ---------------------------------------------------------------- item 11: not a student number, not a date


@pytest.mark.parametrize("bad", ["0", "../x", "学号", "9" * 5000, "2026601000\n2026601001", "2026 60"])
def test_values_that_are_not_student_numbers_are_refused_naming_row_and_column(store_env, tmp_path, bad):
    students = make_students(3, seed=6)
    rows = generic_rows(students, [[0] * 9] * 3, roster_fields=("student_no", "name"))
    rows[2][0] = bad
    path = write_csv(tmp_path / "phq9.csv", rows)
    result = store_env.cli("survey", "import", path, "--instrument", "phq9", "--profile", "generic")
    assert result.exit_code == 3, result.stderr
    assert "row 3" in result.stderr and "学号" in result.stderr
    roster = write_xlsx(tmp_path / "roster.xlsx", [["学号", "姓名"], [bad, "张三"], ["2026601999", "李四"]])
    result = store_env.cli("cases", "import-roster", roster)
    assert result.exit_code == 3 and "row 2" in result.stderr, result.stderr
    assert store_env.open().students.find("2026601999") is None


@pytest.mark.parametrize("when", ["0001-01-01 00:00:00", "2150/01/01 08:00:00"])
def test_dates_outside_a_sane_range_are_refused(store_env, tmp_path, when):
    students = make_students(3, seed=8)
    rows = wjx_rows(students, labels([[0] * 60] * 3, YES_NO))
    rows[2][rows[0].index("提交答卷时间")] = when
    path = write_wjx_xlsx(tmp_path / "upi.xlsx", students, labels([[0] * 60] * 3, YES_NO))
    write_xlsx(path, rows)
    result = store_env.cli("survey", "import", path, "--instrument", "upi")
    assert result.exit_code == 3, result.stderr
    assert "row 3" in result.stderr and "提交答卷时间" in result.stderr and "outside" in result.stderr
