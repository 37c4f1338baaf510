"""个体咨询与团体辅导: appointments, confidential session records, groups, activities and case conferences.

``domain/`` holds the pure rules (working hours and slots, durations, the
words of a mode, concern, risk or outcome, a session's place in its series,
group attendance); ``usecases/`` keeps them in the store (sessions and
conferences are timeline entries whose content is sealed under the clinical
key); ``cli.py`` is ``mhtool counseling …``.
"""
