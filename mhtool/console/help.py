"""Help pages and command-line mistakes in the reader's language.

Help text stays in the code as plain English docstrings and ``help=`` strings;
these classes look each one up in the catalog when a page is shown
(:func:`mhtool.i18n._`), together with the words Typer adds (Usage, Options,
default, required). Chinese text has no spaces to break lines at and each
character takes two columns, so a Chinese page is wrapped by display width
(:func:`wrap`); an English page is left to Typer's own formatter.

Mistakes on the command line (a missing option, an unknown flag, a value that
is not a number) are Typer's exceptions; :func:`usage_message` says them in
Chinese, naming the flag, for the root group to print.
"""

from __future__ import annotations

import inspect
import re

import typer
from typer.core import TyperCommand, TyperGroup

from mhtool.i18n import N_, _, current

# Words Typer and its help option print, so that the catalog has them.
HELP_OPTION_HELP = N_("Show this message and exit.")

def wrap_paragraphs(text: str, size: int, indent: str = "") -> str:
    """Like Typer's wrapping: paragraphs rewrapped, a paragraph led by a ``\\b`` line kept as written."""
    from mhtool.console.table import wrap  # the table module and unicodedata: loaded for a Chinese page, not for every command

    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        raw = block.splitlines()
        if raw and raw[0].strip() == "\b":
            out.append("\n".join(indent + line for line in raw[1:]))
            continue
        lead = len(raw[0]) - len(raw[0].lstrip()) if raw else 0
        pad = indent + " " * lead
        out.append("\n".join(wrap(" ".join(line.strip() for line in raw), size, pad, pad)))
    return "\n\n".join(out)


class WideTextFormatter(typer.Context.formatter_class):
    """Typer's help formatter, measuring text by display width (Chinese pages)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        from mhtool.console.table import width, wrap

        head = f"{prefix or ''}{prog} "
        self.write("\n".join(wrap(args, self.width, head, " " * min(width(head), 30))) + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_text(self, text: str) -> None:
        self.write(wrap_paragraphs(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        from mhtool.console.table import width, wrap

        rows = list(rows)
        first_col = min(max((width(first) for first, _second in rows), default=0), col_max) + col_spacing
        indent = " " * self.current_indent
        for first, second in rows:
            self.write(f"{indent}{first}")
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            pad = " " * (first_col + self.current_indent)
            lines = wrap(second, max(self.width - first_col - self.current_indent, 10))
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(pad + line + "\n")


class HelpContext(typer.Context):
    """Makes the formatter that fits the reader's language."""

    def make_formatter(self):
        if current() == "zh":
            return WideTextFormatter(width=self.terminal_width, max_width=self.max_content_width)
        return super().make_formatter()


def help_text(text: str | None) -> str:
    """A docstring or ``help=`` string as the reader reads it (the catalog's key is the cleaned English text)."""
    if not text:
        return ""
    return _(inspect.cleandoc(text).partition("\f")[0].strip())


def short_help(text: str, limit: int) -> str:
    """The first sentence of a Chinese help text, for a list of commands."""
    from mhtool.console.table import width

    first = text.split("\n\n")[0].replace("\n", "")
    first = first.split("。")[0]
    if width(first) <= limit:
        return first
    while first and width(first) > limit - 1:
        first = first[:-1]
    return first + "…"


def _extras(extra: str) -> str:
    """Typer's ``[default: 3000; x>=50; required]`` in the reader's language."""
    words = []
    for item in extra.split("; "):
        if item.startswith("default: "):
            words.append(_("default: {default}").format(default=item[len("default: "):]))
        elif item.startswith("env var: "):
            words.append(_("env var: {var}").format(var=item[len("env var: "):]))
        elif item == "required":
            words.append(_("required"))
        else:
            words.append(item)
    return "; ".join(words)


def help_record(param, ctx):
    """One row of the Options or Arguments section, its help translated."""
    original = param.help
    try:
        param.help = help_text(original) if original else original
        if getattr(param, "opts", None) and "--help" in param.opts and original == "Show this message and exit.":
            param.help = _(HELP_OPTION_HELP)
        record = param.get_help_record(ctx)
    finally:
        param.help = original
    if record is None or current() != "zh":
        return record
    names, text = record
    if text.endswith("]") and "[" in text:
        body, _sep, extra = text.rpartition("[")
        text = f"{body}[{_extras(extra[:-1])}]"
    return names, text


def _indented(formatter, text: str) -> None:
    if text:
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(text)


class _Translated:
    """What a command and a group share: usage, help text, options and epilog in the reader's language."""

    context_class = HelpContext

    def format_usage(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=_("Usage: "))

    def format_help_text(self, ctx, formatter) -> None:
        _indented(formatter, help_text(self.help))

    def format_options(self, ctx, formatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = help_record(param, ctx)
            if record is not None:
                (arguments if param.param_type_name == "argument" else options).append(record)
        if arguments:
            with formatter.section(_("Arguments")):
                formatter.write_dl(arguments)
        if options:
            with formatter.section(_("Options")):
                formatter.write_dl(options)
        if hasattr(self, "format_commands"):
            self.format_commands(ctx, formatter)

    def format_epilog(self, ctx, formatter) -> None:
        _indented(formatter, help_text(self.epilog))

    def get_short_help_str(self, limit: int = 45) -> str:
        if current() != "zh":
            return super().get_short_help_str(limit)
        return short_help(help_text(self.short_help or self.help), limit)


class HelpCommand(_Translated, TyperCommand):
    """Every mhtool command."""


class HelpGroup(_Translated, TyperGroup):
    """Every mhtool command group."""

    def list_commands(self, ctx) -> list[str]:
        # The names alone, in the order they were defined: listing builds no command (console.apps.LazyCommands).
        return list(self.commands)

    def format_commands(self, ctx, formatter) -> None:
        rows = self.command_rows(ctx, formatter)
        if rows:
            with formatter.section(_("Commands")):
                formatter.write_dl(rows)

    def command_rows(self, ctx, formatter) -> list[tuple[str, str]]:
        shown = [(n, self.get_command(ctx, n)) for n in self.list_commands(ctx)]
        shown = [(n, cmd) for n, cmd in shown if cmd is not None and not cmd.hidden]
        if not shown:
            return []
        limit = formatter.width - 6 - max(len(n) for n, _cmd in shown)
        return [(name, cmd.get_short_help_str(limit)) for name, cmd in shown]


# -- command-line mistakes ----------------------------------------------------------------------

# What Typer says of a refused value, and how to say it; compiled on first use (start-up time).
_VALUE_PROBLEMS = [
    ((r"^Input should be a valid integer"), N_("expected a whole number")),
    ((r"^Input should be a valid number"), N_("expected a number")),
    ((r"^Input should be greater than or equal to (?P<limit>\S+?)\.?$"), N_("must be at least {limit}")),
    ((r"^Input should be less than or equal to (?P<limit>\S+?)\.?$"), N_("must be at most {limit}")),
    ((r"^Input should be greater than (?P<limit>\S+?)\.?$"), N_("must be more than {limit}")),
    ((r"^Input should be less than (?P<limit>\S+?)\.?$"), N_("must be less than {limit}")),
    ((r"^Input should be (?P<choices>.+?)\.?$"), N_("must be {choices}")),
    # Typer before 0.29 names the type "int", "int range", "float range"; a boolean adds the words it knows.
    ((r"^(?P<value>.+) is not a valid int(?:eger)?(?: range)?\.?$"), N_("{value} is not a whole number")),
    ((r"^(?P<value>.+) is not a valid float(?: range)?\.?$"), N_("{value} is not a number")),
    ((r"^(?P<value>.+) is not a valid boolean\b.*$"), N_("{value} is not yes or no")),
    ((r"^(?P<value>.+) is not in the range (?P<range>.+?)\.?$"), N_("{value} is not in the range {range}")),
    ((r"^(?P<value>.+) is not one of (?P<choices>.+?)\.?$"), N_("{value} is not one of {choices}")),
    ((r"^(?P<value>.+) is not (?P<choices>.+?)\.?$"), N_("{value} is not {choices}")),
    ((r"^(?:File|Path|Directory) (?P<value>.+) does not exist\.?$"), N_("{value} does not exist")),
]


def _name(hint) -> str:
    return str(hint or "").replace("'", "").replace('"', "")


def usage_message(exc) -> str:
    """What a Typer usage error says, in the reader's language, naming the flag."""
    kind = type(exc).__name__
    ctx = getattr(exc, "ctx", None)
    message = str(getattr(exc, "message", "") or exc)
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None) or (param.get_error_hint(ctx) if param is not None else None)
    if isinstance(hint, (list, tuple)):
        hint = " / ".join(hint)
    if kind == "MissingParameter":
        what = getattr(exc, "param_type", None) or getattr(param, "param_type_name", "option")
        template = N_("missing argument {name}") if what == "argument" else N_("missing option {name}")
        return _(template).format(name=_name(hint))
    if kind == "NoSuchOption":
        said = _("no such option: {name}").format(name=exc.option_name)
        if getattr(exc, "possibilities", None):
            said += _("; did you mean {options}?").format(options=", ".join(sorted(exc.possibilities)))
        return said
    if kind == "BadOptionUsage":
        if "requires an argument" in message:
            return _("{name} needs a value").format(name=exc.option_name)
        if "does not take a value" in message:
            return _("{name} takes no value").format(name=exc.option_name)
    if kind == "BadParameter" or (param is not None and kind != "BadOptionUsage"):
        problem = message
        for pattern, template in _VALUE_PROBLEMS:
            found = re.match(pattern, message)
            if found:
                problem = _(template).format(**found.groupdict())
                break
        return _("invalid value for {name}: {problem}").format(name=_name(hint), problem=problem)
    # Typer adds its suggestions to the message: " Did you mean 'group'?".
    found = re.match(r"^No such command (?P<name>.+?)\.?(?: Did you mean (?P<options>.+)\?)?$", message)
    if found:
        said = _("no such command: {name}").format(name=_name(found["name"]))
        if found["options"]:
            said += _("; did you mean {options}?").format(options=_name(found["options"]))
        return said
    found = re.match(r"^Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)$", message)
    if found:
        return _("unexpected extra arguments: {args}").format(args=found["args"])
    if message.startswith("Missing command"):
        return _("missing command")
    return message


def show_usage_error(exc) -> None:
    """The usage line, the mistake and where to read more, on stderr, in the reader's language."""
    import sys

    from mhtool.console import output

    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        sys.stderr.write(ctx.get_usage() + "\n")
    hint = _("run `{command} -h` for help").format(command=ctx.command_path) if ctx is not None else None
    output.error(usage_message(exc), hint)
