"""Keep the Chinese catalog complete: collect every message, merge translations, compile.

Messages come from two places:

* the code: every ``_("…")``, ``N_("…")`` and ``ngettext("…", "…", n)``, found by
  Babel's Python extractor;
* the command tree: every group's and command's help, epilog and option help,
  found by walking the live Typer application (so docstrings and ``help=``
  strings need no marking, and nothing shown by ``--help`` can be missed).

Usage (from the repository's root, in the project's virtual environment)::

    python tools/catalog.py update [--parts DIR]   # add new messages to the .po; take translations from DIR/*.json
    python tools/catalog.py todo [--paths mhtool/cases ...]   # untranslated messages, as JSON
    python tools/catalog.py compile                # write the .mo (building the package does this too)

``tests/test_i18n.py`` uses :func:`collect` and fails when a message has no
translation or a translation drops a placeholder.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "mhtool" / "locale" / "zh" / "LC_MESSAGES" / "mhtool.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "gettext_in": (1,), "ngettext": (1, 2)}


def clean(text: str) -> str:
    """A help text as the help page shows it (and as the page looks it up)."""
    return inspect.cleandoc(text).partition("\f")[0].strip()


def _code_messages():
    from babel.messages.extract import extract_from_dir

    method_map = [("mhtool/**.py", "python")]
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True
    ):
        if message:
            yield message, f"{filename}:{lineno}"


def _walk(command, ctx, path):
    import typer

    callback = getattr(command, "callback", None)
    where = inspect.getsourcefile(inspect.unwrap(callback)) if callback else None
    if where and "site-packages" in where:
        where = None
    where = str(Path(where).resolve().relative_to(ROOT)) if where else "mhtool/cli.py"
    label = f"{where}:{' '.join(path) or 'mhtool'}"
    for text in (command.help, command.epilog, command.short_help):
        if text:
            yield clean(text), label
    for param in command.params:
        if getattr(param, "help", None):
            yield clean(param.help), label
    if hasattr(command, "list_commands"):
        sub_ctx = typer.Context(command, parent=ctx, info_name=path[-1] if path else "mhtool")
        for name in command.list_commands(sub_ctx):
            sub = command.get_command(sub_ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, sub_ctx, [*path, name])


def help_messages():
    import typer.main

    from mhtool.cli import app

    root = typer.main.get_command(app)
    return list(_walk(root, None, []))


def collect() -> dict:
    """Every message id a person can read, with where it comes from: {msgid or (singular, plural): [locations]}."""
    found: dict = {}
    for message, where in [*_code_messages(), *help_messages()]:
        found.setdefault(message, []).append(where)
    return found


def read_po():
    from babel.messages.pofile import read_po as babel_read_po

    if not PO.exists():
        from babel.messages.catalog import Catalog

        return Catalog(locale="zh_CN", domain="mhtool", project="mhtool")
    with PO.open("rb") as handle:
        return babel_read_po(handle, locale="zh_CN", domain="mhtool")


def _key(message):
    return message[0] if isinstance(message, tuple) else message


def _parts(folder: Path | None) -> dict[str, str]:
    """Translations offered in ``folder/*.json`` ({msgid: Chinese}); the first file (by name) wins a disagreement."""
    offered: dict[str, str] = {}
    if not folder or not folder.is_dir():
        return offered
    for file in sorted(folder.glob("*.json")):
        text = file.read_text("utf-8").strip()
        for msgid, string in (json.loads(text) if text else {}).items():
            if not string:
                continue
            if msgid in offered and offered[msgid] != string:
                print(f"{file.name}: keeps the earlier translation of {msgid[:60]!r}", file=sys.stderr)
                continue
            offered[msgid] = string
    return offered


def update(parts: Path | None) -> int:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    old = read_po()
    extra = _parts(parts)
    new = Catalog(locale="zh_CN", domain="mhtool", project="mhtool", copyright_holder="mhtool", fuzzy=False)
    missing = 0
    for message, locations in collect().items():
        previous = old.get(_key(message))
        if isinstance(message, tuple):
            string = previous.string if previous and previous.string and any(previous.string) else (extra.get(message[0], ""),)
            if isinstance(string, str):
                string = (string,)
        else:
            string = previous.string if previous and previous.string else extra.get(message, "")
        if not (string if isinstance(string, str) else any(string)):
            missing += 1
        new.add(
            message,
            string,
            locations=[(loc.rsplit(":", 1)[0], None) for loc in dict.fromkeys(locations)],
            flags=("python-brace-format",) if "{" in _key(message) else (),
        )
    with PO.open("wb") as handle:
        write_po(handle, new, width=0, sort_by_file=True, include_lineno=False, omit_header=False)
    print(f"{PO.relative_to(ROOT)}: {len(new)} messages, {missing} without a translation", file=sys.stderr)
    return 0


def todo(paths: list[str], parts: Path | None) -> int:
    catalog = read_po()
    extra = _parts(parts)
    out = {}
    for message, locations in collect().items():
        key = _key(message)
        if paths and not any(loc.startswith(tuple(paths)) for loc in locations):
            continue
        entry = catalog.get(key)
        has = entry is not None and (any(entry.string) if isinstance(entry.string, tuple) else bool(entry.string))
        if not has and not extra.get(key):
            out[key] = ""
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    print(f"{len(out)} without a translation", file=sys.stderr)
    return 0


def compile_mo(po: Path = PO, mo: Path = MO) -> None:
    """Compile ``po`` to ``mo`` (also called by ``setup.py`` when the package is built)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po as babel_read_po

    with po.open("rb") as handle:
        catalog = babel_read_po(handle, locale="zh_CN", domain="mhtool")
    with mo.open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("update")
    up.add_argument("--parts", type=Path)
    td = sub.add_parser("todo")
    td.add_argument("--paths", nargs="*", default=[])
    td.add_argument("--parts", type=Path)
    sub.add_parser("compile")
    args = parser.parse_args(argv)
    if args.action == "update":
        return update(args.parts)
    if args.action == "todo":
        return todo(args.paths, args.parts)
    compile_mo()
    print(f"wrote {MO.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
