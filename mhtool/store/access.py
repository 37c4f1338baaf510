"""Roles and what each may do. Pure data: the store enforces it."""

from __future__ import annotations

from mhtool.i18n import N_

ROLES = ("admin", "counselor", "clerk", "auditor")

# Permissions, named by what they protect:
#   staff     add/remove staff, change keys            dossier   student headers, tasks, rosters
#   audit     read and verify the audit log            clinical  interview findings, notes, crises,
#   import    import exports and rosters                         guardian conversations, referral details
#   report    aggregate and roster reports             record    write timeline entries and levels
#   backup    back up and restore the store            erase     erase a student's records
#   research  de-identified research exports           stable_pseudonyms  pseudonyms stable across exports
#   signals   import campus data (门禁, 一卡通, 教务), read and review the signals (多源预警) it raises
#   network   the 五级网络: its roster, the reports its classes and dorms send (a clerk imports them;
#             what a report says of a named student is sealed to the counselors' inbox), who has not reported
#   counseling  the counseling center's desk: counselors' weekly slots, booking, cancelling and no-shows
#             (预约), the agenda, 团体辅导 groups and their attendance, activities (讲座, 5·25, 班会). Recording
#             a session's content or a case conference is ``record``, sealed under the clinical key.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"staff", "audit", "import", "dossier", "clinical", "record", "report", "backup", "erase", "research", "stable_pseudonyms", "signals", "network", "counseling"}
    ),
    "counselor": frozenset({"import", "dossier", "clinical", "record", "report", "research", "signals", "network", "counseling"}),
    "clerk": frozenset({"import", "dossier", "report", "network", "counseling"}),
    "auditor": frozenset({"audit"}),
}

# The key tiers each role's slot holds (docs/design.md, "Keys per role"): what its key can
# decrypt whatever code runs. ``clinical`` content needs the clinical tier; the staff
# directory is authenticated with the admin tier; everyone writes the audit chain.
ROLE_TIERS: dict[str, tuple[str, ...]] = {
    "admin": ("common", "roster", "clinical", "admin"),
    "counselor": ("common", "roster", "clinical"),
    "clerk": ("common", "roster"),
    "auditor": ("common",),
}

# What each permission lets one do, as a refusal says it ("… may not …"); translated where it is shown.
PERMISSION_TEXT = {
    "staff": N_("manage staff and keys"),
    "audit": N_("read the audit log"),
    "import": N_("import exports and rosters"),
    "dossier": N_("read student dossiers"),
    "clinical": N_("read clinical details (interview findings, notes, crises, guardian conversations, referral details)"),
    "record": N_("record entries in dossiers"),
    "report": N_("produce reports"),
    "backup": N_("back up or restore the store"),
    "erase": N_("erase student records"),
    "research": N_("make research exports"),
    "stable_pseudonyms": N_("make research exports with stable pseudonyms"),
    "signals": N_("import campus data or read and review campus signals (多源预警)"),
    "network": N_("manage the 五级网络 roster, import its reports or see who has not reported"),
    "counseling": N_("book counseling appointments, see the agenda, or keep groups and activities (个体咨询预约, 团体辅导, 心理健康活动)"),
}


def roles_with(permission: str) -> list[str]:
    return [role for role in ROLES if permission in PERMISSIONS[role]]


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
