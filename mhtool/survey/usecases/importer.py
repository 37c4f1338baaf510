"""Survey import: an export file in, scored screening results and interview tasks in the store.

Two halves, beangulp-style:

* :func:`plan_import` is pure apart from reading the file: it parses, scores,
  resolves duplicate submissions and collects every problem as data. Nothing
  touches the store.
* :func:`check_import` holds a plan against the store (an earlier import of
  the same file, stored names, college scope) and settles the batch's
  expected cohort (:func:`expected_cohort`) without writing — except the
  ``denied`` audit entry of rows refused by college scope, which even a dry
  run records — and
  :func:`write_import` writes it in one transaction — batch, dossiers, sealed
  responses, interview tasks and the audit entry — or writes nothing.

A census export has tens of thousands of rows. The sheet is read in chunks
(:class:`mhtool.io.readers.ExportReader`) and each chunk is decoded and scored
with numpy as it comes; the plan keeps each row's outcome and its chunk's
scores as arrays, and builds a row's result and answers only when asked. What
the import holds therefore does not grow with the cells of the sheet, and
pandas is not needed.

Batches are listed, voided and re-scored here too. Permission checks and the
rejects workbook are the caller's: :class:`mhtool.survey.usecases.api.Survey`.
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.cases.usecases.roster import audit_scope_refusals, out_of_scope, stored_student_problems
from mhtool.domain import dates
from mhtool.domain.vocabulary import WATCH_LEVELS, normalise_grade
from mhtool.errors import InvalidInput, NotFound, Problem, UsageError
from mhtool.i18n import _

if TYPE_CHECKING:
    from mhtool.io.readers import ExportChunk, ExportReader
    from mhtool.survey.domain.scoring import ScoredRows

ROSTER_KEYS = ("name", "gender", "college", "major", "grade", "class_name", "dorm", "phone")
ANSWER_MODES = ("auto", "position", "score", "text")
# Rows read, decoded and scored at a time: large enough for numpy to pay, small enough to stay flat in memory.
CHUNK_ROWS = 2048


@contextmanager
def paused_gc() -> Iterator[None]:
    """No garbage collection during bulk work, which makes hundreds of thousands of objects that all stay alive.

    A collection would walk them all and free nothing. Objects that existed
    before are frozen out of later collections' way meanwhile; everything is
    as before when the block ends, by an error too.
    """
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


@dataclass(eq=False, slots=True)
class RowOutcome:
    row: int
    student_no: str | None
    roster: dict
    status: str  # "ok" | "rejected" | "superseded"
    problems: list[Problem] = field(default_factory=list)
    submitted_at: str | None = None
    superseded_by: int | None = None
    # The row's chunk's scores and its place among them, when it was scored.
    scored: ScoredRows | None = field(default=None, repr=False)
    at: int = -1

    @property
    def result(self) -> dict | None:
        """Scores, band, flags, proposed level and instrument version (None when the row could not be scored)."""
        return None if self.scored is None else self.scored.record(self.at)

    @property
    def answers(self) -> dict | None:
        """The decoded form value of each item (``"1"`` …), None when unanswered."""
        return None if self.scored is None else self.scored.answers(self.at)

    @property
    def proposed_level(self) -> str | None:
        return None if self.scored is None else self.scored.level(self.at)


@dataclass
class ImportPlan:
    file: str
    path: Path
    sheet: str
    profile: str
    header_row: int
    instrument: str
    version: str
    mode: str
    content_key: str
    rows: list[RowOutcome]
    mapping: list[dict]
    item_count: int
    warnings: list[str] = field(default_factory=list)  # about the whole sheet (e.g. a partial supplementary block)

    @property
    def accepted(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.status == "ok"]

    @property
    def rejected(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.status == "rejected"]

    @property
    def superseded(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.status == "superseded"]

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.rejected for p in r.problems]

    def proposed_counts(self) -> dict[str, int]:
        counts = Counter(r.proposed_level for r in self.accepted)
        return {lv: counts.get(lv, 0) for lv in WATCH_LEVELS}


def content_key(data: bytes, instrument: str) -> str:
    return hashlib.sha256(data).hexdigest() + ":" + instrument


def _answer_mode(profile: str, chunk: ExportChunk, requested: str) -> str:
    """Which reading of numbers: 问卷星 downloads option positions by default (按选项序号).

    ``chunk``: the export's first rows; the cells of the first 200 are looked at, empty ones included.
    """
    if requested not in ANSWER_MODES:
        raise UsageError(_("--answers {value!r} is not one of {modes}").format(value=requested, modes=", ".join(ANSWER_MODES)))
    if requested == "score":
        return "value"
    if requested != "auto":
        return requested
    if profile == "wjx":
        rows = min(200, len(chunk.rows))
        sample = [v for k in range(len(chunk.codes)) for v in chunk.answers(k)[:rows]]
        numeric = sum(1 for v in sample if isinstance(v, (int, float)) or (isinstance(v, str) and v.strip().lstrip("-").replace(".", "", 1).isdigit()))
        if sample and numeric / len(sample) > 0.5:
            return "position"
    return "auto"


def _iso(value: datetime | None) -> str | None:
    # A row whose submission time is empty or unreadable has none (it is dated by the import).
    return None if value is None else value.isoformat()


def plan_import(
    path: str | Path,
    instrument_code: str,
    *,
    profile: str = "auto",
    answers: str = "auto",
    sheet: str | int | None = None,
    instrument_dirs=None,
    profile_dirs=None,
    policy=None,
    password: str | None = None,
) -> ImportPlan:
    """Read, map, score and check one export. Raises only for file-level problems."""
    from mhtool.io import readers
    from mhtool.survey.usecases import registry

    path = Path(path)
    try:
        instrument = registry.instrument(instrument_code, instrument_dirs)
    except NotFound as exc:
        raise UsageError(f"--instrument: {exc.message}", hint=exc.hint) from None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(_("{path}: no such file").format(path=path)) from None
    except IsADirectoryError:
        raise InvalidInput(_("{path} is a folder; give the export file").format(path=path)) from None
    try:
        return _plan(path, data, instrument, profile, answers, sheet, profile_dirs, policy, password, again=False)
    except readers.ReadAgain:
        return _plan(path, data, instrument, profile, answers, sheet, profile_dirs, policy, password, again=True)


def _plan(path: Path, data: bytes, instrument, profile, answers, sheet, profile_dirs, policy, password, *, again: bool) -> ImportPlan:
    """``again``: the sheet read whole, and each answer column's distinct cells kept apart (see :class:`~mhtool.io.readers.ReadAgain`)."""
    from mhtool.io import readers

    outcomes: list[RowOutcome] = []
    mode = "auto"
    notes: list[str] = []
    with paused_gc(), readers.open_sheet(path, sheet, password=password, data=data, pieces=not again) as source:
        # numpy comes in while the sheet's first pieces are parsed on the other thread.
        from mhtool.survey.domain import scoring

        try:
            export = readers.ExportReader(
                source, accepted_item_counts=instrument.accepted_item_counts, profile=profile, profiles_dirs=profile_dirs, per_column=again
            )
        except (InvalidInput, UsageError) as exc:
            if not source.readable():
                raise readers.ReadAgain from exc
            raise
        tiers = scoring.ScreeningPolicy.coerce(policy).tiers_for(instrument)
        # The scorer names items; the user needs the column they can find in the file.
        labels: dict[str, str] = {}
        for c in export.item_columns:
            for name in (str(c.item), f"第{c.item}题"):
                labels.setdefault(name, f"{c.column_letter} {c.header}".strip())
        decoder = None
        at = [c.column_index for c in export.item_columns]
        fold = export.reader.fold
        try:
            for chunk in export.chunks(CHUNK_ROWS):
                if decoder is None:
                    mode = _answer_mode(export.profile.name, chunk, answers)
                    decoder = instrument.decoder([c.item for c in export.item_columns], mode)
                cells = chunk.cells
                values, invalid, problems = decoder.decode(chunk.rows, chunk.codes, chunk.values, cell=lambda ri, k: fold(cells[ri][at[k]]))
                scored = scoring.score_rows(instrument, values, invalid, chunk.rows, decoder.items, problems, tiers).compact()
                notes = scored.notes
                outcomes += _outcomes(export, chunk, scored, labels)
        except (InvalidInput, UsageError) as exc:
            # Read whole, a damaged sheet fails before any of this is found: so it must here too.
            if not source.readable():
                raise readers.ReadAgain from exc
            raise
        mapping = export.describe()
    _resolve_duplicates(outcomes, export.file, export.sheet)
    return ImportPlan(
        file=export.file,
        path=path,
        sheet=export.sheet,
        profile=export.profile.name,
        header_row=export.header_row,
        instrument=instrument.code,
        version=instrument.version,
        mode=mode,
        content_key=content_key(data, instrument.code),
        rows=outcomes,
        mapping=mapping,
        item_count=len(export.item_columns),
        warnings=list(notes),
    )


def _outcomes(export: ExportReader, chunk: ExportChunk, scored: ScoredRows, labels: dict[str, str]) -> list[RowOutcome]:
    """Each row of a chunk with its roster fields, problems and place among the chunk's scores."""
    by_row: dict[int, list[Problem]] = {}
    for p in chunk.problems:
        by_row.setdefault(p.row, []).append(p)
    for p in scored.problems:
        column = labels.get(str(p.column), p.column)
        by_row.setdefault(p.row, []).append(Problem(p.message, file=export.file, sheet=export.sheet, row=p.row, column=column, value=p.value))
    wanted = [k for k in chunk.fields if k in ROSTER_KEYS or k == "student_no"]
    columns = [chunk.fields[k] for k in wanted]
    submitted = chunk.submitted
    valid = scored.valid.tolist()
    out = []
    at = 0
    for i, row in enumerate(chunk.rows):
        fields = {k: (None if v is None or v == "" else str(v)) for k, v in zip(wanted, (c[i] for c in columns))}
        if "grade" in fields:
            fields["grade"] = normalise_grade(fields["grade"])
        student_no = fields.pop("student_no", None)
        problems = by_row.get(row, [])
        if not student_no and not any(p.column and "学号" in str(p.column) for p in problems):
            problems.append(Problem(_("no student number"), file=export.file, sheet=export.sheet, row=int(row), column="学号"))
        if not valid[i] and not problems:
            problems.append(Problem(_("row could not be scored"), file=export.file, sheet=export.sheet, row=int(row)))
        outcome = RowOutcome(
            row=int(row),
            student_no=student_no,
            roster=fields,
            status="rejected" if problems else "ok",
            problems=problems,
            submitted_at=_iso(submitted[i]) if submitted is not None else None,
        )
        if valid[i]:
            outcome.scored, outcome.at = scored, at
            at += 1
        out.append(outcome)
    return out


def mapping_rows(plan: ImportPlan, rows: int = 3) -> list[dict]:
    """The dry-run view: for each column, what it became and what the first rows turned into.

    Item cells show ``raw → value`` with the form value the scorer used, so a
    misaligned export (answers under 姓名, names under an item) is visible
    before anything is imported.
    """
    by_row = {o.row: o for o in plan.rows}
    out = []
    for col in plan.mapping:
        if col["kind"] == "ignored":
            continue
        target = col["target"]
        if col["kind"] == "item":
            where = f"第{target}题"
        elif col["kind"] == "field":
            where = str(target)
        else:
            where = "-"
        row = {"column": col["column"], "header": str(col["header"])[:24], "becomes": where}
        for i, sample in enumerate(col["values"][:rows], start=1):
            raw = "" if sample["raw"] is None else str(sample["raw"])
            shown = raw
            if col["kind"] == "item":
                outcome = by_row.get(sample["row"])
                value = (outcome.answers or {}).get(str(target)) if outcome and outcome.answers else None
                shown = f"{raw} → {value if value is not None else '?'}"
            elif col["kind"] == "field" and sample["value"] not in (None, raw):
                shown = f"{raw} → {sample['value']}"
            row[f"row {sample['row']}"] = shown
        out.append(row)
    return out


def _resolve_duplicates(outcomes: list[RowOutcome], file: str, sheet: str) -> None:
    """One student, several submissions: keep the latest; two names for one number: reject both."""
    groups: dict[str, list[RowOutcome]] = {}
    for o in outcomes:
        if o.student_no and o.status == "ok":
            groups.setdefault(o.student_no, []).append(o)
    for no, rows in groups.items():
        if len(rows) < 2:
            continue
        names = {r.roster.get("name") for r in rows if r.roster.get("name")}
        if len(names) > 1:
            listed = "、".join(sorted(names))
            for r in rows:
                r.status = "rejected"
                r.problems.append(
                    Problem(
                        _("student number {student_no} appears with different names ({names}); check which is right").format(
                            student_no=no, names=listed
                        ),
                        file=file,
                        sheet=sheet,
                        row=r.row,
                        column="姓名",
                        value=r.roster.get("name"),
                    )
                )
            continue
        latest = max(rows, key=lambda r: (r.submitted_at or "", r.row))
        for r in rows:
            if r is not latest:
                r.status = "superseded"
                r.superseded_by = latest.row


# -- writing -------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    batch: str | None
    rows: int
    imported: int
    superseded: int
    rejected: int
    students_created: int
    students_updated: int
    proposed: dict
    already_imported: str | None = None
    dry_run: bool = False
    rejects_file: str | None = None
    superseded_rows: list[dict] = field(default_factory=list)
    conflicts: list[Problem] = field(default_factory=list)
    cohort: list[str] = field(default_factory=list)  # the grades expected to take part (empty: unknown)

    def as_dict(self) -> dict:
        out = {
            "batch": self.batch,
            "rows": self.rows,
            "imported": self.imported,
            "superseded": self.superseded,
            "rejected": self.rejected,
            "students_created": self.students_created,
            "students_updated": self.students_updated,
            "proposed": self.proposed,
            "cohort": self.cohort,
        }
        if self.already_imported:
            out["already_imported"] = self.already_imported
        if self.dry_run:
            out["dry_run"] = True
        if self.rejects_file:
            out["rejects_file"] = self.rejects_file
        return out


def find_existing_batch(store, key: str) -> dict | None:
    """The batch (not void) already imported from the same file content, if any."""
    return next((b for b in store.batches.by_content(key) if not b.get("voided")), None)


def write_rejects(plan: ImportPlan, path: Path) -> Path:
    from mhtool.io.xlsx import write_table_xlsx

    headers = ["行 row", "学号 student_no", "姓名 name", "列 column", "值 value", "原因 reason"]
    rows = []
    for o in plan.rejected:
        for p in o.problems:
            rows.append([o.row, o.student_no or "", o.roster.get("name") or "", p.column or "", p.value or "", p.message])
    return write_table_xlsx(path, "rejects", headers, rows)


@dataclass
class ImportCheck:
    """A plan held against the store: what importing it would do, and the dossiers it touches."""

    summary: ImportSummary
    existing: dict[str, dict] = field(default_factory=dict)
    read_version: int | None = None  # the store's data_version when ``existing`` was read


def cohort_option(values) -> list[str]:
    """``--cohort`` values in the grades' one form (``2026`` → ``2026级``), each once."""
    out = []
    for value in values or ():
        grade = normalise_grade(value)
        if grade is None:
            raise UsageError(_("--cohort is empty"), hint=_("name a grade, e.g. --cohort 2026级 (repeat it for several grades)"))
        out.append(grade)
    return sorted(set(out))


def expected_cohort(plan: ImportPlan, existing: dict[str, dict], requested: list[str] | None = None) -> list[str]:
    """The grades a batch expects to take part (参与率's denominator): ``requested`` (``--cohort``) when given,
    else the grades of the export's accepted rows, else (no 年级 column) those of the matched students' dossiers.

    Empty when none of these names a grade: the cohort is unknown, never "every grade".
    """
    if requested:
        return sorted(set(requested))
    found = _grades(o.roster.get("grade") for o in plan.accepted)
    if not found:
        found = _grades(existing[o.student_no].get("grade") for o in plan.accepted if o.student_no in existing)
    return sorted(found)


def _grades(values) -> set[str]:
    # Each distinct value normalised once: a census repeats a handful of grades over tens of thousands of rows.
    return set(map(normalise_grade, set(values))) - {None}


def check_import(store, plan: ImportPlan, *, skip_invalid: bool = False, dry_run: bool = False, cohort: list[str] | None = None) -> ImportCheck:
    """What importing ``plan`` would do; refuses (writing nothing) when rows have problems and ``skip_invalid`` is off.

    Rows whose numbers lie outside the user's colleges are refused with one
    message that names nothing stored, and the refusal is audited (on a dry
    run too: the one write a dry run makes).
    """
    previous = find_existing_batch(store, plan.content_key)
    if previous is not None:
        summary = ImportSummary(
            batch=previous["id"], rows=len(plan.rows), imported=0, superseded=0, rejected=0,
            students_created=0, students_updated=0, proposed=dict.fromkeys(WATCH_LEVELS, 0),
            already_imported=previous["id"], dry_run=dry_run, cohort=list(previous.get("cohort") or []),
        )
        return ImportCheck(summary)
    read_version = store.data_version()
    existing = store.students.by_numbers(o.student_no for o in plan.accepted)
    refused = []
    for o in plan.accepted:
        if out_of_scope(store, o.student_no, o.roster.get("college"), existing):
            refused.append(o.student_no)
        found = stored_student_problems(store, o.row, o.student_no, o.roster.get("name"), o.roster.get("college"), existing, file=plan.file, sheet=plan.sheet)
        if found:
            o.status = "rejected"
            o.problems.extend(found)
    audit_scope_refusals(store, "survey.import", refused, existing, dry_run=dry_run)
    summary = ImportSummary(
        batch=None,
        rows=len(plan.rows),
        imported=len(plan.accepted),
        superseded=len(plan.superseded),
        rejected=len(plan.rejected),
        students_created=sum(1 for o in plan.accepted if o.student_no not in existing),
        students_updated=0,
        proposed=plan.proposed_counts(),
        dry_run=dry_run,
        superseded_rows=[{"row": o.row, "student_no": o.student_no, "kept_row": o.superseded_by} for o in plan.superseded],
        cohort=expected_cohort(plan, existing, cohort),
    )
    if plan.rejected and not skip_invalid:
        raise InvalidInput(
            _("{file}: {rejected} of {total} rows have problems; nothing was imported").format(
                file=plan.file, rejected=len(plan.rejected), total=len(plan.rows)
            ),
            problems=plan.problems,
            hint=_("fix the rows listed, or pass --skip-invalid to import the valid rows and write the rejected ones to a rejects workbook"),
        )
    if not plan.accepted:
        raise InvalidInput(_("{file}: no valid rows to import; nothing was imported").format(file=plan.file), problems=plan.problems)
    return ImportCheck(summary, existing, read_version)


def write_import(store, plan: ImportPlan, check: ImportCheck, *, today: date, batch_name: str | None = None, back_dated: bool = False, progress=None) -> str:
    """Write a checked plan in one transaction (or nothing, on any problem); returns the new batch id.

    ``today`` is the day the export arrived: interview tasks are due from it.
    ``back_dated`` records the import at 09:00 of that day rather than now
    (the demo's simulated census).
    """
    from mhtool.cases.usecases import service as cases

    summary = check.summary
    now = dates.now(store.tz)
    imported_at = datetime.combine(today, dtime(9, 0), tzinfo=now.tzinfo) if back_dated else now
    with paused_gc(), store.write("survey.import", details={"file": plan.file, "instrument": plan.instrument}) as txn:
        batch_record = {
            "name": batch_name or f"{plan.instrument}-{today.isoformat()}",
            "instrument": plan.instrument,
            "version": plan.version,
            "file": plan.file,
            "sheet": plan.sheet,
            "profile": plan.profile,
            "answer_mode": plan.mode,
            "content_key": plan.content_key,
            "imported_at": imported_at.isoformat(timespec="seconds"),
            "imported_by": store.staff.name,
            "rows": summary.rows,
            "imported": summary.imported,
            "superseded": summary.superseded,
            "rejected": summary.rejected,
            "proposed": summary.proposed,
            "cohort": summary.cohort,
            "voided": False,
        }
        batch_id = store.batches.add(txn, batch_record, plan.content_key, today)
        open_interviews = cases.open_interview_tasks(store)
        accepted = plan.accepted
        tick = progress or (lambda n=1: None)
        with txn.bulk():
            upsert = cases.upsert_students(
                txn,
                [{"student_no": o.student_no, "_row": o.row, **{k: v for k, v in o.roster.items() if v}} for o in accepted],
                source=f"batch:{batch_id}",
                existing=check.existing,
                read_version=check.read_version,
            )
            if upsert.conflicts:
                raise InvalidInput(
                    _("{file}: name conflicts with stored dossiers; nothing was imported").format(file=plan.file), problems=upsert.conflicts
                )
            summary.students_created = upsert.created
            summary.students_updated = upsert.updated
            for o in accepted:
                sid = upsert.ids[o.student_no]
                result = o.result
                response = {
                    "instrument": plan.instrument,
                    "version": plan.version,
                    "row": o.row,
                    "file": plan.file,
                    "sheet": plan.sheet,
                    "submitted_at": o.submitted_at,
                    "scores": result["scores"],
                    "band": result["band"],
                    "flags": result["flags"],
                    "proposed_level": result["proposed_level"],
                    "answers": o.answers,
                    "student_no": o.student_no,
                    **{k: o.roster.get(k) for k in ("name", "gender", "college", "major", "grade", "class_name")},
                }
                # A chunk whose scores hold no NaN nor infinity is sealed without looking for them again.
                rid = store.responses.add(txn, batch_id, sid, (o.submitted_at or today.isoformat())[:10], response, finite=o.scored.finite)
                cases.schedule_screening_interview(
                    txn, sid, result["proposed_level"], today, open_interviews=open_interviews, batch_id=batch_id, response_id=rid, instrument=plan.instrument
                )
                tick()
        txn.target(f"batches/{batch_id}")
        txn.details.update(rows=summary.imported, proposed=summary.proposed)
    summary.batch = batch_id
    return batch_id


# -- batches ---------------------------------------------------------------------------------------


def list_batches(store) -> list[dict]:
    """Every imported batch, oldest first (audited as a read)."""
    out = [
        {
            "id": b["id"],
            "name": b.get("name"),
            "instrument": b["instrument"],
            "version": b.get("version"),
            "file": b["file"],
            "imported_at": b["imported_at"],
            "imported_by": b.get("imported_by"),
            "rows": b["rows"],
            "imported": b["imported"],
            "rejected": b.get("rejected", 0),
            "cohort": b.get("cohort"),
            "voided": bool(b.get("voided")),
        }
        for b in store.batches.all()
    ]
    store.audit_read("survey.batches")
    return out


def batch_detail(store, batch_ref: str) -> dict:
    """One batch with its bands, proposed levels and colleges counted over the reader's colleges (audited)."""
    batch = store.batches.get(store.batches.resolve(batch_ref, "batch"))
    bands: Counter = Counter()
    levels: Counter = Counter()
    colleges: Counter = Counter()
    for r in store.responses.for_batch(batch.id):
        if not store.in_scope(r.get("college")):
            continue
        bands[r["band"]] += 1
        levels[r["proposed_level"]] += 1
        colleges[r.get("college") or ""] += 1
    store.audit_read("survey.batch", targets=[f"batches/{batch.id}"])
    detail = {k: v for k, v in batch.items() if k not in ("content_bi", "content_key")}
    detail.update(bands=dict(bands), proposed_levels=dict(levels), colleges=dict(colleges))
    return detail


def void_batch(store, batch_ref: str, reason: str, *, today: date) -> dict:
    """Hide a mistaken batch and cancel its open interview tasks; interviews already recorded stay."""
    if not (reason or "").strip():
        raise UsageError(_("voiding a batch needs --reason"))
    batch = store.batches.get(store.batches.resolve(batch_ref, "batch"))
    if batch.get("voided"):
        raise UsageError(_("batch {batch} is already void").format(batch=batch.id))
    cancelled = 0
    with store.write("survey.void", targets=[f"batches/{batch.id}"], details={"reason": reason}) as txn:
        voided = {**batch, "voided": True, "void_reason": reason, "voided_by": store.staff.name, "voided_at": dates.now(store.tz).isoformat(timespec="seconds")}
        store.batches.save(txn, voided)
        for task in store.tasks.open():
            if task.get("kind") == "interview" and task.get("batch_id") == batch.id:
                store.tasks.finish(txn, task, today, {"cancelled": True, "cancel_reason": f"batch voided: {reason}", "done_by": store.staff.name})
                cancelled += 1
    return {"batch": batch.id, "voided": True, "tasks_cancelled": cancelled}


def rescore_batch(store, batch_ref: str, *, instrument_dirs=None) -> dict:
    """Re-score a batch's stored answers under the current instrument version (explicit, audited)."""
    import pandas as pd

    from mhtool.survey.domain import scoring
    from mhtool.survey.usecases import registry

    batch = store.batches.get(store.batches.resolve(batch_ref, "batch"))
    instrument = registry.instrument(batch["instrument"], instrument_dirs)
    responses = store.responses.for_batch(batch.id)
    if not responses:
        return {"batch": batch.id, "rescored": 0, "changed": 0, "version": instrument.version}
    frame = pd.DataFrame(
        [{int(k): v for k, v in r["answers"].items()} for r in responses],
        index=range(1, len(responses) + 1),
    )
    scored = scoring.score_raw(instrument, frame, mode="value")
    if scored.problems:
        raise InvalidInput(
            _("batch {batch} no longer scores under {instrument} {version}").format(batch=batch.id, instrument=instrument.code, version=instrument.version),
            problems=scored.problems[:20],
        )
    records = {rec["row"]: rec for rec in scored.records()}
    results = ("version", "scores", "band", "flags", "proposed_level")
    changed = 0
    with store.write("survey.rescore", targets=[f"batches/{batch.id}"], details={"version": instrument.version}) as txn:
        for i, r in enumerate(responses, start=1):
            rec = records[i]
            history = [*(r.get("previous") or []), {k: r[k] for k in results}]
            rescored = {**r, "scores": rec["scores"], "band": rec["band"], "flags": rec["flags"], "proposed_level": rec["proposed_level"], "version": instrument.version, "previous": history}
            if any(rescored[k] != r[k] for k in results):
                changed += 1
            store.responses.save(txn, rescored)
        history = [*(batch.get("rescored") or []), {"at": dates.now(store.tz).isoformat(timespec="seconds"), "by": store.staff.name, "version": instrument.version}]
        store.batches.save(txn, {**batch, "rescored": history, "version": instrument.version})
    return {"batch": batch.id, "rescored": len(responses), "changed": changed, "version": instrument.version}


def score_file(path: str | Path, instrument_code: str, *, profile: str = "generic", answers: str = "auto", sheet=None, password: str | None = None) -> ImportPlan:
    """Score a sheet without any store (``survey score``)."""
    return plan_import(path, instrument_code, profile=profile, answers=answers, sheet=sheet, password=password)


__all__ = ["plan_import", "check_import", "write_import", "ImportPlan", "ImportSummary", "list_batches", "batch_detail", "void_batch", "rescore_batch", "score_file", "NotFound"]
