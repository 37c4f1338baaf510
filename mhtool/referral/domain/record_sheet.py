"""The referral record sheet (转介记录表), pure: a referral view in, a one-sheet form report out."""

from __future__ import annotations

from datetime import date, datetime

from mhtool.domain.document import FormField, FormSection, FormText, Report, Sheet, SignatureLine
from mhtool.domain.labels import label, staff_name
from mhtool.referral.domain import machine


def file_name(view: dict, lang: str) -> str:
    """The default file name, for a folder given as ``--out``: 转介记录表_STUDENTNO_SHORTID.xlsx."""
    return f"{label('referral_text', 'file_stem', lang)}_{view['student'].get('student_no')}_{view['short_id']}.xlsx"


def build_record_sheet(view: dict, *, lang: str = "zh", generated_at: datetime, staff_names: dict[str, str] | None = None) -> Report:
    """The 转介记录表 of a referral view (as ``referral show`` returns it), with signature lines.

    ``staff_names`` maps staff logins to the names people read (张华), for
    who referred and who recorded each step.
    """

    def staff(login):
        return staff_name(login, staff_names)

    def f(key: str, value, *, kind: str = "text", pii: str | None = None, domain: str = "referral_field") -> FormField:
        return FormField(key, label(domain, key, "zh"), label(domain, key, "en"), value, kind, pii=pii)

    def d(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    def t(name: str, value) -> str | None:
        return machine.field_text(name, value, lang) or None

    s = view["student"]
    h = view.get("hospital_detail") or {}
    informed = view.get("guardian_informed") or {}
    sec = lambda key, zh, en: FormSection(key, zh, en)  # noqa: E731
    items = [
        sec("student", "学生基本信息", "Student"),
        f("student_no", s.get("student_no"), pii="student_no", domain="field"),
        f("name", s.get("name"), pii="name", domain="field"),
        f("gender", s.get("gender"), domain="field"),
        f("college", s.get("college"), domain="field"),
        f("class_name", " ".join(x for x in (s.get("major"), s.get("class_name")) if x) or None, domain="field"),
        f("advisor", s.get("advisor"), domain="field"),
        f("level", s.get("level") or "none", kind="level", domain="field"),
        sec("referral", "转介信息", "Referral"),
        f("id", view["short_id"]),
        f("hospital", view.get("hospital")),
        f("department", view.get("department")),
        f("hospital_level", label("hospital_level", h.get("level"), lang) if h.get("level") else None),
        f("hospital_phone", h.get("phone")),
        f("hospital_address", h.get("address")),
        f("green_channel", label("answer", "yes" if h.get("green_channel") else "no", lang)),
        f("referred_at", datetime.fromisoformat(view["referred_at"]) if view.get("referred_at") else None, kind="datetime"),
        f("urgency", t("urgency", view.get("urgency"))),
        f("reason", view.get("reason")),
        f("created_by", staff(view.get("created_by"))),
        f("escort", view.get("escort")),
        f("guardian_informed_at", datetime.fromisoformat(informed["at"]) if informed.get("at") else None, kind="datetime"),
        f("guardian_informed_how", informed.get("how")),
        f("guardian_informed_by", informed.get("by")),
        f("consent", t("consent", view.get("consent"))),
        sec("visit", "就诊与评估", "Visit and assessment"),
        f("visit_date", d(view.get("visit_date")), kind="date"),
        f("diagnosis", view.get("diagnosis")),
        f("icd10", view.get("icd10")),
        f("advice", t("advice", view.get("advice"))),
        f("advice_detail", view.get("advice_detail")),
        f("medication", t("medication", view.get("medication"))),
        f("next_review", d(view.get("next_review")), kind="date"),
        sec("result", "转介状态", "Status"),
        f("status", t("status", view["status"])),
        f("outcome", view.get("outcome")),
        f("alerts", "、".join(label("referral_alert", a, lang) for a in view.get("alerts") or []) or None),
        sec("history", "过程记录", "Steps"),
    ]
    recorded_by = label("referral_text", "recorded_by", lang)
    for item in view.get("history") or []:
        items.append(FormText(f"{item['on']}  {machine.summary(item, lang)}{recorded_by.format(by=staff(item['by']))}"))
    items += [
        SignatureLine((("转介咨询师签字", "Referring counselor"), ("日期", "Date"))),
        SignatureLine((("监护人签字", "Guardian"), ("日期", "Date"))),
        SignatureLine((("中心负责人签字", "Head of center"), ("日期", "Date"))),
    ]
    sheet = Sheet(
        key="referral",
        name_zh="转介记录表",
        name_en="Referral record",
        title_zh=f"转介记录表（{s.get('name') or ''} {s.get('student_no') or ''}）",
        title_en=f"Referral record ({s.get('name') or ''} {s.get('student_no') or ''})",
        kind="form",
        form=items,
        notes=[label("referral_text", "sheet_note", lang)],
    )
    return Report(
        kind="referral",
        title_zh="转介记录表",
        title_en="Referral record",
        period=None,
        generated_at=generated_at,
        lang=lang,
        sheets=[sheet],
        meta={"referral_id": view["id"]},
    )
