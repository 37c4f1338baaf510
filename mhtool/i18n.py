"""The language people read: chosen from the environment, looked up in gettext catalogs.

Chinese when ``MHTOOL_LANG`` says ``zh`` (``zh``, ``zh_CN`` …) or, without it,
when the locale (the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is
set) is ``zh_*``; English otherwise. ``MHTOOL_LANG=en`` forces English on a
Chinese desktop.

Messages are written in English in the code, marked with :func:`_` where they
are made (or :func:`N_` where they are defined before anyone reads them, and
translated with :func:`_` where they are shown). The English text is the
message id; ``mhtool/locale/zh/LC_MESSAGES/mhtool.po`` holds the Chinese, and
building the package compiles it to ``mhtool.mo`` beside it (``setup.py``).
Help pages are translated when they are shown (:mod:`mhtool.console.apps`), so
their source stays plain docstrings and ``help=`` strings.

The language is read from the environment at every call, so a test (or a
long-lived caller) that changes it is followed; the catalog itself is read
once. Data meant for scripts (JSON keys, CSV headers, codes) never goes
through here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

LANGS = ("zh", "en")
DOMAIN = "mhtool"
LOCALE_DIR = Path(__file__).parent / "locale"

_catalogs: dict[str, object] = {}


def current() -> str:
    """``"zh"`` or ``"en"``: the language of everything a person reads at the terminal."""
    chosen = os.environ.get("MHTOOL_LANG", "").strip()
    if not chosen:
        for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
            chosen = os.environ.get(variable, "").strip()
            if chosen:
                break
    return "zh" if chosen.lower().startswith("zh") else "en"


def _catalog(lang: str):
    if lang not in _catalogs:
        import gettext

        _catalogs[lang] = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    return _catalogs[lang]


def _(message: str) -> str:
    """``message`` in the reader's language (the English id itself when there is no translation)."""
    return gettext_in(message, current())


def gettext_in(message: str, lang: str) -> str:
    """``message`` in ``lang``: a table header follows its data's language (:func:`in_language`), not the reader's."""
    if lang == "en" or not message:
        return message
    return _catalog(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message that fits ``n`` (Chinese has one form)."""
    lang = current()
    if lang == "en":
        return singular if n == 1 else plural
    return _catalog(lang).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it yet (module-level constants)."""
    return message


def joined(items, lang: str | None = None) -> str:
    """Items as a list a reader reads: 、 between them in Chinese, ", " in English (``lang``, else the reader's)."""
    return ("、" if (lang or current()) == "zh" else ", ").join(str(item) for item in items)


def in_language(lang: str | None) -> str:
    """The language of labels in data shown: ``lang`` when given (``--lang``), else the reader's on a terminal.

    Output that is not a terminal (a pipe, a file, cron) is read by scripts and
    by the school's documents: it stays Chinese, whoever runs the command.
    """
    if lang in LANGS:
        return lang
    return current() if sys.stdout.isatty() or os.environ.get("FORCE_TERMINAL") else "zh"
