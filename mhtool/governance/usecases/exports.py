"""The research export as a store service: gather responses, de-identify, publish through the export gateway.

The de-identification itself is :mod:`mhtool.governance.domain.research`; this module
only decides which responses are in (non-voided batches, the staff member's
college scope, ``--batch`` and ``--instrument``), which key pseudonymises them,
and hands the file to the export gateway, which records it with its purpose
and row count in the audit chain before it appears.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.domain import dates
from mhtool.errors import UsageError
from mhtool.governance.domain import research
from mhtool.governance.usecases.purpose import clean_purpose
from mhtool.i18n import _
from mhtool.io.cells import formula_safe

if TYPE_CHECKING:
    from mhtool.app.gateway import ExportGateway

ACTION = "export.research"
# The store's stable pseudonym key, kept sealed like every other secret value.
# Created the first time an admin asks for stable pseudonyms (or erases a
# student, whose placeholder carries the stable pseudonym).
STABLE_KEY = "research_key"
FORMATS = (".xlsx", ".csv")


def stable_key(txn) -> bytes:
    """The store's stable pseudonym key, created inside ``txn`` when it does not exist yet."""
    store = txn.store
    sealed = store.sealed_values.get(STABLE_KEY)
    if sealed:
        return bytes.fromhex(sealed["secret"])
    key = research.new_export_key()
    store.sealed_values.put(txn, STABLE_KEY, {"secret": key.hex()})
    return key


def _stable_key(store) -> bytes:
    sealed = store.sealed_values.get(STABLE_KEY)
    if sealed:
        return bytes.fromhex(sealed["secret"])
    # The export's own audit entry is written by the gateway around the file,
    # so a key made now is made (and audited) in a transaction of its own.
    with store.write("research.stable_key") as txn:
        return stable_key(txn)


def min_cell_size(store, requested: int | None) -> int:
    """``k`` for this export: the store's policy, or a larger value asked for."""
    configured = int(store.setting("research_min_cell", research.DEFAULT_MIN_CELL))
    if requested is None:
        return configured
    if requested < 2:
        raise UsageError(_("--min-cell must be at least 2"))
    if requested < configured:
        raise UsageError(
            _("--min-cell {requested} is below the store's minimum of {minimum}").format(requested=requested, minimum=configured),
            hint=_("an admin can lower the store's research_min_cell setting if the research protocol allows it"),
        )
    return requested


def _output_path(store, out: Path) -> Path:
    from mhtool.io.xlsx import out_path_for

    path = out_path_for(out, f"research_{dates.today(store.tz).isoformat()}.xlsx")
    if path.suffix.lower() not in FORMATS:
        raise UsageError(_("--out {out}: a research export is written as .xlsx or .csv").format(out=out), hint=_("e.g. --out research.xlsx"))
    return path


def _batches(store, wanted: Sequence[str]) -> dict[str, dict]:
    batches = {b["id"]: b for b in store.batches.all()}
    if not wanted:
        return {bid: b for bid, b in batches.items() if not b.get("voided")}
    chosen = {}
    for prefix in wanted:
        bid = store.batches.resolve(prefix, "batch")
        if batches[bid].get("voided"):
            raise UsageError(_("batch {batch} was voided; its responses are not exported").format(batch=bid[:8]))
        chosen[bid] = batches[bid]
    return chosen


def gather(store, *, batches: Sequence[str] = (), instruments: Sequence[str] = ()) -> list[dict]:
    """The responses to export, as the plain dicts :func:`research.build_table` reads (plus ``student_id``)."""
    chosen = _batches(store, batches)
    codes = {c.strip().lower() for c in instruments if c.strip()}
    if codes:
        from mhtool.survey.usecases import registry

        known = registry.all_instruments()
        unknown = sorted(codes - set(known))
        if unknown:
            raise UsageError(
                _("--instrument {code!r}: no such instrument").format(code=unknown[0]), hint=_("one of: {codes}").format(codes=", ".join(sorted(known)))
            )
        chosen = {bid: b for bid, b in chosen.items() if (b.get("instrument") or "").lower() in codes}
    if not chosen:
        return []
    responses = store.responses.for_batches(chosen)
    students = store.students.by_ids(r["student_id"] for r in responses)
    out = []
    for r in responses:
        s = students.get(r["student_id"])
        if s is None or s.get("erased") or not store.in_scope(s.get("college")):
            continue
        if codes and (r.get("instrument") or "").lower() not in codes:
            continue
        out.append(
            {
                "student_id": s["id"],
                "student_no": s["student_no"],
                "on_date": r.get("on_date"),
                "batch": r["batch_id"][:8],
                "instrument": r.get("instrument"),
                "version": r.get("version"),
                "scores": r.get("scores"),
                "band": r.get("band"),
                "flags": r.get("flags"),
                "proposed_level": r.get("proposed_level"),
                # The dossier is the authority on placement; the response's copy
                # fills in only what the dossier lacks.
                "college": s.get("college") or r.get("college"),
                "gender": s.get("gender") or r.get("gender"),
                "grade": s.get("grade") or r.get("grade"),
            }
        )
    return out


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:g}" if value != int(value) else str(int(value))
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="minutes")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return formula_safe(text)


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence]) -> Path:
    """A UTF-8 (with BOM, so Excel reads the Chinese) CSV where no cell can run as a formula."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([_csv_cell(h) for h in headers])
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
        fh.flush()
        os.fsync(fh.fileno())
    return path


def research_export(
    store,
    exports: ExportGateway,
    out: Path,
    *,
    purpose: str | None,
    batches: Sequence[str] = (),
    instruments: Sequence[str] = (),
    stable_pseudonyms: bool = False,
    month_only: bool = False,
    min_cell: int | None = None,
) -> dict:
    """Write a de-identified export of screening responses; the export and its purpose are audited.

    Unlike identifiable exports, a research export needs a purpose whatever the
    store's policy and the staff member's role.
    """
    store.require("research", action=ACTION)
    if stable_pseudonyms:
        store.require("stable_pseudonyms", action=ACTION)
    why = clean_purpose(purpose)
    if not why:
        raise UsageError(
            _("a research export needs --purpose"),
            hint=_('say what the data is for, e.g. --purpose "2026级新生心理健康状况研究（伦理审批号 2026-01）"'),
        )
    k = min_cell_size(store, min_cell)
    path = _output_path(store, Path(out))
    records = gather(store, batches=batches, instruments=instruments)
    key = _stable_key(store) if stable_pseudonyms else research.new_export_key()
    table = research.build_table(records, key=key, month_only=month_only, k=k)
    del key
    details = {
        "pseudonyms": "stable" if stable_pseudonyms else "per-export",
        "dates": "month" if month_only else "shifted",
        "min_cell": k,
    }
    if batches:
        details["batches"] = list(batches)
    if instruments:
        details["instruments"] = list(instruments)
    details.update(rows=len(table.rows), students=table.students, suppression=table.suppression.as_dict())

    def write(tmp: Path) -> None:
        if path.suffix.lower() == ".csv":
            write_csv(tmp, table.headers, table.rows)
        else:
            from mhtool.io.xlsx import write_table_xlsx

            write_table_xlsx(tmp, "research", table.headers, table.rows)

    written = exports.publish(
        path,
        write,
        action=ACTION,
        what=_("a research export"),
        purpose=why,
        identifiable=False,
        targets=[f"students/{sid}" for sid in sorted({r["student_id"] for r in records})],
        details=details,
    )
    return {
        "out": str(written),
        "rows": len(table.rows),
        "students": table.students,
        "columns": table.headers,
        "pseudonyms": details["pseudonyms"],
        "dates": details["dates"],
        "suppression": table.suppression.as_dict(),
    }
