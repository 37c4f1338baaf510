"""多源预警: dorm-return, campus-card and academic signals, explained, on the dossier.

``domain/`` holds the plain data (:mod:`~mhtool.signals.domain.facts`) and the rules
(:mod:`~mhtool.signals.domain.rules`, with their built-in defaults in ``rules.toml``);
``usecases/`` imports the school's exports and keeps the signals; ``cli.py`` is
``mhtool signals …``. A signal is a hint for a counselor to check, never a label.
"""
