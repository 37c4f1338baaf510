"""Shell completion of student numbers and hospital names, from the store when it opens without asking.

Completion runs on every Tab, with no one to answer a question: it opens the
store only when ``MHTOOL_KEY_FILE`` or ``MHTOOL_PASSPHRASE_FILE`` gives a
credential, and offers nothing otherwise. It never prints and never fails: a
store that does not open, or a role that may not list students, completes
nothing. A completion that lists students is a read like ``cases list`` and is
audited as one.
"""

from __future__ import annotations

import typer


def _center(ctx: typer.Context | None):
    from mhtool.app.center import Center
    from mhtool.console import config, session

    params = ctx.find_root().params if ctx is not None else {}
    st = config.resolve(params.get("store"), params.get("user"))
    if not (st.key_file or st.passphrase_file) or not st.store.exists():
        return None
    return Center.open(st.store, session.credential(st), st.user)


def _complete(ctx, incomplete: str, read) -> list[str]:
    try:
        center = _center(ctx)
        if center is None:
            return []
        with center:
            values = read(center)
    except Exception:
        return []
    prefix = (incomplete or "").strip()
    return sorted({v for v in values if v and str(v).startswith(prefix)})


def watched_students(ctx: typer.Context, incomplete: str) -> list[str]:
    """Student numbers of the students on the watch list."""
    return _complete(ctx, incomplete, lambda center: [row.get("student_no") for row in center.cases.list()])


def hospitals(ctx: typer.Context, incomplete: str) -> list[str]:
    """Names in the hospitals directory."""
    return _complete(ctx, incomplete, lambda center: [row.get("name") for row in center.referrals.hospitals()])


__all__ = ["hospitals", "watched_students"]
