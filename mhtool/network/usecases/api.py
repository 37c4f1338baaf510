"""``center.network``: the 五级网络, one method per ``mhtool network`` command.

Every method checks the ``network`` permission (admin, counselor, clerk) and
the caller's colleges first, and writes at most one transaction per file with
its audit entry, or audits the read before it returns personal data. What a
report says of a named student never comes back from here: it is in the
student's peer-report signal, which only the clinical key opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.network.usecases import reports, roster

if TYPE_CHECKING:
    from mhtool.app.center import Center


class Network:
    """The network roster and its reports for one signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center
        self.store = center.store

    # -- the roster -----------------------------------------------------------------------------

    def import_members(self, path: str | Path) -> dict:
        """Add or update the members of a roster file (学院, 班级 or 宿舍, 角色, 学号 or 工号, 姓名, 电话); all-or-nothing."""
        return roster.import_members(self.store, path)

    def list(self, *, college: str | None = None, role: str | None = None) -> list[dict]:
        """The roster of the caller's colleges, by college, unit and role; audited."""
        return roster.list_members(self.store, college=college, role=role)

    def add(self, *, college: str, role: str, name: str, class_name: str = "", dorm: str = "", person_no: str = "", phone: str = "") -> dict:
        """Add one member (a 心理委员 needs ``class_name``, a 寝室长 ``dorm``); returns it with its id."""
        return roster.add_member(self.store, college=college, role=role, name=name, class_name=class_name, dorm=dorm, person_no=person_no, phone=phone)

    def remove(self, member_id: str) -> dict:
        """Remove one member by id (or its first 4+ characters); returns what was removed."""
        return roster.remove_member(self.store, member_id)

    # -- the reports ----------------------------------------------------------------------------

    def import_reports(self, paths, *, period: str | None = None, progress=None) -> dict:
        """Import report files, each all-or-nothing; returns which went in and which were refused, with their problems.

        ``period`` (``2026-W48`` or ``2026-11``) is for sheets without a 周次/月份
        column. A unit and period imported again replaces the earlier report.
        """
        return reports.import_reports(self.store, paths, period=period, today=self.center.today(), progress=progress)

    def missing(self, period: str, *, college: str | None = None) -> dict:
        """Classes and dorms with no report for ``period``, by college (a 零报告 counts as reported); audited."""
        return reports.missing(self.store, period, college=college)

    def template(self, college: str, out: str | Path, *, period: str | None = None) -> dict:
        """Write ``college``'s report template (one pre-filled sheet per class) at ``out`` (a file or a folder)."""
        return reports.template(self.store, self.center.exports, college, out, period=period)
