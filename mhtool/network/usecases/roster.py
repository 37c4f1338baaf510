"""The network roster in the store: import, list, add, remove.

Every operation checks the ``network`` permission (admin, counselor, clerk) and
the caller's colleges first; a list is audited before it is returned; a change
is one transaction with its audit entry. A roster file is all-or-nothing.
"""

from __future__ import annotations

from pathlib import Path

from mhtool.errors import ConflictError, InvalidInput, Problem, UsageError
from mhtool.i18n import _, current
from mhtool.network.domain import roster
from mhtool.network.domain.columns import ROLES, role_code

PERMISSION = "network"


def in_scope_members(store) -> list[dict]:
    """The roster rows of the caller's colleges."""
    return [m for m in store.network_members.all() if store.in_scope(m.get("college"))]


def import_members(store, path: str | Path) -> dict:
    """Add (or update: name, phone, number) the members of a roster file; nothing is written when a row is wrong."""
    from mhtool.io.network_sheets import read_tables

    action = "network.import"
    store.require(PERMISSION, action=action)
    path = Path(path)
    members: dict[tuple, dict] = {}
    problems: list[Problem] = []
    sheets = 0
    for table in read_tables(path):
        found, trouble = roster.read_members(table.file, table.sheet, table.rows)
        problems += trouble
        sheets += 1
        for m in found:
            if not store.in_scope(m["college"]):
                problems.append(Problem(_("{college} is not one of your colleges").format(college=m["college"]), file=table.file, sheet=table.sheet or None))
                continue
            members[roster.key(m)] = m
    if problems:
        raise InvalidInput(
            _("{file}: {count} problem(s); nothing was imported").format(file=path.name, count=len(problems)),
            problems=problems,
            hint=_("fix the rows named above and import the file again"),
        )
    if not members:
        raise InvalidInput(_("{file}: no members found").format(file=path.name), hint=_("the sheet needs the columns 学院, 班级 or 宿舍, 角色 and 姓名"))
    stored = {roster.key(m): m for m in store.network_members.all()}
    added = updated = unchanged = 0
    with store.write(action, details={"file": path.name}) as txn:
        for k, m in members.items():
            known = stored.get(k)
            if known is None:
                store.network_members.add(txn, m)
                added += 1
                continue
            changes = {f: m[f] for f in ("name", "phone", "person_no") if m.get(f) and m.get(f) != known.get(f)}
            if not changes:
                unchanged += 1
                continue
            store.network_members.save(txn, {**known, **changes})
            updated += 1
        txn.details.update(added=added, updated=updated, unchanged=unchanged)
    return {"file": path.name, "sheets": sheets, "members": len(members), "added": added, "updated": updated, "unchanged": unchanged}


def _shown(m: dict) -> dict:
    return {k: m.get(k, "") for k in ("id", "college", "unit_kind", "unit", "role", "person_no", "name", "phone")}


def role_filter(role: str | None) -> str | None:
    if role is None or not str(role).strip():
        return None
    code = role_code(role)
    if code is None:
        raise UsageError(
            _("--role {role!r}: use one of {roles} (or 心理委员, 寝室长, 辅导员, 二级站负责人)").format(role=role, roles=", ".join(ROLES))
        )
    return code


def list_members(store, *, college: str | None = None, role: str | None = None) -> list[dict]:
    """The roster (the caller's colleges), by college, unit and role; audited."""
    action = "network.list"
    store.require(PERMISSION, action=action)
    code = role_filter(role)
    if college:
        store.require_college(college, action=action)
    rows = [
        _shown(m)
        for m in in_scope_members(store)
        if (not college or m.get("college") == college) and (code is None or m.get("role") == code)
    ]
    order = {"college": 0, "class": 1, "dorm": 2}
    rows.sort(key=lambda m: (m["college"], order.get(m["unit_kind"], 3), m["unit"], ROLES.index(m["role"]) if m["role"] in ROLES else 9, m["name"]))
    store.audit_read(action, targets=[f"network_members/{m['id']}" for m in rows], details={"count": len(rows), "college": college, "role": code})
    return rows


def add_member(store, *, college: str, role: str, name: str, class_name: str = "", dorm: str = "", person_no: str = "", phone: str = "") -> dict:
    """Add one member; refused when the same person already has that role for that unit."""
    action = "network.add"
    store.require(PERMISSION, action=action)
    result = roster.member(college, role, name, class_name=class_name, dorm=dorm, person_no=person_no, phone=phone)
    if isinstance(result, str):
        raise UsageError(result)
    store.require_college(result["college"], action=action)
    k = roster.key(result)
    if any(roster.key(m) == k for m in store.network_members.all()):
        raise ConflictError(
            _("{name} is already the {role} of {unit} in the network roster").format(name=result["name"], role=roster.role_name(result["role"], current()), unit=result["unit"]),
            hint=_("see `mhtool network list`"),
        )
    with store.write(action, details={"college": result["college"], "unit_kind": result["unit_kind"], "role": result["role"]}) as txn:
        member_id = store.network_members.add(txn, result)
        txn.target(f"network_members/{member_id}")
    return {**result, "id": member_id}


def remove_member(store, member_id: str) -> dict:
    """Remove one member (its id or first 4+ characters)."""
    action = "network.remove"
    store.require(PERMISSION, action=action)
    full = store.network_members.resolve(member_id, _("network member"))
    record = store.network_members.get(full)
    if not store.in_scope(record.get("college")):
        store.audit_denial(action, [f"network_members/{full}"])
        raise store.scope_refusal("record")
    with store.write(action, targets=[f"network_members/{full}"], details={"college": record.get("college"), "role": record.get("role")}) as txn:
        store.network_members.remove(txn, full)
    return _shown(record)
