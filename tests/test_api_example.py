"""The example script of docs/api.md runs as written against a demo store."""

from __future__ import annotations

import re
from pathlib import Path

from mhtool.app import Center, credential_from_key_file
from mhtool.demo import build_demo

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
    return blocks[-1]


def test_the_documented_example_runs(tmp_path, monkeypatch, capsys):
    build_demo(tmp_path / "demo", students=240, seed=11)
    monkeypatch.chdir(tmp_path)
    credential = credential_from_key_file(tmp_path / "demo" / "demo-counselor.key")
    with Center.open(tmp_path / "demo" / "demo-store.db", credential, "demo-counselor") as center:
        overdue_before = [t for t in center.cases.tasks(overdue=True) if t["kind"] == "interview"][:3]
    reports = tmp_path / "demo" / "reports"
    before = {p.name: p.stat().st_mtime_ns for p in reports.iterdir()}

    exec(compile(_example(), str(DOC), "exec"), {"__name__": "__main__"})

    printed = capsys.readouterr().out
    assert re.search(r"^\d+ overdue tasks$", printed, flags=re.M)
    written = [p.name for p in reports.iterdir() if before.get(p.name) != p.stat().st_mtime_ns]
    assert len(written) == 1 and written[0].startswith("周报_")
    with Center.open(tmp_path / "demo" / "demo-store.db", credential, "demo-counselor") as center:
        for task in overdue_before:
            timeline = center.cases.show(task["student_no"])["timeline"]
            assert any(e["kind"] == "interview" and "睡眠改善" in str(e.get("fields")) for e in timeline)
