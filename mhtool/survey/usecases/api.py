"""Screening (心理普查) as use cases: instruments, scoring a sheet, importing exports, batches.

:class:`Survey` is ``center.survey``. Every operation on the store checks
the caller's role first, then applies the import rules, writes one
transaction with its audit entry and returns plain data. Listing instruments
and scoring a sheet need no store: they are static methods, callable as
``Survey.score(...)`` without signing in.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.domain.labels import pick
from mhtool.i18n import _
from mhtool.domain.vocabulary import LEVELS
from mhtool.survey.usecases import importer, registry

if TYPE_CHECKING:
    from mhtool.app.center import Center
    from mhtool.store.core import Store
    from mhtool.survey.domain.instruments import Instrument

# ``progress(total, description)`` opens a progress display and yields ``advance(n=1)``;
# ``total`` is None while the size of the work is not known yet (reading a workbook).
Progress = Callable[[int | None, str], AbstractContextManager[Callable[..., None]]]


@contextmanager
def no_progress(total: int | None, description: str) -> Iterator[Callable[..., None]]:
    yield lambda n=1: None


@dataclass
class Scored:
    """A sheet scored without a store: one record per scored row, and the plan with its problems."""

    plan: importer.ImportPlan
    instrument: Instrument
    records: list[dict]
    written: Path | None = None

    def band_counts(self) -> list[tuple[str, str, int]]:
        """(band, its label, rows) for every band of the instrument, in its order."""
        found = Counter(r["band"] for r in self.records)
        return [(b, self.instrument.band_label(b), found.get(b, 0)) for b in self.instrument.bands]

    def level_counts(self) -> list[tuple[str, int]]:
        """(proposed level, rows) from red to none."""
        found = Counter(r["proposed_level"] for r in self.records)
        return [(lv, found.get(lv, 0)) for lv in LEVELS]


@dataclass
class Imported:
    """What an import did (or, for a dry run, would do); ``mapping`` shows a dry run's columns."""

    plan: importer.ImportPlan
    summary: importer.ImportSummary
    mapping: list[dict] = field(default_factory=list)


def _sheet_records(plan: importer.ImportPlan) -> list[dict]:
    keys = ("instrument", "version", "scores", "band", "flags", "proposed_level")
    records = [{"row": o.row, "student_no": o.student_no, **{k: result[k] for k in keys}} for o in plan.accepted + plan.superseded if (result := o.result)]
    return sorted(records, key=lambda r: r["row"])


def _write_scores(path: Path, sheet_name: str, records: list[dict]) -> Path:
    from mhtool.io.xlsx import write_table_xlsx

    keys = list(records[0]["scores"]) if records else []
    headers = ["行 row", "学号 student_no", *keys, "分级 band", "关键条目 flags", "建议关注等级 proposed level"]
    table = [[r["row"], r["student_no"], *[r["scores"].get(k) for k in keys], r["band"], "、".join(r["flags"]), r["proposed_level"]] for r in records]
    return write_table_xlsx(path, sheet_name, headers, table)


class Survey:
    """The screening operations of one signed-in staff member."""

    def __init__(self, center: Center):
        self.center = center

    @property
    def store(self) -> Store:
        return self.center.store

    # -- no store needed ----------------------------------------------------------------------

    @staticmethod
    def instruments(lang: str = "zh") -> list[dict]:
        """Every instrument a center can score with (built-ins and ``MHTOOL_INSTRUMENTS``): code, name, items, bands (codes and names in ``lang``)."""
        return [
            {
                "code": inst.code,
                "name": pick(lang, inst.name_zh, inst.name_en),
                "name_zh": inst.name_zh,
                "name_en": inst.name_en,
                "version": inst.version,
                "items": inst.item_count,
                "bands": list(inst.bands),
                "band_names": [inst.band_label(band, lang) for band in inst.bands],
            }
            for inst in registry.all_instruments().values()
        ]

    @staticmethod
    def instrument(code: str) -> Instrument:
        """One instrument's definition; ``describe()`` gives it as data."""
        return registry.instrument(code)

    @staticmethod
    def score(
        file: str | os.PathLike,
        instrument: str,
        *,
        profile: str = "generic",
        answers: str = "auto",
        sheet: str | int | None = None,
        out: str | os.PathLike | None = None,
        progress: Progress = no_progress,
    ) -> Scored:
        """Score a sheet without any store; with ``out``, also write the scores to a workbook."""
        with progress(None, _("reading {file}").format(file=Path(file).name)):
            plan = importer.score_file(file, instrument, profile=profile, answers=answers, sheet=sheet)
        records = _sheet_records(plan)
        written = _write_scores(Path(out), plan.instrument, records) if out is not None else None
        return Scored(plan, registry.instrument(plan.instrument), records, written)

    # -- the store ----------------------------------------------------------------------------

    def import_file(
        self,
        file: str | os.PathLike,
        instrument: str,
        *,
        profile: str = "auto",
        answers: str = "auto",
        sheet: str | int | None = None,
        batch_name: str | None = None,
        dry_run: bool = False,
        skip_invalid: bool = False,
        rejects: str | os.PathLike | None = None,
        on: date | None = None,
        progress: Progress = no_progress,
        password: str | None = None,
        cohort: Iterable[str] | None = None,
    ) -> Imported:
        """Import a screening export: dossiers, sealed scored responses and interview tasks, all or nothing.

        With ``skip_invalid`` the valid rows are imported and the rejected ones
        written to the ``rejects`` workbook (default: ``FILE_rejected.xlsx``
        beside the export). ``on`` back-dates the import to the day the export
        arrived. Importing the same file twice adds nothing. ``password`` opens a
        password-protected workbook (decrypted in memory; a wrong one is invalid input).

        ``cohort``: the grades expected to take part (``["2026级"]``), stored on
        the batch for the census report's 参与率; by default the grades of the
        export, else of the matched students' dossiers (empty: unknown).
        Rows of numbers outside the caller's colleges are refused with one
        message that names nothing stored; the refusal is audited even when
        ``dry_run`` (the one write a dry run makes).
        """
        store = self.store
        store.require("import", action="survey.import")
        requested = importer.cohort_option(cohort)
        with progress(None, _("reading {file}").format(file=Path(file).name)):
            plan = importer.plan_import(file, instrument, profile=profile, answers=answers, sheet=sheet, policy=store.setting("screening_policy"), password=password)
        with progress(len(plan.accepted), _("importing")) as advance:
            check = importer.check_import(store, plan, skip_invalid=skip_invalid, dry_run=dry_run, cohort=requested)
            summary = check.summary
            if not dry_run and not summary.already_imported:
                if plan.rejected:
                    summary.rejects_file = str(self._publish_rejects(plan, rejects))
                importer.write_import(
                    store, plan, check, today=on or self.center.today(), batch_name=batch_name, back_dated=on is not None, progress=advance
                )
        return Imported(plan, summary, importer.mapping_rows(plan) if dry_run else [])

    def _publish_rejects(self, plan: importer.ImportPlan, rejects: str | os.PathLike | None) -> Path:
        from mhtool.io.xlsx import out_path_for

        default = f"{plan.path.stem}_rejected.xlsx"
        target = out_path_for(rejects if rejects is not None else plan.path.with_name(default), default, option="--rejects")
        return self.center.exports.publish(
            target,
            lambda tmp: importer.write_rejects(plan, tmp),
            action="survey.rejects",
            what="a rejects workbook",
            # It hands the importer's own rows back with the reasons; no stored record goes out.
            identifiable=False,
            details={"file": plan.file, "rejected": len(plan.rejected)},
        )

    def batches(self) -> list[dict]:
        """Every imported batch, oldest first."""
        self.store.require("import", action="survey.batches")
        return importer.list_batches(self.store)

    def batch(self, ref: str) -> dict:
        """One batch (id or a prefix of 4+ characters): counts, bands, proposed levels, who imported it and when."""
        self.store.require("import", action="survey.batch")
        return importer.batch_detail(self.store, ref)

    def void(self, ref: str, reason: str) -> dict:
        """Hide a mistaken batch and cancel its open interview tasks; interviews already recorded stay."""
        self.store.require("import", action="survey.void")
        return importer.void_batch(self.store, ref, reason, today=self.center.today())

    def rescore(self, ref: str) -> dict:
        """Re-score a batch under the current instrument version; the old scores are kept with each response."""
        self.store.require("import", action="survey.rescore")
        return importer.rescore_batch(self.store, ref)
