"""Fuzz campaign for survey import: thousands of malformed files, every outcome a clean exit code.

Not part of the unit suite (pytest collects ``test_*.py`` only). Run it from the repository root:

    .venv/bin/python tests/fuzz/run_fuzz.py                 # 10,000 files, seed 15, ~10 minutes on 2 cores
    .venv/bin/python tests/fuzz/run_fuzz.py --count 500     # a quick look
    .venv/bin/python tests/fuzz/run_fuzz.py --seed 7 --keep fuzz-out   # another seed; keep the files

Each generated file (xlsx with broken zips, XML, shared strings, styles, huge ranges and odd
cell types; CSV in odd encodings with BOMs, NULs, stray quotes and huge fields; legacy .xls
garbage and damaged BIFF; HTML disguised as .xls; empty and truncated files) is imported
into one scratch store through the Python API (``center.survey.import_file``), once as a dry
run and once for real (a third of them with ``skip_invalid``), in worker processes that are
watched: a worker that dies is an abort, one that takes too long a time-out. A sample goes
through the real command line as a child process (``mhtool survey import FILE --instrument
… --dry-run`` and then without ``--dry-run``). The campaign passes when there are no
tracebacks, no "unexpected" errors, no aborts, no time-outs, every exit code is 0, 2 or 3, and
the scratch store passes ``mhtool audit verify`` and SQLite's integrity check (a backup and
restore through the store's own tools, and ``storecheck.integrity`` on the file itself).

Everything is derived from ``--seed``: the same seed writes the same files.
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
import multiprocessing as mp
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fuzz import storecheck  # noqa: E402
from tests.survey import export_factory as ef  # noqa: E402

INSTRUMENTS = {"upi": 60, "scl90": 90, "phq9": 9}
OK_CODES = {0, 2, 3}
FILE_TIMEOUT = 30.0  # seconds for one file's dry run and real import together
CLI_TIMEOUT = 60.0


# ============================================================== base files (valid exports)


def _answers(rng: random.Random, instrument: str, n: int, items: int | None = None) -> tuple[list[list], int]:
    items = items or INSTRUMENTS[instrument]
    if instrument == "upi":
        values = [[rng.choice((0, 0, 0, 1)) for _ in range(items)] for _ in range(n)]
        return ef.labels(values, ef.YES_NO), items
    if instrument == "scl90":
        values = [[rng.randint(1, 5) for _ in range(items)] for _ in range(n)]
        return (ef.labels(values, ef.SCL5) if rng.random() < 0.5 else values), items
    values = [[rng.randint(0, 3) for _ in range(items)] for _ in range(n)]
    return (ef.labels(values, ef.FREQ4) if rng.random() < 0.5 else values), items


def base_rows(rng: random.Random, instrument: str) -> list[list]:
    n = rng.randint(1, 6)
    # One made-up school for every file: a number always comes with the same name, so files that
    # survive their damage import for real instead of all clashing with the first one imported.
    students = ef.make_students(n, seed=0)
    items = None
    if instrument == "upi":
        items = rng.choice((60, 60, 63, 64))
    answers, _ = _answers(rng, instrument, n, items)
    layout = rng.choice(("wjx", "generic", "tencent"))
    if layout == "wjx":
        rows = ef.wjx_rows(students, answers, seed=rng.randint(0, 99))
    elif layout == "tencent":
        rows = ef.tencent_rows(students, answers, seed=rng.randint(0, 99))
    else:
        rows = ef.generic_rows(students, answers, roster_fields=("student_no", "name", "college"))
    if rng.random() < 0.15:
        rows = ef.with_title_rows(rows)
    return rows


def _xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # openpyxl refuses control characters; the XML-level mutations put them back in.
    clean = [[ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r] for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = ef.write_xlsx(Path(tmp) / "x.xlsx", clean)
        return path.read_bytes()


def _xls_bytes(rows: list[list]) -> bytes:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    for i, row in enumerate(rows[:60000]):
        for j, v in enumerate(row[:256]):
            if v is not None:
                try:
                    ws.write(i, j, v if isinstance(v, (int, float)) and abs(v) < 1e300 else str(v)[:30000])
                except Exception:  # noqa: BLE001 - xlwt refuses some values; the cell stays empty
                    pass
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _csv_text(rows: list[list], delimiter: str = ",", quote_all: bool = False) -> str:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


def _html_text(rows: list[list]) -> str:
    from html import escape

    out = ['<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><table border="1">']
    for i, r in enumerate(rows):
        tag = "th" if i == 0 else "td"
        out.append("<tr>" + "".join(f"<{tag}>{'' if v is None else escape(str(v))}</{tag}>" for v in r) + "</tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


# ============================================================== mutations

WEIRD_TEXT = [
    "", " ", "0", "-0", "NaN", "nan", "inf", "-inf", "1e400", "1E308", "-1", "-3", "-2", "99999999999999999999",
    "2.0266E+09", "../x", "学号", "=1+1", "=cmd|' /C calc'!A0", "@SUM(1)", "+1", "\x00", "\x07\x08", "\ud7ff",
    "\u202e", "\ufeff", "\u3000", "是", "否", "（跳过）", "(空)", "A.是", "Ａ．是", "9" * 300, "x" * 5000,
    "2026601000\n2026601001", "\r", "\t", "0001-01-01", "9999-12-31 23:59:59", "2026/13/45", "46275", "1900-02-29",
    "True", "FALSE", "#N/A", "#DIV/0!", "<b>x</b>", "&amp;", "]]>", "\"", "'", "'2026601000",
]


def _weird(rng: random.Random) -> object:
    pick = rng.random()
    if pick < 0.6:
        return rng.choice(WEIRD_TEXT)
    if pick < 0.75:
        return rng.choice([0, 1, -1, 2**31, -(2**63), 2**53 + 1, 10**15, 1e-300, 1e300, 0.5, 3.999999, -0.0])
    if pick < 0.9:
        return "".join(chr(rng.choice([rng.randint(0, 0x2FF), rng.randint(0x4E00, 0x9FFF), rng.randint(0xE000, 0xFFFD)])) for _ in range(rng.randint(1, 30)))
    return rng.choice([None, True, False])


def mutate_rows(rng: random.Random, rows: list[list]) -> list[list]:
    rows = [list(r) for r in rows]
    for _ in range(rng.randint(1, 8)):
        if not rows:
            break
        op = rng.random()
        i = rng.randrange(len(rows))
        if op < 0.55 and rows[i]:
            rows[i][rng.randrange(len(rows[i]))] = _weird(rng)
        elif op < 0.65:
            rows.insert(rng.randrange(len(rows) + 1), [_weird(rng) for _ in range(rng.randint(0, 5))])
        elif op < 0.72:
            del rows[i]
        elif op < 0.8 and rows[i]:
            del rows[i][rng.randrange(len(rows[i]))]
        elif op < 0.86:
            rows.append(list(rows[i]))  # a duplicate submission
        elif op < 0.92 and rows[0]:
            rows[0][rng.randrange(len(rows[0]))] = rng.choice(["学号", "姓名", "1", "Q1", "", None, "第1题", "1、学号", "序号"])
        else:
            rows[i] = rows[i] + [_weird(rng) for _ in range(rng.randint(1, 40))]
    return rows


def _flip(rng: random.Random, data: bytes, count: int | None = None, start: int = 0) -> bytes:
    b = bytearray(data)
    if len(b) <= start:
        return bytes(b)
    for _ in range(count or rng.randint(1, 20)):
        b[rng.randrange(start, len(b))] = rng.randrange(256)
    return bytes(b)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(max(1, len(data)))]


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _far_ref(rng: random.Random) -> str:
    col = rng.choice([rng.randint(1, 200), rng.randint(200, 16384), 16384, 16385, rng.randint(16385, 10**6)])
    row = rng.choice([rng.randint(1, 100), rng.randint(100, 10**6), 1048576, 1048577, rng.randint(10**6, 4 * 10**9)])
    letters = _col(col) if rng.random() < 0.9 else rng.choice(["AAAAAAAAAAAAAAAA", "a", "xfd", ""])
    return f"{letters}{row}"


def mutate_xlsx(rng: random.Random, data: bytes) -> bytes:
    """Damage a workbook at the zip level or inside its XML parts."""
    kind = rng.random()
    if kind < 0.12:
        return _truncate(rng, data)
    if kind < 0.2:
        return _flip(rng, data)
    zin = zipfile.ZipFile(io.BytesIO(data))
    parts = {n: zin.read(n) for n in zin.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(["far", "far", "dimension", "rless", "types", "sst", "styles", "workbook", "xml_cut", "xml_junk",
                         "drop", "bomb", "formula", "date_style", "merge", "prefix"])
        xml = parts.get(sheet, b"")
        if op == "far" and xml:
            ref = _far_ref(rng)
            cell = f'<c r="{ref}" t="inlineStr"><is><t>x</t></is></c>'.encode()
            if rng.random() < 0.5:
                cell = f'<c r="{ref}"><v>1</v></c>'.encode()
            row = ''.join(ch for ch in ref if ch.isdigit()) or "1"
            parts[sheet] = xml.replace(b"</sheetData>", f'<row r="{row}">'.encode() + cell + b"</row></sheetData>")
        elif op == "dimension" and xml:
            import re

            fake = rng.choice(["A1", "A1:A1", f"A1:{_far_ref(rng)}", "A0:ZZZZZZ9999999999", "", "garbage", "A1:B2:C3", f"{_far_ref(rng)}:A1"])
            parts[sheet] = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{fake}"/>'.encode(), xml)
        elif op == "rless" and xml:
            import re

            parts[sheet] = re.sub(rb' r="[A-Z]+[0-9]+"', b"", xml, count=rng.choice([1, 10, 10**9]))
            if rng.random() < 0.3:
                parts[sheet] = parts[sheet].replace(b"<row ", b'<row r="%d" ' % rng.choice([0, 2, 1048576, 4294967295, 99999999999]), 1)
        elif op == "types" and xml:
            import re

            def swap(m):
                if rng.random() < 0.3:
                    return b'<c r="%s" t="%s">' % (m.group(1), rng.choice([b"s", b"str", b"b", b"e", b"n", b"d", b"foo", b"inlineStr"]))
                return m.group(0)

            xml = re.sub(rb'<c r="([A-Z]+[0-9]+)"(?: t="\w+")?>', swap, xml)
            values = [b"NaN", b"1e400", b"-1", b"99999999999", b"abc", b"", b"0x10", b"2026-09-10T08:00:00", b"-99999", b"1.5", b"1e-400"]
            parts[sheet] = re.sub(rb"<v>[^<]*</v>", lambda m: b"<v>" + rng.choice(values) + b"</v>" if rng.random() < 0.2 else m.group(0), xml)
        elif op == "sst":
            sst = parts.get("xl/sharedStrings.xml")
            choice = rng.random()
            if sst is None or choice < 0.2:
                parts.pop("xl/sharedStrings.xml", None)
            elif choice < 0.4:
                parts["xl/sharedStrings.xml"] = _truncate(rng, sst)
            elif choice < 0.6:
                import re

                parts["xl/sharedStrings.xml"] = re.sub(rb'uniqueCount="\d+"', b'uniqueCount="%d"' % rng.choice([0, 1, 10**7, 2**32, 2**64 - 1, 10**30]), sst)
            elif choice < 0.8:
                junk = "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(1, 200)))
                from xml.sax.saxutils import escape

                parts["xl/sharedStrings.xml"] = sst.replace(b"<t>", b"<t>" + escape(junk).encode("utf-8", "surrogatepass"), 1)
            else:
                parts["xl/sharedStrings.xml"] = sst.replace(b"<si>", b"<si><r><rPr/><t>" + b"x" * rng.randint(1, 200_000) + b"</t></r>", 1)
        elif op == "styles":
            st = parts.get("xl/styles.xml", b"")
            choice = rng.random()
            if choice < 0.3:
                parts.pop("xl/styles.xml", None)
            elif choice < 0.6:
                parts["xl/styles.xml"] = _truncate(rng, st)
            else:
                parts["xl/styles.xml"] = st.replace(b"<cellXfs", b'<numFmts count="1"><numFmt numFmtId="%d" formatCode="%s"/></numFmts><cellXfs' % (
                    rng.choice([14, 22, 164, 999999, -1]), rng.choice([b"yyyy-mm-dd", b"[h]:mm:ss", b"0.00E+00", b"@", b"&quot;", b"yyyy\xe5\xb9\xb4"])), 1)
        elif op == "workbook":
            wb = parts.get("xl/workbook.xml", b"")
            choice = rng.random()
            if choice < 0.2:
                parts.pop("xl/workbook.xml", None)
            elif choice < 0.4:
                parts.pop("xl/_rels/workbook.xml.rels", None)
            elif choice < 0.6:
                rels = parts.get("xl/_rels/workbook.xml.rels", b"")
                parts["xl/_rels/workbook.xml.rels"] = rels.replace(b"worksheets/sheet1.xml", rng.choice(
                    [b"../../../../etc/passwd", b"/xl/worksheets/sheet1.xml", b"worksheets/missing.xml", b"styles.xml", b"", b"sharedStrings.xml"]))
            elif choice < 0.8:
                import re

                parts["xl/workbook.xml"] = re.sub(rb'name="[^"]*"', b'name="%s"' % rng.choice([b"", b"x" * 300, b"&lt;", b"Sheet1", b"\xe5\xad\xa6"]), wb)
            else:
                parts["xl/workbook.xml"] = _truncate(rng, wb)
        elif op == "xml_cut":
            name = rng.choice(sorted(parts))
            parts[name] = _truncate(rng, parts[name])
        elif op == "xml_junk":
            name = rng.choice(sorted(parts))
            body = parts[name]
            at = rng.randrange(len(body) + 1)
            junk = rng.choice([b"<", b"&", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"&a;", b"\x00", b"<x>", b"]]>", b"\xff\xfe", os.urandom(8)])
            parts[name] = body[:at] + junk + body[at:]
        elif op == "drop":
            if parts:
                parts.pop(rng.choice(sorted(parts)))
        elif op == "bomb" and xml:
            pad = b" " * rng.choice([10**5, 10**6, 5 * 10**6])
            parts[sheet] = xml.replace(b"<sheetData>", b"<sheetData>" + pad, 1)
        elif op == "formula" and xml:
            import re

            parts[sheet] = re.sub(rb"<v>([^<]*)</v>", lambda m: b"<f>SUM(A1:XFD1048576)</f>" if rng.random() < 0.1 else m.group(0), xml)
        elif op == "date_style" and xml:
            import re

            parts[sheet] = re.sub(rb'<c r="([A-Z]+[0-9]+)"', lambda m: m.group(0) + (b' s="1"' if rng.random() < 0.3 else b""), xml)
        elif op == "merge" and xml:
            parts[sheet] = xml.replace(b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A1:%s"/></mergeCells>' % _far_ref(rng).encode())
        elif op == "prefix" and xml:
            parts[sheet] = xml.replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>")
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if rng.random() < 0.9 else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", method) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    data = out.getvalue()
    if rng.random() < 0.05:  # an unsupported compression method on one member
        at = data.find(b"PK\x01\x02")
        if at >= 0:
            data = data[: at + 10] + struct.pack("<H", rng.choice([9, 12, 14, 93, 99, 65535])) + data[at + 12:]
    return data


def mutate_csv(rng: random.Random, rows: list[list]) -> bytes:
    delimiter = rng.choice([",", ",", "\t", ";", "|"])
    text = _csv_text(rows, delimiter, quote_all=rng.random() < 0.3)
    for _ in range(rng.randint(0, 3)):
        op = rng.random()
        at = rng.randrange(len(text) + 1)
        if op < 0.2:
            text = text[:at] + '"' + text[at:]  # a stray quote
        elif op < 0.35:
            text = text[:at] + "\x00" + text[at:]
        elif op < 0.5:
            text = text[:at] + "x" * rng.choice([1000, 140_000, 400_000]) + text[at:]  # a huge field
        elif op < 0.6:
            text = text[:at] + delimiter * rng.choice([100, 20_000, 300_000]) + text[at:]  # very many columns
        elif op < 0.7:
            text = text.replace("\r\n", rng.choice(["\r", "\n", "\n\r", "\u2028"]))
        elif op < 0.8:
            text = text[:at] + '"a\nb\r\nc"' + delimiter + text[at:]
        else:
            text = text[:at] + "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 20))).encode("utf-8", "surrogatepass").decode("utf-8", "replace") + text[at:]
    encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "gbk", "latin-1", "utf-32", "big5", "shift_jis"])
    data = text.encode(encoding, errors="replace") if encoding not in ("gbk", "latin-1", "big5", "shift_jis") else text.encode(encoding, errors="ignore")
    op = rng.random()
    if op < 0.08:
        data = codecs.BOM_UTF8 + data
    elif op < 0.12:
        data = codecs.BOM_UTF16_LE + data
    elif op < 0.2:
        data = _flip(rng, data)
    elif op < 0.25:
        data = _truncate(rng, data)
    elif op < 0.28:
        data = data + os.urandom(rng.randint(1, 500))
    return data


def mutate_html(rng: random.Random, rows: list[list]) -> bytes:
    text = _html_text(rows)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        if op < 0.2:
            text = text.replace("<td>", f'<td colspan="{rng.choice([0, -1, 2, 1000, 99999999, "x"])}" rowspan="{rng.choice([1, 1000, 2**40, "y"])}">', rng.randint(1, 5))
        elif op < 0.3:
            text = text.replace("</table>", "<tr><td><table><tr><td>嵌套</td></tr></table></td></tr></table>", 1)
        elif op < 0.4:
            text = text.replace("charset=utf-8", rng.choice(["charset=gb2312", "charset=foo", "charset=utf-16", "charset=", "charset=latin-1"]))
        elif op < 0.5:
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(["<script>", "<style>", "<!--", "<td", "&#0;", "&#xD800;", "&#99999999;", "<![CDATA[", "<br>" * 1000, "\x00"]) + text[at:]
        elif op < 0.6:
            text = _truncate(rng, text.encode()).decode("utf-8", "ignore")
        elif op < 0.7:
            text = text.replace("<tr>", "<tr>" + "<td>x</td>" * rng.choice([10, 5000]), rng.randint(1, 3))
        elif op < 0.8:
            text = text.replace("<table", "<table><tr>" + '<td colspan="1000" rowspan="1000">big</td>' * rng.randint(1, 40) + "</tr></table><table", 1)
        else:
            text = text.replace("</td>", "", rng.randint(1, 50))
    data = text.encode(rng.choice(["utf-8", "utf-8", "gb18030", "utf-16"]), errors="ignore")
    return _flip(rng, data, rng.randint(1, 5)) if rng.random() < 0.1 else data


def mutate_xls(rng: random.Random, data: bytes) -> bytes:
    op = rng.random()
    if op < 0.15:
        return _truncate(rng, data)
    if op < 0.3:
        return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(rng.choice([0, 10, 500, 5000]))
    b = bytearray(data)
    if op < 0.45:
        # OLE2 header fields: sector shifts, FAT and DIFAT counts, directory start.
        for _ in range(rng.randint(1, 3)):
            at = rng.choice([30, 32, 44, 48, 60, 62, 64, 68, 72, 76])
            struct.pack_into("<I" if at % 4 == 0 else "<H", b, at, rng.choice([0, 1, 6, 9, 12, 0xFFFF, 0xFFFFFFFE, 0xFFFFFFFF, 0x7FFFFFFF, rng.randrange(2**16)]) & (0xFFFFFFFF if at % 4 == 0 else 0xFFFF))
        return bytes(b)
    if op < 0.75:
        # BIFF records: DIMENSIONS, cell positions, SST counts.
        for _ in range(rng.randint(1, 4)):
            typ = rng.choice([0x0200, 0x0203, 0x027E, 0x00FD, 0x0204, 0x00BD, 0x00FC, 0x0085])
            at = b.find(struct.pack("<H", typ))
            if at < 0 or at + 12 > len(b):
                continue
            length = struct.unpack_from("<H", b, at + 2)[0]
            if rng.random() < 0.2:
                struct.pack_into("<H", b, at + 2, rng.choice([0, 1, 3, 0xFFFF, (length + 7) & 0xFFFF]))  # a length field holds 16 bits
            else:
                for k in range(at + 4, min(at + 4 + max(length, 4), len(b) - 4), 2):
                    if rng.random() < 0.5:
                        struct.pack_into("<H", b, k, rng.choice([0, 0xFF, 0x100, 0x3FFF, 0xFFFE, 0xFFFF, rng.randrange(2**16)]))
        return bytes(b)
    return _flip(rng, data, rng.randint(1, 40), start=512)


def make_case(seed: int, index: int) -> tuple[str, str, bytes]:
    """(category, instrument, file bytes) for case ``index``; deterministic from the seed."""
    rng = random.Random(seed * 1_000_003 + index)
    instrument = rng.choice(sorted(INSTRUMENTS))
    rows = base_rows(rng, instrument)
    if rng.random() < 0.5:
        rows = mutate_rows(rng, rows)
    kind = rng.random()
    if kind < 0.40:
        category, data = "xlsx", _xlsx_bytes(rows)
        if rng.random() < 0.85:
            data = mutate_xlsx(rng, data)
    elif kind < 0.65:
        category, data = "csv", mutate_csv(rng, rows)
    elif kind < 0.80:
        category, data = "xls", _xls_bytes(rows)
        if rng.random() < 0.8:
            data = mutate_xls(rng, data)
    elif kind < 0.92:
        category, data = "html-xls", mutate_html(rng, rows)
    else:
        category = "empty-or-cut"
        choice = rng.random()
        if choice < 0.3:
            data = b""
        elif choice < 0.5:
            data = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"PK", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"<html>", b"\n", b"\x00", b" "])
        else:
            whole = rng.choice([_xlsx_bytes, _xls_bytes, lambda r: _csv_text(r).encode(), lambda r: _html_text(r).encode()])(rows)
            data = whole[: rng.randrange(1, max(2, len(whole)))]
    if rng.random() < 0.1:
        instrument = rng.choice(sorted(INSTRUMENTS))  # the wrong instrument for the file
    return category, instrument, data


def case_suffix(category: str, rng_pick: int) -> str:
    return {"xlsx": ".xlsx", "csv": ".csv", "xls": ".xls", "html-xls": ".xls"}.get(category, [".xlsx", ".csv", ".xls"][rng_pick % 3])


# ============================================================== running


def _classify(exc: BaseException) -> tuple[object, str]:
    from mhtool.errors import MhtoolError

    if isinstance(exc, MhtoolError):
        return exc.exit_code, exc.message[:300]
    return "unexpected", f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:300]}\n{''.join(traceback.format_exception(exc))[-2000:]}"


def worker_main(conn, store: str, key: str, rejects_dir: str) -> None:
    """Import files sent over ``conn`` through the Python API; answer with the outcomes."""
    from mhtool.app import Center, credential_from_key_file

    # What native code prints (a Rust panic message) goes to a log read after every file.
    log = tempfile.TemporaryFile()
    os.dup2(log.fileno(), 2)
    center = Center.open(store, credential_from_key_file(key), "admin")
    while True:
        msg = conn.recv()
        if msg is None:
            break
        index, path, instrument, skip = msg
        results = []
        for dry in (True, False):
            start = log.seek(0, os.SEEK_END)
            try:
                center.survey.import_file(path, instrument, dry_run=dry, skip_invalid=skip and not dry,
                                          rejects=os.path.join(rejects_dir, f"r{index}.xlsx"))
                outcome = (0, "")
            except BaseException as exc:  # noqa: BLE001 - the point is to see everything
                if isinstance(exc, KeyboardInterrupt):
                    raise
                outcome = _classify(exc)
            sys.stderr.flush()
            end = log.seek(0, os.SEEK_END)
            if end > start:
                log.seek(start)
                printed = log.read(end - start).decode("utf-8", "replace")
                if "panicked" in printed or "Traceback" in printed:
                    outcome = ("traceback", printed[-1500:])
            results.append(outcome)
        conn.send((index, results))
    center.close()


class Worker:
    def __init__(self, ctx, store: Path, key: Path, rejects: Path):
        self.parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, str(store), str(key), str(rejects)), daemon=True)
        self.proc.start()
        child.close()
        self.job = None
        self.started = 0.0

    def send(self, job) -> None:
        self.job = job
        self.started = time.monotonic()
        self.parent.send(job)

    def stop(self) -> None:
        try:
            self.parent.send(None)
            self.proc.join(5)
        except (BrokenPipeError, OSError):
            pass
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def run_api(cases: list[tuple[int, str, str, bool]], store: Path, key: Path, rejects: Path, workers: int, tally: dict, findings: list) -> None:
    ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
    pool = [Worker(ctx, store, key, rejects) for _ in range(workers)]
    queue = list(reversed(cases))
    done = 0
    last_report = time.monotonic()
    while queue or any(w.job for w in pool):
        for w in pool:
            if w.job is None and queue:
                w.send(queue.pop())
        for i, w in enumerate(pool):
            if w.job is None:
                continue
            index, path, instrument, _ = w.job
            died = False
            try:
                ready = w.parent.poll(0.02)
            except (EOFError, OSError):
                ready, died = False, True
            if ready:
                try:
                    _, results = w.parent.recv()
                except (EOFError, OSError):
                    died = True
                else:
                    for mode, (code, message) in zip(("api-dry", "api-real"), results):
                        tally[mode][code] += 1
                        if code not in OK_CODES:
                            findings.append({"mode": mode, "index": index, "file": path, "instrument": instrument, "outcome": code, "message": message})
                    w.job = None
                    done += 1
                    continue
            if died or not w.proc.is_alive():
                w.proc.join()
                for mode in ("api-dry", "api-real"):
                    tally[mode]["abort"] += 1
                findings.append({"mode": "api", "index": index, "file": path, "instrument": instrument, "outcome": "abort",
                                 "message": f"worker ended with exit code {w.proc.exitcode}"})
                pool[i] = Worker(ctx, store, key, rejects)
                done += 1
            elif time.monotonic() - w.started > FILE_TIMEOUT:
                w.proc.kill()
                w.proc.join()
                for mode in ("api-dry", "api-real"):
                    tally[mode]["timeout"] += 1
                findings.append({"mode": "api", "index": index, "file": path, "instrument": instrument, "outcome": "timeout", "message": ""})
                pool[i] = Worker(ctx, store, key, rejects)
                done += 1
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"  api: {done}/{len(cases)} files", file=sys.stderr, flush=True)
    for w in pool:
        w.stop()


def _cli(args: list[str], env: dict) -> tuple[object, str]:
    try:
        proc = subprocess.run([sys.executable, "-m", "mhtool", *args], capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    if proc.returncode < 0 or proc.returncode == 134:
        return "abort", proc.stderr[-2000:]
    if "Traceback" in proc.stderr or "panicked" in proc.stderr:
        return "traceback", proc.stderr[-2000:]
    if "unexpected" in proc.stderr:
        return "unexpected", proc.stderr[-2000:]
    return proc.returncode, proc.stderr[-300:]


def run_cli(cases: list[tuple[int, str, str, bool]], env: dict, workers: int, tally: dict, findings: list) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(case):
        index, path, instrument, _ = case
        out = []
        for mode, extra in (("cli-dry", ["--dry-run"]), ("cli-real", [])):
            out.append((mode, _cli(["survey", "import", path, "--instrument", instrument, *extra], env)))
        return case, out

    with ThreadPoolExecutor(workers) as pool:
        for (index, path, instrument, _), out in pool.map(one, cases):
            for mode, (code, message) in out:
                tally[mode][code] += 1
                if code not in OK_CODES:
                    findings.append({"mode": mode, "index": index, "file": path, "instrument": instrument, "outcome": code, "message": message})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=10_000, help="files to generate (default 10,000)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--cli-sample", type=int, default=300, help="files also run through the command line")
    ap.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    ap.add_argument("--keep", type=Path, help="keep the generated files, the scratch store and the findings here")
    ap.add_argument("--json", action="store_true", help="print the tally as JSON on stdout")
    args = ap.parse_args(argv)

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="mhtool-fuzz-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    files, rejects = work / "files", work / "rejects"
    files.mkdir(exist_ok=True)
    rejects.mkdir(exist_ok=True)
    store, key = work / "store.db", work / "admin.key"
    for leftover in (store, key, Path(f"{store}-wal"), Path(f"{store}-shm")):
        leftover.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MHTOOL_")}
    env.update(MHTOOL_STORE=str(store), MHTOOL_KEY_FILE=str(key), MHTOOL_USER="admin")
    subprocess.run([sys.executable, "-m", "mhtool", "--store", str(store), "init", "--admin", "admin", "--key-file", str(key)],
                   check=True, capture_output=True, env={k: v for k, v in env.items() if k not in ("MHTOOL_KEY_FILE", "MHTOOL_USER")}, cwd=ROOT)

    print(f"generating {args.count:,} files (seed {args.seed}) in {files}", file=sys.stderr, flush=True)
    cases = []
    categories: Counter = Counter()
    for i in range(args.count):
        category, instrument, data = make_case(args.seed, i)
        categories[category] += 1
        path = files / f"f{i:05d}{case_suffix(category, i)}"
        path.write_bytes(data)
        cases.append((i, str(path), instrument, i % 3 == 0))
    print(f"  generated in {time.monotonic() - started:.0f} s: {dict(categories)}", file=sys.stderr, flush=True)

    tally = {mode: Counter() for mode in ("api-dry", "api-real", "cli-dry", "cli-real")}
    findings: list[dict] = []
    print(f"importing through the Python API ({args.workers} workers)", file=sys.stderr, flush=True)
    run_api(cases, store, key, rejects, args.workers, tally, findings)
    sample = random.Random(args.seed).sample(cases, min(args.cli_sample, len(cases)))
    print(f"importing {len(sample)} files through the command line", file=sys.stderr, flush=True)
    run_cli(sample, env, args.workers, tally, findings)

    verify = subprocess.run([sys.executable, "-m", "mhtool", "audit", "verify"], capture_output=True, text=True, env=env, cwd=ROOT)
    backup = work / "backup.db"
    restored = work / "restored.db"
    for leftover in (backup, restored):
        leftover.unlink(missing_ok=True)
    round_trip = subprocess.run([sys.executable, "-m", "mhtool", "backup", str(backup)], capture_output=True, text=True, env=env, cwd=ROOT)
    if round_trip.returncode == 0:
        round_trip = subprocess.run([sys.executable, "-m", "mhtool", "--store", str(restored), "restore", str(backup)],
                                    capture_output=True, text=True, env={**env, "MHTOOL_STORE": str(restored)}, cwd=ROOT)
    integrity = storecheck.integrity(store)
    counts = storecheck.counts(store)

    bad = Counter()
    for mode, c in tally.items():
        for code, n in c.items():
            if code not in OK_CODES:
                bad[str(code)] += n
    result = {
        "seed": args.seed,
        "files": args.count,
        "categories": dict(categories),
        "outcomes": {mode: {str(k): v for k, v in sorted(c.items(), key=str)} for mode, c in tally.items()},
        "tracebacks": bad["traceback"],
        "unexpected": bad["unexpected"],
        "aborts": bad["abort"],
        "timeouts": bad["timeout"],
        "other_exit_codes": {k: v for k, v in bad.items() if k not in ("traceback", "unexpected", "abort", "timeout")},
        "audit_verify": verify.returncode,
        "backup_restore_check": round_trip.returncode,
        "integrity_check": integrity,
        "store_rows": counts,
        "seconds": round(time.monotonic() - started),
    }
    if findings:
        out = work / "findings.json"
        out.write_text(json.dumps(findings, ensure_ascii=False, indent=1), encoding="utf-8")
        result["findings_file"] = str(out)
    passed = not bad and verify.returncode == 0 and round_trip.returncode == 0 and integrity == "ok"
    result["passed"] = passed
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
        for f in findings[:10]:
            print(f"- {f['mode']} {f['file']} ({f['instrument']}): {f['outcome']} {f['message'][:500]}", file=sys.stderr)
    if args.keep is None and passed:
        shutil.rmtree(work, ignore_errors=True)
    elif args.keep is None:
        print(f"files kept in {work} for the findings", file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
