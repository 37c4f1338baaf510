"""The pure part of 多源预警: per-student daily facts, the rules over them, and their hits.

Nothing here reads a file (apart from the built-in ``rules.toml``), a store or the
clock: the day a rule is evaluated on is always passed in.
"""
