"""Reports: periods, typed report data, redaction and the workbook writer.

The pieces are kept apart so that most of the work stays pure and testable:

- :mod:`mhtool.domain.periods` — ISO weeks, calendar months and explicit ranges,
  and the rules that turn ``--week/--month/--from/--to`` into one period. No
  clock: ``today`` is always passed in.
- :mod:`mhtool.domain.document` — the report as data (sheets, columns, charts,
  printable forms), independent of any file format; ``Report.to_json()`` gives
  the same figures as the workbook.
- :mod:`mhtool.report.domain.redact` and :mod:`mhtool.report.domain.kanon` — the
  de-identified copy (脱敏) of a report that leaves the center.
- :mod:`mhtool.io.xlsx` — the only module that writes workbooks. It writes
  atomically and never lets user text become a formula.

Report builders (weekly, monthly, census, crisis) turn store data into a
:class:`~mhtool.domain.document.Report`; :class:`mhtool.report.usecases.api.Reports`
(``center.reports``) checks who asks, gathers, builds and publishes it through
the export gateway, and the CLI prints the path or the JSON.
"""
