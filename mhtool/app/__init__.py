"""The use-case layer's entry point: :class:`~mhtool.app.center.Center`, the documented Python API.

    from mhtool.app import Center
    with Center.open("store.db", credential, "wangli") as center:
        center.cases.show("2026601000")

See ``docs/api.md``.
"""

from mhtool.app.center import Center, credential_from_key_file, credential_from_passphrase

__all__ = ["Center", "credential_from_key_file", "credential_from_passphrase"]
