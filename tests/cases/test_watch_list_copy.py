"""The copy of the watch list that `cases list` keeps opens only changed students, and checks what it skips.

A student row is taken from the copy only when its version (the digest the audit
ledger holds of its bytes and plaintext columns) is the one the copy was made
from, so an edit outside mhtool, even one that keeps a seal's header and tag, is
opened and fails as it does without a copy; a replayed or damaged copy shows
nothing stale.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from casekit import STUDENTS, audit, today

from mhtool.store.repos import WATCH_LIST_COPY


@pytest.fixture
def watched(school):
    """2024010001 and 2024020002 watched (yellow), 2024010003 not; `cases list` has run once and made the copy."""
    counselor = school.add_staff("counselor1", "counselor")
    for no in ("2024010001", "2024020002"):
        counselor.ok("cases", "interview", no, "--findings", "情绪低落（合成数据）", "--confirm", "yellow", "--date", (today() - timedelta(days=20)).isoformat())
    first = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert sorted(r["student_no"] for r in first) == ["2024010001", "2024020002"]
    return school, counselor


def _sid(school, no: str) -> str:
    with school.open() as store:
        return store.students.find(no)["id"]


def _copy(school) -> dict:
    with school.open() as store:
        return store.sealed_values.get(WATCH_LIST_COPY)


def _copies_written(school) -> list[dict]:
    return [e["details"] for e in audit(school) if e["action"] == "cache.watch-list"]


def _sql(path, statement: str, params=()) -> None:
    conn = sqlite3.connect(path)
    with conn:
        assert conn.execute(statement, params).rowcount == 1
    conn.close()


def _blob(path, table: str, column: str, key_col: str, key: str) -> bytes:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {column} FROM {table} WHERE {key_col} = ?", (key,)).fetchone()[0]
    finally:
        conn.close()


def test_the_copy_holds_the_watched_students_and_a_second_list_writes_nothing(watched):
    school, counselor = watched
    copy = _copy(school)
    assert set(copy["students"]) == {_sid(school, "2024010001"), _sid(school, "2024020002")}
    assert _copies_written(school) == [{"copied": 2, "kept": 0}]
    again = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert sorted((r["student_no"], r["name"], r["level"]) for r in again) == [
        ("2024010001", STUDENTS["2024010001"][0], "yellow"),
        ("2024020002", STUDENTS["2024020002"][0], "yellow"),
    ]
    assert _copies_written(school) == [{"copied": 2, "kept": 0}]
    assert [e["action"] for e in audit(school) if e["action"] != "audit.log"][-3:] == ["cache.watch-list", "cases.list", "cases.list"]


def test_a_changed_student_is_opened_again_and_the_list_shows_the_change(watched):
    school, counselor = watched
    counselor.ok("cases", "level", "2024020002", "red", "--reason", "复评（合成数据）")
    rows = {r["student_no"]: r for r in json.loads(counselor.ok("cases", "list", "--json").stdout)}
    assert rows["2024020002"]["level"] == "red" and rows["2024010001"]["level"] == "yellow"
    assert _copies_written(school)[-1] == {"copied": 1, "kept": 1}


def test_a_student_row_edited_in_place_fails_the_list_although_the_copy_holds_it(watched):
    school, counselor = watched
    sid = _sid(school, "2024010001")
    blob = _blob(school.path, "students", "data", "id", sid)
    # One byte of the ciphertext changed; the header (nonce) and the tag are kept.
    damaged = blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]
    _sql(school.path, "UPDATE students SET data = ? WHERE id = ?", (damaged, sid))
    result = counselor("cases", "list")
    assert result.exit_code == 1 and result.stdout == "" and f"students/{sid}" in result.stderr


def test_a_student_row_moved_to_another_number_fails_the_list(watched):
    school, counselor = watched
    a, b = _sid(school, "2024010001"), _sid(school, "2024020002")
    index_a = _blob(school.path, "students", "student_no_bi", "id", a)
    index_b = _blob(school.path, "students", "student_no_bi", "id", b)
    _sql(school.path, "UPDATE students SET student_no_bi = ? WHERE id = ?", (b"x" + index_a, a))
    _sql(school.path, "UPDATE students SET student_no_bi = ? WHERE id = ?", (index_a, b))
    _sql(school.path, "UPDATE students SET student_no_bi = ? WHERE id = ?", (index_b, a))
    result = counselor("cases", "list")
    assert result.exit_code == 1 and result.stdout == ""
    assert f"students/{a}" in result.stderr or f"students/{b}" in result.stderr


def test_a_damaged_copy_fails_the_list(watched):
    school, counselor = watched
    blob = _blob(school.path, "sealed_meta", "data", "key", WATCH_LIST_COPY)
    _sql(school.path, "UPDATE sealed_meta SET data = ? WHERE key = ?", (blob[:-1] + bytes([blob[-1] ^ 1]), WATCH_LIST_COPY))
    result = counselor("cases", "list")
    assert result.exit_code == 1 and result.stdout == "" and WATCH_LIST_COPY in result.stderr


def test_an_older_copy_put_back_shows_nothing_stale(watched):
    school, counselor = watched
    old = _blob(school.path, "sealed_meta", "data", "key", WATCH_LIST_COPY)
    counselor.ok("cases", "level", "2024010001", "orange", "--reason", "复评（合成数据）")
    counselor.ok("cases", "list")
    _sql(school.path, "UPDATE sealed_meta SET data = ? WHERE key = ?", (old, WATCH_LIST_COPY))
    rows = {r["student_no"]: r for r in json.loads(counselor.ok("cases", "list", "--json").stdout)}
    assert rows["2024010001"]["level"] == "orange"
    assert _copies_written(school)[-1] == {"copied": 1, "kept": 1}


def test_a_student_no_longer_watched_leaves_the_copy(watched):
    school, counselor = watched
    counselor.ok("cases", "close", "2024020002", "--reason", "情况稳定（合成数据）")
    rows = json.loads(counselor.ok("cases", "list", "--json").stdout)
    assert [r["student_no"] for r in rows] == ["2024010001"]
    assert set(_copy(school)["students"]) == {_sid(school, "2024010001")}


def test_a_copy_made_under_other_reading_rules_is_not_used(watched):
    school, counselor = watched
    sid = _sid(school, "2024010001")
    with school.open() as store, store.write("test.copy") as txn:
        copy = store.sealed_values.get(WATCH_LIST_COPY)
        copy["students"][sid][2] = "伪造姓名"
        copy["reading"] = "0000000000000000"
        store.sealed_values.put(txn, WATCH_LIST_COPY, copy)
    rows = {r["student_no"]: r for r in json.loads(counselor.ok("cases", "list", "--json").stdout)}
    assert rows["2024010001"]["name"] == STUDENTS["2024010001"][0]
    assert _copies_written(school)[-1] == {"copied": 2, "kept": 0}


def test_erasing_a_student_drops_the_copy_with_their_name(watched):
    school, counselor = watched
    sid = _sid(school, "2024020002")
    assert STUDENTS["2024020002"][0] in json.dumps(_copy(school), ensure_ascii=False)
    with school.open() as store, store.write("test.erase") as txn:
        store.students.replace_with_placeholder(txn, sid, {"erased": "2026-12-01", "student_no": "P-0001"})
    assert _copy(school) is None
    counselor.ok("cases", "list")
    assert STUDENTS["2024020002"][0] not in json.dumps(_copy(school), ensure_ascii=False)


def test_a_list_row_is_made_only_of_the_fields_the_copy_keeps():
    # The copy keeps views.LIST_FIELDS of each student: a row made from more would differ when read from it.
    from mhtool.cases.domain import views
    from mhtool.domain.vocabulary import HEADER_FIELDS

    student = {field: f"值{i}" for i, field in enumerate(HEADER_FIELDS)}
    student |= {
        "id": "s-1", "student_no": "2024010001", "level": "orange", "level_since": "2026-11-01", "level_reason": "（合成数据）",
        "status": "leave", "groups": ["hardship"], "tags": ["转专业"], "guardians": [{"name": "家长甲"}], "created_at": "2026-01-01T00:00:00+00:00",
    }
    kept = {field: student[field] for field in views.LIST_FIELDS}
    for due in (None, "2026-11-20", "2026-12-20"):
        assert views.list_row(kept, due, today()) == views.list_row(student, due, today())
