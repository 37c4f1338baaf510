"""The network roster: who the 心理委员, 寝室长, 辅导员 and 二级站负责人 are, and for which unit.

A member is ``{college, unit_kind, unit, role, person_no, name, phone}``: the
unit is a class (班级), a dorm (宿舍) or, for a 二级站负责人 (and a 辅导员 named
for no class), the college itself. A 心理委员 needs a class and a 寝室长 a dorm.
The classes and dorms of the roster are the units that are expected to report.
"""

from __future__ import annotations

from mhtool.errors import Problem
from mhtool.i18n import _
from mhtool.domain.labels import label
from mhtool.network.domain.columns import MEMBER_COLUMNS, find_header, fold, role_code


def unit_of(role: str, college: str, class_name: str = "", dorm: str = "") -> tuple[str, str] | str:
    """(unit_kind, unit) of a member, or the message saying what is missing."""
    class_name, dorm = (class_name or "").strip(), (dorm or "").strip()
    if role == "station_head":
        return "college", college
    if role == "peer_monitor":
        return ("class", class_name) if class_name else _("a 心理委员 needs a class (班级)")
    if role == "dorm_head":
        return ("dorm", dorm) if dorm else _("a 寝室长 needs a dorm (宿舍)")
    if class_name:
        return "class", class_name
    if dorm:
        return "dorm", dorm
    return "college", college


def member(college: str, role: str, name: str, *, class_name: str = "", dorm: str = "", person_no: str = "", phone: str = "") -> dict | str:
    """A member record from plain values, or the message saying what is wrong."""
    college, name = (college or "").strip(), (name or "").strip()
    if not college:
        return _("the college (学院) is empty")
    code = role_code(role)
    if code is None:
        return _("unknown role {role!r}: use 心理委员, 寝室长, 辅导员 or 二级站负责人").format(role=role)
    if not name:
        return _("the name (姓名) is empty")
    if class_name and dorm:
        return _("give a class (班级) or a dorm (宿舍), not both")
    unit = unit_of(code, college, class_name, dorm)
    if isinstance(unit, str):
        return unit
    kind, unit_name = unit
    return {
        "college": college, "unit_kind": kind, "unit": unit_name, "role": code,
        "person_no": (person_no or "").strip(), "name": name, "phone": (phone or "").strip(),
    }  # fmt: skip


def key(m: dict) -> tuple[str, str, str, str, str]:
    """What makes one member one: the same role for the same unit, the same person (number, else name)."""
    return (m["unit_kind"], fold(m["unit"]), fold(m["college"]), m["role"], fold(m.get("person_no") or m.get("name")))


def read_members(file: str, sheet: str, rows: list[list[str]]) -> tuple[list[dict], list[Problem]]:
    """The members of one roster sheet (cells as text), and the problems of its rows."""
    where = {"file": file, "sheet": sheet or None}
    found = find_header(rows, MEMBER_COLUMNS, ("college", "role", "name"))
    if found is None:
        return [], [Problem(_("no header row with the columns 学院, 角色 and 姓名 in the first rows"), **where)]
    h, cols = found
    headers = {name: rows[h][j] for name, j in cols.items()}
    members: dict[tuple, dict] = {}
    problems: list[Problem] = []
    for i in range(h + 1, len(rows)):
        cells = rows[i]

        def cell(name: str) -> str:
            j = cols.get(name)
            return (cells[j] if j is not None and j < len(cells) else "").strip()

        if not any(cell(n) for n in MEMBER_COLUMNS):
            continue
        result = member(cell("college"), cell("role"), cell("name"), class_name=cell("class"), dorm=cell("dorm"),
                        person_no=cell("person_no"), phone=cell("phone"))  # fmt: skip
        if isinstance(result, str):
            column = None
            if not cell("college"):
                column = headers.get("college")
            elif role_code(cell("role")) is None:
                column = headers.get("role")
            elif not cell("name"):
                column = headers.get("name")
            else:
                column = headers.get("class") or headers.get("dorm")
            problems.append(Problem(result, row=i + 1, column=column, **where))
            continue
        members[key(result)] = result
    return list(members.values()), problems


def role_name(code: str, lang: str) -> str:
    return label("network_role", code, lang)


def units(members) -> list[tuple[str, str, str]]:
    """The (college, unit_kind, unit) expected to report: the classes and dorms of the roster."""
    return sorted({(m["college"], m["unit_kind"], m["unit"]) for m in members if m.get("unit_kind") in ("class", "dorm")})
