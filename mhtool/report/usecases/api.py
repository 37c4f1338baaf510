"""Reports (周报 / 月报 / 普查报告 / 随时报告) as use cases: ``center.reports``.

Every report is made the same way. The reader's role and college scope are
checked, then the stated (or standing) purpose when the report identifies
students; the store is read (:mod:`~mhtool.report.usecases.gather`), the
report built by the pure builders and masked with ``redact``. Then either the
workbook is published through the export gateway (temporary file → audit
entry → rename, so a failure leaves no file), or, when no file is asked for,
the disclosure is audited before the report is handed back for printing.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.domain import dates
from mhtool.domain.document import Report
from mhtool.domain.labels import LANGS, label
from mhtool.domain.periods import resolve_period
from mhtool.errors import UsageError
from mhtool.i18n import N_, _
from mhtool.report.domain import builders
from mhtool.report.usecases import gather

if TYPE_CHECKING:
    from mhtool.app.center import Center
    from mhtool.report.domain.redact import KnownPeople, Scrubber
    from mhtool.store.core import Store

Out = str | os.PathLike | None

# How the purpose check names each report that identifies students.
_WITHOUT_REDACT = {
    "weekly": N_("a weekly report without --redact"),
    "monthly": N_("a monthly report without --redact"),
    "census": N_("a census report without --redact"),
    "crisis": N_("a crisis report without --redact"),
}


@dataclass
class Delivered:
    """A report made: its data, and where it was written.

    ``path`` is None when no file was asked for (the caller prints the
    report's JSON). A census split by college has no single report; its
    workbooks are in ``files`` (``college``, ``students``, ``path``).
    """

    report: Report | None
    path: Path | None = None
    files: list[dict] = field(default_factory=list)


def _bulk(fn: Callable) -> Callable:
    """Run ``fn`` with the cyclic garbage collector paused.

    A report decrypts tens of thousands of records into plain dicts and then
    creates a cell object per value; none of it forms reference cycles, but
    the collector would walk all of it again and again as it grows, which
    costs about a third of the run on a large store. ``fn``'s locals are
    released when it returns, before the collector resumes.
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise UsageError(_("--lang must be zh or en, not {lang!r}").format(lang=lang))


def _file_name(report: Report, stem: str | None, *parts: str | None, scrub: Callable[[str], str] | None = None) -> str:
    """The derived file name: ``stem`` (default: report and period), then scope, then whether it is redacted.

    A redacted report's name passes through ``scrub`` as its cells did: a batch
    or college named after a person must not carry the name out on the file.
    """
    from mhtool.io.xlsx import default_file_name

    if stem is None:
        stem = default_file_name(report)[: -len(".xlsx")]
    extra = [p for p in parts if p]
    name = "_".join([stem, *extra])
    if report.meta.get("redacted"):
        name = f"{scrub(name) if scrub else name}_{label('report_file', 'redacted', report.lang)}"
    return name + ".xlsx"


class Reports:
    """The reports one signed-in staff member may produce."""

    def __init__(self, center: Center):
        self.center = center

    @property
    def store(self) -> Store:
        return self.center.store

    # -- weekly and monthly -------------------------------------------------------------------

    @_bulk
    def weekly(
        self,
        *,
        week: str | None = None,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        out: Out = None,
        lang: str = "zh",
        redact: bool = False,
        college: str | None = None,
        purpose: str | None = None,
    ) -> Delivered:
        """周报 of an ISO week (default: the last complete week) or of ``date_from``–``date_to``; ``out`` a file or folder, None for the data only."""
        return self._case_report("weekly", week=week, month=None, date_from=date_from, date_to=date_to, out=out, lang=lang, redact=redact, college=college, purpose=purpose)

    @_bulk
    def monthly(
        self,
        *,
        month: str | None = None,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        out: Out = None,
        lang: str = "zh",
        redact: bool = False,
        college: str | None = None,
        purpose: str | None = None,
    ) -> Delivered:
        """月报 of a month (default: the last complete month), with screening, three clarities and a six-month trend."""
        return self._case_report("monthly", week=None, month=month, date_from=date_from, date_to=date_to, out=out, lang=lang, redact=redact, college=college, purpose=purpose)

    def _case_report(self, kind: str, *, week, month, date_from, date_to, out: Out, lang: str, redact: bool, college: str | None, purpose: str | None) -> Delivered:
        store, action, what = self.store, f"report.{kind}", _(_WITHOUT_REDACT[kind])
        _check_lang(lang)
        roster = self._require(action, college)
        today = self.center.today()
        period = resolve_period(kind, week=week, month=month, date_from=date_from, date_to=date_to, today=today)
        # Refused before the costly reading, not only when the file is published.
        self.center.exports.purpose(purpose, what=what, identifiable=not redact)
        data = gather.case_data(store, period, today=today, college=college, monthly=kind == "monthly", roster=roster)
        build = builders.monthly_report if kind == "monthly" else builders.weekly_report
        report = build(data, period, generated_at=self._now(), lang=lang)
        # The timelines read are let go before the workbook is built, which then reuses their memory.
        students, data = list(data.students), None
        _add_counseling(report, gather.counseling_in(store, period, today=today, college=college), period, lang=lang, monthly=kind == "monthly")
        scrub = None
        if redact:
            report, scrub = self._redact(report)
        return self._deliver(
            report,
            out,
            _file_name(report, None, college, scrub=scrub),
            action=action,
            what=what,
            purpose=purpose,
            redact=redact,
            students=students,
            details={"period": period.label, "college": college, "redacted": redact},
        )

    # -- census -------------------------------------------------------------------------------

    @_bulk
    def census(
        self,
        batch: str,
        *,
        out: Out = None,
        split_by: str | None = None,
        lang: str = "zh",
        redact: bool = False,
        college: str | None = None,
        purpose: str | None = None,
    ) -> Delivered:
        """普查报告 of one batch (id, id prefix or name); ``split_by="college"`` writes one interview workbook per college into the folder ``out``."""
        _check_lang(lang)
        if split_by is not None and split_by != "college":
            raise UsageError(_("--split-by {value!r}: only `college` is supported").format(value=split_by))
        action, what = "report.census", _(_WITHOUT_REDACT["census"])
        self._require(action, college)
        self.center.exports.purpose(purpose, what=what, identifiable=not redact)
        data = gather.census_data(self.store, gather.find_batch(self.store, batch), today=self.center.today(), college=college)
        name = data.batch.get("name") or data.batch["id"][:8]
        if split_by:
            return Delivered(None, files=self._split(data, out, name, lang=lang, purpose=purpose, redact=redact))
        report = builders.census_report(data, generated_at=self._now(), lang=lang)
        scrub = None
        if redact:
            report, scrub = self._redact(report)
        return self._deliver(
            report,
            out,
            _file_name(report, f"{label('report_file', 'census', lang)}_{name}", college, scrub=scrub),
            action=action,
            what=what,
            purpose=purpose,
            redact=redact,
            students=gather.interviewed_students(data),
            details={"batch": data.batch["id"], "college": college, "redacted": redact},
        )

    def _split(self, data: builders.CensusData, out: Out, name: str, *, lang: str, purpose: str | None, redact: bool = False) -> list[dict]:
        """One interview workbook per college, each published (and audited) on its own.

        Redacted, each college's list is a copy for that college's office (it
        cannot be imported back: it has no student numbers); every copy is
        checked before the first is written, so a refusal leaves no file.
        """
        from mhtool.io.xlsx import safe_file_name, write_report

        directory = Path(out if out is not None else ".").expanduser()
        if not directory.is_dir():
            raise UsageError(
                _("--out {out}: --split-by college writes one workbook per college into a directory, and {directory} is not one").format(
                    out=out, directory=directory
                ),
                hint=_("create it first (mkdir -p {out}) or pass an existing directory").format(out=out),
            )
        stem = label("report_file", "interviews", lang)
        written = []
        reports = builders.census_split(data, generated_at=self._now(), lang=lang)
        scrub = None
        if redact:
            from mhtool.report.domain.kanon import NotAnonymous
            from mhtool.report.domain.redact import Scrubber

            known = self._known_people()
            redacted = {}
            for college, report in reports.items():
                try:
                    redacted[college] = self._redact(report, known)[0]
                except NotAnonymous as refused:
                    # Every college's copy has the same sheet: say whose would identify someone.
                    raise NotAnonymous(_("{college}: {message}").format(college=college or "-", message=refused.message), hint=refused.hint) from None
            reports = redacted
            scrub = Scrubber(known, lang)
        for college, report in reports.items():
            self._stamp(report)
            file_stem = f"{stem}_{name}_{college or 'none'}"
            if scrub is not None:
                file_stem = f"{scrub(file_stem)}_{label('report_file', 'redacted', lang)}"
            path = self.center.exports.publish(
                directory / safe_file_name(f"{file_stem}.xlsx"),
                functools.partial(write_report, report),
                action="report.census",
                what=_(_WITHOUT_REDACT["census"]),
                purpose=purpose,
                identifiable=not redact,
                targets=_student_targets(gather.interviewed_students(data, college=college)),
                details={"batch": data.batch["id"], "college": college, "split_by": "college", **({"redacted": True} if redact else {})},
            )
            written.append({"college": college, "students": len(report.sheets[0].rows), "path": str(path)})
        return written

    # -- crisis -------------------------------------------------------------------------------

    @_bulk
    def crisis(self, entry: str, *, out: Out = None, lang: str = "zh", redact: bool = False, purpose: str | None = None) -> Delivered:
        """随时报告 of one crisis entry (id or a prefix of 4+ characters); ``redact`` masks names and leaves out contacts."""
        store, action, what = self.store, "report.crisis", _(_WITHOUT_REDACT["crisis"])
        _check_lang(lang)
        store.require("report", action=action)
        store.require("clinical", action=action)
        self.center.exports.purpose(purpose, what=what, identifiable=not redact)
        found, student = gather.crisis_entry(store, entry)
        store.require_college(student.get("college"), action=action, targets=[f"students/{student['id']}"])
        data = gather.crisis_data(store, found, student, today=self.center.today())
        report = builders.crisis_report(data, generated_at=self._now(), lang=lang, contacts=not redact)
        scrub = None
        if redact:
            report, scrub = self._redact(report)
        stem = f"{label('report_file', 'crisis', lang)}_{data.entry['date']}_{data.entry['id'][:8]}"
        return self._deliver(
            report,
            out,
            _file_name(report, stem, scrub=scrub),
            action=action,
            what=what,
            purpose=purpose,
            redact=redact,
            students=[student["id"]],
            details={"entry": data.entry["id"], "redacted": redact},
        )

    # -- shared -------------------------------------------------------------------------------

    def _require(self, action: str, college: str | None) -> dict[str, dict] | None:
        """Role and scope; with ``college``, also that the roster has it. Returns the roster summary when it was read."""
        self.store.require("report", action=action)
        if college is None:
            return None
        self.store.require_college(college, action=action)
        known = gather.roster_summary(self.store)
        if known and college not in known:
            # A misspelt college would otherwise give an all-zero report that looks like a 零报告.
            yours = sorted(c for c in known if c and self.store.in_scope(c))
            raise UsageError(
                _("--college {college!r}: no student of the roster is in this college").format(college=college),
                hint=_("one of: {colleges}").format(colleges="、".join(yours)),
            )
        return known

    def _stamp(self, report: Report) -> None:
        """The center's name (setting ``center_name``) for the page header of every report."""
        unit = gather.center_name(self.store)
        if unit:
            report.meta["unit"] = unit

    def _now(self) -> datetime:
        return dates.now(self.store.tz).replace(tzinfo=None, microsecond=0)

    def _known_people(self) -> KnownPeople:
        """Every name, number and place the store knows: the whole roster, its guardians, the staff and hospitals.

        Not only the students a report lists: a note about one student often
        names a classmate, and the classmate must be masked too.
        """
        from mhtool.report.domain.redact import KnownPeople

        store = self.store
        return KnownPeople.from_records(store.students.all(), store.staff_rows.all(), store.hospitals.all())

    def _redact(self, report: Report, known: KnownPeople | None = None) -> tuple[Report, Scrubber]:
        """``report`` de-identified for a copy that leaves the center, and the scrubber its file name passes through.

        Raises :class:`~mhtool.report.domain.kanon.NotAnonymous` (nothing
        written) when a row would still single someone out.
        """
        from mhtool.report.domain.redact import Scrubber, redact_report

        known = known if known is not None else self._known_people()
        return redact_report(report, known), Scrubber(known, report.lang)

    def _deliver(
        self,
        report: Report,
        out: Out,
        file_name: str,
        *,
        action: str,
        what: str,
        purpose: str | None,
        redact: bool,
        students: Iterable[str],
        details: dict,
    ) -> Delivered:
        """Publish the workbook at ``out`` (a file, or a folder for ``file_name``), or with no ``out`` audit the data's disclosure."""
        from mhtool.io.xlsx import out_path_for, write_report

        self._stamp(report)
        audit = {
            "action": action,
            "what": what,
            "purpose": purpose,
            "identifiable": not redact,
            "targets": _student_targets(students),
            "details": {k: v for k, v in details.items() if v not in (None, False)},
        }
        if out is None:
            self.center.exports.disclose(**audit)
            return Delivered(report)
        path = self.center.exports.publish(out_path_for(out, file_name), functools.partial(write_report, report), **audit)
        return Delivered(report, path)


def _add_counseling(report: Report, data, period, *, lang: str, monthly: bool) -> None:
    """The 咨询与活动 sheet, after 上报情况 (the figures of the period, before the monthly trend sheets)."""
    from mhtool.report.domain.counseling import counseling_sheet

    keys = [s.key for s in report.sheets]
    at = keys.index("network") + 1 if "network" in keys else len(keys)
    report.sheets.insert(at, counseling_sheet(data, period, lang=lang, detail=monthly))


def _student_targets(student_ids: Iterable[str]) -> list[str]:
    return [f"students/{sid}" for sid in sorted(set(student_ids))]
