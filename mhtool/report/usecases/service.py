"""Building a report from the store: gather (store → data), build (pure), redact.

The command layer and `mhtool demo` both come here, so a report is made the
same way whoever asks for it. Writing the workbook and the audit entry stay
with the caller, which knows where the file goes and why it is made.
"""

from __future__ import annotations

from datetime import date, datetime

from mhtool.report.domain import builders
from mhtool.report.usecases import gather
from mhtool.domain.periods import Period
from mhtool.report.domain.redact import redact_report


def case_report(store, kind: str, period: Period, *, today: date, generated_at: datetime, college: str | None = None, lang: str = "zh", redact: bool = False):
    """The weekly or monthly report and the data it was built from (for the audit entry)."""
    monthly = kind == "monthly"
    data = gather.case_data(store, period, today=today, college=college, monthly=monthly)
    build = builders.monthly_report if monthly else builders.weekly_report
    report = build(data, period, generated_at=generated_at, lang=lang)
    return (redact_report(report) if redact else report), data


def census_report(store, batch_ref: str, *, today: date, generated_at: datetime, college: str | None = None, lang: str = "zh", redact: bool = False):
    data = gather.census_data(store, batch_ref, today=today, college=college)
    return census_from(data, generated_at=generated_at, lang=lang, redact=redact), data


def census_from(data, *, generated_at: datetime, lang: str = "zh", redact: bool = False):
    """The census workbook from data already gathered (the command also needs the data for a split)."""
    report = builders.census_report(data, generated_at=generated_at, lang=lang)
    return redact_report(report) if redact else report


def interviewed_students(data) -> list[str]:
    """The students a census report names: those proposed for an interview; the others appear only in counts."""
    return [r["student_id"] for r in data.responses if (r.get("proposed_level") or "none") != "none"]
