"""The encrypted store. Import what you need from :mod:`mhtool.store.core`.

Kept free of imports so that ``mhtool --help`` does not load cryptography.
"""
