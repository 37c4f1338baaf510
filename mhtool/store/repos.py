"""Repositories: the store's tables as the rest of mhtool sees them.

Every SQL statement about a table, its plaintext columns, its blind index and
the chunking of long ``IN`` lists live here. Callers get typed records back
(:class:`Record` subclasses with their defaults filled in once, at read) and
hand plain values in; they never name a column or write a condition.

Writes take the open :class:`~mhtool.store.core.Txn` of the caller's use case,
so one command stays one transaction with one audit entry.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import date
from types import EllipsisType
from typing import TYPE_CHECKING, ClassVar

from mhtool.domain import sensitivity
from mhtool.domain import student_no as student_numbers

if TYPE_CHECKING:
    from mhtool.store.core import Store, Txn

_CHUNK = 500
# The sealed bytes' header: version (1), key generation (4), tier (1) and the seal's random nonce (12).
_SEAL_HEADER = 18
# The blind index an erased student's row gets: random, so the number no longer finds it.
ERASED_INDEX_PREFIX = b"erased:"


class Record(dict):
    """One sealed row, opened: its sealed fields plus its plaintext columns.

    A record is a dict (it goes straight into JSON output and report builders)
    whose missing fields take the table's defaults when it is read, so no
    caller has to patch ``get("level") or "none"``.
    """

    DEFAULTS: ClassVar[dict] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, default in self.DEFAULTS.items():
            if self.get(key) is None:
                self[key] = list(default) if isinstance(default, (list, tuple)) else default

    @property
    def id(self) -> str:
        return self["id"]


class Student(Record):
    DEFAULTS: ClassVar[dict] = {
        "level": "none",
        "status": "enrolled",
        "counselor": "",
        "groups": [],
        "tags": [],
        "guardians": [],
    }


class Entry(Record):
    DEFAULTS: ClassVar[dict] = {"fields": {}}


class Task(Record):
    DEFAULTS: ClassVar[dict] = {}


class Watch(Record):
    DEFAULTS: ClassVar[dict] = {}


class Batch(Record):
    DEFAULTS: ClassVar[dict] = {}


class Response(Record):
    DEFAULTS: ClassVar[dict] = {}


class Hospital(Record):
    DEFAULTS: ClassVar[dict] = {}


class Referral(Record):
    DEFAULTS: ClassVar[dict] = {}


class StaffRow(Record):
    DEFAULTS: ClassVar[dict] = {"colleges": []}


class Signal(Record):
    DEFAULTS: ClassVar[dict] = {"status": "open", "hits": 1}


class SignalFact(Record):
    DEFAULTS: ClassVar[dict] = {}


class NetworkMember(Record):
    DEFAULTS: ClassVar[dict] = {"phone": "", "name": ""}


class NetworkReport(Record):
    DEFAULTS: ClassVar[dict] = {"named": 0}


def _marks(values: Sequence) -> str:
    return ",".join("?" for _ in values)


def _chunks(values: Iterable) -> Iterable[list]:
    values = list(dict.fromkeys(values))
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class _Repository:
    table: ClassVar[str]
    record: ClassVar[type[Record]] = Record

    def __init__(self, store: Store):
        self.store = store

    # -- reading ----------------------------------------------------------------------------

    def _rows(self, where: str = "", params: Sequence = (), order: str = "", *, clinical: bool = True) -> list[Record]:
        return [self.record(r) for r in self.store._select(self.table, where, params, order, clinical=clinical)]

    def _by_column(self, column: str, values: Iterable, where: str = "", params: Sequence = (), order: str = "", *, clinical: bool = True) -> list[Record]:
        out: list[Record] = []
        for chunk in _chunks(values):
            cond = f"{column} IN ({_marks(chunk)})" + (f" AND ({where})" if where else "")
            out += self._rows(cond, [*chunk, *params], order, clinical=clinical)
        return out

    def get(self, record_id: str) -> Record:
        return self.record(self.store._get(self.table, record_id))

    def all(self, *, clinical: bool = True) -> list[Record]:
        """Every record; ``clinical=False`` leaves clinical parts sealed, for lists that show none (faster)."""
        return self._rows(order=self._order, clinical=clinical)

    def count(self) -> int:
        return self.store._count(self.table)

    def resolve(self, prefix: str, what: str) -> str:
        """A full record id from an id or an unambiguous prefix of 4+ characters."""
        return self.store._resolve_id(self.table, prefix, what)

    _order: ClassVar[str] = "rowid"

    # -- writing ----------------------------------------------------------------------------

    def sealed(self, record: dict) -> dict:
        """The part of ``record`` that goes back into the sealed data (no plaintext columns)."""
        return self.store.sealed_part(self.table, record)

    def _insert(self, txn: Txn, data: dict, columns: dict | None = None, *, audit: bool = True, record_id: str | None = None, finite: bool = False) -> str:
        return txn.insert(self.table, data, columns=columns, audit=audit, record_id=record_id, finite=finite)

    def _update(self, txn: Txn, record_id: str, data: dict, columns: dict | None = None, *, audit: bool = True) -> None:
        txn.update(self.table, record_id, data, columns=columns, audit=audit)


class _PerStudent(_Repository):
    """Tables whose rows belong to one student (``student_id``)."""

    _date_column: ClassVar[str] = "rowid"

    def for_student(self, student_id: str) -> list[Record]:
        return self._rows("student_id = ?", (student_id,), order=f"{self._date_column}, rowid")

    def for_students(self, student_ids: Iterable[str], *, clinical: bool = True) -> list[Record]:
        return self._by_column("student_id", student_ids, order=f"{self._date_column}, rowid", clinical=clinical)

    def delete_for_student(self, txn: Txn, student_id: str) -> int:
        ids = [row[0] for row in txn.execute(f"SELECT id FROM {self.table} WHERE student_id = ?", (student_id,)).fetchall()]
        for record_id in ids:
            txn.delete(self.table, record_id, audit=False)
        return len(ids)


# -- students --------------------------------------------------------------------------------


class Students(_Repository):
    table = "students"
    record = Student

    def _index_candidates(self, number: str) -> list[bytes]:
        return self.store.blind_candidates(student_numbers.normalise(number))

    def find(self, number: str) -> Student | None:
        """The student with this number (any spelling of it), or None."""
        candidates = self._index_candidates(number)
        rows = self._rows(f"student_no_bi IN ({_marks(candidates)})", candidates)
        return rows[0] if rows else None

    def by_numbers(self, numbers: Iterable[str]) -> dict[str, Student]:
        """Existing students keyed by the numbers asked for (one query per 500 index values)."""
        by_index: dict[bytes, str] = {}
        for no in dict.fromkeys(numbers):
            for bi in self._index_candidates(no):
                by_index[bi] = no
        return {by_index[s["student_no_bi"]]: s for s in self._by_column("student_no_bi", by_index)}

    def by_ids(self, ids: Iterable[str], *, clinical: bool = True) -> dict[str, Student]:
        return {s["id"]: s for s in self._by_column("id", ids, clinical=clinical)}

    def watched(self, *, clinical: bool = True) -> list[Student]:
        """Students with an open watch episode (``clinical=False``: without the clinical part, see :meth:`all`)."""
        self.store.check_open("watches")
        return self._rows("id IN (SELECT student_id FROM watches WHERE closed_on IS NULL)", clinical=clinical)

    def watched_versions(self) -> dict[str, bytes]:
        """Each watched student's id → the version of their row (:meth:`~mhtool.store.core.Store._versions`), no row opened."""
        self.store.check_open("watches")
        return self.store._versions(self.table, "id IN (SELECT student_id FROM watches WHERE closed_on IS NULL)")

    def concerned_by(self, first: date, start: date, end: date, asof: date, *, clinical: bool = True) -> list[Student]:
        """Everyone a report of ``start``–``end`` (trend from ``first``) may concern, as of ``asof``.

        Students watched at some moment since the day before ``first``, with an
        entry inside the period, or with a task due before ``asof`` that was
        still open then. ``clinical=False``: without the clinical part (see :meth:`all`).
        """
        self.store.check_open("watches")
        self.store.check_open("tasks")
        sql, params = _concerned(first, start, end, asof)
        return self._rows(f"id IN ({sql})", params, clinical=clinical)

    def add(self, txn: Txn, number: str, data: dict, *, audit: bool = True) -> str:
        index = self.store.blind_index(student_numbers.normalise(number))
        return self._insert(txn, data, {"student_no_bi": index}, audit=audit)

    def save(self, txn: Txn, record: dict, *, audit: bool = True) -> None:
        self._update(txn, record["id"], self.sealed(record), audit=audit)

    def replace_with_placeholder(self, txn: Txn, student_id: str, placeholder: dict) -> None:
        """Erasure: the row keeps its id (links elsewhere stay valid) but loses its number's index.

        The copy of the student's timeline that reports keep goes with the entries.
        """
        self._update(txn, student_id, placeholder, {"student_no_bi": ERASED_INDEX_PREFIX + os.urandom(16)}, audit=False)
        txn.delete("sealed_meta", timeline_copy_key(student_id), audit=False)
        # The copy of the watch list may hold the student's name and number: it goes too, and is made again when next read.
        txn.delete("sealed_meta", WATCH_LIST_COPY, audit=False)

    def placeholders(self) -> list[Student]:
        """The erased students' placeholders, found by their index's prefix without opening any other row."""
        return self._rows("substr(student_no_bi, 1, ?) = ?", (len(ERASED_INDEX_PREFIX), ERASED_INDEX_PREFIX))

    def seal_headers(self) -> dict[str, str]:
        """Each student row's sealed header (hex) → its id, without opening any row.

        Every seal starts with a fresh random nonce (:func:`mhtool.store.crypto.seal`:
        version, key generation, nonce), so a header names one written version
        of one record: a row whose header is unchanged has not been written
        since. Figures counted over all students can then open only the rows
        that changed.
        """
        rows = self.store.conn.execute(f"SELECT hex(substr(data, 1, {_SEAL_HEADER})), id FROM students").fetchall()
        return dict(rows)

    def fingerprint(self) -> str:
        """One digest of every row's id and sealed header: it changes whenever any student is added, written or erased."""
        count, joined = self.store.conn.execute(
            f"SELECT count(*), group_concat(id || hex(substr(data, 1, {_SEAL_HEADER})), ',') FROM (SELECT id, data FROM students ORDER BY rowid)"
        ).fetchone()
        return hashlib.blake2b(f"{count}:{joined or ''}".encode(), digest_size=16).hexdigest()


def _concerned(first: date, start: date, end: date, asof: date) -> tuple[str, tuple]:
    e, lo = asof.isoformat(), _day_before(first)
    sql = (
        "SELECT student_id FROM watches WHERE opened_on <= ? AND (closed_on IS NULL OR closed_on > ?) "
        "UNION SELECT student_id FROM entries WHERE on_date BETWEEN ? AND ? "
        "UNION SELECT student_id FROM tasks WHERE due_on < ? AND (done_on IS NULL OR done_on > ?)"
    )
    return sql, (e, lo, start.isoformat(), end.isoformat(), e, e)


def _watched_between(first: date, asof: date) -> tuple[str, tuple]:
    return "SELECT student_id FROM watches WHERE opened_on <= ? AND (closed_on IS NULL OR closed_on > ?)", (asof.isoformat(), _day_before(first))


def _day_before(day: date) -> str:
    from datetime import timedelta

    return (day - timedelta(days=1)).isoformat()


# -- the timeline ----------------------------------------------------------------------------


class Entries(_PerStudent):
    table = "entries"
    record = Entry
    _date_column = "on_date"
    _order = "on_date, rowid"

    def add(self, txn: Txn, student_id: str, on: date, data: dict) -> str:
        return self._insert(txn, data, {"student_id": student_id, "on_date": on.isoformat()})

    def of_watched(self) -> list[Entry]:
        """The timelines of every student with an open watch episode."""
        self.store.check_open("watches")
        return self._rows("student_id IN (SELECT student_id FROM watches WHERE closed_on IS NULL)", order="on_date, rowid")

    def for_students_since(self, student_ids: Iterable[str], first: date) -> list[Entry]:
        """The students' entries dated ``first`` or later, oldest first."""
        return self._by_column("student_id", student_ids, "on_date >= ?", (first.isoformat(),), order="on_date, rowid")

    def recent_of_unwatched(self, first: date, start: date, end: date, asof: date, *, clinical: bool = True) -> list[Entry]:
        """Entries since the day before ``first`` of the students a report of ``start``–``end`` concerns who were not watched during it.

        (The watched students' whole timelines: :meth:`timeline_versions`.)
        ``clinical=False`` opens only each entry's administrative part.
        """
        self.store.check_open("watches")
        self.store.check_open("tasks")
        watched, wparams = _watched_between(first, asof)
        concerned, cparams = _concerned(first, start, end, asof)
        return self._rows(
            f"on_date > ? AND student_id IN ({concerned}) AND student_id NOT IN ({watched})",
            (_day_before(first), *cparams, *wparams),
            order="on_date, rowid",
            clinical=clinical,
        )

    def by_ids(self, ids: Iterable[str]) -> dict[str, Entry]:
        """Entries by id, both parts opened (one query per 500 ids)."""
        return {e["id"]: e for e in self._by_column("id", ids)}

    def timeline_versions(self, first: date, asof: date) -> list[tuple[str, str]]:
        """``(student id, version)`` of each student watched from the day before ``first`` to ``asof``, in the order their timelines start.

        The version is a digest of the ids, days and seal headers of the
        student's entries, read without opening any: every seal starts with a
        fresh random nonce, so an entry written, added, deleted or moved to
        another day or student changes it. Students without entries are left out.
        """
        self.store.check_open("watches")
        watched, params = _watched_between(first, asof)
        # Concatenated in the order the student's index is read (day, then row): should a plan ever
        # read them in another order, the timelines are only opened and copied again.
        rows = self.store.conn.execute(
            "SELECT student_id, min(on_date || ' ' || printf('%015d', rowid)), "
            f"group_concat(id || ' ' || on_date || ' ' || hex(substr(data, 1, {_SEAL_HEADER})), ',') "
            f"FROM entries WHERE student_id IN ({watched}) GROUP BY student_id",
            params,
        ).fetchall()
        rows.sort(key=lambda row: row[1])
        return [(sid, hashlib.blake2b(f"{ENTRY_READING}|{joined}".encode(), digest_size=16).hexdigest()) for sid, _start, joined in rows]


# What reading an entry without its clinical part gives (the kind's administrative fields, the
# defaults): part of every timeline version, so a copy read under other rules is never used.
ENTRY_READING = hashlib.blake2b(
    repr((1, sorted(sensitivity.ENTRY_PUBLIC_FIELDS.items()), sorted(Entry.DEFAULTS.items()))).encode(), digest_size=8
).hexdigest()


def timeline_copy_key(student_id: str) -> str:
    """The sealed value holding the copy of a student's timeline that reports keep (see :func:`mhtool.report.usecases.gather.timelines`)."""
    return f"{TIMELINE_COPY_PREFIX}{student_id}"


TIMELINE_COPY_PREFIX = "report.timeline/"
# The sealed value holding the copy of the watch list that ``cases list`` keeps (see
# :func:`mhtool.cases.usecases.dossier.list_students`).
WATCH_LIST_COPY = "cases.watch-list"


class Tasks(_PerStudent):
    table = "tasks"
    record = Task
    _date_column = "due_on"
    _order = "due_on, rowid"

    def open(self, student_id: str | None = None) -> list[Task]:
        """Open tasks (of one student, or everyone's), earliest due first."""
        self.store.check_open("tasks")
        if student_id:
            return self._rows("done_on IS NULL AND student_id = ?", (student_id,), order="due_on, rowid")
        return self._rows("done_on IS NULL", order="due_on, rowid")

    def open_due_by(self, last: date) -> list[Task]:
        """Open tasks due on or before ``last``, earliest first.

        The due dates SQL filters by are those of the sealed open list
        (:meth:`~mhtool.store.core.Store.check_open` compared them), so only
        the tasks that pass are opened. With a list of an earlier version
        every open task is opened instead, its seal vouching for its date.
        """
        if self.store.check_open("tasks") is None:
            return [t for t in self.open() if t["due_on"] <= last.isoformat()]
        return self._rows("done_on IS NULL AND due_on <= ?", (last.isoformat(),), order="due_on, rowid")

    def next_due(self, *, watched_only: bool = False) -> dict[str, str]:
        """Each student's earliest open due date, from the plaintext columns alone (no record opened).

        The sealed open list keeps each open task's student and due date, and
        :meth:`~mhtool.store.core.Store.check_open` has compared them with
        SQL's, so no task row is read; a list of an earlier version (None)
        checks every open task's seal instead.
        """
        tasks = self.store.check_open("tasks")
        watches = self.store.check_open("watches") if watched_only else None
        if tasks is None or (watched_only and watches is None):
            where = "done_on IS NULL"
            if watched_only:
                where += " AND student_id IN (SELECT student_id FROM watches WHERE closed_on IS NULL)"
            pairs = self.store._plain(self.table, ("student_id", "due_on"), where)
        else:
            pairs = tasks.values()
            if watched_only:
                watched = {student_id for student_id, _opened_on in watches.values()}
                pairs = [pair for pair in pairs if pair[0] in watched]
        out: dict[str, str] = {}
        for student_id, due in pairs:
            if student_id not in out or due < out[student_id]:
                out[student_id] = due
        return out

    def open_at(self, asof: date, first: date, start: date, end: date) -> list[Task]:
        """Tasks still open at the end of ``asof`` for the students a report concerns."""
        self.store.check_open("tasks")
        concerned, cparams = _concerned(first, start, end, asof)
        return self._rows(f"(done_on IS NULL OR done_on > ?) AND student_id IN ({concerned})", (asof.isoformat(), *cparams))

    def add(self, txn: Txn, student_id: str, kind: str, due: date, data: dict, *, audit: bool = True) -> str:
        return self._insert(txn, {"kind": kind, **data}, {"student_id": student_id, "due_on": due.isoformat(), "done_on": None}, audit=audit)

    def finish(self, txn: Txn, task: dict, on: date, changes: dict, *, audit: bool = True) -> None:
        data = self.sealed(task)
        data.update(changes)
        self._update(txn, task["id"], data, {"done_on": on.isoformat()}, audit=audit)

    def reschedule(self, txn: Txn, task: dict, due: str, data: dict, *, audit: bool = False) -> None:
        self._update(txn, task["id"], data, {"due_on": due}, audit=audit)

    def save(self, txn: Txn, task: dict, *, audit: bool = True) -> None:
        self._update(txn, task["id"], self.sealed(task), audit=audit)


class Watches(_PerStudent):
    table = "watches"
    record = Watch
    _date_column = "opened_on"

    def open_for(self, student_id: str) -> list[Watch]:
        self.store.check_open("watches")
        return self._rows("student_id = ? AND closed_on IS NULL", (student_id,))

    def during(self, first: date, asof: date, *, clinical: bool = True) -> list[Watch]:
        """Watch episodes open at some moment from the day before ``first`` to ``asof`` (``clinical=False``: without reasons)."""
        self.store.check_open("watches")
        return self._rows("opened_on <= ? AND (closed_on IS NULL OR closed_on > ?)", (asof.isoformat(), _day_before(first)), clinical=clinical)

    def students_since(self, day: date) -> set[str]:
        """Students with a watch episode open on ``day`` or later, from the plaintext columns alone."""
        self.store.check_open("watches")
        rows = self.store.conn.execute("SELECT DISTINCT student_id FROM watches WHERE closed_on IS NULL OR closed_on >= ?", (day.isoformat(),))
        return {row[0] for row in rows}

    def open(self, txn: Txn, student_id: str, on: date, data: dict) -> str:
        return self._insert(txn, data, {"student_id": student_id, "opened_on": on.isoformat(), "closed_on": None})

    def close(self, txn: Txn, watch: dict, on: date, changes: dict) -> None:
        data = self.sealed(watch)
        data.update(changes)
        self._update(txn, watch["id"], data, {"closed_on": on.isoformat()})

    def reshape(self, txn: Txn, watch: dict, opened_on: str, closed_on: str | None, changes: dict) -> None:
        """Move an episode's days (a late entry changed when the watch began or ended)."""
        data = self.sealed(watch)
        data.update(changes)
        self._update(txn, watch["id"], data, {"opened_on": opened_on, "closed_on": closed_on})

    def remove(self, txn: Txn, watch: dict) -> None:
        """Delete an episode the replayed level history no longer has."""
        txn.delete(self.table, watch["id"])


# -- screening ---------------------------------------------------------------------------------


class Batches(_Repository):
    table = "batches"
    record = Batch
    _order = "imported_on, rowid"

    def by_content(self, key: str) -> list[Batch]:
        """Batches imported from the same file content (the blind index of its digest)."""
        out: list[Batch] = []
        for bi in self.store.blind_candidates(key, "batch"):
            out += self._rows("content_bi = ?", (bi,))
        return out

    def imported_between(self, start: date, end: date) -> list[Batch]:
        return self._rows("imported_on BETWEEN ? AND ?", (start.isoformat(), end.isoformat()), order="imported_on, rowid")

    def add(self, txn: Txn, data: dict, content_key: str, on: date) -> str:
        return self._insert(txn, data, {"content_bi": self.store.blind_index(content_key, "batch"), "imported_on": on.isoformat()})

    def save(self, txn: Txn, batch: dict, *, audit: bool = True) -> None:
        self._update(txn, batch["id"], self.sealed(batch), audit=audit)


class Responses(_PerStudent):
    table = "responses"
    record = Response
    _date_column = "on_date"

    def for_batch(self, batch_id: str) -> list[Response]:
        """A batch's responses in the order they were imported."""
        return self._rows("batch_id = ?", (batch_id,), order="rowid")

    def for_batches(self, batch_ids: Iterable[str]) -> list[Response]:
        return self._by_column("batch_id", batch_ids)

    def add(self, txn: Txn, batch_id: str, student_id: str, on: str, data: dict, *, finite: bool = False) -> str:
        """``finite``: ``data`` holds no NaN or infinity (the import checks its scores with numpy): it is sealed without a check."""
        return self._insert(txn, data, {"batch_id": batch_id, "student_id": student_id, "on_date": on}, audit=False, finite=finite)

    def save(self, txn: Txn, response: dict, *, audit: bool = False) -> None:
        self._update(txn, response["id"], self.sealed(response), audit=audit)


# -- referrals ---------------------------------------------------------------------------------


class Hospitals(_Repository):
    table = "hospitals"
    record = Hospital

    def add(self, txn: Txn, data: dict) -> str:
        return self._insert(txn, data)

    def save(self, txn: Txn, hospital: dict) -> None:
        self._update(txn, hospital["id"], self.sealed(hospital))


class Referrals(_PerStudent):
    table = "referrals"
    record = Referral
    _date_column = "referred_on"

    def newest_first(self) -> list[Referral]:
        return self._rows(order="referred_on DESC, rowid DESC")

    def add(self, txn: Txn, student_id: str, data: dict) -> str:
        return self._insert(txn, data, {"student_id": student_id, "hospital_id": data["hospital_id"], "referred_on": data["referred_on"]})

    def save(self, txn: Txn, referral_id: str, data: dict) -> None:
        self._update(txn, referral_id, data, {"hospital_id": data["hospital_id"]})


# -- campus signals (多源预警) ------------------------------------------------------------------


class Signals(_PerStudent):
    """Signals raised by campus data: one row per episode of one rule for one student, open until reviewed.

    The administrative part (rule, source, college, dates, hits, status,
    outcome, task) is sealed under the roster key so reports can count them;
    what triggered a signal, its explanation, history and the reviewer's reason
    are its clinical part.
    """

    table = "signals"
    record = Signal
    _date_column = "opened_on"
    _order = "opened_on, rowid"

    def open(self, student_id: str | None = None, *, clinical: bool = True) -> list[Signal]:
        """Open signals (of one student, or everyone's), oldest first."""
        self.store.check_open("signals")
        if student_id:
            return self._rows("closed_on IS NULL AND student_id = ?", (student_id,), order="opened_on, rowid", clinical=clinical)
        return self._rows("closed_on IS NULL", order="opened_on, rowid", clinical=clinical)

    def open_for_students(self, student_ids: Iterable[str]) -> list[Signal]:
        """The open signals of these students (one query per 500 ids)."""
        self.store.check_open("signals")
        return self._by_column("student_id", student_ids, "closed_on IS NULL", order="opened_on, rowid")

    def opened_between(self, start: date, end: date, *, clinical: bool = False) -> list[Signal]:
        """Signals opened from ``start`` to ``end`` (both included); by default without their clinical part (counts need none)."""
        return self._rows("opened_on BETWEEN ? AND ?", (start.isoformat(), end.isoformat()), order="opened_on, rowid", clinical=clinical)

    def open_at(self, asof: date, *, clinical: bool = False) -> list[Signal]:
        """Signals opened on or before ``asof`` and not reviewed by the end of that day."""
        self.store.check_open("signals")
        e = asof.isoformat()
        return self._rows("opened_on <= ? AND (closed_on IS NULL OR closed_on > ?)", (e, e), order="opened_on, rowid", clinical=clinical)

    @staticmethod
    def new_id() -> str:
        """A fresh record id, for a signal whose task must name it before it is written."""
        return os.urandom(8).hex()

    def add(self, txn: Txn, student_id: str, opened_on: str, data: dict, *, record_id: str | None = None) -> str:
        return self._insert(txn, data, {"student_id": student_id, "opened_on": opened_on, "closed_on": None}, record_id=record_id)

    def save(self, txn: Txn, signal: dict, *, audit: bool = True) -> None:
        self._update(txn, signal["id"], self.sealed(signal), audit=audit)

    def close(self, txn: Txn, signal: dict, on: date, changes: dict) -> None:
        data = self.sealed(signal)
        data.update(changes)
        self._update(txn, signal["id"], data, {"closed_on": on.isoformat()})

    # -- peer reports sealed to the counselors' inbox -------------------------------------------
    #
    # A peer-report signal (rule ``peer_report``) imported by a clerk keeps each report's clinical
    # content (description, reporter, told advisor …) as an inbox blob in its roster part:
    # ``inbox: [{"unit", "role", "blob"}]``, each blob bound to the signal, its place in the list and
    # its unit. Read with the clinical key, the blobs are opened and merged into the signal's clinical
    # part (``history``, ``facts``, ``explanation``) as if a counselor had imported them; the next
    # save by a clinical key moves them into ``clin`` for good.

    def _rows(self, where: str = "", params: Sequence = (), order: str = "", *, clinical: bool = True) -> list[Record]:
        rows = super()._rows(where, params, order, clinical=clinical)
        if clinical and any(r.get("inbox") for r in rows) and self.store.holds_clinical():
            rows = [self.record(open_inbox(self.store, r)) if r.get("inbox") else r for r in rows]
        return rows

    def get(self, record_id: str) -> Record:
        record = super().get(record_id)
        if record.get("inbox") and self.store.holds_clinical():
            record = self.record(open_inbox(self.store, record))
        return record


def inbox_aad_id(signal_id: str, index: int, unit: str, role: str) -> str:
    """What an inbox blob of a signal is bound to: the signal, its place in the signal's list, the unit and role that reported."""
    return f"signals/{signal_id}/{index}/{unit}\x1f{role}"


def report_key(item: dict) -> tuple[str, str]:
    """The unit and reporter role a peer report (a history item) comes from: one report of each per signal."""
    facts = item.get("facts") if isinstance(item.get("facts"), dict) else {}
    return (str(item.get("unit") or facts.get("unit") or ""), str(item.get("role") or facts.get("role") or ""))


def put_report(history: list[dict], item: dict) -> list[dict]:
    """``history`` with ``item`` in place of the earlier report of the same unit and role, or added."""
    key = report_key(item)
    out = [h for h in history if not (isinstance(h, dict) and report_key(h) == key)]
    out.append(item)
    return out


def peer_summary(history: list[dict]) -> dict:
    """A peer-report signal's clinical part from its reports: every description (the newest first), the reports' contents."""
    items = [h for h in history if isinstance(h, dict)]
    newest = sorted(items, key=lambda h: str(h.get("on") or ""), reverse=True)
    return {
        "history": items,
        "facts": {"reports": [h.get("facts") for h in items]},
        "explanation": "\n".join(str(h.get("explanation") or "") for h in newest if h.get("explanation")),
        "explanation_en": "\n".join(str(h.get("explanation_en") or h.get("explanation") or "") for h in newest if h.get("explanation_en") or h.get("explanation")),
    }


def open_inbox(store: Store, record: dict) -> dict:
    """A signal read with the clinical key, its inbox blobs opened and merged into its clinical part (no ``inbox`` left)."""
    history = list(record.get("history") or [])
    for index, item in enumerate(record.get("inbox") or []):
        if not isinstance(item, dict):
            item = {"blob": item}
        opened = store.inbox_open(item.get("blob") or "", inbox_aad_id(record["id"], index, str(item.get("unit") or ""), str(item.get("role") or "")))
        if isinstance(opened, dict):
            history = put_report(history, opened)
    merged = {k: v for k, v in record.items() if k != "inbox"}
    merged.update(peer_summary(history))
    return merged


class SignalFacts(_PerStudent):
    """The daily facts campus rules read, one row per student and source (``dorm``, ``card``, ``academic``).

    Sealed as a whole under the clinical key: nights out, meals and spending
    per day, course results. Raw passes and transactions are never stored.
    """

    table = "signal_facts"
    record = SignalFact

    def of_source(self, student_ids: Iterable[str], source: str) -> dict[str, SignalFact]:
        """The ``source`` facts of these students, by student id."""
        return {r["student_id"]: r for r in self._by_column("student_id", student_ids, "source = ?", (source,))}

    def all_of_source(self, source: str) -> list[SignalFact]:
        return self._rows("source = ?", (source,))

    def put(self, txn: Txn, student_id: str, source: str, data: dict, *, current: dict | None = None) -> str:
        """Store a student's facts of one source, replacing the record ``current`` (as read) when there is one."""
        if current is not None:
            self._update(txn, current["id"], data, audit=False)
            return current["id"]
        return self._insert(txn, data, {"student_id": student_id, "source": source}, audit=False)

    def remove(self, txn: Txn, record: dict) -> None:
        txn.delete(self.table, record["id"], audit=False)


# -- the 五级网络 (心理委员, 寝室长, 辅导员, 二级站负责人) and its reports ------------------------------------


class NetworkMembers(_Repository):
    """The network roster: one row per member and unit, sealed as a whole under the roster key.

    ``data``: college, unit_kind (``class``, ``dorm`` or ``college`` for a 二级站),
    unit (班级, 宿舍, or the college), role (``peer_monitor``, ``dorm_head``,
    ``advisor``, ``station_head``), person_no (学号/工号), name, phone.
    """

    table = "network_members"
    record = NetworkMember

    def add(self, txn: Txn, data: dict, *, audit: bool = True) -> str:
        return self._insert(txn, data, audit=audit)

    def save(self, txn: Txn, member: dict, *, audit: bool = True) -> None:
        self._update(txn, member["id"], self.sealed(member), audit=audit)

    def remove(self, txn: Txn, member_id: str, *, audit: bool = True) -> None:
        txn.delete(self.table, member_id, audit=audit)


class NetworkReports(_Repository):
    """The reports of the network's units, one per (unit_kind, unit, period): a re-import replaces it.

    ``period`` is plain (``2026-W48`` or ``2026-11``) so a period's reports are
    found without opening the others; ``data`` (roster key): college,
    unit_kind, unit, period, reporter, status (``zero`` 零报告 or ``concern``
    有情况), named (how many students it names), told_advisor, file, digest,
    imported_on, by. What it says of a named student is not here: it is in
    the student's peer-report signal (clinical key, or the counselors' inbox).
    """

    table = "network_reports"
    record = NetworkReport
    _order = "period, rowid"

    def for_period(self, period: str) -> list[NetworkReport]:
        return self._rows("period = ?", (period,), order="rowid")

    def for_periods(self, periods: Iterable[str]) -> list[NetworkReport]:
        return self._by_column("period", periods, order="period, rowid")

    def between(self, first: str, last: str) -> list[NetworkReport]:
        """Reports whose period sorts from ``first`` to ``last`` (both included; ``2026-11`` < ``2026-W48`` as text: ask per kind)."""
        return self._rows("period BETWEEN ? AND ?", (first, last), order="period, rowid")

    def find(self, unit_kind: str, unit: str, period: str) -> NetworkReport | None:
        for report in self.for_period(period):
            if report.get("unit_kind") == unit_kind and report.get("unit") == unit:
                return report
        return None

    def put(self, txn: Txn, data: dict, *, current: dict | None | EllipsisType = ..., audit: bool = True) -> str:
        """Store a report, replacing the one of the same unit_kind, unit and period (it keeps its id); returns the id.

        ``current`` is that report as the caller already read it (None: there is
        none); left out, it is looked up here.
        """
        period = str(data["period"])
        if current is ...:
            current = self.find(data.get("unit_kind"), data.get("unit"), period)
        record = {k: v for k, v in data.items() if k not in ("id", "period")}
        if current is not None:
            self._update(txn, current["id"], record, {"period": period}, audit=audit)
            return current["id"]
        return self._insert(txn, record, {"period": period}, audit=audit)

    def remove(self, txn: Txn, report_id: str, *, audit: bool = True) -> None:
        txn.delete(self.table, report_id, audit=audit)


# -- staff and sealed settings -----------------------------------------------------------------


class StaffRows(_Repository):
    table = "staff"
    record = StaffRow

    def names(self) -> set[str]:
        return {row["name"] for row in self._rows()}

    def display_names(self) -> dict[str, str]:
        """Login name → the name people read (张华), for every member ever added: removed members' records remain."""
        return {row["name"]: row.get("display_name") or row["name"] for row in self._rows()}

    def named(self, name: str, *, active_only: bool = False) -> list[StaffRow]:
        """The members a person means by ``name``: the one whose login it is, else those whose display name it is (one, if it names somebody)."""
        rows = [r for r in self._rows() if r.get("active") or not active_only]
        return [r for r in rows if r["name"] == name] or [r for r in rows if (r.get("display_name") or "") == name]


class SealedValues:
    """Small sealed values kept under a name (``sealed_meta``): settings, export keys."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, key: str):
        row = self.store.conn.execute("SELECT data FROM sealed_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else self.store.unseal("sealed_meta", key, row[0])

    def put(self, txn: Txn, key: str, value) -> None:
        txn.put_value(key, value)

    def get_many(self, keys: Iterable[str]) -> dict:
        """The values of those ``keys`` that exist, by key (one query per 500 keys)."""
        out = {}
        for chunk in _chunks(keys):
            for key, blob in self.store.conn.execute(f"SELECT key, data FROM sealed_meta WHERE key IN ({_marks(chunk)})", chunk):
                out[key] = self.store.unseal("sealed_meta", key, blob)
        return out

    def keys_under(self, prefix: str) -> list[str]:
        """The keys starting with ``prefix`` (not empty), no value opened."""
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return [row[0] for row in self.store.conn.execute("SELECT key FROM sealed_meta WHERE key >= ? AND key < ?", (prefix, after))]

    def delete(self, txn: Txn, key: str) -> None:
        txn.delete("sealed_meta", key, audit=False)


def index_columns(store: Store, table: str, value: dict) -> dict:
    """The blind-index columns a record's sealed value determines, computed with the current keys (for re-sealing).

    An erased student's placeholder keeps its random index: it must stay unfindable.
    """
    if table == "students" and not value.get("erased"):
        return {"student_no_bi": store.blind_index(student_numbers.normalise(value["student_no"]))}
    if table == "batches":
        return {"content_bi": store.blind_index(value["content_key"], "batch")}
    return {}


# The tables that hold a student's own records, erased with the student.
STUDENT_TABLES: tuple[type[_PerStudent], ...] = (Entries, Tasks, Watches, Responses, Referrals, Signals, SignalFacts)
