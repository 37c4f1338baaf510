"""The instruments a center scores with: the built-ins plus its own TOML files.

A center adds or overrides instruments in the folders named by
``MHTOOL_INSTRUMENTS``. Import, rescoring, ``survey instruments`` and the
census report all look instruments up here, so a custom instrument is known
everywhere or nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from mhtool.survey.domain import instruments
from mhtool.survey.domain.instruments import Instrument


def _dirs(extra_dirs: Iterable[str | os.PathLike] | None) -> Iterable[str | os.PathLike]:
    return instruments.instrument_dirs_from_env() if extra_dirs is None else extra_dirs


def all_instruments(extra_dirs: Iterable[str | os.PathLike] | None = None) -> dict[str, Instrument]:
    """Every instrument by code; ``extra_dirs`` (default: ``MHTOOL_INSTRUMENTS``) add to the built-ins."""
    return instruments.load_instruments(_dirs(extra_dirs))


def instrument(code: str, extra_dirs: Iterable[str | os.PathLike] | None = None) -> Instrument:
    """One instrument by code; :class:`~mhtool.errors.NotFound` names the known ones."""
    return instruments.get_instrument(code, _dirs(extra_dirs))
