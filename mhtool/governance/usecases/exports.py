"""The research export as a store service: gather responses, de-identify, write, audit.

The de-identification itself is :mod:`mhtool.governance.domain.research`; this module
only decides which responses are in (non-voided batches, the staff member's
college scope, ``--batch`` and ``--instrument``), which key pseudonymises them,
and records the export with its purpose and row count in the audit chain.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mhtool.domain import dates
from mhtool.errors import MhtoolError, UsageError
from mhtool.governance.domain import research
from mhtool.governance.usecases.purpose import clean_purpose

ACTION = "export.research"
# The store's stable pseudonym key, kept sealed like every other secret value.
# Created the first time an admin asks for stable pseudonyms (or erases a
# student, whose placeholder carries the stable pseudonym).
STABLE_KEY = "research_key"
FORMATS = (".xlsx", ".csv")


def stable_key(txn) -> bytes:
    """The store's stable pseudonym key, created inside ``txn`` when it does not exist yet."""
    store = txn.store
    rows = store.select("sealed_meta", "key = ?", (STABLE_KEY,))
    if rows:
        return bytes.fromhex(rows[0]["secret"])
    key = research.new_export_key()
    txn.execute("INSERT INTO sealed_meta (key, data) VALUES (?, ?)", (STABLE_KEY, store.seal("sealed_meta", STABLE_KEY, {"secret": key.hex()})))
    return key


def min_cell_size(store, requested: int | None) -> int:
    """``k`` for this export: the store's policy, or a larger value asked for."""
    configured = int(store.setting("research_min_cell", research.DEFAULT_MIN_CELL))
    if requested is None:
        return configured
    if requested < 2:
        raise UsageError("--min-cell must be at least 2")
    if requested < configured:
        raise UsageError(
            f"--min-cell {requested} is below the store's minimum of {configured}",
            hint="an admin can lower the store's research_min_cell setting if the research protocol allows it",
        )
    return requested


def _output_path(store, out: Path) -> Path:
    from mhtool.io.xlsx import out_path_for

    path = out_path_for(out, f"research_{dates.today(store.tz).isoformat()}.xlsx")
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"--out {out}: a research export is written as .xlsx or .csv", hint="e.g. --out research.xlsx")
    return path


def _batches(store, wanted: Sequence[str]) -> dict[str, dict]:
    batches = {b["id"]: b for b in store.select("batches")}
    if not wanted:
        return {bid: b for bid, b in batches.items() if not b.get("voided")}
    chosen = {}
    for prefix in wanted:
        bid = store.resolve_id("batches", prefix, "batch")
        if batches[bid].get("voided"):
            raise UsageError(f"batch {bid[:8]} was voided; its responses are not exported")
        chosen[bid] = batches[bid]
    return chosen


def gather(store, *, batches: Sequence[str] = (), instruments: Sequence[str] = ()) -> list[dict]:
    """The responses to export, as the plain dicts :func:`research.build_table` reads (plus ``student_id``)."""
    chosen = _batches(store, batches)
    codes = {c.strip().lower() for c in instruments if c.strip()}
    if codes:
        chosen = {bid: b for bid, b in chosen.items() if (b.get("instrument") or "").lower() in codes}
    if not chosen:
        return []
    ids = list(chosen)
    marks = ",".join("?" for _ in ids)
    responses = store.select("responses", f"batch_id IN ({marks})", ids)
    student_ids = sorted({r["student_id"] for r in responses})
    students: dict[str, dict] = {}
    for start in range(0, len(student_ids), 500):
        chunk = student_ids[start : start + 500]
        students.update({s["id"]: s for s in store.select("students", f"id IN ({','.join('?' for _ in chunk)})", chunk)})
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


def write_csv_atomic(path: Path, headers: Sequence[str], rows: Sequence[Sequence]) -> Path:
    """A UTF-8 (with BOM, so Excel reads the Chinese) CSV where no cell can run as a formula."""
    from mhtool.console.output import safe_csv_cell

    path = Path(path)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow([safe_csv_cell(h) for h in headers])
            for row in rows:
                writer.writerow([safe_csv_cell(v) for v in row])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise MhtoolError(f"cannot write {path}: {exc.strerror or exc}", hint="check that the directory is writable and has free space") from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return path


def research_export(
    store,
    out: Path,
    *,
    purpose: str | None,
    batches: Sequence[str] = (),
    instruments: Sequence[str] = (),
    stable_pseudonyms: bool = False,
    month_only: bool = False,
    min_cell: int | None = None,
) -> dict:
    """Write a de-identified export of screening responses; the export and its purpose are audited."""
    store.require("research", action=ACTION)
    if stable_pseudonyms:
        store.require("stable_pseudonyms", action=ACTION)
    why = clean_purpose(purpose)
    if not why:
        raise UsageError(
            "a research export needs --purpose",
            hint='say what the data is for, e.g. --purpose "2026级新生心理健康状况研究（伦理审批号 2026-01）"',
        )
    k = min_cell_size(store, min_cell)
    path = _output_path(store, Path(out))
    records = gather(store, batches=batches, instruments=instruments)
    student_ids = sorted({r["student_id"] for r in records})
    details = {
        "purpose": why,
        "pseudonyms": "stable" if stable_pseudonyms else "per-export",
        "dates": "month" if month_only else "shifted",
        "min_cell": k,
        "out": path.name,
    }
    if batches:
        details["batches"] = list(batches)
    if instruments:
        details["instruments"] = list(instruments)
    written: Path | None = None
    try:
        with store.write(ACTION, targets=[f"students/{sid}" for sid in student_ids], details=details) as txn:
            key = stable_key(txn) if stable_pseudonyms else research.new_export_key()
            table = research.build_table(records, key=key, month_only=month_only, k=k)
            del key
            if path.suffix.lower() == ".csv":
                written = write_csv_atomic(path, table.headers, table.rows)
            else:
                from mhtool.io.xlsx import write_table_xlsx

                written = write_table_xlsx(path, "research", table.headers, table.rows)
            txn.details.update(rows=len(table.rows), students=table.students, suppression=table.suppression.as_dict())
    except BaseException:
        # No audit entry, no file: an export that was not recorded must not exist.
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    return {
        "out": str(written),
        "rows": len(table.rows),
        "students": table.students,
        "columns": table.headers,
        "pseudonyms": details["pseudonyms"],
        "dates": details["dates"],
        "suppression": table.suppression.as_dict(),
    }
