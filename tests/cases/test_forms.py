"""On a terminal, whatever was not given on the command line is asked for (scripted answers here)."""

from casekit import show_json

from mhtool.console import prompts


def script(monkeypatch, answers: dict):
    """Answer prompts by a word in their question; record what was asked."""
    asked = []

    def answer(message, *args, **kw):
        asked.append(message)
        for key, value in answers.items():
            if key in message:
                return value
        return ""

    monkeypatch.setattr(prompts, "is_interactive", lambda: True)
    monkeypatch.setattr(prompts, "text", answer)
    monkeypatch.setattr(prompts, "select", answer)
    return asked


def test_interview_form_asks_for_what_was_not_given(school, monkeypatch):
    asked = script(monkeypatch, {"findings": "表单里填写的约谈情况", "confirmed level": "yellow", "mode": "面谈", "risk": "低"})
    r = school.cli("cases", "interview", "2024010001", "--next-step", "一月后回访")
    assert r.exit_code == 0, r.stderr
    assert any("findings" in q for q in asked) and not any("next step" in q for q in asked)
    d = show_json(school.cli, "2024010001")
    interview = next(i for i in d["timeline"] if i["kind"] == "interview")
    assert interview["fields"] == {"findings": "表单里填写的约谈情况", "confirmed_level": "yellow", "mode": "面谈", "risk": "低", "next_step": "一月后回访"}
    assert d["student"]["level"] == "yellow"


def test_skipped_optional_answers_stay_empty(school, monkeypatch):
    script(monkeypatch, {"guardian": "父亲", "what was said": "电话沟通", "consent": "（跳过 / skip）"})
    r = school.cli("cases", "guardian", "2024010001")
    assert r.exit_code == 0, r.stderr
    g = next(i for i in show_json(school.cli, "2024010001")["timeline"] if i["kind"] == "guardian_contact")
    assert g["fields"] == {"guardian": "父亲", "content": "电话沟通"}
