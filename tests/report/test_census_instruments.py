"""The census knows a center's own instruments (``MHTOOL_INSTRUMENTS``) as the import does."""

from __future__ import annotations

from mhtool.app import Center, credential_from_key_file
from tests.survey.export_factory import make_students, write_generic_xlsx

# Three yes/no items; a total of 0 is calm, 1–2 tense, 3 low.
MOOD3 = """\
code = "mood3"
version = "1"
item_count = 3

[name]
zh = "心情三问"
en = "Mood three"

[[options]]
value = 0
position = 1
labels = ["否"]

[[options]]
value = 1
position = 2
labels = ["是"]

[[scales]]
key = "total"
method = "sum"
items = "all"

[bands]
scale = "total"
ranges = [
  { name = "calm", min = 0, max = 0, label = { zh = "平稳", en = "calm" } },
  { name = "tense", min = 1, max = 2, label = { zh = "紧张", en = "tense" } },
  { name = "low", min = 3, max = 3, label = { zh = "低落", en = "low" } },
]

[[tiers]]
level = "yellow"
any = [{ score = "total", min = 3 }]
"""


def test_census_of_a_custom_instrument_shows_every_band(store_env, tmp_path, monkeypatch):
    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "mood3.toml").write_text(MOOD3, encoding="utf-8")
    monkeypatch.setenv("MHTOOL_INSTRUMENTS", str(folder))
    students = make_students(3, seed=9)
    # Two calm students and one low one: nobody is tense.
    export = write_generic_xlsx(tmp_path / "mood3.xlsx", students, [[0, 0, 0], [1, 1, 1], [0, 0, 0]])

    with Center.open(store_env.path, credential_from_key_file(store_env.admin_key), "admin") as center:
        batch = center.survey.import_file(export, "mood3").summary.batch
        report = center.reports.census(batch).report

    groups = report.sheet("groups")
    band_columns = [(c.key, c.header_zh, c.header_en) for c in groups.columns if c.key.startswith("band_")]
    # Headed as bands (分级：…), so a band the instrument calls 阳性 is never read as 筛查阳性.
    assert band_columns == [("band_calm", "分级：平稳", "Band: calm"), ("band_tense", "分级：紧张", "Band: tense"), ("band_low", "分级：低落", "Band: low")]
    rows = groups.records()
    assert rows and all(r["band_tense"] == 0 for r in rows)
    assert sum(r["band_calm"] for r in rows if r["dimension"] == "college") == 2
    assert sum(r["band_low"] for r in rows if r["dimension"] == "college") == 1
    # The interview list names the band as the instrument does.
    band = next(c for c in report.sheet("interviews").columns if c.key == "band")
    assert band.labels == (("calm", "平稳", "calm"), ("tense", "紧张", "tense"), ("low", "低落", "low"))
