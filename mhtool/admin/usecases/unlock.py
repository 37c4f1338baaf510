"""Unlock once per session: one's slot key held by the unlock agent for a while, and ended again.

Any role may unlock; what the agent then opens is exactly what the person's
own passphrase opens. The agent itself is :mod:`mhtool.store.agent`.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from mhtool.errors import UsageError
from mhtool.i18n import _
from mhtool.store import agent

if TYPE_CHECKING:
    from mhtool.store.crypto import Credential

DEFAULT_SECONDS = agent.DEFAULT_SECONDS
MAX_SECONDS = agent.MAX_SECONDS

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def duration_seconds(text: str) -> int:
    """Seconds of a duration written ``90s``, ``30m``, ``2h`` or ``1h30m``; from 1 second to 12 hours."""
    value = str(text).strip().lower()
    match = _DURATION.fullmatch(value)
    if not value or match is None or not any(match.groups()):
        raise UsageError(
            _("--for {value!r} is not a duration").format(value=text),
            hint=_("write it with its unit: 90s, 30m, 2h or 1h30m (at most {hours}h)").format(hours=MAX_SECONDS // 3600),
        )
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 1:
        raise UsageError(_("--for {value!r} is no time at all").format(value=text), hint=_("for example --for 30m"))
    if total > MAX_SECONDS:
        raise UsageError(
            _("--for {value!r} is longer than an unlock may last ({hours}h)").format(value=text, hours=MAX_SECONDS // 3600),
            hint=_("unlock again when it ends"),
        )
    return total


def unlock(path: str | os.PathLike, credential: Credential, user: str | None, seconds: int = DEFAULT_SECONDS) -> dict:
    """Open the store with ``credential``, then hand the slot key to a new unlock agent for ``seconds`` (audited as ``agent.unlock``).

    Returns ``store``, ``user``, ``until`` (epoch seconds), ``pid``, ``replaced``
    (when an agent of the same member and store was running: the time it was
    to end) and ``tampering`` (what the open found changed outside mhtool).
    """
    from mhtool.store.core import Store

    with Store.open(path, credential, user) as store:
        result = agent.start(store, seconds)
        result["tampering"] = list(store.tampering)
    return result


def lock(path: str | os.PathLike, user: str | None, *, everything: bool = False) -> list[dict]:
    """End the unlock agents of the store at ``path`` (of ``user``, when given), or every agent of this OS user.

    Each end is recorded as ``agent.lock`` in its store's audit log, through
    the key the agent holds. Returns what each agent said of itself
    (``store``, ``user``, ``until``) with ``recorded`` and ``problem``.
    """
    return [agent.end(found) for found in agent.running() if everything or agent.serves(found, path, user)]
