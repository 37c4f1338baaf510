"""``center.referrals``: referrals to hospitals (转介) and the hospitals directory.

Every method checks the signed-in staff member's role and college scope
itself (in :mod:`mhtool.referral.usecases.service`): reading or changing a
referral needs ``clinical`` (writing also ``record``), the directory needs
``dossier`` to read and ``record`` to change. A clerk calling these from
Python is refused exactly as on the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.referral.usecases import service

if TYPE_CHECKING:
    from mhtool.app.center import Center


class Referrals:
    """The referral operations of one signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center

    # -- the hospitals directory ----------------------------------------------------------------

    def hospitals(self) -> list[dict]:
        """Every hospital in the directory, by name."""
        return service.hospitals(self.center.store)

    def add_hospital(
        self,
        name: str,
        *,
        department: str | None = None,
        level: str | None = None,
        phone: str | None = None,
        address: str | None = None,
        green_channel: bool = False,
        note: str | None = None,
    ) -> dict:
        """Add a hospital to the directory; returns its entry."""
        return service.add_hospital(
            self.center.store, name, department=department, level=level, phone=phone, address=address, green_channel=green_channel, note=note
        )

    def edit_hospital(
        self,
        hospital: str,
        *,
        name: str | None = None,
        department: str | None = None,
        level: str | None = None,
        phone: str | None = None,
        address: str | None = None,
        green_channel: bool | None = None,
        note: str | None = None,
    ) -> dict:
        """Change the entry of the hospital named ``hospital`` (or with that id); returns the new entry."""
        return service.edit_hospital(
            self.center.store, hospital, name=name, department=department, level=level, phone=phone, address=address,
            green_channel=green_channel, note=note,
        )  # fmt: skip

    # -- referrals ------------------------------------------------------------------------------

    def add(
        self,
        student_no: str,
        *,
        hospital: str,
        reason: str | None,
        department: str | None = None,
        urgency: str | None = None,
        escort: str | None = None,
        guardian_informed: str | None = None,
        guardian_how: str | None = None,
        guardian_by: str | None = None,
        consent: str | None = None,
        next_review: str | None = None,
        when: str | None = None,
        note: str | None = None,
    ) -> dict:
        """Refer a student to a hospital; returns the referral as :meth:`show` does."""
        return service.add_referral(
            self.center.store, student_no, hospital=hospital, reason=reason, department=department, urgency=urgency, escort=escort,
            guardian_informed=guardian_informed, guardian_how=guardian_how, guardian_by=guardian_by, consent=consent,
            next_review=next_review, when=when, note=note,
        )  # fmt: skip

    def update(
        self,
        ref: str,
        *,
        status: str | None = None,
        when: str | None = None,
        hospital: str | None = None,
        department: str | None = None,
        escort: str | None = None,
        guardian_informed: str | None = None,
        guardian_how: str | None = None,
        guardian_by: str | None = None,
        consent: str | None = None,
        visit_date: str | None = None,
        diagnosis: str | None = None,
        icd10: str | None = None,
        advice: str | None = None,
        advice_detail: str | None = None,
        medication: bool | None = None,
        next_review: str | None = None,
        outcome: str | None = None,
        note: str | None = None,
    ) -> dict:
        """Record the next step of a referral and/or fields learned later; returns the referral plus ``hints``."""
        return service.update_referral(
            self.center.store, ref, status=status, when=when, hospital=hospital, department=department, escort=escort,
            guardian_informed=guardian_informed, guardian_how=guardian_how, guardian_by=guardian_by, consent=consent,
            visit_date=visit_date, diagnosis=diagnosis, icd10=icd10, advice=advice, advice_detail=advice_detail,
            medication=medication, next_review=next_review, outcome=outcome, note=note,
        )  # fmt: skip

    def show(self, ref: str) -> dict:
        """One referral with every step, its author and date; the read is audited."""
        return service.show_referral(self.center.store, ref)

    def list(
        self,
        *,
        open_only: bool = False,
        overdue_only: bool = False,
        hospital: str | None = None,
        college: str | None = None,
    ) -> list[dict]:
        """Referrals in the staff member's colleges, newest first, without diagnoses; the read is audited."""
        return service.list_referrals(self.center.store, open_only=open_only, overdue_only=overdue_only, hospital=hospital, college=college)

    def export(self, ref: str, out: str | Path, *, lang: str = "zh", purpose: str | None = None) -> Path:
        """Write the referral record sheet (转介记录表) through the export gateway; returns its path."""
        return service.export_referral(self.center.store, self.center.exports, ref, Path(out), lang=lang, purpose=purpose)
