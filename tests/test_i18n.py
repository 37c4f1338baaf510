"""The command line in the reader's language: catalogs complete and sound, every help page in Chinese, English kept.

The catalog checks read the repository's ``mhtool.po`` with Babel and the
messages collected the way ``tools/catalog.py`` collects them (the code's
``_()`` marks and the live command tree), so a new message without a Chinese
translation, or a translation that loses a ``{field}``, a flag or a command,
fails here.
"""

from __future__ import annotations

import gettext
import importlib.util
import re
from pathlib import Path

import pytest
import typer
import typer.main

from mhtool import i18n
from mhtool.cli import app

ROOT = Path(__file__).resolve().parents[1]
ZH = {"MHTOOL_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "zh_CN.UTF-8"}
C = {"MHTOOL_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "C"}


def _tool():
    spec = importlib.util.spec_from_file_location("catalog_tool", ROOT / "tools" / "catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalog():
    tool = _tool()
    return tool, tool.collect(), tool.read_po()


def _text(entry) -> str:
    return entry.string[0] if isinstance(entry.string, tuple) else entry.string


# -- the language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"MHTOOL_LANG": "zh"}, "zh"),
        ({"MHTOOL_LANG": "zh_CN.UTF-8", "LANG": "C"}, "zh"),
        ({"MHTOOL_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "C"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_language_comes_from_the_environment(monkeypatch, env, lang):
    for name in ("MHTOOL_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert i18n.current() == lang
    assert (i18n._("missing {flag}") != "missing {flag}") == (lang == "zh")


# -- the catalog ------------------------------------------------------------------------------


def test_every_message_has_a_chinese_translation(catalog):
    _tool_module, messages, po = catalog
    missing = []
    for message in messages:
        key = message[0] if isinstance(message, tuple) else message
        entry = po.get(key)
        if entry is None or not _text(entry).strip() or entry.fuzzy:
            missing.append(key)
    assert not missing, f"{len(missing)} messages have no Chinese translation (run tools/catalog.py update and translate):\n" + "\n".join(
        repr(m) for m in missing[:40]
    )


FIELD = re.compile(r"\{[^{}]*\}")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
CODE = re.compile(r"`[^`]+`")
VARIABLE = re.compile(r"\bMHTOOL_[A-Z_]+\b")


def _kept(msgid: str, msgstr: str) -> list[str]:
    lost = []
    if set(FIELD.findall(msgid)) != set(FIELD.findall(msgstr)):
        lost.append(f"fields {sorted(set(FIELD.findall(msgid)))} vs {sorted(set(FIELD.findall(msgstr)))}")
    for pattern in (FLAG, CODE, VARIABLE):
        for token in set(pattern.findall(msgid)) - set(pattern.findall(msgstr)):
            lost.append(f"drops {token}")
    head = re.match(r"^(--[a-z][a-z0-9-]*|\{(?:option|flag)\}):", msgid)
    if head and not msgstr.startswith(head.group(0)):
        lost.append(f"does not start with {head.group(0)}")
    return lost


def test_translations_keep_fields_flags_commands_and_variables(catalog):
    _tool_module, _messages, po = catalog
    broken = []
    for entry in po:
        if not entry.id or not _text(entry):
            continue
        msgid = entry.id[0] if isinstance(entry.id, tuple) else entry.id
        problems = _kept(msgid, _text(entry))
        if problems:
            broken.append(f"{msgid!r}: {'; '.join(problems)}")
    assert not broken, f"{len(broken)} translations lose part of their message:\n" + "\n".join(broken[:40])


def test_the_check_catches_a_dropped_field_a_dropped_flag_and_a_moved_flag():
    assert _kept("no student {no}", "没有学生") == ["fields ['{no}'] vs []"]
    assert _kept("pass --yes to go on", "确认后继续") == ["drops --yes"]
    assert _kept("--hospital: no hospital named {name}", "没有名为 {name} 的医院（--hospital:）") == ["does not start with --hospital:"]
    assert _kept("run `mhtool check`", "运行 `mhtool check`") == []


def test_the_installed_catalog_is_compiled_from_the_repositorys_po(catalog):
    _tool_module, _messages, po = catalog
    mo = i18n.LOCALE_DIR / "zh" / "LC_MESSAGES" / "mhtool.mo"
    assert mo.exists(), "the compiled catalog is missing: install the package (pip install -e .) to build it"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [entry.id for entry in po if entry.id and isinstance(entry.id, str) and entry.string and compiled.gettext(entry.id) != entry.string]
    assert not stale, f"{len(stale)} messages differ from the compiled catalog: reinstall the package (pip install -e .) to rebuild it"


def test_no_message_is_built_from_an_f_string_or_a_concatenation():
    offenders = []
    for path in (ROOT / "mhtool").rglob("*.py"):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.search(r"\b_\(\s*f[\"']", line) or re.search(r"\b_\(\s*[\"'][^\"']*[\"']\s*\+", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# -- help pages -------------------------------------------------------------------------------


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(group, ctx, path):
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            paths.append([*path, name])
            if hasattr(sub, "list_commands"):
                walk(sub, typer.Context(sub, parent=ctx, info_name=name), [*path, name])

    walk(root, typer.Context(root, info_name="mhtool"), [])
    return paths


# Option names, metavars, codes in backticks, example command lines and variable names may stay
# as they are; what remains must not hold three English words in a row.
_ALLOWED = [
    re.compile(r"`[^`]*`"),
    re.compile(r"“[^”]*”"),  # a quoted title, e.g. of a section of docs/design.md
    re.compile(r"(?:示例|例如|Example)[:：].*"),
    re.compile(r"(?m)^\s*mhtool .*$"),
    re.compile(r"(?<![\w-])--?[a-zA-Z][\w-]*"),
    re.compile(r"<[^>]*>"),
    re.compile(r"\b[A-Z][A-Z0-9_]+\b"),
    re.compile(r"\S+/\S+"),
    re.compile(r"\S+\.(?:xlsx|xls|csv|db|toml|key|txt|json|pdf|md)\b"),
]
_ENGLISH = re.compile(r"\b[A-Za-z][a-z]+(?: [A-Za-z][a-z]+){2,}\b")


def english_sentences(page: str) -> list[str]:
    lines = [line for line in page.splitlines() if not line.lstrip().startswith(("用法：", "Usage:"))]
    text = "\n".join(lines)
    for pattern in _ALLOWED:
        text = pattern.sub(" ", text)
    return _ENGLISH.findall(text)


def test_the_english_detector_finds_english_and_allows_names_and_examples():
    assert english_sentences("  Record an interview (约谈).") == ["Record an interview"]
    assert english_sentences("用法：mhtool cases interview [OPTIONS] STUDENT\n  记录约谈。\n  示例：mhtool cases interview 2024 --mode in person now\n  --next-step TEXT  后续安排。") == []


def test_every_help_page_is_in_chinese_with_a_chinese_locale(cli):
    pages = {}
    for path in _command_paths():
        result = cli(*path, "--help", env=ZH)
        assert result.exit_code == 0, (path, result.stderr)
        pages[" ".join(path) or "mhtool"] = result.stdout
    english = {name: found for name, page in pages.items() if (found := english_sentences(page))}
    assert not english, "English sentences in Chinese help pages:\n" + "\n".join(f"{k}: {v[:4]}" for k, v in english.items())
    assert len(pages) > 60
    assert "用法：" in pages["cases interview"] and "选项：" in pages["cases interview"]


def test_every_help_page_is_in_english_with_the_c_locale(cli):
    for path in _command_paths():
        result = cli(*path, "--help", env=C)
        assert result.exit_code == 0, (path, result.stderr)
        assert "Usage:" in result.stdout and "Options:" in result.stdout, path
        assert not re.search(r"[用选命令参数]：", result.stdout), path


def test_chinese_help_lines_fit_the_terminal(cli):
    from mhtool.console.table import width as cells

    for path in (["cases"], ["cases", "interview"], ["report", "weekly"], []):
        page = cli(*path, "--help", env={**ZH, "COLUMNS": "80"}).stdout
        too_wide = [line for line in page.splitlines() if cells(line) > 80 and not line.lstrip().startswith(("mhtool ", "示例"))]
        assert not too_wide, (path, too_wide)
