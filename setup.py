"""Builds the package with its compiled message catalogs.

The Chinese catalog is kept as text (``mhtool/locale/*/LC_MESSAGES/mhtool.po``)
and compiled to ``mhtool.mo`` beside it whenever the package is built or
installed (editable installs included), so a fresh install speaks Chinese.
Everything else about the package is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def compile_catalogs() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in sorted(Path(__file__).parent.glob("mhtool/locale/*/LC_MESSAGES/*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parts[-3])
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)


class BuildWithCatalogs(build_py):
    def run(self):
        compile_catalogs()
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
