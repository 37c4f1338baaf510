"""The census import pipeline: sheets read in pieces on a second thread, answers decoded chunk by chunk.

What it must keep: the rows a piece-by-piece read gives are the rows the
whole sheet gives (leading and empty rows, shared strings, dates, a sheet
whose rows are out of order, a piece calamine cannot read), and the plan an
import makes from them is the plan the pandas path (``read_export`` then
``score_raw``) gives. Real workbooks on disk, real calamine, real threads.
"""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import datetime

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhtool.io import cells, readers
from mhtool.survey.domain import scoring
from mhtool.survey.usecases import importer, registry
from tests.survey import export_factory as ef


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of a few KB, so that a sheet of a few hundred rows is read in many of them."""
    monkeypatch.setattr(readers, "_PIECE_BYTES", (2048, 4096))
    monkeypatch.setattr(readers, "_SCAN_CHUNK", 1024)


def _rows_read(path, **kw) -> list[list]:
    with readers.open_sheet(path, **kw) as source:
        rows = [[None if c == "" else c for c in r] for r in source]
    # What read_sheet trims: trailing empty rows and columns.
    while rows and all(c is None for c in rows[-1]):
        rows.pop()
    width = max((max((j + 1 for j, c in enumerate(r) if c is not None), default=0) for r in rows), default=0)
    return [r[:width] for r in rows]


def _pieces_used(monkeypatch) -> list[int]:
    """Record how many pieces each sheet read in pieces was cut into."""
    counts: list[int] = []
    original = readers._XlsxPieces._measure

    def measure(self, *args):
        original(self, *args)
        counts.append(len(self._futures))

    monkeypatch.setattr(readers._XlsxPieces, "_measure", measure)
    return counts


def _upi_export(tmp_path, n=300, *, seed=3):
    students = ef.make_students(n, seed=seed)
    answers = ef.make_answers(n, 64, (0, 1), seed=seed)
    return ef.write_wjx_xlsx(tmp_path / "upi.xlsx", students, ef.labels(answers, ef.YES_NO), title_rows=("2026级新生心理普查",))


def test_a_sheet_read_in_pieces_gives_the_rows_of_the_whole_sheet(tmp_path, small_pieces, monkeypatch):
    pieces = _pieces_used(monkeypatch)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"] = "学号"
    ws["D3"] = datetime(2026, 10, 26, 8, 0, 5)  # a date cell: its style must reach each piece
    for r in range(4, 600):
        if r % 97 == 0:
            continue  # rows with no cell at all, inside pieces and at their edges
        ws.cell(r, 3, f"2026{r:06d}")  # shared strings
        ws.cell(r, 4, r * 1.5)
        ws.cell(r, 5 + r % 3, "是" if r % 2 else "")
    path = tmp_path / "sheet.xlsx"
    wb.save(path)

    assert _rows_read(path) == readers.read_sheet(path).rows
    assert pieces and pieces[0] > 5, "the sheet must really have been read in pieces"


def test_the_second_thread_ends_with_the_read_even_when_the_read_fails(tmp_path, small_pieces):
    path = _upi_export(tmp_path)
    with readers.open_sheet(path) as source:
        next(iter(source))
    assert not [t for t in threading.enumerate() if t.name == "mhtool-xlsx"]
    with pytest.raises(readers.InvalidInput):
        importer.plan_import(path, "scl90")  # 64 item columns are not SCL-90's 90
    assert not [t for t in threading.enumerate() if t.name == "mhtool-xlsx"]


def _rewrite_sheet(path, out, change):
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            zout.writestr(info, data)
    return out


def test_rows_out_of_order_across_pieces_are_read_again_whole(tmp_path, small_pieces):
    path = _upi_export(tmp_path)

    def move_a_late_row_to_the_front(xml: bytes) -> bytes:
        start = xml.index(b'<row r="250"')
        end = xml.index(b"</row>", start) + len(b"</row>")
        row = xml[start:end]
        xml = xml[:start] + xml[end:]
        first = xml.index(b'<row r="3"')
        return xml[:first] + row + xml[first:]

    shuffled = _rewrite_sheet(path, tmp_path / "shuffled.xlsx", move_a_late_row_to_the_front)
    with pytest.raises(readers.ReadAgain), readers.open_sheet(shuffled) as source:
        list(source)
    # calamine places each cell by its reference: the whole sheet is the truth, and the import reads it.
    assert _rows_read(shuffled, pieces=False) == readers.read_sheet(shuffled).rows
    plan = importer.plan_import(shuffled, "upi")
    assert [o.row for o in plan.rows] == [o.row for o in importer.plan_import(path, "upi").rows]


def test_a_piece_calamine_cannot_read_sends_the_import_to_the_whole_sheet(tmp_path, small_pieces, monkeypatch):
    path = _upi_export(tmp_path)
    expected = importer.plan_import(path, "upi")
    original = readers._XlsxPieces._parse
    calls = []

    def parse(self, body, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("damaged piece")
        return original(self, body, **kw)

    monkeypatch.setattr(readers._XlsxPieces, "_parse", parse)
    plan = importer.plan_import(path, "upi")
    # The third piece did fail (how many more were parsed before the read stopped depends on the threads' timing).
    assert len(calls) >= 3
    assert [(o.row, o.student_no, o.result, o.answers) for o in plan.rows] == [(o.row, o.student_no, o.result, o.answers) for o in expected.rows]


@pytest.mark.parametrize(
    "damage",
    [
        # A merged range calamine refuses, after the rows: read whole, the sheet fails on it.
        lambda xml: xml.replace(b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A1:845322"/></mergeCells>'),
        # A cell reference with no column, far down the sheet, in a piece read long after the header.
        lambda xml: xml.replace(b'<c r="B290"', b'<c r="290"'),
    ],
)
def test_damage_anywhere_in_the_sheet_is_what_an_import_reports(tmp_path, small_pieces, damage):
    damaged = _rewrite_sheet(_upi_export(tmp_path), tmp_path / "damaged.xlsx", damage)
    with pytest.raises(readers.InvalidInput) as whole:
        readers.read_sheet(damaged)
    assert "damaged" in whole.value.message
    # The wrong instrument is found in the header, before the damaged piece is reached: the damage is still what is said.
    for code in ("upi", "scl90"):
        with pytest.raises(readers.InvalidInput) as found:
            importer.plan_import(damaged, code)
        assert found.value.message == whole.value.message


def test_a_sheet_with_formulas_is_read_whole(tmp_path, monkeypatch):
    pieces = _pieces_used(monkeypatch)
    rows = ef.wjx_rows(ef.make_students(5, seed=2), ef.labels(ef.make_answers(5, 60, (0, 1), seed=2), ef.YES_NO))
    path = ef.write_xlsx(tmp_path / "f.xlsx", rows)
    wb = openpyxl.load_workbook(path)
    wb.active["H3"] = "=1+1"  # a formula saved without its value: openpyxl's text is put back
    wb.save(path)
    assert _rows_read(path) == readers.read_sheet(path).rows
    assert not pieces


def _pandas_plan(path, code, mode):
    """What the import decided before it read in chunks: read_export, then Instrument.decode and score on DataFrames."""
    instrument = registry.instrument(code)
    parsed = readers.read_export(path, accepted_item_counts=instrument.accepted_item_counts)
    scored = scoring.score_raw(instrument, parsed.answers, mode=mode)
    return {rec["row"]: rec for rec in scored.records()}, scored


@pytest.mark.parametrize("chunk", [7, 2048])
def test_chunked_decoding_and_scoring_give_what_the_whole_table_gives(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk)
    students = ef.make_students(60, seed=5)
    answers = ef.labels(ef.make_answers(60, 90, (1, 2, 3, 4, 5), seed=5), ef.SCL5)
    answers[4][7] = "(跳过)"
    answers[9][3] = "很轻 "
    answers[20][50] = "不知道"  # unreadable: a problem of that row and column
    answers[33][0] = 3  # a number among labels
    path = ef.write_wjx_xlsx(tmp_path / "scl.xlsx", students, answers)
    plan = importer.plan_import(path, "scl90")
    records, scored = _pandas_plan(path, "scl90", plan.mode)
    ours = {o.row: o.result for o in plan.rows if o.result is not None}
    assert ours == records
    theirs = {(p.row, p.message) for p in scored.problems}
    assert {(p.row, p.message) for o in plan.rows for p in o.problems if p.message.startswith(("invalid answer", "missing answer"))} == theirs
    values = scored.values
    for o in plan.rows:
        if o.answers is not None:
            assert o.answers == {str(i): (None if v != v else int(v) if float(v).is_integer() else v) for i, v in values.loc[o.row].items()}


def test_a_boolean_answer_after_the_first_chunk_reads_the_answers_column_by_column(tmp_path, monkeypatch):
    """pandas.factorize takes TRUE for the 1 a column had before it: the chunks must not decide otherwise."""
    monkeypatch.setattr(importer, "CHUNK_ROWS", 5)
    students = ef.make_students(12, seed=8)
    answers = ef.make_answers(12, 60, (0, 1), seed=8)
    for row in answers:
        row[0] = 1
    answers[10][0] = True  # a TRUE cell in row 12, chunk three: read as the column's first 1
    for row in answers[:10]:
        row[4] = None  # item 5 unanswered until row 12, whose TRUE is then the column's first cell:
    answers[10][4] = True  # pandas reads it, and every 1 after it, as that TRUE: not an answer
    answers[11][4] = 1
    path = ef.write_wjx_xlsx(tmp_path / "b.xlsx", students, answers)
    plan = importer.plan_import(path, "upi", answers="score")
    records, scored = _pandas_plan(path, "upi", "value")
    assert {o.row: o.result for o in plan.rows if o.result is not None} == records
    assert {(p.row, p.message) for o in plan.rows for p in o.problems if "answer" in p.message} == {(p.row, p.message) for p in scored.problems}
    assert any(p.row == 13 and "invalid answer" in p.message for p in scored.problems), "row 13's 1 must read as the TRUE before it"


def test_a_row_without_a_submission_time_is_dated_by_the_import_not_nat(tmp_path):
    students = ef.make_students(3, seed=4)
    rows = ef.wjx_rows(students, ef.labels(ef.make_answers(3, 60, (0, 1), seed=4), ef.YES_NO))
    rows[2][1] = None  # 提交答卷时间 left empty
    plan = importer.plan_import(ef.write_xlsx(tmp_path / "t.xlsx", rows), "upi")
    assert [o.submitted_at is None for o in plan.rows] == [False, True, False]


def test_paused_gc_is_restored_after_an_error():
    import gc

    assert gc.isenabled()
    with pytest.raises(ValueError), importer.paused_gc():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled() and gc.get_freeze_count() == 0


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from("0123456789٣²"), max_size=24))
def test_the_digits_shortcut_reads_student_numbers_as_the_full_rules_do(text):
    # A trailing space sends the cell through the full rules; folding drops it again.
    assert cells.student_no(text) == cells.student_no(text + " ")


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["2026", "1999", "0000", "２０２６", "20a6"]),
    st.sampled_from("/-."),
    st.sampled_from("/-"),
    st.sampled_from(["01", "12", "13", "00", "1a"]),
    st.sampled_from(["01", "29", "31", "32"]),
    st.sampled_from(["00", "23", "24"]),
    st.sampled_from(["00", "59", "60"]),
)
def test_the_submission_time_shortcut_reads_dates_as_the_full_rules_do(year, sep, sep2, month, day, hour, minute):
    text = f"{year}{sep}{month}{sep2}{day} {hour}:{minute}:{minute}"
    assert cells.parse_cell_date(text) == cells.parse_cell_date(text + " ")


def test_iter_rows_of_calamine_keeps_the_leading_empty_rows_but_not_columns():
    """The piece reader relies on python-calamine's iter_rows / to_python shapes; a change there must show here."""
    from python_calamine import CalamineWorkbook

    wb = openpyxl.Workbook()
    wb.active["C3"] = "a"
    wb.active["D5"] = "b"
    buf = io.BytesIO()
    wb.save(buf)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).get_sheet_by_index(0)
    assert sheet.start == (2, 2)
    assert [r for r in sheet.iter_rows()] == [["", ""], ["", ""], ["a", ""], ["", ""], ["", "b"]]
    assert sheet.to_python(skip_empty_area=True) == [["a", ""], ["", ""], ["", "b"]]


# -- the measure's cell check: numpy first, the pattern when numpy cannot tell ------------------------------

_REF_PART = st.text(alphabet="ABCXYZabxz", max_size=4).flatmap(lambda letters: st.text(alphabet="0123456789", max_size=8).map(lambda digits: letters + digits))
_CELL_TAG = st.one_of(
    st.builds(lambda ref, q, end: f"<c r={q}{ref}{q}{end}", _REF_PART, st.sampled_from(['"', "'"]), st.sampled_from([">", "/>", ' t="s">', ' s="1"/>'])),
    st.builds(lambda sep, ref: f'<c{sep}r="{ref}">', st.sampled_from(["  ", "\t", "\n", "/", ">", "o", ":"]), _REF_PART),
    st.sampled_from(['<col min="1"/>', "<cols>", "<v>1</v>", "</c>", "<row r=\"3\">"]),
)


@settings(max_examples=400, deadline=None)
@given(
    tags=st.lists(_CELL_TAG, max_size=6),
    claim=st.tuples(st.sampled_from([1, 9, 10, 99, 10_001, 1_048_576]), st.sampled_from([1, 26, 27, 76, 702, 703, 16_384])),
)
def test_the_quick_cell_check_passes_only_what_the_pattern_passes(tags, claim):
    body = "".join(tags).encode()
    if readers._cells_within(body, claim):
        assert readers._odd_cells(b"", claim).search(body) is None


def test_a_census_export_passes_the_quick_cell_check_chunk_by_chunk(tmp_path, monkeypatch):
    path = _upi_export(tmp_path, n=200)
    searched: list[bytes] = []
    original = readers._odd_cells

    def odd_cells(prefix, claim):
        pattern = original(prefix, claim)

        class Counting:
            def search(self, body):
                searched.append(body)
                return pattern.search(body)

        return Counting()

    monkeypatch.setattr(readers, "_odd_cells", odd_cells)
    monkeypatch.setattr(readers, "_SCAN_CHUNK", 1024)
    pieces = _pieces_used(monkeypatch)
    whole = readers.read_sheet(path).rows
    searched.clear()
    assert _rows_read(path) == whole
    # Read in pieces, and no chunk needed the pattern: numpy answered for every cell.
    assert pieces and not searched


@pytest.mark.parametrize(
    ("ref", "outcome"), [(b"B9999", "whole"), (b"ZZ120", "whole"), (b"XFD1048576", "refused"), (b"b0000250", "pieces")]
)
def test_a_cell_beyond_the_declared_range_deep_in_the_sheet_is_never_read_in_pieces(tmp_path, small_pieces, monkeypatch, ref, outcome):
    # Row 250 of a sheet declared A1:BT302 (72 columns): the cell lies below or right of the claim, or (b0000250) inside it.
    path = _rewrite_sheet(_upi_export(tmp_path), tmp_path / "beyond.xlsx", lambda xml: xml.replace(b'<c r="B250"', b'<c r="' + ref + b'"', 1))
    pieces = _pieces_used(monkeypatch)
    if outcome == "refused":
        with pytest.raises(readers.InvalidInput) as refused:
            _rows_read(path)
        assert "A1:XFD1048576" in refused.value.message
    else:
        _rows_read(path)
    assert bool(pieces) == (outcome == "pieces")
