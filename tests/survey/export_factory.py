"""Synthetic survey exports and rosters, shaped like the real ones, for tests and benchmarks.

Every student is made up (names drawn from common characters) and everything is
deterministic from a seed. The ``*_rows`` functions return the sheet as a list
of rows so that a test can damage it (a title row, a number in a student-number
cell, a ``(跳过)`` answer) before one of the ``write_*`` functions saves it:

    students = make_students(30, seed=1)
    answers = make_answers(30, 60, (0, 1), seed=1)
    write_wjx_xlsx(tmp_path / "upi.xlsx", students, labels(answers, YES_NO))

Nothing here reads files; no data comes from real exports.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

__all__ = [
    "FREQ4",
    "SCL5",
    "YES_NO",
    "generic_rows",
    "interview_rows",
    "labels",
    "make_answers",
    "make_students",
    "roster_rows",
    "tencent_rows",
    "with_title_rows",
    "wjx_rows",
    "write_corrupt_xlsx",
    "write_csv",
    "write_encrypted_xlsx",
    "write_generic_xlsx",
    "write_gbk_csv",
    "write_html_xls",
    "write_interviews_xlsx",
    "write_roster_xlsx",
    "write_tencent_csv",
    "write_wjx_html_xls",
    "write_wjx_xlsx",
    "write_xlsx",
]

# Option labels as the platforms print them (form value → label).
YES_NO = {1: "是", 0: "否"}
FREQ4 = {0: "完全不会", 1: "好几天", 2: "一半以上的天数", 3: "几乎每天"}
SCL5 = {1: "没有", 2: "很轻", 3: "中等", 4: "偏重", 5: "严重"}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红玲芬燕彬斌宇浩凯健俊帆帅旭宁龙林欣琳琪晨瑶怡佳雪颖倩婷嘉子涵梓轩睿博文思雨诗悦可馨"
_COLLEGES = ["文学院", "法学院", "外国语学院", "数学与统计学院", "物理科学与技术学院", "计算机学院", "经济与管理学院", "医学院"]
_MAJORS = ["汉语言文学", "法学", "英语", "统计学", "物理学", "软件工程", "金融学", "临床医学"]
_CLASS_PREFIX = ["汉语言", "法学", "英语", "统计", "物理", "软工", "金融", "临床"]

# The columns 问卷星 and 腾讯问卷 put before the questions.
WJX_META = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP")
TENCENT_META = ("编号", "开始答题时间", "结束答题时间", "答题时长", "地理位置国家和地区", "地理位置省", "地理位置市", "自定义字段")
# Roster question titles as a survey author would type them.
ROSTER_TITLES = {
    "student_no": "学号",
    "name": "姓名",
    "gender": "性别",
    "college": "学院",
    "major": "专业",
    "grade": "年级",
    "class_name": "班级",
    "dorm": "宿舍号",
    "phone": "手机号",
}
ROSTER_SHEET_HEADERS = {
    "student_no": "学号",
    "name": "姓名",
    "gender": "性别",
    "college": "学院",
    "major": "专业",
    "grade": "年级",
    "class_name": "班级",
    "dorm": "宿舍",
    "phone": "手机",
    "advisor": "辅导员",
    "advisor_phone": "辅导员电话",
    "guardian_name": "监护人姓名",
    "guardian_relation": "与学生关系",
    "guardian_phone": "监护人电话",
}


def make_students(n: int, *, seed: int = 0, first_no: int = 2026601000, year: int = 2026) -> list[dict]:
    """``n`` made-up students with consecutive text student numbers."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        c = rng.randrange(len(_COLLEGES))
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
        out.append(
            {
                "student_no": str(first_no + i),
                "name": name,
                "gender": rng.choice(("男", "女")),
                "college": _COLLEGES[c],
                "major": _MAJORS[c],
                "grade": f"{year}级",
                "class_name": f"{_CLASS_PREFIX[c]}{year % 100:02d}{rng.randint(1, 8):02d}",
                "dorm": f"{rng.randint(1, 20)}栋{rng.randint(101, 630)}",
                "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                "advisor": rng.choice(_SURNAMES) + rng.choice(_GIVEN) + "老师",
                "advisor_phone": f"13{rng.randrange(10**9):09d}",
                "guardian_name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                "guardian_relation": rng.choice(("父亲", "母亲")),
                "guardian_phone": f"13{rng.randrange(10**9):09d}",
            }
        )
    return out


def make_answers(n_students: int, n_items: int, choices: Sequence, *, seed: int = 0) -> list[list]:
    """A random answer matrix (one row per student, one value per item) drawn from ``choices``."""
    rng = random.Random(seed)
    return [[rng.choice(choices) for _ in range(n_items)] for _ in range(n_students)]


def labels(answers: Sequence[Sequence], mapping: Mapping) -> list[list]:
    """Form values → option labels (a value missing from ``mapping`` is kept, e.g. ``(跳过)``)."""
    return [[mapping.get(v, v) for v in row] for row in answers]


def _roster_values(student: Mapping, fields: Sequence[str]) -> list:
    return [student.get(f) for f in fields]


def wjx_rows(
    students: Sequence[Mapping],
    answers: Sequence[Sequence],
    *,
    roster_fields: Sequence[str] = ("student_no", "name", "gender", "college", "major", "class_name"),
    item_titles: Sequence[str] | None = None,
    matrix_stem: str | None = None,
    row_labels: Sequence[str] | None = None,
    duplicate_row_labels: bool = False,
    meta: Sequence[str] = WJX_META,
    total: bool = False,
    separator: str = "、",
    seed: int = 0,
    start: datetime = datetime(2026, 9, 10, 8, 0),
) -> list[list]:
    """A 问卷星 export: platform columns, roster questions, then one question per item.

    Answers are written as given: option labels for 按选项文本 exports, option
    positions (ints) for 按选项序号, scores for 按分数. With ``matrix_stem`` the
    items are one matrix question: only the first column carries the question
    number and stem (``N、题干—行标签``), the others bare row labels, all the
    same label when ``duplicate_row_labels`` (as calamine reads a real export).
    """
    rng = random.Random(seed)
    n_items = len(answers[0]) if answers else len(item_titles or ())
    header: list = list(meta)
    if total:
        header.append("总分")
    q = 0
    for f in roster_fields:
        q += 1
        header.append(f"{q}{separator}{ROSTER_TITLES.get(f, f)}")
    if matrix_stem is not None:
        q += 1
        if row_labels is None:
            row_labels = ["症状描述"] * n_items if duplicate_row_labels else [f"症状描述{i + 1}" for i in range(n_items)]
        header.append(f"{q}{separator}{matrix_stem}—{row_labels[0]}")
        header.extend(row_labels[1:n_items])
    else:
        titles = item_titles or [f"条目{i + 1}" for i in range(n_items)]
        for t in titles[:n_items]:
            q += 1
            header.append(f"{q}{separator}{t}")
    rows = [header]
    when = start
    for i, (s, ans) in enumerate(zip(students, answers)):
        when += timedelta(minutes=rng.randint(1, 9))
        values = {
            "序号": i + 1,
            "提交答卷时间": when.strftime("%Y/%m/%d %H:%M:%S"),
            "所用时间": f"{rng.randint(180, 1500)}秒",
            "来源": "手机提交",
            "来源详情": "微信",
            "来自IP": f"222.20.{rng.randint(0, 255)}.{rng.randint(1, 254)}(湖北-武汉)",
        }
        row = [values.get(m) for m in meta]
        if total:
            row.append(sum(v for v in ans if isinstance(v, (int, float))))
        row += _roster_values(s, roster_fields)
        row += list(ans)
        rows.append(row)
    return rows


def tencent_rows(
    students: Sequence[Mapping],
    answers: Sequence[Sequence],
    *,
    roster_fields: Sequence[str] = ("student_no", "name", "college"),
    item_titles: Sequence[str] | None = None,
    seed: int = 0,
    start: datetime = datetime(2026, 10, 8, 20, 0),
) -> list[list]:
    """A 腾讯问卷 export: platform columns, then questions ``N.题干`` (all cells text, as in its CSV)."""
    rng = random.Random(seed)
    n_items = len(answers[0]) if answers else len(item_titles or ())
    titles = item_titles or [f"条目{i + 1}" for i in range(n_items)]
    header = list(TENCENT_META)
    q = 0
    for f in roster_fields:
        q += 1
        header.append(f"{q}.{ROSTER_TITLES.get(f, f)}")
    for t in titles[:n_items]:
        q += 1
        header.append(f"{q}.{t}")
    rows = [header]
    when = start
    for i, (s, ans) in enumerate(zip(students, answers)):
        took = rng.randint(60, 600)
        row = [
            str(i + 1),
            when.strftime("%Y-%m-%d %H:%M:%S"),
            (when + timedelta(seconds=took)).strftime("%Y-%m-%d %H:%M:%S"),
            str(took),
            "中国",
            "湖北省",
            "武汉市",
            "",
        ]
        when += timedelta(minutes=rng.randint(1, 9))
        row += [s.get(f) for f in roster_fields]
        row += ["" if v is None else str(v) for v in ans]
        rows.append(row)
    return rows


def generic_rows(
    students: Sequence[Mapping],
    answers: Sequence[Sequence],
    *,
    roster_fields: Sequence[str] = ("student_no", "name", "gender", "college", "class_name"),
    item_header: str | Callable[[int], str] = "{n}",
) -> list[list]:
    """The generic layout: roster columns, then item columns headed ``item_header.format(n=…)``."""
    n_items = len(answers[0]) if answers else 0
    fmt = item_header if callable(item_header) else (lambda n: item_header.format(n=n))
    header = [ROSTER_SHEET_HEADERS.get(f, f) for f in roster_fields] + [fmt(n) for n in range(1, n_items + 1)]
    return [header] + [_roster_values(s, roster_fields) + list(a) for s, a in zip(students, answers)]


def roster_rows(
    students: Sequence[Mapping],
    *,
    fields: Sequence[str] = ("student_no", "name", "gender", "college", "major", "grade", "class_name", "dorm", "phone", "advisor"),
    headers: Mapping[str, str] | None = None,
) -> list[list]:
    """A school roster: one header row, one row per student."""
    names = {**ROSTER_SHEET_HEADERS, **(headers or {})}
    return [[names.get(f, f) for f in fields]] + [_roster_values(s, fields) for s in students]


def interview_rows(students: Sequence[Mapping], *, seed: int = 0, start: datetime = datetime(2026, 9, 20)) -> list[list]:
    """The interview-record sheet advisors fill in (学号, 姓名, 约谈日期, 约谈人, 情况描述, 评估等级, 后续措施)."""
    rng = random.Random(seed)
    header = ["学号", "姓名", "约谈日期", "约谈人", "情况描述", "评估等级", "后续措施"]
    rows: list[list] = [header]
    for s in students:
        rows.append(
            [
                s["student_no"],
                s["name"],
                start + timedelta(days=rng.randint(0, 10)),
                rng.choice(("王老师", "李老师", "张老师")),
                rng.choice(("情绪平稳，近期睡眠欠佳", "适应良好", "学业压力较大")),
                rng.choice(("三级", "无", "二级")),
                rng.choice(("两周后回访", "无需跟进", "转介咨询中心")),
            ]
        )
    return rows


def with_title_rows(rows: Sequence[Sequence], titles: Sequence[str] = ("2026级新生心理健康普查",), *, blank_after: bool = True) -> list[list]:
    """Put title rows (and a blank row) above the header, as people do before sending a sheet on."""
    width = max(len(r) for r in rows)
    top = [[t] + [None] * (width - 1) for t in titles]
    if blank_after:
        top.append([None] * width)
    return top + [list(r) for r in rows]


# ---------------------------------------------------------------- writers


def write_xlsx(
    path: str | Path,
    rows: Sequence[Sequence],
    *,
    sheet: str = "Sheet1",
    merge_title_rows: int = 0,
    extra_sheets: Mapping[str, Sequence[Sequence]] | None = None,
) -> Path:
    """Write rows to an xlsx; text starting with ``=`` stays text (as a platform writes it).

    ``merge_title_rows`` merges the first N rows across the width of the sheet,
    like a title typed into a merged cell.
    """
    import openpyxl

    path = Path(path)
    big = len(rows) * max((len(r) for r in rows), default=0) > 200_000
    plain = big and not merge_title_rows and not any(
        isinstance(v, str) and v.startswith("=") for r in rows for v in r
    )
    wb = openpyxl.Workbook(write_only=plain)
    sheets = {sheet: rows, **(extra_sheets or {})}
    for k, (name, data) in enumerate(sheets.items()):
        if plain:
            ws = wb.create_sheet(name)
            for r in data:
                ws.append(list(r))
            continue
        ws = wb.active if k == 0 else wb.create_sheet(name)
        ws.title = name
        for r in data:
            ws.append(list(r))
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        if k == 0 and merge_title_rows:
            width = max(len(r) for r in data)
            for i in range(1, merge_title_rows + 1):
                ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=max(width, 2))
    wb.save(path)
    return path


def write_csv(
    path: str | Path,
    rows: Sequence[Sequence],
    *,
    encoding: str = "utf-8",
    quote_all: bool = False,
    trailing_comma: bool = False,
    delimiter: str = ",",
    newline: str = "\r\n",
) -> Path:
    """Write rows as CSV; ``encoding="utf-8-sig"`` adds the BOM, ``"gbk"`` is what Chinese Excel saves."""
    buf = io.StringIO()
    writer = csv.writer(
        buf, delimiter=delimiter, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=newline
    )
    for r in rows:
        cells = ["" if v is None else str(v) for v in r]
        if trailing_comma:
            # A trailing comma is an extra empty field; written by hand so that it is not quoted.
            line = io.StringIO()
            csv.writer(line, delimiter=delimiter, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                       lineterminator="").writerow(cells)
            buf.write(line.getvalue() + delimiter + newline)
        else:
            writer.writerow(cells)
    path = Path(path)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_html_xls(path: str | Path, rows: Sequence[Sequence], *, title: str | None = None, charset: str = "utf-8") -> Path:
    """An HTML table saved as ``.xls``, the way some 问卷星 downloads are."""
    out = [f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head><body>']
    width = max(len(r) for r in rows)
    out.append('<table border="1">')
    if title:
        out.append(f'<tr><td colspan="{width}">{escape(title)}</td></tr>')
    for i, r in enumerate(rows):
        tag = "th" if i == 0 else "td"
        cells = "".join(f"<{tag}>{'' if v is None else escape(str(v))}</{tag}>" for v in r)
        out.append(f"<tr>{cells}</tr>")
    out.append("</table></body></html>")
    path = Path(path)
    path.write_bytes("\n".join(out).encode(charset))
    return path


def write_wjx_xlsx(path: str | Path, students, answers, *, title_rows: Sequence[str] = (), **kw) -> Path:
    rows = wjx_rows(students, answers, **kw)
    if title_rows:
        rows = with_title_rows(rows, title_rows)
    return write_xlsx(path, rows, merge_title_rows=len(title_rows))


def write_wjx_html_xls(path: str | Path, students, answers, **kw) -> Path:
    return write_html_xls(path, wjx_rows(students, answers, **kw))


def write_tencent_csv(path: str | Path, students, answers, *, encoding: str = "utf-8-sig", **kw) -> Path:
    """腾讯问卷 CSV: UTF-8 with BOM, every field quoted, a trailing comma on every line."""
    return write_csv(path, tencent_rows(students, answers, **kw), encoding=encoding, quote_all=True, trailing_comma=True)


def write_generic_xlsx(path: str | Path, students, answers, *, title_rows: Sequence[str] = (), **kw) -> Path:
    rows = generic_rows(students, answers, **kw)
    if title_rows:
        rows = with_title_rows(rows, title_rows)
    return write_xlsx(path, rows, merge_title_rows=len(title_rows))


def write_gbk_csv(path: str | Path, students, answers, *, layout: str = "generic", **kw) -> Path:
    """A CSV saved by Chinese Excel: GBK, no BOM."""
    rows = generic_rows(students, answers, **kw) if layout == "generic" else wjx_rows(students, answers, **kw)
    return write_csv(path, rows, encoding="gbk")


def write_roster_xlsx(path: str | Path, students, *, title_rows: Sequence[str] = (), **kw) -> Path:
    rows = roster_rows(students, **kw)
    if title_rows:
        rows = with_title_rows(rows, title_rows)
    return write_xlsx(path, rows, sheet="学生名单", merge_title_rows=len(title_rows))


def write_interviews_xlsx(path: str | Path, students, **kw) -> Path:
    return write_xlsx(path, interview_rows(students, **kw), sheet="约谈记录")


def write_encrypted_xlsx(path: str | Path) -> Path:
    """An OLE2 container with the streams of a password-protected xlsx (no real payload).

    Enough for a reader that must recognise the container; the names are in a
    directory sector, UTF-16LE, as in a real file.
    """
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x18:0x1A] = (0x3E).to_bytes(2, "little")  # minor version
    header[0x1A:0x1C] = (3).to_bytes(2, "little")  # major version 3: 512-byte sectors
    header[0x1C:0x1E] = (0xFFFE).to_bytes(2, "little")  # little-endian
    header[0x1E:0x20] = (9).to_bytes(2, "little")
    header[0x20:0x22] = (6).to_bytes(2, "little")
    directory = bytearray(512)
    for k, name in enumerate(("Root Entry", "EncryptionInfo", "EncryptedPackage")):
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry = bytearray(128)
        entry[: len(encoded)] = encoded
        entry[64:66] = len(encoded).to_bytes(2, "little")
        entry[66] = 5 if k == 0 else 2
        directory[k * 128 : (k + 1) * 128] = entry
    path = Path(path)
    path.write_bytes(bytes(header) + bytes(directory) + bytes(512))
    return path


def write_corrupt_xlsx(path: str | Path, *, source: str | Path | None = None) -> Path:
    """A workbook cut short (a real xlsx truncated), or zip magic followed by garbage."""
    path = Path(path)
    if source is not None:
        data = Path(source).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    return path
