"""Property test: the vectorised engine agrees with a plain per-row reference.

The reference below is written from the design document alone (its tables, cut-offs and
item lists), one row at a time, in plain Python. It does not read the TOML files and
does not decode export cells: every generated cell carries the answer it stands for, and
the reference works on that meaning while the engine has to read the rendered cell.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mhtool.survey.domain.instruments import get_instrument
from mhtool.survey.domain.scoring import score_raw

# --------------------------------------------------------------------------- reference tables

LABELS = {
    "upi": {1: "是", 0: "否"},
    "phq9": {0: "完全不会", 1: "好几天", 2: "一半以上的天数", 3: "几乎每天"},
    "gad7": {0: "完全不会", 1: "好几天", 2: "一半以上的天数", 3: "几乎每天"},
    "scl90": {1: "没有", 2: "很轻", 3: "中等", 4: "偏重", 5: "严重"},
    "sds": {1: "没有或很少时间", 2: "小部分时间", 3: "相当多时间", 4: "绝大部分或全部时间"},
    "sas": {1: "没有或很少时间", 2: "小部分时间", 3: "相当多时间", 4: "绝大部分或全部时间"},
    "k10": {1: "几乎没有", 2: "较少", 3: "有时", 4: "经常", 5: "几乎总是"},
}
# option order on the form (position 1 first)
ORDER = {code: list(labels) for code, labels in LABELS.items()}
ITEMS = {"upi": 60, "phq9": 9, "gad7": 7, "scl90": 90, "sds": 20, "sas": 20, "k10": 10, "psqi": 18}

PSQI_FREQ = {0: "无", 1: "<1次/周", 2: "1-2次/周", 3: "≥3次/周"}
PSQI_QUALITY = {0: "很好", 1: "较好", 2: "较差", 3: "很差"}
PSQI_ENERGY = {0: "没有", 1: "偶尔有", 2: "有时有", 3: "经常有"}

FACTORS = {
    "somatization": [1, 4, 12, 27, 40, 42, 48, 49, 52, 53, 56, 58],
    "obsessive_compulsive": [3, 9, 10, 28, 38, 45, 46, 51, 55, 65],
    "interpersonal_sensitivity": [6, 21, 34, 36, 37, 41, 61, 69, 73],
    "depression": [5, 14, 15, 20, 22, 26, 29, 30, 31, 32, 54, 71, 79],
    "anxiety": [2, 17, 23, 33, 39, 57, 72, 78, 80, 86],
    "hostility": [11, 24, 63, 67, 74, 81],
    "phobic_anxiety": [13, 25, 47, 50, 70, 75, 82],
    "paranoid_ideation": [8, 18, 43, 68, 76, 83],
    "psychoticism": [7, 16, 35, 62, 77, 84, 85, 87, 88, 90],
    "additional": [19, 44, 59, 60, 64, 66, 89],
}
SYMPTOM_FACTORS = [f for f in FACTORS if f != "additional"]


def psqi_options(item: int) -> dict[int, str]:
    return PSQI_QUALITY if item == 15 else PSQI_ENERGY if item == 18 else PSQI_FREQ


# --------------------------------------------------------------------------- reference scoring


def level(red: bool, orange: bool, yellow: bool) -> str:
    return "red" if red else "orange" if orange else "yellow" if yellow else "none"


def ref_upi(v: dict[int, int]):
    total = sum(v[i] for i in range(1, 61) if i not in (5, 20, 35, 50))
    extra = sum(1 for i in (61, 62, 63, 64) if v.get(i) == 1)
    if total >= 25 or v[25] == 1 or extra >= 2:
        band = "A"
    elif 20 <= total <= 24 or any(v[i] == 1 for i in (8, 16, 26)) or extra == 1:
        band = "B"
    else:
        band = "C"
    flags = ["item25"] if v[25] == 1 else []
    return {"total": total}, band, flags, level(bool(flags), band == "A", band == "B")


def ref_scl90(v):
    total = sum(v[i] for i in range(1, 91))
    positive = [v[i] for i in range(1, 91) if v[i] >= 2]
    negatives = 90 - len(positive)
    scores = {
        "total": total,
        "mean": total / 90,
        "positive_items": len(positive),
        "positive_mean": (total - negatives) / len(positive) if positive else 0.0,
    }
    for name, items in FACTORS.items():
        scores[name] = sum(v[i] for i in items) / len(items)
    top = max(scores[f] for f in SYMPTOM_FACTORS)
    band = "positive" if total > 160 or len(positive) > 43 or top >= 2 else "negative"
    flags = ["item15"] if v[15] >= 2 else []
    return scores, band, flags, level(bool(flags), total >= 200 or top >= 3, band == "positive")


def ref_phq9(v):
    total = sum(v.values())
    band = ["minimal", "mild", "moderate", "moderately_severe", "severe"][min(total // 5, 4)]
    flags = ["item9"] if v[9] >= 1 else []
    return {"total": total}, band, flags, level(bool(flags), total >= 15, 10 <= total <= 14)


def ref_gad7(v):
    total = sum(v.values())
    band = ["minimal", "mild", "moderate", "severe"][min(total // 5, 3)]
    return {"total": total}, band, [], level(False, total >= 15, 10 <= total <= 14)


def zung(v, reversed_items):
    raw = sum(5 - v[i] if i in reversed_items else v[i] for i in range(1, 21))
    return raw, (raw * 5) // 4


def ref_sds(v):
    raw, index = zung(v, {2, 5, 6, 11, 12, 14, 16, 17, 18, 20})
    band = "normal" if index < 53 else "mild" if index <= 62 else "moderate" if index <= 72 else "severe"
    flags = ["item19"] if v[19] >= 2 else []
    return {"raw": raw, "index": index}, band, flags, level(bool(flags), index >= 63, 53 <= index <= 62)


def ref_sas(v):
    raw, index = zung(v, {5, 9, 13, 17, 19})
    band = "normal" if index < 50 else "mild" if index <= 59 else "moderate" if index <= 69 else "severe"
    return {"raw": raw, "index": index}, band, [], level(False, index >= 60, 50 <= index <= 59)


def ref_k10(v):
    answered = [x for x in v.values() if x is not None]
    total = sum(answered) if len(answered) == 10 else round(sum(answered) / 9 * 10)
    band = "low" if total <= 15 else "moderate" if total <= 21 else "high" if total <= 29 else "very_high"
    return {"total": total}, band, [], level(False, total >= 30, 22 <= total <= 29)


def ref_psqi(v):
    c1 = v[15]
    lat = v[2]
    lat_score = 0 if lat <= 15 else 1 if lat <= 30 else 2 if lat <= 60 else 3
    s = lat_score + v[5]
    c2 = 0 if s == 0 else 1 if s <= 2 else 2 if s <= 4 else 3
    hours = Fraction(v[4])
    c3 = 0 if hours > 7 else 1 if hours >= 6 else 2 if hours >= 5 else 3
    bed, up = v[1], v[3]
    in_bed = up - bed if up > bed else up + 1440 - bed
    eff = hours * 60 * 100 / in_bed
    c4 = 0 if eff > 85 else 1 if eff >= 75 else 2 if eff >= 65 else 3
    d = sum(v[i] for i in range(6, 15))
    c5 = 0 if d == 0 else 1 if d <= 9 else 2 if d <= 18 else 3
    c6 = v[16]
    e = v[17] + v[18]
    c7 = 0 if e == 0 else 1 if e <= 2 else 2 if e <= 4 else 3
    scores = {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6, "c7": c7}
    scores["global"] = sum(scores.values())
    return scores, ("good" if scores["global"] <= 7 else "poor"), [], "none"


REFERENCE = {
    "upi": ref_upi, "scl90": ref_scl90, "phq9": ref_phq9, "gad7": ref_gad7,
    "sds": ref_sds, "sas": ref_sas, "k10": ref_k10, "psqi": ref_psqi,
}


def reference_row(code: str, cells: dict[int, tuple]):
    """None when the row must be rejected, else (scores, band, flags, level)."""
    if any(kind == "bad" for kind, _, _ in cells.values()):
        return None
    required = range(1, ITEMS[code] + 1)
    missing = [i for i in required if cells[i][0] == "missing"]
    if code == "k10":
        if len(missing) > 1:
            return None
    elif missing:
        return None
    meaning = {i: (None if kind == "missing" else value) for i, (kind, value, _) in cells.items()}
    if code == "upi":
        meaning = {i: (0 if x is None else x) for i, x in meaning.items()}
    return REFERENCE[code](meaning)


# --------------------------------------------------------------------------- cell strategies

MISSING = st.sampled_from([None, math.nan, "", "(跳过)", "（跳过）", "-3", -3, "(空)", -2])
LETTERS = "ABCDE"
FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def choice_cell(code: str, mode: str, options: dict[int, str]):
    order = list(options)

    @st.composite
    def cell(draw):
        value = draw(st.sampled_from(order))
        pos = order.index(value) + 1
        if mode == "position":
            raw = draw(st.sampled_from([pos, str(pos), float(pos)]))
        else:
            label = options[value]
            raw = draw(
                st.sampled_from(
                    [
                        value,
                        float(value),
                        str(value),
                        label,
                        f"{LETTERS[pos - 1]}.{label}",
                        f"{LETTERS[pos - 1]}、{label} ",
                        f"{LETTERS[pos - 1]}.{label}".translate(FULL_WIDTH),
                    ]
                )
            )
        return ("ok", value, raw)

    return cell()


def bad_choice_cell(mode: str, options: dict[int, str]):
    values = list(options)
    if mode == "position":
        bad = [0, len(values) + 1, "1.5", "好几天吧"]
    else:
        bad = [max(values) + 1, min(values) - 1 if min(values) > 0 else 9, 1.5, "不好说", "Z.说不清"]
    return st.sampled_from(bad).map(lambda raw: ("bad", None, raw))


@st.composite
def clock_cell(draw, hours):
    h = draw(hours)
    m = draw(st.integers(0, 59))
    raw = draw(
        st.sampled_from(
            [f"{h}:{m:02d}", f"{h:02d}:{m:02d}", f"{h}点{m}分", (h * 60 + m) / 1440, dt.time(h, m), f"{h}：{m:02d}"]
        )
    )
    return ("ok", h * 60 + m, raw)


def psqi_cell(item: int, mode: str):
    if item == 1:
        return clock_cell(st.sampled_from([20, 21, 22, 23, 0, 1, 2, 3]))
    if item == 3:
        return clock_cell(st.integers(4, 11))
    if item == 2:
        return st.integers(0, 120).flatmap(
            lambda n: st.sampled_from([n, str(n), f"{n}分钟"]).map(lambda raw: ("ok", n, raw))
        )
    if item == 4:
        return st.integers(6, 20).flatmap(
            lambda half: st.sampled_from([half / 2, str(half / 2), f"{half / 2}小时"]).map(
                lambda raw: ("ok", Fraction(half, 2), raw)
            )
        )
    return choice_cell("psqi", mode, psqi_options(item))


def bad_psqi_cell(item: int, mode: str):
    if item in (1, 3):
        return st.sampled_from(["25:00", "不记得", 11]).map(lambda raw: ("bad", None, raw))
    if item == 2:
        return st.sampled_from([-5, "很久", 2000]).map(lambda raw: ("bad", None, raw))
    if item == 4:
        return st.sampled_from([25, "七八个小时"]).map(lambda raw: ("bad", None, raw))
    return bad_choice_cell(mode, psqi_options(item))


def item_strategies(code: str, mode: str, item: int):
    if code == "psqi":
        return psqi_cell(item, mode), bad_psqi_cell(item, mode)
    return choice_cell(code, mode, LABELS[code]), bad_choice_cell(mode, LABELS[code])


@st.composite
def answer_sheets(draw, code: str):
    mode = "auto" if code == "psqi" else draw(st.sampled_from(["auto", "position"]))
    n_items = ITEMS[code]
    if code == "upi" and draw(st.booleans()):
        n_items = 64
    strategies = [item_strategies(code, mode, i) for i in range(1, n_items + 1)]
    n_rows = draw(st.integers(1, 4))
    rows = []
    for _ in range(n_rows):
        shape = draw(st.sampled_from(["clean", "clean", "one_missing", "two_missing", "one_bad"]))
        cells = [draw(ok) for ok, _ in strategies]
        if shape in ("one_missing", "two_missing", "one_bad"):
            k = 2 if shape == "two_missing" else 1
            spots = draw(st.lists(st.integers(1, n_items), min_size=k, max_size=k, unique=True))
            for spot in spots:
                if shape == "one_bad":
                    cells[spot - 1] = draw(strategies[spot - 1][1])
                else:
                    cells[spot - 1] = ("missing", None, draw(MISSING))
        rows.append(cells)
    first_row = draw(st.integers(2, 1000))
    return mode, n_items, rows, first_row


def close(a, b) -> bool:
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)


@pytest.mark.parametrize("code", sorted(ITEMS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_engine_matches_reference(code, data):
    mode, n_items, rows, first_row = data.draw(answer_sheets(code))
    index = list(range(first_row, first_row + len(rows)))
    raw = pd.DataFrame(
        [[raw for _, _, raw in cells] for cells in rows], index=index, columns=range(1, n_items + 1), dtype=object
    )
    sheet = score_raw(get_instrument(code), raw, mode)

    expected = {
        row: reference_row(code, {i + 1: cell for i, cell in enumerate(cells)}) for row, cells in zip(index, rows)
    }
    assert list(sheet.valid_rows) == [r for r, e in expected.items() if e is not None]
    rejected = {r for r, e in expected.items() if e is None}
    assert {p.row for p in sheet.problems} == rejected

    records = {r["row"]: r for r in sheet.records()}
    for row, exp in expected.items():
        if exp is None:
            continue
        scores, band, flags, lvl = exp
        unrounded = sheet.scores.loc[row]
        assert set(unrounded.index) == set(scores)
        for key, value in scores.items():
            assert close(unrounded[key], value), (key, unrounded[key], value)
            assert records[row]["scores"][key] == (round(float(value), 4) if isinstance(value, float) else value)
        assert (records[row]["band"], records[row]["flags"], records[row]["proposed_level"]) == (band, flags, lvl)
