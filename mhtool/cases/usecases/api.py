"""``center.cases``: the operations on dossiers (一人一档), one method per ``mhtool cases`` command.

Every method checks the caller's role and the student's college first, then
applies the domain rules, then writes one transaction with its audit entry
(or audits the read before it returns personal data). Values come in plain:
text as typed on the command line (``"红色"``, ``"yesterday"``,
``"母亲,李某,138…"``) or Python values (``date``, lists); ``None`` means not
given, and a missing required value is refused naming the flag that gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.cases.domain import model, recording, views
# roster and interviews read workbooks: imported by the methods that do, not by every command.
from mhtool.cases.usecases import dossier, service
from mhtool.domain import dates
from mhtool.domain.labels import label
from mhtool.errors import ChangedMeanwhile, NotFound, Problem, UsageError
from mhtool import i18n
from mhtool.i18n import _

if TYPE_CHECKING:
    from mhtool.app.center import Center


@dataclass
class Recorded:
    """What recording one event wrote."""

    student_no: str
    name: str
    on: date
    kinds: list[str]  # the kinds of the entries written, in order
    entry_ids: list[str]
    corrects: str | None = None  # the id of the entry this one corrects
    next_tasks: list[tuple[str, date]] = field(default_factory=list)  # (kind, due) of the tasks scheduled
    warnings: list[str] = field(default_factory=list)  # what the record lacks against the norms
    notices: list[str] = field(default_factory=list)  # what a late entry (补录) changed in the level history
    level: str | None = None  # the current level after it, when it bore on the level


@dataclass
class Saved:
    """A dossier header created or changed."""

    student_no: str
    name: str
    changed: list[str]
    unknown_counselor: bool = False  # the counselor named is no staff member: `cases tasks --mine` finds nobody


@dataclass
class Reminded:
    """A reminder task added to a dossier."""

    task_id: str
    student_no: str
    due: date
    unknown_counselor: bool = False


@dataclass
class InterviewImport:
    """An interview sheet imported (or checked): the counts, every problem, and the rejects workbook if one was written."""

    summary: dict
    problems: list[Problem]
    rejects_file: Path | None = None


@dataclass
class Exported:
    """A dossier workbook written through the export gateway."""

    path: Path
    timeline_entries: int


class Cases:
    """Dossiers for one signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center
        self.store = center.store

    # -- reading --------------------------------------------------------------------------------

    def show(self, student_no: str, *, kinds: Iterable[str] | None = None) -> dict:
        """One student's dossier as the caller may see it (clinical content for counselors only); audited.

        For an erased student: ``{"student_no", "erased": {when, by whom, basis, reason, pseudonym}}`` and nothing personal.
        """
        try:
            shown = dossier.dossier(self.store, student_no, kinds=set(kinds) if kinds else None)
        except NotFound:
            gone = dossier.erased(self.store, student_no, self.center.erased_pseudonym(student_no))
            if gone is None:
                raise
            return gone
        views.name_screening(shown["timeline"], self.center.instrument_names(views.screening_instruments(shown["timeline"])))
        return shown

    def list(
        self,
        *,
        level: str | None = None,
        college: str | None = None,
        group: str | None = None,
        status: str | None = None,
        counselor: str | None = None,
        overdue: bool = False,
        due_within: int | None = None,
        include_unwatched: bool = False,
    ) -> list[dict]:
        """Watched students (everyone with ``include_unwatched``) with level, status and next due task; audited.

        ``counselor`` is a staff login or the name people read for one (张华), as lists show it.
        """
        filters = views.list_filters(
            level=level, college=college, group=group, status=status, counselor=self._login(counselor),
            overdue=overdue, due_within=due_within, include_unwatched=include_unwatched,
        )
        return dossier.list_students(self.store, filters)

    def find(self, text: str) -> list[dict]:
        """Students whose name or number contains ``text``; audited."""
        return dossier.find_students(self.store, text)

    def tasks(self, *, overdue: bool = False, mine: bool = False, due_within: int | None = None) -> list[dict]:
        """Open tasks with their students, earliest first; audited."""
        return dossier.task_list(self.store, overdue=overdue, mine=mine, due_within=due_within)

    def check(self, *, college: str | None = None) -> list[dict]:
        """三个明确: watched students lacking basic information, a recent state or a help measure; audited."""
        return dossier.check(self.store, college=college)

    def export(self, student_no: str, out: str | Path, *, lang: str = "zh", purpose: str | None = None) -> Exported:
        """Write the dossier as a printable workbook at ``out`` (a file, or a folder for the default name), through the export gateway."""
        from mhtool.io.xlsx import out_path_for, write_report

        store = self.store
        store.require("dossier", action="cases.export")
        # Scope before purpose: a refusal is a refusal, not a request for a reason.
        student = service.load_student(store, student_no, action="cases.export")
        target = out_path_for(out, f"{label('dossier', 'file', lang)}_{student_no}.xlsx")
        shown: dict = {}

        def write(path: Path) -> None:
            shown.update(dossier.dossier_view(store, student))
            views.name_screening(shown["timeline"], self.center.instrument_names(views.screening_instruments(shown["timeline"])))
            generated = dates.now(store.tz).replace(tzinfo=None, microsecond=0)
            report = views.export_report(shown, lang=lang, generated_at=generated, staff_names=store.staff_rows.display_names())
            write_report(report, path)

        path = self.center.exports.publish(
            target, write, action="cases.export", what=_("a dossier export"), purpose=purpose, targets=[f"students/{student['id']}"],
            name_in_audit=False,  # the default name carries the student number
        )
        return Exported(path, len(shown["timeline"]))

    # -- dossier headers ------------------------------------------------------------------------

    def add(self, student_no: str, **header) -> Saved:
        """Create a dossier by hand: ``name`` and ``college`` are required; roster fields, ``counselor``, ``groups``, ``tags``, ``guardians`` optional."""
        store = self.store
        store.require("import", action="cases.add")
        model.required(header.get("name"), "--name")
        model.required(header.get("college"), "--college")
        fields = model.header_changes(header)
        store.require_college(fields["college"], action="cases.add")
        existing = store.students.find(student_no)
        if existing is not None:
            # Another college's student: the scoped refusal, never that college or that name.
            store.require_student(existing, student_no, action="cases.add")
        with store.write("cases.add") as txn:
            record = service.create_student(txn, student_no, fields)
        return Saved(record["student_no"], record.get("name") or "", sorted(fields), self._unknown(fields.get("counselor")))

    def edit(self, student_no: str, **changes) -> Saved:
        """Change a dossier's header (roster fields, counselor, groups, tags, guardians); level and status have their own methods."""
        changes = model.header_changes(changes)
        if not changes:
            raise UsageError(_("nothing to change"), hint=_("pass at least one of --name, --college, --class, --phone, --guardian, --group, --counselor …"))
        store = self.store
        store.require("import", action="cases.edit")
        current = service.load_student(store, student_no, action="cases.edit")
        target = f"students/{current['id']}"
        if "college" in changes:
            store.require_college(changes["college"], action="cases.edit", targets=[target])
        with store.write("cases.edit", targets=[target]) as txn:
            current = service.reread(txn, current, action="cases.edit")
            record, changed = model.edit_student(current, changes)
            if changed:
                service.save_student(txn, {**record, "id": current["id"]})
            # The audit entry names the fields that changed, never their values.
            txn.details["fields"] = changed
        return Saved(current["student_no"], current.get("name") or "", changed, self._unknown(changes.get("counselor")))

    def import_roster(self, path: str | Path, *, profile: str = "roster", dry_run: bool = False, skip_invalid: bool = False, password: str | None = None) -> dict:
        """Create or update dossiers from the school roster; conflicting names are reported, never overwritten.

        ``password`` opens a password-protected roster (decrypted in memory)."""
        from mhtool.cases.usecases import roster

        return roster.import_roster(self.store, path, profile=profile, dry_run=dry_run, skip_invalid=skip_invalid, password=password)

    # -- recording events -----------------------------------------------------------------------

    def interview(
        self,
        student_no: str,
        *,
        findings: str | None = None,
        confirm: str | None = None,
        mode: str | None = None,
        duration: int | None = None,
        risk: str | None = None,
        next_step: str | None = None,
        on: date | str | None = None,
        corrects: str | None = None,
        yes: bool = False,
        ask: Callable[[str], bool] | None = None,
    ) -> Recorded | None:
        """Record an interview (约谈): completes the open interview task; ``confirm`` sets the watch level.

        The interviewing staff member becomes the student's counselor (负责咨询师) when there is none.
        ``yes``/``ask``: see :meth:`_record` (a late entry that changes the current level).
        """
        given = {"findings": findings, "confirmed_level": confirm, "mode": mode, "duration": duration, "risk": risk, "next_step": next_step}
        me = self.store.staff.name
        return self._record(
            "cases.interview", student_no,
            lambda st, day, base: recording.interview(st, given, day, cadence=self._cadence(), base=base, interviewer=me),
            kind="interview", on=on, corrects=corrects, yes=yes, ask=ask,
        )

    def level(
        self, student_no: str, to: str | None, *, reason: str | None = None, on: date | str | None = None, yes: bool = False, ask: Callable[[str], bool] | None = None
    ) -> Recorded | None:
        """Set the watch level (关注等级), with a reason. ``yes``/``ask``: see :meth:`_record` (a late entry that changes the current level)."""
        return self._record(
            "cases.level", student_no, lambda st, day, base: recording.level_change(st, to, reason, day, cadence=self._cadence()), on=on, yes=yes, ask=ask
        )

    def note(self, student_no: str, text: str | None = None, *, on: date | str | None = None, corrects: str | None = None) -> Recorded:
        """Add a note (记录) to the timeline, exactly as typed."""
        return self._record("cases.note", student_no, lambda st, day, base: recording.note(st, text, base=base), kind="note", on=on, corrects=corrects)

    def measure(
        self,
        student_no: str,
        *,
        kind: str | None = None,
        description: str | None = None,
        responsible: str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        on: date | str | None = None,
        corrects: str | None = None,
    ) -> Recorded:
        """Record a help measure (帮扶举措); end one by correcting it with ``end``."""
        given = {"measure_kind": kind, "description": description, "responsible": responsible, "start": start, "end": end}
        return self._record(
            "cases.measure", student_no,
            lambda st, day, base: recording.measure(st, given, day, today=self.center.today(), base=base),
            kind="measure", on=on, corrects=corrects,
        )

    def guardian(
        self,
        student_no: str,
        *,
        who: str | None = None,
        content: str | None = None,
        channel: str | None = None,
        consent: str | None = None,
        on: date | str | None = None,
        corrects: str | None = None,
    ) -> Recorded:
        """Record a guardian contact (家校沟通) with the consent form's state."""
        given = {"guardian": who, "content": content, "channel": channel, "consent": consent}
        return self._record(
            "cases.guardian", student_no,
            lambda st, day, base: recording.guardian_contact(st, given, base=base),
            kind="guardian_contact", on=on, corrects=corrects,
        )

    def crisis(
        self,
        student_no: str,
        *,
        what: str | None = None,
        where: str | None = None,
        happened_at: datetime | str | None = None,
        actions: str | None = None,
        parents_notified_at: datetime | str | None = None,
        notified: Iterable[str | dict] = (),
        level: str | None = None,
        reason: str | None = None,
        on: date | str | None = None,
        corrects: str | None = None,
        event_type: str | None = None,
        risk: str | None = None,
        reported_to: str | None = None,
        reported_at: datetime | str | None = None,
        reported_how: str | None = None,
        yes: bool = False,
        ask: Callable[[str], bool] | None = None,
    ) -> Recorded | None:
        """Record a crisis event (危机事件); ``level`` also sets the watch level. Warns when parents were not told in time.

        ``event_type`` (事件类型: ``self_harm`` or 自伤行为 …) and ``risk`` (风险等级:
        ``high``/高风险 …) classify it; ``reported_to``, ``reported_at`` and
        ``reported_how`` record the report upward (学生工作部, when, 电话).
        The same crisis recorded twice within minutes (the same moment, similar
        words) is recorded again with a warning. ``yes``/``ask``: see :meth:`_record` (a late entry that changes the current level).
        """
        given = {
            "what": what, "where": where, "happened_at": happened_at, "actions": actions, "parents_notified_at": parents_notified_at,
            "notified": list(notified or ()), "event_type": event_type, "risk": risk,
            "reported_to": reported_to, "reported_at": reported_at, "reported_how": reported_how,
        }
        warnings: list[str] = []

        def build(st, day, base):
            built, found = recording.crisis(st, given, day, today=self.center.today(), cadence=self._cadence(), level=level, reason=reason, base=base)
            warnings.extend(found)
            return built

        def check(timeline, effects, day):
            fields = next(f for k, f in effects.entries if k == "crisis")
            found = model.duplicate_crisis_warning(model.similar_crises(timeline, fields, service.now_text()))
            return [found] if found else []

        recorded = self._record(
            "cases.crisis", student_no, build, kind="crisis", on=recording.crisis_day(on, happened_at), corrects=corrects, check=check, yes=yes, ask=ask
        )
        if recorded is not None:
            recorded.warnings = warnings + recorded.warnings
        return recorded

    def follow_up(self, student_no: str, *, content: str | None = None, mode: str | None = None, on: date | str | None = None, corrects: str | None = None) -> Recorded:
        """Record a follow-up (回访): completes the due one and schedules the next from the level's cadence.

        A follow-up cannot be dated before the student's watch began.
        """
        given = {"content": content, "mode": mode}

        def check(timeline, effects, day):
            model.check_follow_up_date(model.level_history(timeline), day)

        return self._record(
            "cases.follow-up", student_no,
            lambda st, day, base: recording.follow_up(st, given, day, cadence=self._cadence(), base=base),
            kind="follow_up", on=on, corrects=corrects, check=check,
        )

    def close(self, student_no: str, *, reason: str | None = None, on: date | str | None = None, yes: bool = False, ask: Callable[[str], bool] | None = None) -> Recorded | None:
        """End the watch (结案): level none, open follow-ups cancelled. ``yes``/``ask``: see :meth:`_record` (a late entry that changes the current level)."""
        return self._record("cases.close", student_no, lambda st, day, base: recording.close(st, reason, day), on=on, yes=yes, ask=ask)

    def reopen(
        self, student_no: str, *, level: str | None = None, reason: str | None = None, on: date | str | None = None, yes: bool = False, ask: Callable[[str], bool] | None = None
    ) -> Recorded | None:
        """Put a student back on the watch list (重新关注) at ``level``. ``yes``/``ask``: see :meth:`_record` (a late entry that changes the current level)."""
        return self._record(
            "cases.reopen", student_no, lambda st, day, base: recording.reopen(st, level, reason, day, cadence=self._cadence()), on=on, yes=yes, ask=ask
        )

    def status(
        self,
        student_no: str,
        action: str | None,
        *,
        from_: date | str | None = None,
        until: date | str | None = None,
        on: date | str | None = None,
        reason: str | None = None,
        certificate: str | None = None,
        assessed_by: str | None = None,
        without_certificate: bool = False,
        documents: Iterable[str] = (),
        yes: bool = False,
        ask: Callable[[str], bool] | None = None,
    ) -> Recorded | None:
        """Change the status: ``leave`` (休学, from ``from_`` until ``until``), ``return`` (复学), ``withdraw`` (退学), ``graduate`` (毕业).

        A status change cannot be dated before the one it follows took effect
        (a 复学 before the 休学 began). ``yes``/``ask``: see :meth:`_record` (a late entry that changes the current level).
        """
        act, day, option = recording.status_action(
            action, from_=from_, until=until, on=on, certificate=certificate, assessed_by=assessed_by, without_certificate=without_certificate
        )

        def build(st, when, base):
            return recording.status_change(
                st, act, when, today=self.center.today(), reason=reason, until=until, certificate=certificate,
                assessed_by=assessed_by, without_certificate=without_certificate, documents=documents,
            )

        def check(timeline, effects, when):
            model.check_status_order(timeline, model.STATUS_ACTIONS[act], when, option)

        return self._record(
            "cases.status", student_no, build, on=day, on_option=option, details={"to": model.STATUS_ACTIONS[act]}, check=check, yes=yes, ask=ask
        )

    def graduate(self, class_of: int, *, on: date | str | None = None, reason: str | None = None, dry_run: bool = False) -> dict:
        """Mark a whole class (``class_of`` 2022 → 2022级) as graduated; students on leave or withdrawn are skipped and counted.

        Like every status change it needs a ``reason`` (not for a ``dry_run``, which only counts).
        """
        if not dry_run and not " ".join((reason or "").split()):
            self.store.require("record", action="cases.graduate")
            raise UsageError(_("a graduation needs --reason"), hint=_('say why, e.g. --reason "{class_of}级毕业，学校下发毕业名单"').format(class_of=class_of))
        from mhtool.cases.usecases import roster

        return roster.graduate_class(self.store, class_of, on=on, reason=reason, dry_run=dry_run)

    def import_interviews(
        self,
        path: str | Path,
        *,
        sheet: str | int | None = None,
        dry_run: bool = False,
        skip_invalid: bool = False,
        rejects: str | Path | None = None,
        yes: bool = False,
        ask: Callable[[str], bool] | None = None,
    ) -> InterviewImport | None:
        """Import the interview-record sheets advisors fill in; each row is recorded as an interview. All or nothing unless ``skip_invalid``.

        Rows not filled in yet (no findings, no level) are skipped and counted
        (``not_yet``). A row dated before a dossier's later entries (补录) that
        would change its current level needs ``yes`` or ``ask(text)``; a "no"
        imports nothing (returns None).
        """
        from mhtool.cases.usecases import interviews

        if rejects and not skip_invalid:
            raise UsageError(_("--rejects goes with --skip-invalid"))
        try:
            plan, summary = interviews.import_interviews(self.store, Path(path), sheet=sheet, dry_run=dry_run, skip_invalid=skip_invalid, yes=yes)
        except service.NeedsConfirmation as asked:
            if ask is None:
                raise UsageError(
                    _("{change}; nothing was imported without --yes").format(change=asked.text), hint=_("check the row's date; pass --yes to import it all the same")
                ) from None
            if not ask(asked.text):
                return None
            plan, summary = interviews.import_interviews(self.store, Path(path), sheet=sheet, dry_run=dry_run, skip_invalid=skip_invalid, yes=True)
        written = None
        if plan.problems and rejects:
            from mhtool.io.xlsx import out_path_for

            target = out_path_for(rejects, f"{Path(plan.file).stem}_rejects.xlsx", option="--rejects")
            # The workbook repeats rows of the caller's own file back to them: audited, but no purpose asked.
            written = self.center.exports.publish(
                target, lambda tmp: interviews.write_rejects(plan, tmp), action="cases.import-interviews.rejects",
                what=_("a rejects workbook"), identifiable=False, details={"file": plan.file, "rejected": len(plan.rejected_rows)},
            )
        return InterviewImport(summary, plan.problems, written)

    # -- tasks ----------------------------------------------------------------------------------

    def remind(self, student_no: str, *, due: date | str | None = None, note: str | None = None, assign: str | None = None) -> Reminded:
        """Add a reminder task to a dossier, due on ``due`` (``2026-12-01``, ``tomorrow``, ``+7d``), for ``assign`` or the student's counselor."""
        store = self.store
        store.require("record", action="cases.remind")
        student = service.load_student(store, student_no, action="cases.remind")
        today = self.center.today()
        when = due if isinstance(due, date) else dates.parse_date(model.required(due, "--due"), today=today, option="--due")
        task = model.reminder_task(when, model.required(note, "--note"), today=today, assigned_to=assign)
        with store.write("cases.remind", targets=[f"students/{student['id']}"]) as txn:
            data = {k: v for k, v in task.items() if k not in ("kind", "due")}
            task_id = service.open_task(txn, student["id"], task["kind"], task["due"], **data)
        return Reminded(task_id, student["student_no"], when, self._unknown(assign))

    def done(self, task_ref: str, *, note: str = "") -> dict:
        """Mark one task done by hand (a reminder, or a task made moot); ``task_ref`` is its id or first 4+ characters."""
        store = self.store
        store.require("record", action="cases.done")
        task = store.tasks.get(store.tasks.resolve(task_ref, "task"))
        target = f"tasks/{task['id']}"
        student = store.students.get(task["student_id"])
        store.require_college(student.get("college"), action="cases.done", targets=[target])
        if task.get("done_on"):
            raise UsageError(_("task {task} was already done on {day}").format(task=task["id"][:8], day=task["done_on"]))
        today = self.center.today()
        with store.write("cases.done", targets=[target]) as txn:
            task = store.tasks.get(task["id"])  # under the write lock: done once, whoever comes first
            if task.get("done_on"):
                raise UsageError(_("task {task} was already done on {day}").format(task=task["id"][:8], day=task["done_on"]))
            store.tasks.finish(txn, task, today, {"done_by": store.staff.name, "done_note": note or ""})
        return {**task, "done_on": today.isoformat(), "student_no": student["student_no"], "name": student.get("name")}

    def cadence(self, *, red: int | None = None, orange: int | None = None, yellow: int | None = None) -> dict[str, int]:
        """The follow-up cadence in days per level; given days change it (admin only; open tasks keep their due dates)."""
        changes = {k: v for k, v in (("red", red), ("orange", orange), ("yellow", yellow)) if v is not None}
        if not changes:
            return self._cadence()
        store = self.store
        store.require("staff", action="cases.cadence")
        changes = model.cadence_change(changes)
        with store.write("cases.cadence", details={"cadence": changes}) as txn:
            current = store.settings().get("cadence") or {}
            store.update_settings(txn, {"cadence": {**current, **changes}})
        return self._cadence()

    # -- the one way an event is recorded -------------------------------------------------------

    def _cadence(self) -> dict[str, int]:
        return service.cadence(self.store)

    def _login(self, name: str | None) -> str | None:
        """The login of a staff member named by login or by the one display name that is theirs alone (spaces around it ignored)."""
        name = (name.strip() or name) if name else name
        found = self.store.staff_rows.named(name) if name else []
        return found[0]["name"] if len(found) == 1 else name

    def _unknown(self, counselor: str | None) -> bool:
        return bool(counselor) and counselor not in self.store.staff_rows.names()

    def _record(
        self,
        action: str,
        student_no: str,
        build: Callable[[dict, date, dict | None], model.Effects | dict],
        *,
        kind: str | None = None,
        on: date | str | None = None,
        on_option: str = "--date",
        corrects: str | None = None,
        details: dict | None = None,
        check: Callable[[list[dict], model.Effects, date], list[str] | None] | None = None,
        yes: bool = False,
        ask: Callable[[str], bool] | None = None,
    ) -> Recorded | None:
        """Check role and scope, build the event's effects, write them in one transaction.

        ``build(student, day, base)`` returns the effects; for a correction
        (``base``: the corrected entry's fields) the new entry's fields. An
        entry dated before later ones (补录) is built on the level of its day,
        and the level history is replayed in date order; if that changes the
        current level, ``ask(text)`` is asked (outside the write lock) unless
        ``yes``; without either the change is refused naming ``--yes``, and a
        "no" records nothing (returns None).
        """
        try:
            return self._record_once(action, student_no, build, kind=kind, on=on, on_option=on_option, corrects=corrects,
                                     details=details, check=check, yes=yes)  # fmt: skip
        except service.NeedsConfirmation as asked:
            if ask is None:
                raise UsageError(
                    _("{change}; nothing was recorded without --yes").format(change=asked.text), hint=_("check the date; pass --yes to record it all the same")
                ) from None
            if not ask(asked.text):
                return None
            confirmed = asked.text
        try:
            return self._record_once(action, student_no, build, kind=kind, on=on, on_option=on_option, corrects=corrects,
                                     details=details, check=check, confirmed=confirmed)  # fmt: skip
        except service.NeedsConfirmation:
            raise ChangedMeanwhile(
                _("{student_no}'s dossier changed while the late entry was being confirmed; nothing was recorded").format(student_no=student_no),
                hint=_("run the command again"),
            ) from None

    def _record_once(
        self,
        action: str,
        student_no: str,
        build: Callable[[dict, date, dict | None], model.Effects | dict],
        *,
        kind: str | None,
        on: date | str | None,
        on_option: str,
        corrects: str | None,
        details: dict | None,
        check=None,
        yes: bool = False,
        confirmed: str | None = None,
    ) -> Recorded:
        store = self.store
        store.require("record", action=action)
        student = service.load_student(store, student_no, action=action)
        original = service.entry_of_student(store, student, corrects) if corrects else None
        if original is not None and original["kind"] != kind:
            raise UsageError(
                _("entry {entry} is a {entry_kind} entry; correct it with the command that records {entry_kind} entries").format(
                    entry=original["id"][:8], entry_kind=label("entry", original["kind"], i18n.current())
                )
            )
        if original is not None and on in (None, ""):
            day = date.fromisoformat(original["date"])
        else:
            day = recording.day(on, today=self.center.today(), option=on_option)
        with store.write(action, targets=[f"students/{student['id']}"], details=details) as txn:
            # The rule is applied to the dossier as it is under the write lock, never to an earlier read.
            student = service.reread(txn, student, action=action)
            if original is not None:
                # A correction changes no level and no task: it restates an entry.
                effects = model.correction(student, original, build(student, day, dict(original["fields"])))
                written = service.Written(service.apply_effects(txn, student, effects, day, corrects=original["id"]), effects)
            else:
                written = service.record_event(
                    txn, student, lambda basis: build(basis, day, None), day,
                    cadence=self._cadence(), check=check, yes=yes, confirmed=confirmed,
                )  # fmt: skip
            if written.late:
                txn.details["late"] = True
        effects = written.effects
        return Recorded(
            student_no=student["student_no"],
            name=student.get("name") or "",
            on=day,
            kinds=[k for k, _fields in effects.entries],
            entry_ids=written.entry_ids,
            corrects=original["id"] if original is not None else None,
            next_tasks=[(t["kind"], t["due"]) for t in written.new_tasks],
            notices=written.notices,
            warnings=written.warnings,
            level=written.history.level if written.history is not None else None,
        )
