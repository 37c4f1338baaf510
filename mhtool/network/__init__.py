"""五级网络: the 心理委员/寝室长 network, its reports (零报告 included) and who has not reported.

``domain/`` holds the pure rules (the columns a sheet may use, the words of a
role or a status, the checks of a row); ``usecases/`` keeps the roster and the
reports in the store and raises a peer-report signal for each named student;
``cli.py`` is ``mhtool network …``.
"""
