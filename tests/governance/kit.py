"""A made-up school with canary values for governance tests (no real data).

Every personal value contains a marker the tests can search for: names and
dorms contain 雀, student numbers start 2026990, phones 199/177/166. A
research export or an erased store must contain none of them.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

from tests.survey.export_factory import FREQ4, YES_NO, labels, make_answers, write_wjx_xlsx

CANARY_CHAR = "雀"
_GIVEN = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"

# (college, gender, grade, how many): designed so that small-cell suppression
# keeps two cells, merges two small ones into one of 5, and withholds one.
LAYOUT = [
    ("文学院", "男", "2026级", 6),
    ("文学院", "女", "2026级", 6),
    ("法学院", "男", "2026级", 3),
    ("医学院", "男", "2026级", 2),
    ("理学院", "女", "2026级", 1),
]
UPI_DAY = datetime(2026, 9, 10, 8, 0)
PHQ_DAY = datetime(2026, 10, 20, 19, 0)
INTERVAL_DAYS = (PHQ_DAY.date() - UPI_DAY.date()).days


def school(layout=LAYOUT, *, first: int = 2026990001) -> list[dict]:
    """Students with canary values everywhere, in the shape the roster import stores."""
    out = []
    i = 0
    for college, gender, grade, n in layout:
        for _ in range(n):
            out.append(
                {
                    "student_no": str(first + i),
                    "name": f"测{CANARY_CHAR}{_GIVEN[i % len(_GIVEN)]}{i}",
                    "gender": gender,
                    "college": college,
                    "major": f"{college[:2]}专业",
                    "grade": grade,
                    "class_name": f"{college[:2]}2601",
                    "dorm": f"{CANARY_CHAR}栋{100 + i}",
                    "phone": f"1990000{i:04d}",
                    "advisor": f"{CANARY_CHAR}导{i}",
                    "advisor_phone": f"1660000{i:04d}",
                    "guardians": [{"name": f"{CANARY_CHAR}父{i}", "relation": "父亲", "phone": f"1770000{i:04d}"}],
                }
            )
            i += 1
    return out


def canaries(students: list[dict]) -> list[str]:
    """Every identifying value of the made-up students."""
    values = [CANARY_CHAR]
    for s in students:
        values += [s["student_no"], s["name"], s["phone"], s["dorm"], s["advisor"], s["advisor_phone"]]
        values += [g["name"] for g in s["guardians"]] + [g["phone"] for g in s["guardians"]]
    return values


def add_roster(env, students: list[dict]) -> None:
    from mhtool.cases.usecases.service import upsert_students

    with env.open() as store, store.write("test.roster") as txn:
        upsert_students(txn, [dict(s) for s in students], source="roster")


ROSTER_FIELDS = ("student_no", "name", "gender", "college", "major", "grade", "class_name")


def import_screenings(env, students: list[dict], tmp: Path, *, phq: bool = True, seed: int = 3, fields=ROSTER_FIELDS) -> list[str]:
    """A UPI census on 2026-09-10 and (optionally) a PHQ-9 on 2026-10-20 for every student; returns batch ids."""
    rows = [{k: s[k] for k in fields} for s in students]
    upi = write_wjx_xlsx(tmp / "upi.xlsx", rows, labels(make_answers(len(rows), 60, (0, 0, 0, 1), seed=seed), YES_NO), roster_fields=fields, start=UPI_DAY)
    ids = [json.loads(env.cli.ok("survey", "import", upi, "--instrument", "upi", "--json").stdout)["batch"]]
    if phq:
        phq_file = write_wjx_xlsx(tmp / "phq9.xlsx", rows, labels(make_answers(len(rows), 9, (0, 1, 2), seed=seed + 1), FREQ4), roster_fields=fields, start=PHQ_DAY)
        ids.append(json.loads(env.cli.ok("survey", "import", phq_file, "--instrument", "phq9", "--json").stdout)["batch"])
    return ids


def read_table(path: Path) -> tuple[list[str], list[list]]:
    """Header and rows of an export, every cell as the file holds it."""
    path = Path(path)
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        return rows[0], rows[1:]
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return [str(h) for h in rows[0]], rows[1:]


def records(path: Path) -> list[dict]:
    headers, rows = read_table(path)
    return [dict(zip(headers, r)) for r in rows]


def as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def audit(env) -> list[dict]:
    return json.loads(env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)


def store_bytes(path: Path) -> bytes:
    """The store file with its WAL and shared-memory file, as one byte string to search."""
    out = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            out += p.read_bytes()
    return out
