"""`crypto.opener`, which lists use to open thousands of rows, answers exactly as `crypto.unseal` does.

Real keys and real AES-GCM: every sealed value, damaged value, value of another tier,
generation, row or table, and value orjson cannot read, is opened both ways and
must give the same record or the same error.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhtool.errors import IntegrityError, KeyUnavailable
from mhtool.store import crypto

STORE = "store-0001"


def _keyring(*generations: int, tiers=crypto.TIERS) -> dict[int, crypto.GenerationKeys]:
    out = {}
    for generation in generations:
        secrets = crypto.new_generation_secrets()
        out[generation] = crypto.derive_keys({t: k for t, k in secrets.items() if t in tiers or t == "common"}, generation, STORE)
    return out


KEYRING = _keyring(1, 2)


def _both(keyring, table, rid, blob, bound, tier, parse=True):
    """(result or exception type and message) of unseal and of the opener."""
    outcomes = []
    for way in ("unseal", "opener"):
        try:
            if way == "unseal":
                got = crypto.unseal(keyring, STORE, table, rid, blob, bound, parse=parse, tier=tier)
            else:
                got = crypto.opener(keyring, STORE, table, tier, parse=parse)(rid, blob, bound)
            outcomes.append(("ok", got))
        except (IntegrityError, KeyUnavailable) as exc:
            outcomes.append((type(exc).__name__, str(exc)))
    return outcomes


# Integers within 64 bits, as records hold them (cells become text, scores are small).
ints = st.integers(-(2**63), 2**63 - 1)
records = st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=20), ints, st.none(), st.lists(ints, max_size=3)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(record=records, generation=st.sampled_from([1, 2]), flip=st.one_of(st.none(), st.integers(0, 400)), parse=st.booleans())
def test_a_sealed_or_damaged_value_opens_or_fails_alike(record, generation, flip, parse):
    bound = b"sstudent-1\x1fs2026-12-01\x1fn"
    blob = crypto.seal(KEYRING[generation], STORE, "tasks", "t-1", record, "roster", bound)
    if flip is not None:
        at = flip % len(blob)
        blob = blob[:at] + bytes([blob[at] ^ 0x5A]) + blob[at + 1 :]
    unsealed, opened = _both(KEYRING, "tasks", "t-1", blob, bound, "roster", parse)
    assert unsealed == opened
    if flip is None:
        assert opened == ("ok", record if parse else None)


@pytest.mark.parametrize(
    "case",
    ["other row", "other table", "other bound", "other tier", "unknown generation", "short", "empty", "not bytes", "key not held"],
)
def test_values_off_the_common_path_fail_with_unseals_message(case):
    bound = b"xabcd"
    keyring = KEYRING
    tier = "roster"
    blob = crypto.seal(KEYRING[1], STORE, "students", "s-1", {"name": "测试甲"}, "roster", bound)
    table, rid = "students", "s-1"
    if case == "other row":
        rid = "s-2"
    elif case == "other table":
        table = "tasks"
    elif case == "other bound":
        bound = b"xabce"
    elif case == "other tier":
        blob = crypto.seal(KEYRING[1], STORE, "students", "s-1", {"name": "测试甲"}, "clinical", bound)
    elif case == "unknown generation":
        keyring = {2: KEYRING[2]}
    elif case == "short":
        blob = blob[:20]
    elif case == "empty":
        blob = b""
    elif case == "not bytes":
        blob = None
    elif case == "key not held":
        keyring = {1: crypto.derive_keys({"common": KEYRING[1].secrets["common"]}, 1, STORE)}
    unsealed, opened = _both(keyring, table, rid, blob, bound, tier)
    assert unsealed == opened and unsealed[0] in {"IntegrityError", "KeyUnavailable"}


def test_json_orjson_refuses_is_read_as_unseal_reads_it():
    # NaN: written by the standard library's JSON, read back by its fallback.
    value = {"big": 2**40, "nan": float("nan")}
    cipher = KEYRING[1].ciphers["roster"]
    nonce = b"\x01" * 12
    plain = json.dumps(value, sort_keys=True).encode()
    blob = crypto._seal_header(1, "roster") + nonce + cipher.encrypt(nonce, plain, f"{STORE}|students|s-1|roster|".encode())
    unsealed, opened = _both(KEYRING, "students", "s-1", blob, b"", "roster")
    assert unsealed[0] == opened[0] == "ok"
    assert opened[1]["big"] == 2**40 and opened[1]["nan"] != opened[1]["nan"]
