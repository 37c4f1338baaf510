"""``center.governance``: research exports, retention and erasure, and the governance policies.

Every method checks the signed-in staff member's role itself: research
exports need ``research`` (stable pseudonyms also ``stable_pseudonyms``,
admin only), retention and erasure need ``erase`` (admin only), changing a
policy needs ``staff`` (admin only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.governance.usecases import exports, retention
from mhtool.governance.usecases import purpose as purpose_policy

if TYPE_CHECKING:
    from mhtool.app.center import Center


class Governance:
    """The data-governance operations of one signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center

    # -- research ---------------------------------------------------------------------------

    def research_export(
        self,
        out: str | Path,
        *,
        purpose: str | None,
        batches: Sequence[str] = (),
        instruments: Sequence[str] = (),
        stable_pseudonyms: bool = False,
        month_only: bool = False,
        min_cell: int | None = None,
    ) -> dict:
        """Write de-identified screening responses (.xlsx or .csv) through the export gateway; a purpose is always required."""
        return exports.research_export(
            self.center.store, self.center.exports, Path(out), purpose=purpose, batches=batches, instruments=instruments,
            stable_pseudonyms=stable_pseudonyms, month_only=month_only, min_cell=min_cell,
        )  # fmt: skip

    # -- retention and erasure --------------------------------------------------------------

    def retention_plan(self, *, left_before: date | None = None) -> dict:
        """Students past the retention period (and left students without a date of leaving); the read is audited."""
        return retention.plan(self.center.store, left_before=left_before, today=self.center.today())

    def retention_apply(self, *, left_before: date | None = None, confirm: Callable[[int], bool] | None = None) -> dict | None:
        """Erase everyone :meth:`retention_plan` lists and scrub the file; None when ``confirm(count)`` says no."""
        return retention.apply(self.center.store, left_before=left_before, today=self.center.today(), confirm=confirm)

    def erase(self, student_no: str, *, reason: str | None, confirm: Callable[[], bool] | None = None) -> dict | None:
        """Erase one student's records on request and scrub the file; None when ``confirm()`` says no."""
        return retention.erase(self.center.store, student_no, reason=reason, confirm=confirm)

    def erased(self) -> list[dict]:
        """Every erased student's placeholder (pseudonym, dates, who erased it and why); the read is audited."""
        return retention.placeholders(self.center.store)

    # -- policies ---------------------------------------------------------------------------

    def policy(self) -> dict:
        """The governance policies in force, defaults filled in (they hold no personal data)."""
        store = self.center.store
        return {
            "purpose_required_roles": list(purpose_policy.purpose_roles(store)),
            "retention_years": retention.retention_years(store),
            "research_min_cell": exports.min_cell_size(store, None),
        }

    def set_policy(self, **changes) -> dict:
        """Change governance policies (admin; audited); returns the values now stored."""
        return purpose_policy.set_policy(self.center.store, **changes)
