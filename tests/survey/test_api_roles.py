"""``center.survey`` from Python: each role is refused exactly as on the command line, and a refusal changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mhtool.app import Center, credential_from_key_file
from mhtool.errors import InvalidInput, PermissionDenied
from tests.survey.export_factory import YES_NO, labels, make_students, write_wjx_xlsx


def _upi(path: Path, students: list[dict]) -> Path:
    answers = [[0] * 60 for _ in students]
    answers[0][24] = 1  # item 25 yes: critical → red, so the batch opens an interview task
    return write_wjx_xlsx(path, students, labels(answers, YES_NO))


def _signed_in(env, name: str, role: str, *colleges: str) -> Center:
    env.add_staff(name, role, *colleges)
    return Center.open(env.path, credential_from_key_file(env.tmp / f"{name}.key"), name)


def _holdings(env) -> dict:
    """What the store holds of screening: batches (void? version? re-scored?), responses, dossiers, tasks."""
    with env.open() as store:
        return {
            "batches": [(b.id, b.get("voided"), b.get("version"), len(b.get("rescored") or [])) for b in store.batches.all()],
            "responses": [(r.id, r.get("version")) for r in store.responses.all()],
            "students": store.students.count(),
            "tasks": [(t.id, t.get("done_on")) for t in store.tasks.all()],
        }


@pytest.fixture
def screening(store_env, tmp_path):
    """One imported UPI batch; returns the store, the batch id and a second export not yet imported."""
    students = make_students(6, seed=3)
    with Center.open(store_env.path, credential_from_key_file(store_env.admin_key), "admin") as admin:
        batch = admin.survey.import_file(_upi(tmp_path / "first.xlsx", students[:3]), "upi").summary.batch
    return store_env, batch, _upi(tmp_path / "second.xlsx", students[3:])


OPERATIONS = {
    "import": lambda center, batch, export: center.survey.import_file(export, "upi"),
    "dry run": lambda center, batch, export: center.survey.import_file(export, "upi", dry_run=True),
    "batches": lambda center, batch, export: center.survey.batches(),
    "batch": lambda center, batch, export: center.survey.batch(batch),
    "void": lambda center, batch, export: center.survey.void(batch, "导错了文件"),
    "rescore": lambda center, batch, export: center.survey.rescore(batch),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_auditor_may_not_import_or_see_batches(screening, operation):
    env, batch, export = screening
    before = _holdings(env)
    with _signed_in(env, "shen", "auditor") as auditor:
        with pytest.raises(PermissionDenied):
            OPERATIONS[operation](auditor, batch, export)
    assert _holdings(env) == before


def test_a_clerk_may_import_list_rescore_and_void(screening):
    env, batch, export = screening
    with _signed_in(env, "li", "clerk") as clerk:
        assert clerk.survey.import_file(export, "upi").summary.imported == 3
        assert [b["id"] for b in clerk.survey.batches()][0] == batch
        assert clerk.survey.batch(batch[:6])["proposed_levels"] == {"red": 1, "none": 2}
        assert clerk.survey.rescore(batch)["rescored"] == 3
        assert clerk.survey.void(batch, "导错了文件")["tasks_cancelled"] == 1


def test_a_clerk_limited_to_one_college_imports_no_row_of_another(store_env, tmp_path):
    students = make_students(3, seed=4)
    for student, college in zip(students, ("文学院", "文学院", "法学院")):
        student["college"] = college
    export = _upi(tmp_path / "upi.xlsx", students)
    before = _holdings(store_env)
    with _signed_in(store_env, "li", "clerk", "文学院") as clerk:
        with pytest.raises(InvalidInput, match="1 of 3 rows have problems"):
            clerk.survey.import_file(export, "upi")
        assert _holdings(store_env) == before
        imported = clerk.survey.import_file(export, "upi", skip_invalid=True)
    assert (imported.summary.imported, imported.summary.rejected) == (2, 1)
    with store_env.open() as store:
        assert {s["college"] for s in store.students.all()} == {"文学院"}
    # The rejects workbook is published through the export gateway: audited, then renamed into place.
    rejects = Path(imported.summary.rejects_file)
    assert rejects.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(f".{rejects.name}")]
    log = json.loads(store_env.cli.ok("audit", "log", "--limit", "0", "--json").stdout)
    (entry,) = [e for e in log if e["action"] == "survey.rejects"]
    assert entry["staff"] == "li" and entry["details"]["out"] == rejects.name and entry["details"]["rejected"] == 1
