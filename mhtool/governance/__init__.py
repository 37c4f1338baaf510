"""Data governance: de-identified research exports, purpose of identifiable exports, retention and erasure.

* :mod:`mhtool.governance.domain.research` — the pure core of research exports:
  keyed pseudonyms, per-student date shifting, small-cell suppression.
* :mod:`mhtool.governance.usecases.api` — ``center.governance``, the use cases below
  as one class.
* :mod:`mhtool.governance.usecases.exports` — the store-facing research export.
* :mod:`mhtool.governance.usecases.purpose` — the ``--purpose`` policy for identifiable
  exports and the governance settings.
* :mod:`mhtool.governance.usecases.retention` — retention plan and apply, erasure on
  request, and the scrub that keeps erased data out of the file.
* :mod:`mhtool.governance.cli` — ``mhtool export research``, ``mhtool retention …``
  and ``mhtool erase``.
"""
