"""Commands of this group (filled in by its capability)."""

from __future__ import annotations

from mhtool.cli_support import make_subapp

app = make_subapp()
