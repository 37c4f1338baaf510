"""The pure part of 个体咨询与团体辅导: hours, slots, durations, codes, series and attendance.

Nothing here reads the store or the clock: values come in as typed on the
command line (``周一 09:00-12:00``, ``面询``, ``50``) and leave as plain
records, or as a :class:`~mhtool.errors.UsageError` naming the flag.
"""
