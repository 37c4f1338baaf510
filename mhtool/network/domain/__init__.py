"""The pure part of 五级网络: columns, words, periods and the checks of a row.

Nothing here reads a file, a store or the clock: sheets come in as rows of text
and leave as plain records and :class:`~mhtool.errors.Problem` lists.
"""
