"""Keys, key slots, sealed records and blind indexes: the only module that touches keys.

Format of a sealed value (see docs/design.md, "The store")::

    version(1)=2 | key generation(4, big-endian) | tier(1) | nonce(12) | AES-256-GCM(ciphertext + tag)

with associated data ``store id | table | record id | tier | plaintext columns``,
so a ciphertext moved to another row or table, or a row whose foreign key,
date, blind index or flag was edited, fails to open.

Every generation has one independent key per tier (common, roster, clinical,
admin); a slot holds only its role's tiers. Key slots follow the LUKS model
with one twist that makes rotation possible without knowing every staff
member's passphrase: each staff member owns an X25519 key pair. The private
half is wrapped by each of their slots' key-encryption key (Argon2id of the
passphrase, or the raw key file); the public half is in the authenticated
staff directory, and each generation's tier keys are sealed *to* it together
with the binding they are for (staff id, name, role, colleges and the
directory's digest). An admin can therefore seal new keys to every remaining
member, and a removed member, even with an old copy of their slot, cannot read
what is written after the rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
from dataclasses import dataclass
from functools import lru_cache

import orjson
from cryptography.exceptions import InvalidTag
# Raw key bytes come from the key objects themselves: the serialization module (PEM, SSH, PKCS)
# would add ~10 ms to every command's start-up.
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mhtool.domain import student_no
from mhtool.errors import AuthenticationFailed, IntegrityError, KeyUnavailable, StoreError
from mhtool.i18n import N_, _

SEAL_VERSION = 2
_HEADER = 1 + 4 + 1 + 12
KEY_BYTES = 32

# Argon2id defaults: 64 MiB, 3 passes, 4 lanes (≈0.1 s here). The bounds are
# checked *before* any derivation so an edited slot cannot make us allocate
# gigabytes or derive a key too cheaply to resist guessing.
ARGON2_DEFAULTS = {"memory_cost": 65536, "iterations": 3, "lanes": 4}
ARGON2_BOUNDS = {"memory_cost": (19456, 1048576), "iterations": (1, 16), "lanes": (1, 16)}
SCRYPT_DEFAULTS = {"n": 2**17, "r": 8, "p": 1}
SCRYPT_BOUNDS = {"n": (2**15, 2**20), "r": (8, 16), "p": (1, 4)}


def random_id(nbytes: int = 8) -> str:
    return os.urandom(nbytes).hex()


def random_ids(count: int, nbytes: int = 8) -> list[str]:
    """``count`` random ids, largest first (so that ``pop()`` hands them out in increasing order)."""
    raw = os.urandom(count * nbytes)
    return sorted((raw[i : i + nbytes].hex() for i in range(0, len(raw), nbytes)), reverse=True)


def _canonical_json_std(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str).encode("utf-8")


# orjson writes what _canonical_json_std writes, several times faster, except where the checks in
# canonical_json send the value to the standard library: dates and dataclasses go to the default
# hook (passthrough) so they are str()'d as json's default=str does; a float or container subclass
# (numpy.float64, a namedtuple) that json writes natively is refused by the hook.
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# Floats below 1e-4 in magnitude: float.__repr__ writes 1e-05, orjson 0.00001 or 1e-5.
_SMALL_FLOAT = re.compile(rb"[0-9]e-|(?<![0-9.])0\.0000")


def _str_default(value):
    if isinstance(value, (str, int, float, list, tuple, dict)):
        raise TypeError("json writes this subclass natively")
    return str(value)


def canonical_json(obj, *, finite: bool = False) -> bytes:
    """The canonical form of a value sealed or MACed: UTF-8 JSON, sorted keys, no spaces, ``default=str``.

    Byte for byte ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
    sort_keys=True, default=str)``: sealed records and audit MACs do not depend
    on which encoder wrote them. What orjson cannot write the same way falls back
    to the standard library: integers beyond 64 bits, keys that are not strings,
    lone surrogates (which the standard library refuses too), NaN and
    infinities (orjson writes them as null, so a null that does not read back
    as the value is checked), floats below 1e-4 (written in another notation),
    subclasses of float and of the containers. An Enum member would be written
    by its value rather than as str() does; the store seals none.

    ``finite``: the caller knows ``obj`` holds no NaN or infinity, so a null
    is a None and needs no check (a census's responses, checked with numpy).
    """
    try:
        out = orjson.dumps(obj, default=_str_default, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return _canonical_json_std(obj)
    if not finite and b"null" in out:
        try:
            same = orjson.loads(out) == obj
        except Exception:  # noqa: BLE001 - a value whose comparison fails (an array) is written the slow way
            same = False
        if not same:
            return _canonical_json_std(obj)
    if (b"e-" in out or b"0.0000" in out) and _SMALL_FLOAT.search(out):
        return _canonical_json_std(obj)
    return out


# The keys of one generation, one per tier (docs/design.md, "Keys per role"). A key
# slot holds only the tiers its role needs (:data:`mhtool.store.access.ROLE_TIERS`),
# so what a clerk's or cron's key cannot open is enforced by the cipher, not by code.
TIERS: dict[str, int] = {"common": 1, "roster": 2, "clinical": 3, "admin": 4}
_TIER_NAMES = {code: name for name, code in TIERS.items()}


@dataclass(frozen=True)
class GenerationKeys:
    """What one generation's tier keys give: a cipher per tier held, the blind-index, audit and directory keys."""

    generation: int
    secrets: dict[str, bytes]
    ciphers: dict[str, AESGCM]
    index_key: bytes | None
    audit_key: bytes
    directory_key: bytes | None

    def holds(self, tier: str) -> bool:
        return tier in self.ciphers


def _sub(secret: bytes, store_id: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=store_id.encode(), info=info).derive(secret)


def derive_keys(secrets: dict[str, bytes], generation: int, store_id: str) -> GenerationKeys:
    if "common" not in secrets:
        raise IntegrityError(_("key generation {generation} of this slot lacks the common key every role holds").format(generation=generation))
    return GenerationKeys(
        generation=generation,
        secrets=dict(secrets),
        ciphers={tier: AESGCM(_sub(key, store_id, f"mhtool/record/{tier}/v2".encode())) for tier, key in secrets.items()},
        index_key=_sub(secrets["roster"], store_id, b"mhtool/blind-index/v2") if "roster" in secrets else None,
        audit_key=_sub(secrets["common"], store_id, b"mhtool/audit/v2"),
        directory_key=_sub(secrets["admin"], store_id, b"mhtool/directory/v2") if "admin" in secrets else None,
    )


def new_generation_secrets() -> dict[str, bytes]:
    """Fresh, independent keys for every tier: no tier's key can be derived from another's."""
    return {tier: AESGCM.generate_key(bit_length=256) for tier in TIERS}


# -- sealed records ---------------------------------------------------------------------------


def _aad(store_id: str, table: str, record_id: str, tier: str, bound: bytes) -> bytes:
    head, tail = _aad_around(store_id, table, tier)
    return head + record_id.encode() + tail + bound


@lru_cache(maxsize=256)
def _aad_around(store_id: str, table: str, tier: str) -> tuple[bytes, bytes]:
    """What the associated data holds before and after the record id."""
    return f"{store_id}|{table}|".encode(), f"|{tier}|".encode()


def seal(keys: GenerationKeys, store_id: str, table: str, record_id: str, value, tier: str, bound: bytes = b"", *, finite: bool = False) -> bytes:
    """Seal ``value`` under ``tier``; ``bound`` (the row's plaintext columns) is authenticated with it (``finite``: see :func:`canonical_json`)."""
    cipher = keys.ciphers.get(tier)
    if cipher is None:
        raise KeyUnavailable(_("this key slot does not hold the {tier} key, so it cannot write {table} records").format(tier=tier, table=table))
    nonce = os.urandom(12)
    return _seal_header(keys.generation, tier) + nonce + cipher.encrypt(nonce, canonical_json(value, finite=finite), _aad(store_id, table, record_id, tier, bound))


@lru_cache(maxsize=64)
def _seal_header(generation: int, tier: str) -> bytes:
    """The bytes before the nonce: version, key generation, tier."""
    return bytes([SEAL_VERSION]) + generation.to_bytes(4, "big") + bytes([TIERS[tier]])


def sealed_generation(blob: bytes) -> int:
    return int.from_bytes(blob[1:5], "big")


def sealed_tier(blob: bytes) -> str | None:
    return _TIER_NAMES.get(blob[5]) if len(blob) > 5 else None


def unseal(
    keyring: dict[int, GenerationKeys], store_id: str, table: str, record_id: str, blob: bytes, bound: bytes = b"", *, parse: bool = True, tier: str | None = None
):
    """Open a sealed value; any tampering (of it or of the columns in ``bound``) raises :class:`IntegrityError` naming the record.

    A part sealed under a tier this slot does not hold raises
    :class:`~mhtool.errors.KeyUnavailable`; ``tier``, when given, is the tier
    the part must be sealed under. ``parse=False`` only verifies.
    """
    if type(blob) is not bytes:
        blob = bytes(blob) if isinstance(blob, (bytearray, memoryview)) else b""
    sealed_as = _TIER_NAMES.get(blob[5]) if len(blob) >= _HEADER + 16 and blob[0] == SEAL_VERSION else None
    if sealed_as is None:
        raise IntegrityError(_("sealed record {table}/{record_id} is malformed (tampered or corrupt)").format(table=table, record_id=record_id))
    if tier is not None and sealed_as != tier:
        raise IntegrityError(
            _("sealed record {table}/{record_id} holds a part sealed for another tier (its columns were swapped)").format(table=table, record_id=record_id)
        )
    generation = int.from_bytes(blob[1:5], "big")
    keys = keyring.get(generation)
    if keys is None:
        raise IntegrityError(
            _("sealed record {table}/{record_id} names key generation {generation}, which this store does not hold").format(
                table=table, record_id=record_id, generation=generation
            )
        )
    cipher = keys.ciphers.get(sealed_as)
    if cipher is None:
        raise KeyUnavailable(
            _("this key slot does not hold the {tier} key that {table}/{record_id} is sealed under").format(tier=sealed_as, table=table, record_id=record_id)
        )
    try:
        plain = cipher.decrypt(blob[6:_HEADER], blob[_HEADER:], _aad(store_id, table, record_id, sealed_as, bound))
    except InvalidTag:
        raise IntegrityError(
            _(
                "sealed record {table}/{record_id} failed its integrity check (tampered, corrupt, moved from another row, "
                "or one of its columns was edited)"
            ).format(table=table, record_id=record_id),
            hint=_("restore the store from a backup and run `mhtool audit verify --deep`"),
        ) from None
    if not parse:
        return None
    try:
        return orjson.loads(plain)
    except orjson.JSONDecodeError:
        # NaN: json.dumps writes it, orjson does not read it. (An integer beyond 64 bits orjson reads as a
        # float; the importers write none: identity cells become text, answers are checked against their scale.)
        return json.loads(plain.decode("utf-8"))


def opener(keyring: dict[int, GenerationKeys], store_id: str, table: str, tier: str, *, parse: bool = True):
    """:func:`unseal` for the many rows of one query, all sealed under ``tier``: ``open(record_id, blob, bound)``.

    A list of thousands of rows pays mostly for what :func:`unseal` works out
    again for every row (header, key, associated data); here that is one
    lookup of the header's first six bytes. Any row off that path (a header
    that is not this tier's or names an unknown generation, a failed tag, JSON
    orjson refuses) goes through :func:`unseal` itself, so it fails, or is
    read, exactly as there.
    """
    head, tail = _aad_around(store_id, table, tier)
    ciphers = {
        _seal_header(generation, tier): keys.ciphers[tier]
        for generation, keys in keyring.items()
        if tier in keys.ciphers
    }
    loads, find = orjson.loads, ciphers.get
    least = _HEADER + 16

    def open_(record_id: str, blob, bound: bytes = b""):
        cipher = find(blob[:6]) if type(blob) is bytes and len(blob) >= least else None
        if cipher is not None:
            try:
                plain = cipher.decrypt(blob[6:_HEADER], blob[_HEADER:], head + record_id.encode() + tail + bound)
                return loads(plain) if parse else None
            except (InvalidTag, orjson.JSONDecodeError):
                pass
        return unseal(keyring, store_id, table, record_id, blob, bound, parse=parse, tier=tier)

    return open_


def record_digest(table: str, record_id: str, bound: bytes, data: bytes | None, clinical: bytes | None) -> bytes:
    """What the audit chain remembers of one written version of a record: its columns and sealed bytes, hashed."""
    # Each part length-prefixed, hashed in one call: the bytes hashed are those of a part-by-part update.
    rid = (record_id if type(record_id) is str else str(record_id)).encode()
    if type(data) is not bytes:
        data = bytes(data or b"")
    if type(clinical) is not bytes:
        clinical = bytes(clinical or b"")
    return _blake2b(
        b"".join((_prefixed(table), _LEN(len(rid)), rid, _LEN(len(bound)), bound, _LEN(len(data)), data, _LEN(len(clinical)), clinical)),
        digest_size=16,
    ).digest()


_LEN = struct.Struct(">I").pack
_blake2b = hashlib.blake2b


@lru_cache(maxsize=64)
def _prefixed(table: str) -> bytes:
    name = table.encode()
    return _LEN(len(name)) + name


# -- blind indexes ----------------------------------------------------------------------------


normalise_student_no = student_no.normalise


def blind_index(keys: GenerationKeys, value: str, kind: str = "student_no") -> bytes:
    if keys.index_key is None:
        raise KeyUnavailable(_("this key slot does not hold the roster key, so it cannot look up students"))
    return hmac.digest(keys.index_key, f"{kind}|{value}".encode("utf-8"), "sha256")


# -- audit MACs -------------------------------------------------------------------------------


def audit_mac(keys: GenerationKeys, previous_mac: bytes, entry: dict) -> bytes:
    return hmac.new(keys.audit_key, previous_mac + b"|" + canonical_json(entry), hashlib.sha256).digest()


# -- key slots --------------------------------------------------------------------------------


def _check_bounds(params: dict, bounds: dict, kind: str) -> None:
    for name, (lo, hi) in bounds.items():
        value = params.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise StoreError(
                _(
                    "key slot {kdf} parameter {name}={value!r} is outside the allowed range {low}–{high}; "
                    "the slot was edited or is corrupt, so it was refused before any work"
                ).format(kdf=kind, name=name, value=value, low=lo, high=hi),
                hint=_("restore the store from a backup or ask an admin to re-add this staff member"),
            )


def _kek_from_passphrase(passphrase: str, params: dict) -> bytes:
    salt = bytes.fromhex(params["salt"])
    if params.get("kdf") == "argon2id":
        _check_bounds(params, ARGON2_BOUNDS, "argon2id")
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        return Argon2id(
            salt=salt,
            length=KEY_BYTES,
            iterations=params["iterations"],
            lanes=params["lanes"],
            memory_cost=params["memory_cost"],
        ).derive(passphrase.encode("utf-8"))
    if params.get("kdf") == "scrypt":
        _check_bounds(params, SCRYPT_BOUNDS, "scrypt")
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(salt=salt, length=KEY_BYTES, n=params["n"], r=params["r"], p=params["p"]).derive(
            passphrase.encode("utf-8")
        )
    raise StoreError(_("key slot names an unknown KDF {kdf!r}").format(kdf=params.get("kdf")))


def _kek_from_key_file(key_material: bytes, params: dict) -> bytes:
    # Key files hold 32 random bytes, so no stretching is needed; HKDF only
    # binds the key to this slot's salt.
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=bytes.fromhex(params["salt"]), info=b"mhtool/keyfile/v1").derive(
        key_material
    )


def passphrase_slot_params() -> dict:
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id  # noqa: F401

        return {"kdf": "argon2id", "salt": os.urandom(16).hex(), **ARGON2_DEFAULTS}
    except ImportError:  # OpenSSL builds without Argon2
        return {"kdf": "scrypt", "salt": os.urandom(16).hex(), **SCRYPT_DEFAULTS}


def key_file_slot_params() -> dict:
    return {"kdf": "keyfile", "salt": os.urandom(16).hex()}


@dataclass
class Credential:
    """What the user presented: a passphrase or the bytes of a key file."""

    passphrase: str | None = None
    key_material: bytes | None = None
    source: str = ""
    # A slot key already unwrapped: the unlock agent's stand-in (mhtool.store.agent.AgentKey), or the
    # agent's own key when it records its end. It opens the slot that holds its public key, no KDF run.
    unlocked: object | None = None

    @property
    def kind(self) -> str:
        return "keyfile" if self.key_material is not None else "passphrase"


def read_secret_file(path, what: str, *, limit: int = 64 * 1024) -> tuple[bytes, int]:
    """The bytes of a passphrase or key file and its mode; any problem with the file is an authentication failure (exit 4).

    The file must be a regular file (not a directory, a pipe or a device);
    ``what`` names it in messages (``MHTOOL_KEY_FILE``, or ``KEY_FILE``, translated when shown).
    """
    import stat
    from pathlib import Path

    p = Path(path)
    what = _(what)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise AuthenticationFailed(_("{what} names {path}, which does not exist").format(what=what, path=p), hint=_("check {what}").format(what=what)) from None
    except OSError as exc:
        raise AuthenticationFailed(
            _("cannot read the {what} file {path}: {error}").format(what=what, path=p, error=exc.strerror or exc), hint=_("check {what}").format(what=what)
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISDIR(info.st_mode):
                message = _("{what} names {path}, which is a directory")
            else:
                message = _("{what} names {path}, which is not a regular file")
            raise AuthenticationFailed(message.format(what=what, path=p), hint=_("set {what} to the file itself").format(what=what))
        data = os.read(fd, limit + 1)
    except OSError as exc:
        raise AuthenticationFailed(
            _("cannot read the {what} file {path}: {error}").format(what=what, path=p, error=exc.strerror or exc), hint=_("check {what}").format(what=what)
        ) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise AuthenticationFailed(_("the {what} file {path} is far too large to hold a passphrase or key").format(what=what, path=p))
    return data, info.st_mode


# How messages name a key file given by its path (rather than by MHTOOL_KEY_FILE).
KEY_FILE = N_("key file")


def key_material(data: bytes, path, what: str = KEY_FILE) -> bytes:
    """The key a key file holds, as :func:`write_key_file` writes it (hex on one line)."""
    try:
        material = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        material = b""
    if len(material) != KEY_BYTES:
        raise AuthenticationFailed(
            _("{what} {path} is not an mhtool key file ({digits} hex digits expected)").format(what=_(what), path=path, digits=KEY_BYTES * 2),
            hint=_("use the file `mhtool init --key-file` or `mhtool staff add --key-file` wrote"),
        )
    return material


def read_key_file(path, what: str = KEY_FILE) -> bytes:
    """The key material of a key file; a missing, unreadable or malformed file is an authentication failure."""
    data, _mode = read_secret_file(path, what)
    return key_material(data, path, what)


def write_key_file(path) -> bytes:
    """Create a new key file (mode 0600, refusing to overwrite) and return its key material."""
    from pathlib import Path

    p = Path(path)
    material = os.urandom(KEY_BYTES)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(material.hex() + "\n")
    return material


def derive_kek(credential: Credential, params: dict) -> bytes:
    if params.get("kdf") == "keyfile":
        if credential.key_material is None:
            raise AuthenticationFailed(_("this staff member's slot is opened with a key file, not a passphrase"))
        return _kek_from_key_file(credential.key_material, params)
    if credential.passphrase is None:
        raise AuthenticationFailed(_("this staff member's slot is opened with a passphrase, not a key file"))
    return _kek_from_passphrase(credential.passphrase, params)


@dataclass
class SlotMaterial:
    """The columns of one key slot row."""

    params: dict
    public_key: bytes
    wrapped_private: bytes


def _slot_aad(store_id: str, slot_id: str) -> bytes:
    return f"{store_id}|slot|{slot_id}".encode()


def new_staff_key() -> X25519PrivateKey:
    """A staff member's key pair: every slot of theirs wraps the same private half."""
    return X25519PrivateKey.generate()


def public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def make_slot(credential: Credential, store_id: str, slot_id: str, private: X25519PrivateKey) -> SlotMaterial:
    """A key slot wrapping ``private`` (the staff member's key) under the credential's key-encryption key."""
    params = key_file_slot_params() if credential.kind == "keyfile" else passphrase_slot_params()
    kek = derive_kek(credential, params)
    raw_private = private.private_bytes_raw()
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(kek).encrypt(nonce, raw_private, _slot_aad(store_id, slot_id))
    return SlotMaterial(params, public_bytes(private), wrapped)


def unlock_slot(credential: Credential, store_id: str, slot_id: str, params: dict, wrapped_private: bytes) -> X25519PrivateKey:
    """Return the slot's private key, or raise AuthenticationFailed on a wrong credential."""
    kek = derive_kek(credential, params)
    try:
        raw = AESGCM(kek).decrypt(wrapped_private[:12], wrapped_private[12:], _slot_aad(store_id, slot_id))
    except InvalidTag:
        raise AuthenticationFailed(_("the passphrase or key file does not open this staff member's key slot")) from None
    return X25519PrivateKey.from_private_bytes(raw)


def _share_key(shared: bytes, store_id: str, slot_id: str, generation: int) -> bytes:
    info = f"mhtool/slot-bundle/{store_id}/{slot_id}/{generation}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(shared)


def _bundle_aad(store_id: str, slot_id: str, generation: int) -> bytes:
    return _slot_aad(store_id, slot_id) + b"|" + str(generation).encode()


def seal_bundle(secrets: dict[str, bytes], binding: dict, generation: int, public_key: bytes, store_id: str, slot_id: str) -> bytes:
    """Seal one generation's tier keys to a slot, with the binding (staff id, name, role, colleges, directory digest) they are for."""
    payload = canonical_json({"keys": {tier: key.hex() for tier, key in secrets.items()}, "binding": binding})
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key))
    key = _share_key(shared, store_id, slot_id, generation)
    nonce = os.urandom(12)
    return public_bytes(ephemeral) + nonce + AESGCM(key).encrypt(nonce, payload, _bundle_aad(store_id, slot_id, generation))


def open_bundle(private: X25519PrivateKey, sealed: bytes, generation: int, store_id: str, slot_id: str) -> tuple[dict[str, bytes], dict]:
    """The tier keys and the binding a slot holds for ``generation``."""
    eph_pub, nonce, body = sealed[:32], sealed[32:44], sealed[44:]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        payload = json.loads(AESGCM(_share_key(shared, store_id, slot_id, generation)).decrypt(nonce, body, _bundle_aad(store_id, slot_id, generation)))
        secrets = {tier: bytes.fromhex(key) for tier, key in payload["keys"].items() if tier in TIERS}
        binding = payload["binding"]
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise IntegrityError(
            _("key slot {slot} holds a damaged or foreign copy of key generation {generation}").format(slot=slot_id, generation=generation)
        ) from None
    return secrets, binding


# -- the counselors' inbox -----------------------------------------------------------------------
#
# What a clerk imports but may not read back (a peer report's description of a named student) is
# sealed to the inbox: an X25519 key pair whose public half every role reads (sealed_meta
# ``inbox_public``, common tier) and whose private half is sealed under the clinical tier (sealed_meta
# ``inbox_private``). Format of an inbox blob::
#
#     version(1)=1 | key id(8) | ephemeral public key(32) | nonce(12) | AES-256-GCM(ciphertext + tag)
#
# The key id names the inbox key pair (rotation with a removal adds a new pair and keeps the old
# private keys); ``aad`` binds the blob to the record it belongs to.

INBOX_VERSION = 1
_INBOX_HEADER = 1 + 8 + 32 + 12


def inbox_key_id(public: bytes) -> bytes:
    return hashlib.sha256(b"mhtool/inbox-key/v1|" + bytes(public)).digest()[:8]


def new_inbox_pair() -> tuple[bytes, bytes]:
    """A fresh inbox key pair as (public, private) raw bytes."""
    private = X25519PrivateKey.generate()
    raw = private.private_bytes_raw()
    return public_bytes(private), raw


def inbox_public_of(private: bytes) -> bytes:
    return public_bytes(X25519PrivateKey.from_private_bytes(bytes(private)))


def _inbox_key(shared: bytes, key_id: bytes, eph_pub: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"mhtool/inbox/v1|" + key_id + eph_pub).derive(shared)


def seal_to_inbox(public: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Seal ``plaintext`` to the inbox key ``public``: only its private half opens it (ephemeral X25519, HKDF, AES-GCM)."""
    key_id = inbox_key_id(public)
    ephemeral = X25519PrivateKey.generate()
    eph_pub = public_bytes(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(bytes(public)))
    nonce = os.urandom(12)
    body = AESGCM(_inbox_key(shared, key_id, eph_pub)).encrypt(nonce, plaintext, bytes([INBOX_VERSION]) + key_id + b"|" + aad)
    return bytes([INBOX_VERSION]) + key_id + eph_pub + nonce + body


def inbox_blob_key_id(blob: bytes) -> bytes | None:
    """The key id an inbox blob names, or None for bytes that are no inbox blob."""
    blob = bytes(blob)
    if len(blob) < _INBOX_HEADER + 16 or blob[0] != INBOX_VERSION:
        return None
    return blob[1:9]


def open_inbox(private: bytes, blob: bytes, aad: bytes) -> bytes:
    """The plaintext of an inbox blob; an :class:`IntegrityError` when it was altered, moved to another record or sealed to another key."""
    blob = bytes(blob)
    key_id = inbox_blob_key_id(blob)
    if key_id is None:
        raise IntegrityError(_("an inbox blob is malformed (tampered or corrupt)"))
    eph_pub, nonce, body = blob[9:41], blob[41:53], blob[53:]
    try:
        key = X25519PrivateKey.from_private_bytes(bytes(private))
        shared = key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        return AESGCM(_inbox_key(shared, key_id, eph_pub)).decrypt(nonce, body, bytes([INBOX_VERSION]) + key_id + b"|" + aad)
    except (InvalidTag, ValueError):
        raise IntegrityError(
            _("an inbox blob failed its integrity check (tampered, sealed to another key, or moved from another record)"),
            hint=_("restore the store from a backup and run `mhtool audit verify --deep`"),
        ) from None


# -- the staff directory ------------------------------------------------------------------------


def directory_entry(staff_id: str, name: str, active: bool, role: str, colleges, public_key: str) -> dict:
    """What the directory authenticates of one staff member: who, which role and scope, which key."""
    return {"id": staff_id, "name": name, "active": bool(active), "role": role, "colleges": sorted(colleges or []), "public_key": public_key}


def directory_digest(entries: list[dict]) -> str:
    return hashlib.sha256(canonical_json(sorted(entries, key=lambda e: e["id"]))).hexdigest()


def directory_mac(keys: GenerationKeys, digest: str) -> str:
    if keys.directory_key is None:
        raise KeyUnavailable(_("only an admin's key slot holds the key that authenticates the staff directory"))
    return hmac.new(keys.directory_key, digest.encode(), hashlib.sha256).hexdigest()
