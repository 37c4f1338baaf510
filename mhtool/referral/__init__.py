"""Referrals to hospitals (转介) and the hospitals directory.

* :mod:`mhtool.referral.domain.machine` — the referral lifecycle and its attention rules, pure.
* :mod:`mhtool.referral.domain.record_sheet` — the 转介记录表 as a form report, pure.
* :mod:`mhtool.referral.usecases.api` — ``center.referrals``: every operation, role-checked.
* :mod:`mhtool.referral.usecases.service` — the store-facing half, also read by reports.
* :mod:`mhtool.referral.cli` — ``mhtool referral …``.
"""
