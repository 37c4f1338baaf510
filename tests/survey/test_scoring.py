"""Hand-worked scoring cases at every band boundary, flags, tiers and the policy override."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mhtool.domain.rules import INTERVIEW_DUE_DAYS
from mhtool.errors import InvalidInput
from mhtool.survey.domain.instruments import get_instrument, load_definition
from mhtool.survey.domain.scoring import (
    LEVEL_ORDER,
    ScreeningPolicy,
    default_policy,
    highest_level,
    score,
    score_raw,
)


def one(code: str, values: dict[int, object] | list, *, base: object = None, row: int = 2, mode: str = "auto", policy=None):
    """Score one row; ``values`` is either the full list or {item: value} over ``base``."""
    inst = get_instrument(code)
    if isinstance(values, dict):
        n = max(inst.item_count, max(values, default=0))
        cells = [base] * n
        for item, v in values.items():
            cells[item - 1] = v
    else:
        cells = list(values)
    raw = pd.DataFrame([cells], index=[row], columns=range(1, len(cells) + 1), dtype=object)
    return score_raw(inst, raw, mode, policy)


def rec(sheet) -> dict:
    (r,) = sheet.records()
    return r


def spread(total: int, n: int, cap: int, low: int = 0) -> list[int]:
    """n values in [low, cap] adding up to ``total``, filled from the first item."""
    out = [low] * n
    left = total - low * n
    for i in range(n):
        add = min(cap - low, left)
        out[i] += add
        left -= add
    assert left == 0 and sum(out) == total
    return out


# --------------------------------------------------------------------------- PHQ-9 / GAD-7


@pytest.mark.parametrize(
    ("total", "band", "level"),
    [
        (0, "minimal", "none"),
        (4, "minimal", "none"),
        (5, "mild", "none"),
        (9, "mild", "none"),
        (10, "moderate", "yellow"),
        (14, "moderate", "yellow"),
        (15, "moderately_severe", "orange"),
        (19, "moderately_severe", "orange"),
        (20, "severe", "orange"),
        (24, "severe", "orange"),
    ],
)
def test_phq9_bands_and_levels(total, band, level):
    values = spread(total, 8, 3) + [0]  # item 9 stays 0
    r = rec(one("phq9", values))
    assert r["scores"] == {"total": total}
    assert (r["band"], r["flags"], r["proposed_level"]) == (band, [], level)


def test_phq9_item9_is_critical_whatever_the_total():
    r = rec(one("phq9", [0] * 8 + [1]))
    assert (r["scores"]["total"], r["band"], r["flags"], r["proposed_level"]) == (1, "minimal", ["item9"], "red")
    r = rec(one("phq9", [3] * 9))
    assert (r["scores"]["total"], r["band"], r["flags"], r["proposed_level"]) == (27, "severe", ["item9"], "red")


@pytest.mark.parametrize(
    ("total", "band", "level"),
    [(4, "minimal", "none"), (5, "mild", "none"), (9, "mild", "none"), (10, "moderate", "yellow"),
     (14, "moderate", "yellow"), (15, "severe", "orange"), (21, "severe", "orange")],
)
def test_gad7_bands_and_levels(total, band, level):
    r = rec(one("gad7", spread(total, 7, 3)))
    assert (r["scores"], r["band"], r["flags"], r["proposed_level"]) == ({"total": total}, band, [], level)


# --------------------------------------------------------------------------- SDS / SAS

SDS_REVERSED = (2, 5, 6, 11, 12, 14, 16, 17, 18, 20)
SAS_REVERSED = (5, 9, 13, 17, 19)


def test_sds_reverse_items_count_five_minus_the_answer():
    # all 没有或很少时间 (1): ten plain items give 10, ten reversed items give 4 each
    r = rec(one("sds", [1] * 20))
    assert r["scores"] == {"raw": 50, "index": 62}
    assert (r["band"], r["proposed_level"]) == ("mild", "yellow")
    # all 绝大部分或全部时间 (4): 40 + 10 = 50 as well
    r = rec(one("sds", [4] * 20))
    assert r["scores"] == {"raw": 50, "index": 62} and r["flags"] == ["item19"]


def sds_row(raw: int) -> dict[int, int]:
    """Form values giving an SDS raw score of ``raw`` with item 19 at 1 (no flag)."""
    values = {i: (4 if i in SDS_REVERSED else 1) for i in range(1, 21)}  # raw 20
    plain = [i for i in range(1, 21) if i not in SDS_REVERSED and i != 19]
    extra = raw - 20
    for i in plain:
        step = min(3, extra)
        values[i] += step
        extra -= step
    for i in SDS_REVERSED:
        step = min(3, extra)
        values[i] -= step
        extra -= step
    assert extra == 0
    return values


@pytest.mark.parametrize(
    ("raw", "index", "band", "level"),
    [
        (20, 25, "normal", "none"),
        (42, 52, "normal", "none"),  # 52.5 → 52, not 53
        (43, 53, "mild", "yellow"),
        (50, 62, "mild", "yellow"),  # 62.5 → 62
        (51, 63, "moderate", "orange"),  # 63.75 → 63
        (58, 72, "moderate", "orange"),  # 72.5 → 72
        (59, 73, "severe", "orange"),
        (77, 96, "severe", "orange"),
    ],
)
def test_sds_index_boundaries(raw, index, band, level):
    r = rec(one("sds", sds_row(raw)))
    assert r["scores"] == {"raw": raw, "index": index}
    assert (r["band"], r["flags"], r["proposed_level"]) == (band, [], level)


def test_sds_item19_flag_reads_the_form_value():
    r = rec(one("sds", {**sds_row(20), 19: 2}))
    assert (r["scores"]["raw"], r["flags"], r["proposed_level"]) == (21, ["item19"], "red")
    r = rec(one("sds", {**sds_row(21), 19: 1}))
    assert (r["scores"]["raw"], r["flags"], r["proposed_level"]) == (21, [], "none")


def sas_row(raw: int) -> dict[int, int]:
    values = {i: (4 if i in SAS_REVERSED else 1) for i in range(1, 21)}  # 15 + 5 = raw 20
    extra = raw - 20
    for i in range(1, 21):
        step = min(3, extra)
        values[i] = values[i] - step if i in SAS_REVERSED else values[i] + step
        extra -= step
    assert extra == 0
    return values


@pytest.mark.parametrize(
    ("raw", "index", "band", "level"),
    [
        (39, 48, "normal", "none"),  # 48.75 → 48
        (40, 50, "mild", "yellow"),
        (47, 58, "mild", "yellow"),  # 58.75 → 58
        (48, 60, "moderate", "orange"),
        (55, 68, "moderate", "orange"),  # 68.75 → 68
        (56, 70, "severe", "orange"),
        (80, 100, "severe", "orange"),
    ],
)
def test_sas_index_boundaries(raw, index, band, level):
    r = rec(one("sas", sas_row(raw)))
    assert r["scores"] == {"raw": raw, "index": index}
    assert (r["band"], r["flags"], r["proposed_level"]) == (band, [], level)


def test_sas_reverse_items():
    # only the five reversed items answered 1: each counts 4
    r = rec(one("sas", [1] * 20))
    assert r["scores"] == {"raw": 35, "index": 43}


# --------------------------------------------------------------------------- K10


@pytest.mark.parametrize(
    ("total", "band", "level"),
    [(10, "low", "none"), (15, "low", "none"), (16, "moderate", "none"), (21, "moderate", "none"),
     (22, "high", "yellow"), (29, "high", "yellow"), (30, "very_high", "orange"), (50, "very_high", "orange")],
)
def test_k10_bands_and_levels(total, band, level):
    r = rec(one("k10", spread(total, 10, 5, low=1)))
    assert (r["scores"], r["band"], r["proposed_level"]) == ({"total": total}, band, level)


def test_k10_one_missing_item_is_prorated_and_not_a_problem():
    s = one("k10", [2, 2, 2, 2, 2, 2, 2, 3, 3, None])  # 20 over 9 items: 20 / 9 × 10 = 22.2 → 22
    assert s.problems == []
    r = rec(s)
    assert (r["scores"], r["band"], r["proposed_level"]) == ({"total": 22}, "high", "yellow")
    r = rec(one("k10", [2, 2, 2, 2, 2, 2, 2, 2, 3, "(跳过)"]))  # 19 / 9 × 10 = 21.1 → 21
    assert (r["scores"], r["band"]) == ({"total": 21}, "moderate")
    r = rec(one("k10", [3, 3, 3, 3, 3, 3, 3, 3, 3, ""]))  # 27 / 9 × 10 = 30
    assert (r["scores"], r["proposed_level"]) == ({"total": 30}, "orange")
    assert s.values.dtypes[10] == np.float64 and s.values.dtypes[1] == np.int64


def test_k10_two_missing_items_reject_the_row():
    s = one("k10", [2, None, 2, 2, 2, 2, 2, 2, 3, "(跳过)"], row=14)
    assert s.records() == [] and list(s.rejected_rows) == [14]
    assert [(p.row, p.column) for p in s.problems] == [(14, "第2题"), (14, "第10题")]
    assert "at most 1 missing item; this row has 2" in s.problems[0].message


# --------------------------------------------------------------------------- UPI

UPI_PLAIN = [i for i in range(1, 61) if i not in (5, 20, 35, 50, 8, 16, 25, 26)]


def upi(yes: list[int], *, supplementary: bool = False):
    n = 64 if supplementary else 60
    values = [0] * n
    for i in yes:
        values[i - 1] = 1
    return rec(one("upi", values))


@pytest.mark.parametrize(
    ("total", "band", "level"),
    [(0, "C", "none"), (19, "C", "none"), (20, "B", "yellow"), (24, "B", "yellow"), (25, "A", "orange"),
     (52, "A", "orange")],
)
def test_upi_total_boundaries(total, band, level):
    r = upi(UPI_PLAIN[:total])
    assert (r["scores"], r["band"], r["flags"], r["proposed_level"]) == ({"total": total}, band, [], level)


def test_upi_lie_items_are_not_counted():
    r = upi([5, 20, 35, 50])
    assert (r["scores"], r["band"]) == ({"total": 0}, "C")
    r = upi(list(range(1, 61)))
    assert r["scores"] == {"total": 56}


def test_upi_item25_alone_is_band_a_and_red():
    r = upi([25])
    assert (r["scores"], r["band"], r["flags"], r["proposed_level"]) == ({"total": 1}, "A", ["item25"], "red")


@pytest.mark.parametrize("item", [8, 16, 26])
def test_upi_items_8_16_26_alone_are_band_b(item):
    r = upi([item])
    assert (r["scores"], r["band"], r["flags"], r["proposed_level"]) == ({"total": 1}, "B", [], "yellow")


def test_upi_supplementary_items():
    assert upi([], supplementary=True)["band"] == "C"
    r = upi([62], supplementary=True)
    assert (r["scores"], r["band"], r["proposed_level"]) == ({"total": 0}, "B", "yellow")
    r = upi([61, 64], supplementary=True)
    assert (r["scores"], r["band"], r["proposed_level"]) == ({"total": 0}, "A", "orange")
    # a blank supplementary answer is "no", not a missing answer
    s = one("upi", [0] * 60 + [1, None, "", "否"])
    assert s.problems == [] and rec(s)["band"] == "B"


def test_upi_required_item_missing_is_a_problem():
    s = one("upi", [0] * 59 + [None], row=30)
    assert s.records() == []
    assert [(p.row, p.column, p.message) for p in s.problems] == [(30, "第60题", "missing answer to 第60题")]


# --------------------------------------------------------------------------- SCL-90

SYMPTOM = {
    "somatization": [1, 4, 12, 27, 40, 42, 48, 49, 52, 53, 56, 58],
    "obsessive_compulsive": [3, 9, 10, 28, 38, 45, 46, 51, 55, 65],
    "interpersonal_sensitivity": [6, 21, 34, 36, 37, 41, 61, 69, 73],
    "depression": [5, 14, 15, 20, 22, 26, 29, 30, 31, 32, 54, 71, 79],
    "anxiety": [2, 17, 23, 33, 39, 57, 72, 78, 80, 86],
    "hostility": [11, 24, 63, 67, 74, 81],
    "phobic_anxiety": [13, 25, 47, 50, 70, 75, 82],
    "paranoid_ideation": [8, 18, 43, 68, 76, 83],
    "psychoticism": [7, 16, 35, 62, 77, 84, 85, 87, 88, 90],
}
ADDITIONAL = [19, 44, 59, 60, 64, 66, 89]


def scl(values: dict[int, int]) -> dict:
    return rec(one("scl90", values, base=1))


def test_scl90_all_none_scores():
    r = scl({})
    s = r["scores"]
    assert (s["total"], s["mean"], s["positive_items"], s["positive_mean"]) == (90, 1.0, 0, 0.0)
    assert all(s[k] == 1.0 for k in SYMPTOM) and s["additional"] == 1.0
    assert (r["band"], r["flags"], r["proposed_level"]) == ("negative", [], "none")


def test_scl90_total_160_is_negative_and_161_positive():
    threes = [1, 4, 12, 27, 40, 3, 9, 10, 28, 6, 21, 34, 36, 5, 14, 20, 22, 2, 17, 23, 33]
    values = {**{i: 5 for i in ADDITIONAL}, **{i: 3 for i in threes}}
    r = scl(values)
    s = r["scores"]
    # 90 + 7×4 + 21×2 = 160; 28 positive items; somatization (12 + 5×2) / 12 = 1.8333
    assert (s["total"], s["positive_items"], s["somatization"], s["additional"]) == (160, 28, 1.8333, 5.0)
    assert max(s[k] for k in SYMPTOM) < 2
    assert (r["band"], r["proposed_level"]) == ("negative", "none")
    r = scl({**values, 42: 2})
    assert (r["scores"]["total"], r["scores"]["somatization"], r["band"], r["proposed_level"]) == (
        161, 1.9167, "positive", "yellow")


def test_scl90_positive_items_43_negative_44_positive():
    # every additional item and symptom items up to one short of each factor, never item 15
    pool = ADDITIONAL + [i for items in SYMPTOM.values() for i in items[:-1] if i != 15]
    r = scl({i: 2 for i in pool[:43]})
    s = r["scores"]
    assert (s["total"], s["positive_items"], s["positive_mean"]) == (133, 43, 2.0)
    assert max(s[k] for k in SYMPTOM) < 2 and r["band"] == "negative"
    r = scl({i: 2 for i in pool[:44]})
    assert (r["scores"]["positive_items"], r["band"], r["proposed_level"]) == (44, "positive", "yellow")


def test_scl90_factor_mean_exactly_2_is_positive():
    r = scl({11: 3, 24: 3, 63: 3})  # hostility (3×3 + 3×1) / 6 = 2.0
    s = r["scores"]
    assert (s["total"], s["hostility"], s["positive_items"], s["positive_mean"]) == (96, 2.0, 3, 3.0)
    assert (r["band"], r["proposed_level"]) == ("positive", "yellow")
    r = scl({11: 3, 24: 3, 63: 2})  # 11 / 6 = 1.8333
    assert (r["scores"]["hostility"], r["band"]) == (1.8333, "negative")


def test_scl90_additional_factor_does_not_count_as_a_symptom_factor():
    r = scl({i: 5 for i in ADDITIONAL})
    assert (r["scores"]["additional"], r["scores"]["total"], r["band"], r["proposed_level"]) == (
        5.0, 118, "negative", "none")


def test_scl90_factor_3_is_orange():
    r = scl({i: 3 for i in SYMPTOM["hostility"]})
    assert (r["scores"]["hostility"], r["band"], r["proposed_level"]) == (3.0, "positive", "orange")
    r = scl({**{i: 3 for i in SYMPTOM["hostility"]}, 81: 2})  # 17 / 6 = 2.8333
    assert (r["scores"]["hostility"], r["proposed_level"]) == (2.8333, "yellow")


def test_scl90_total_200_is_orange_199_yellow():
    everything_two = {i: 2 for i in range(1, 91)}
    values = {**everything_two, 15: 1, **{i: 5 for i in ADDITIONAL}}  # 180 − 1 + 21 = 200
    r = scl(values)
    s = r["scores"]
    assert (s["total"], s["depression"], s["hostility"]) == (200, 1.9231, 2.0)
    assert max(s[k] for k in SYMPTOM) < 3
    assert (r["band"], r["flags"], r["proposed_level"]) == ("positive", [], "orange")
    r = scl({**values, 89: 4})
    assert (r["scores"]["total"], r["proposed_level"]) == (199, "yellow")


def test_scl90_item15_flag():
    r = scl({15: 2})
    assert (r["flags"], r["band"], r["proposed_level"]) == (["item15"], "negative", "red")
    assert scl({15: 1})["flags"] == []


def test_scl90_means():
    r = scl({1: 5, 2: 4, 3: 3, 90: 2})
    s = r["scores"]
    assert s["total"] == 100
    assert s["mean"] == round(100 / 90, 4) == 1.1111
    assert s["positive_items"] == 4
    assert s["positive_mean"] == 3.5  # (100 − 86) / 4
    assert s["somatization"] == round(16 / 12, 4)
    assert s["psychoticism"] == 1.1


# --------------------------------------------------------------------------- PSQI


def psqi_row(bed, latency, up, hours, five=(0,) * 10, quality=0, medication=0, sleepiness=0, energy=0):
    return [bed, latency, up, hours, *five, quality, medication, sleepiness, energy]


def psqi_scores(row):
    r = rec(one("psqi", row))
    return r


def test_psqi_good_sleeper():
    # bed 23:30, 20 min, up 07:00 (7.5 h in bed), 7 h asleep → 93.3 %
    r = psqi_scores(psqi_row("23:30", 20, "7:00", 7, quality=1))
    assert r["scores"] == {"c1": 1, "c2": 1, "c3": 1, "c4": 0, "c5": 0, "c6": 0, "c7": 0, "global": 3}
    assert (r["band"], r["flags"], r["proposed_level"]) == ("good", [], "none")


def test_psqi_bedtime_after_midnight():
    # bed 00:30, up 06:30: 6 h in bed, 5 h asleep → 83.3 %; c3: 5 h → 2
    r = psqi_scores(psqi_row("0点30分", 45, "6点30分", 5, five=(2, 1, 0, 0, 0, 0, 0, 0, 0, 0)))
    assert r["scores"]["c4"] == 1 and r["scores"]["c3"] == 2
    assert r["scores"]["c2"] == 2  # 45 min → 2, plus 5a (2) → 4 → 2
    assert r["scores"]["c5"] == 1  # 5b–5j add up to 1


def test_psqi_latency_component():
    base = dict(bed="23:00", up="7:00", hours=8)
    for minutes, a5, expected in [(15, 0, 0), (16, 0, 1), (30, 1, 1), (31, 0, 1), (31, 1, 2), (60, 2, 2),
                                  (61, 0, 2), (61, 1, 2), (61, 2, 3), (90, 3, 3)]:
        r = psqi_scores(psqi_row(base["bed"], minutes, base["up"], base["hours"], five=(a5,) + (0,) * 9))
        assert r["scores"]["c2"] == expected, (minutes, a5)


def test_psqi_across_midnight_efficiency_boundaries():
    # 23:00 → 07:00 is 8 h in bed
    cases = [(7.5, 0), (6.8, 1), (6.0, 1), (5.2, 2), (5.0, 3)]  # 93.75 %, 85 %, 75 %, 65 %, 62.5 %
    for hours, c4 in cases:
        r = psqi_scores(psqi_row("23:00", 10, "07:00", hours))
        assert r["scores"]["c4"] == c4, hours


def test_psqi_excel_fraction_bedtime():
    # 0.9375 = 22:30, up 06:00: 7.5 h in bed, 5.5 h asleep → 73.3 % → 2; duration 5.5 h → 2
    r = psqi_scores(psqi_row(0.9375, 10, "6:00", 5.5))
    assert (r["scores"]["c4"], r["scores"]["c3"]) == (2, 2)


def test_psqi_duration_component():
    for hours, c3 in [(8, 0), (7.1, 0), (7, 1), (6, 1), (5.9, 2), (5, 2), (4.9, 3)]:
        r = psqi_scores(psqi_row("22:00", 10, "8:00", hours))
        assert r["scores"]["c3"] == c3, hours


def test_psqi_disturbance_and_daytime_components():
    for five_b_to_j, c5 in [((0,) * 9, 0), ((1,) + (0,) * 8, 1), ((1,) * 9, 1), ((2,) + (1,) * 8, 2),
                            ((2,) * 9, 2), ((3,) + (2,) * 8, 3), ((3,) * 9, 3)]:
        r = psqi_scores(psqi_row("23:00", 10, "7:00", 8, five=(0,) + five_b_to_j))
        assert r["scores"]["c5"] == c5, five_b_to_j
    for sleepiness, energy, c7 in [(0, 0, 0), (1, 0, 1), (1, 1, 1), (2, 1, 2), (2, 2, 2), (3, 2, 3), (3, 3, 3)]:
        r = psqi_scores(psqi_row("23:00", 10, "7:00", 8, sleepiness=sleepiness, energy=energy))
        assert r["scores"]["c7"] == c7


def test_psqi_poor_sleeper_global_and_no_level():
    row = psqi_row("1:00", 70, "6:00", 4, five=(3, 2, 2, 1, 1, 1, 1, 1, 1, 0), quality=3, medication=2,
                   sleepiness=2, energy=3)
    r = psqi_scores(row)
    # c1 3; c2 3 (70 min → 3, + 3); c3 3 (4 h); c4: 5 h in bed, 80 % → 1; c5: 10 → 2; c6 2; c7: 5 → 3
    assert r["scores"] == {"c1": 3, "c2": 3, "c3": 3, "c4": 1, "c5": 2, "c6": 2, "c7": 3, "global": 17}
    assert (r["band"], r["proposed_level"]) == ("poor", "none")
    r = psqi_scores(psqi_row("23:00", 40, "6:00", 6.5, quality=2, five=(1,) + (1,) * 9))
    # c1 2; c2: 40 → 2, + 1 → 3 → 2; c3 1; c4: 7 h in bed, 92.9 % → 0; c5: 9 → 1; c6 0; c7 0 → 6
    assert (r["scores"]["global"], r["band"]) == (6, "good")


def test_psqi_global_7_good_8_poor():
    # c1 3, c2 3, c3 1 = 7
    r = psqi_scores(psqi_row("23:00", 90, "6:30", 6.5, five=(3,) + (0,) * 9, quality=3))
    assert (r["scores"]["global"], r["band"]) == (7, "good")
    r = psqi_scores(psqi_row("23:00", 90, "6:30", 6.5, five=(3, 1) + (0,) * 8, quality=3))
    assert (r["scores"]["global"], r["band"]) == (8, "poor")


# --------------------------------------------------------------------------- records, rows, values


def test_records_shape_and_json_safety():
    inst = get_instrument("scl90")
    raw = pd.DataFrame(np.ones((3, 90), dtype=np.int64), index=[5, 9, 11], columns=range(1, 91))
    raw.loc[9, 3] = 7
    sheet = score(inst, raw)
    records = sheet.records()
    assert [r["row"] for r in records] == [5, 11]
    assert list(records[0]) == ["row", "instrument", "version", "scores", "band", "flags", "proposed_level"]
    assert (records[0]["instrument"], records[0]["version"]) == ("scl90", "1.0")
    assert json.loads(json.dumps(records)) == records
    assert type(records[0]["scores"]["total"]) is int and type(records[0]["scores"]["mean"]) is float
    assert type(records[0]["row"]) is int
    assert list(sheet.valid_rows) == [5, 11] and list(sheet.rejected_rows) == [9]
    assert [(p.row, p.column, p.value) for p in sheet.problems] == [(9, "第3题", "7")]
    assert list(sheet.scores.index) == [5, 11] and sheet.values.dtypes.unique().tolist() == [np.int64]


def test_bands_use_unrounded_scores(tmp_path):
    text = """\
code = "tri"
version = "1"
item_count = 3

[name]
zh = "三题"
en = "Three"

[[options]]
value = 1
position = 1
labels = ["一"]

[[options]]
value = 2
position = 2
labels = ["二"]

[[scales]]
key = "mean"
method = "mean"
items = "all"

[bands]
default = "low"

[[bands.rules]]
name = "high"
any = [{ score = "mean", min = 1.6667 }]
"""
    path = tmp_path / "tri.toml"
    path.write_text(text, encoding="utf-8")
    inst = load_definition(path)
    raw = pd.DataFrame([[1, 2, 2], [2, 2, 2]], index=[2, 3], columns=[1, 2, 3])
    records = score(inst, raw).records()
    # 5/3 = 1.66666… shows as 1.6667 but is below the 1.6667 cut
    assert [(r["scores"]["mean"], r["band"]) for r in records] == [(1.6667, "low"), (2.0, "high")]


def test_problems_are_reported_in_sheet_order():
    inst = get_instrument("phq9")
    raw = pd.DataFrame(
        [[0, None, 0, 0, 0, 0, 0, 0, "x"], [9, 0, 0, 0, 0, 0, 0, 0, None]],
        index=[4, 7], columns=range(1, 10), dtype=object,
    )
    sheet = score_raw(inst, raw)
    assert [(p.row, p.column) for p in sheet.problems] == [(4, "第2题"), (4, "第9题"), (7, "第1题"), (7, "第9题")]
    assert sheet.records() == [] and len(sheet) == 0


@pytest.mark.parametrize(
    ("code", "cells"),
    [
        ("psqi", ["晚上11点半", "20分钟", 0.2916666666666667, "6.5小时"] + ["B.<1次/周"] * 10 + ["较差", "无", "无", "经常有"]),
        ("k10", ["较少", "有时", None, 5, 1, 1, 1, 1, 1, "几乎总是"]),
        ("upi", ["是"] * 30 + ["否"] * 30 + ["是", None, "否", "否"]),
    ],
)
def test_decoded_values_score_the_same_when_read_back_as_form_values(code, cells):
    # what an importer stores (ScoredSheet.values) must re-score unchanged in value mode
    inst = get_instrument(code)
    first = score_raw(inst, pd.DataFrame([cells], index=[8], columns=range(1, len(cells) + 1), dtype=object))
    assert first.problems == [] and len(first) == 1
    again = score(inst, first.values)
    assert again.problems == [] and again.records() == first.records()


def test_score_refuses_answers_decoded_for_another_instrument():
    phq, gad = get_instrument("phq9"), get_instrument("gad7")
    dec = gad.decode(pd.DataFrame([[0] * 7], columns=range(1, 8)))
    with pytest.raises(InvalidInput, match="decoded for gad7"):
        score(phq, dec)


def test_empty_sheet():
    inst = get_instrument("upi")
    sheet = score(inst, pd.DataFrame(columns=range(1, 61), dtype=object))
    assert sheet.records() == [] and sheet.problems == []


# --------------------------------------------------------------------------- levels and policy


def test_level_helpers():
    assert LEVEL_ORDER == ("red", "orange", "yellow", "none")
    assert highest_level([]) == "none"
    assert highest_level(["yellow", None, "orange", "none"]) == "orange"
    assert highest_level(["none", "red", "yellow"]) == "red"
    assert INTERVIEW_DUE_DAYS == {"red": 1, "orange": 7, "yellow": 14}
    with pytest.raises(InvalidInput):
        highest_level(["amber"])


def test_default_policy_is_the_design_table():
    policy = default_policy()
    assert policy["phq9"] == {
        "red": [{"flag": "item9"}],
        "orange": [{"score": "total", "min": 15}],
        "yellow": [{"score": "total", "min": 10, "max": 14}],
    }
    assert policy["upi"] == {"red": [{"flag": "item25"}], "orange": [{"band": "A"}], "yellow": [{"band": "B"}]}
    assert policy["sds"]["orange"] == [{"score": "index", "min": 63}]
    assert policy["sas"]["yellow"] == [{"score": "index", "min": 50, "max": 59}]
    assert policy["k10"] == {"orange": [{"score": "total", "min": 30}], "yellow": [{"score": "total", "min": 22, "max": 29}]}
    assert policy["psqi"] == {}
    assert policy["scl90"]["orange"][1]["min"] == 3 and "additional" not in policy["scl90"]["orange"][1]["score"]


def test_policy_override_replaces_only_the_levels_given():
    stricter = {"phq9": {"orange": [{"score": "total", "min": 20}], "yellow": [{"score": "total", "min": 10, "max": 19}]}}
    values = spread(15, 8, 3) + [0]
    assert rec(one("phq9", values))["proposed_level"] == "orange"
    assert rec(one("phq9", values, policy=stricter))["proposed_level"] == "yellow"
    assert rec(one("phq9", [0] * 8 + [1], policy=stricter))["proposed_level"] == "red"  # red kept
    assert rec(one("phq9", values, policy=ScreeningPolicy(stricter)))["proposed_level"] == "yellow"
    off = {"upi": {"yellow": []}}
    assert rec(one("upi", [0] * 7 + [1] + [0] * 52, policy=off))["proposed_level"] == "none"
    assert ScreeningPolicy(stricter).as_dict() == stricter


def test_policy_errors_name_the_key():
    with pytest.raises(InvalidInput, match=r"policy\.phq9\.amber: unknown key"):
        ScreeningPolicy({"phq9": {"amber": []}})
    with pytest.raises(InvalidInput, match=r"policy\.phq9\.orange\[0\]\.minimum: unknown key"):
        ScreeningPolicy({"phq9": {"orange": [{"score": "total", "minimum": 20}]}})
    with pytest.raises(InvalidInput, match=r"policy\.phq9\.orange\[0\]\.score: unknown score 'sum'"):
        one("phq9", [0] * 9, policy={"phq9": {"orange": [{"score": "sum", "min": 20}]}})
    with pytest.raises(InvalidInput, match=r"policy\.upi\.yellow\[0\]\.band: unknown band 'D'"):
        ScreeningPolicy({"upi": {"yellow": [{"band": "D"}]}}).check()
    with pytest.raises(InvalidInput, match=r"policy\.phq-9: no such instrument"):
        ScreeningPolicy({"phq-9": {"yellow": []}}).check()
    with pytest.raises(InvalidInput, match="must be a mapping"):
        ScreeningPolicy([("phq9", {})])
    assert ScreeningPolicy({"sds": {"red": [{"flag": "item19"}, {"item": 19, "min": 3}]}}).check()
