#!/usr/bin/env python3
"""Reader and writer of tower-sessions-sealed sessions, written from docs/wire-format.md.

Self-contained: HKDF-SHA256 from the standard library (hmac, hashlib), XChaCha20-Poly1305
from libsodium through PyNaCl (``nacl.bindings.crypto_aead_xchacha20poly1305_ietf_*``).
Nothing here is taken from the Rust code; section numbers (§) refer to the spec.

Library use::

    ring = KeyRing.parse(os.environ["SESSION_KEYS"])
    session = ring.open("id", cookie_value)          # a Session, or None
    value = ring.seal("id", Session(id=..., expires=..., created=..., data={...}))

Values: None, bool, int (tag 2 when 0 <= n < 2**64, tag 3 when -2**63 <= n < 0), float
(tag 4; a float stays a float), str, list, dict (str keys).

Command line (JSON on stdin, JSON on stdout; the key ring from $SESSION_KEYS unless the
request names "keys")::

    tss_sealed.py selftest [vectors.json]      check the frozen vectors of §9
    tss_sealed.py open                         {"name", "values": [...], "now"?}
    tss_sealed.py seal                         {"name", "sessions": [...]}
    tss_sealed.py open-record                  {"records": [{"id", "expiry", "value"}]}
    tss_sealed.py seal-record                  {"records": [{"id", "expiry", "data"}]}
    tss_sealed.py derived-id                   {"ids": [{"label", "name", "key"}]}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import secrets
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

try:
    from nacl import bindings as _sodium
except ImportError:  # pragma: no cover - reported by the callers
    _sodium = None

# --- constants (§2, §3, §5) ----------------------------------------------------------

SALT = b"tower-sessions-sealed v1"
INFO_SEAL = b"seal"
INFO_STORE = b"store"
INFO_KID = b"kid"
MIN_KEY_LEN = 32

VERSION_1 = 0x01
VERSION_2 = 0x02
# Versions 1 and 2 whose values may use tag 8 (unsigned arrays, §5.4), written only then.
VERSION_3 = 0x03
VERSION_4 = 0x04
VERSIONS = (VERSION_1, VERSION_2, VERSION_3, VERSION_4)
# The shortest array written with tag 8.
MIN_UNSIGNED_LEN = 2


def has_store_fields(version: int) -> bool:
    """Versions 2 and 4 carry created_nanos, checked and stored."""
    return version in (VERSION_2, VERSION_4)


def allows_unsigned_arrays(version: int) -> bool:
    return version in (VERSION_3, VERSION_4)
RECORD_VERSION = 0x01

KID_LEN = 4
NONCE_LEN = 24
TAG_LEN = 16
PREFIX_LEN = 1 + KID_LEN
HEADER_LEN = PREFIX_LEN + NONCE_LEN
OVERHEAD = HEADER_LEN + TAG_LEN  # 45
MAX_VALUE_LEN = 4096
MIN_VALUE_LEN = 60  # unpadded base64 of 45 bytes

MAX_DEPTH = 64
MIN_DATE = -377_705_116_800  # -9999-01-01T00:00:00Z
MAX_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z
NANOS_PER_SECOND = 1_000_000_000

U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
I128_MIN = -(2**127)
I128_MAX = 2**127 - 1

RECORD_KEY = "tower-sessions-sealed.record"
REVOKED_KEY = "tower-sessions-sealed.revoked"
DERIVED_ID_LABEL = b"tower-sessions-sealed revocation v1"

TAG_NULL, TAG_BOOL, TAG_U64, TAG_I64, TAG_F64, TAG_STRING, TAG_ARRAY, TAG_OBJECT, TAG_UNSIGNED = range(9)


class Rejected(Exception):
    """A cookie, record or key list that does not satisfy the spec; the message says why."""


def _require_sodium() -> None:
    if _sodium is None:
        raise SystemExit(
            "tss_sealed.py needs PyNaCl (libsodium): run scripts/install-test-deps.sh "
            "or `python3 -m pip install pynacl`"
        )


# --- base64 (§2.1, §3) -----------------------------------------------------------------

_URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_STD_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_decode_canonical(text: str, alphabet: bytes, padding_allowed: bool) -> bytes:
    """Decodes base64 in `alphabet` strictly: no foreign characters, no whitespace, padding
    only where allowed and never more than canonical, zero unused bits in the last
    character. Raises Rejected."""
    raw = text.encode("ascii", "strict") if text.isascii() else None
    if raw is None:
        raise Rejected("not ASCII")
    body = raw
    if padding_allowed:
        body = raw.rstrip(b"=")
        pad = len(raw) - len(body)
        if pad:
            canonical = (-len(body)) % 4
            if len(body) % 4 == 1 or pad > canonical:
                raise Rejected("bad base64 padding")
    elif b"=" in raw:
        raise Rejected("padding in unpadded base64")
    if any(c not in alphabet for c in body):
        raise Rejected("character outside the base64 alphabet")
    if len(body) % 4 == 1:
        raise Rejected("impossible base64 length")
    values = [alphabet.index(c) for c in body]
    rest = len(body) % 4
    if rest == 2 and values[-1] & 0x0F:
        raise Rejected("non-zero trailing bits")
    if rest == 3 and values[-1] & 0x03:
        raise Rejected("non-zero trailing bits")
    std = body.translate(bytes.maketrans(alphabet[62:], b"+/"))
    return base64.b64decode(std + b"=" * ((-len(std)) % 4), validate=True)


def b64url_decode(text: str) -> bytes:
    """Canonical unpadded base64url (§3)."""
    return _b64_decode_canonical(text, _URL_ALPHABET, padding_allowed=False)


# --- keys (§2) -------------------------------------------------------------------------


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


@dataclass(frozen=True)
class Key:
    """One master key and what is derived from it (§2.2)."""

    master: bytes = field(repr=False)
    prk: bytes = field(repr=False)
    seal_key: bytes = field(repr=False)
    store_key: bytes = field(repr=False)
    kid: bytes

    @classmethod
    def derive(cls, master: bytes) -> "Key":
        if len(master) < MIN_KEY_LEN:
            raise Rejected(f"key of {len(master)} bytes, at least {MIN_KEY_LEN} needed")
        prk = hkdf_extract(SALT, master)
        return cls(
            master=master,
            prk=prk,
            seal_key=hkdf_expand(prk, INFO_SEAL, 32),
            store_key=hkdf_expand(prk, INFO_STORE, 32),
            kid=hkdf_expand(prk, INFO_KID, KID_LEN),
        )


_HEX_DIGITS = set("0123456789abcdefABCDEF")


def decode_key_entry(entry: str) -> bytes:
    """One entry of the key-ring text (§2.1)."""
    if len(entry) % 2 == 0 and entry and all(c in _HEX_DIGITS for c in entry):
        return bytes.fromhex(entry)
    url = any(c in entry for c in "-_")
    std = any(c in entry for c in "+/")
    if url and std:
        raise Rejected("key entry mixes the two base64 alphabets")
    alphabet = _URL_ALPHABET if url else _STD_ALPHABET
    return _b64_decode_canonical(entry, alphabet, padding_allowed=True)


class KeyRing:
    """Keys newest first: the first seals, all open (§2.1, §2.3)."""

    def __init__(self, masters: list[bytes]):
        if not masters:
            raise Rejected("empty key ring")
        keys = []
        for position, master in enumerate(masters, 1):
            key = Key.derive(master)
            for earlier in keys:
                if hmac.compare_digest(earlier.master, master):
                    raise Rejected(f"key {position} repeats an earlier key")
                if earlier.kid == key.kid:
                    raise Rejected(f"key {position} has the key id of an earlier key")
            keys.append(key)
        self.keys = keys

    @classmethod
    def parse(cls, text: str) -> "KeyRing":
        if not text.strip():
            raise Rejected("empty key list")
        masters = []
        for position, entry in enumerate(text.split(","), 1):
            entry = entry.strip()
            if not entry:
                raise Rejected(f"key {position} is empty")
            try:
                master = decode_key_entry(entry)
            except (Rejected, ValueError, binascii.Error) as err:
                raise Rejected(f"key {position} does not decode: {err}") from None
            if len(master) < MIN_KEY_LEN:
                raise Rejected(f"key {position} has {len(master)} bytes, at least 32 needed")
            masters.append(master)
        return cls(masters)

    def find(self, kid: bytes) -> Optional[tuple[Key, bool]]:
        for index, key in enumerate(self.keys):
            if key.kid == kid:
                return key, index == 0
        return None

    @property
    def primary(self) -> Key:
        return self.keys[0]

    # -- cookies (§3, §4, §7) --

    def seal(self, name: str, session: "Session", nonce: Optional[bytes] = None) -> str:
        """Seals `session` for the cookie `name` under the first key (§7, sealing)."""
        return self.seal_payload(name, payload_version(session), encode_payload(session), nonce)

    def seal_payload(
        self, name: str, version: int, payload: bytes, nonce: Optional[bytes] = None
    ) -> str:
        """Seals an already encoded payload (also a deliberately malformed one, for tests)."""
        _require_sodium()
        nonce = secrets.token_bytes(NONCE_LEN) if nonce is None else nonce
        if len(nonce) != NONCE_LEN:
            raise ValueError("a nonce is 24 bytes")
        key = self.primary
        prefix = bytes([version]) + key.kid
        sealed = _sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            payload, prefix + name.encode("utf-8"), nonce, key.seal_key
        )
        value = b64url_encode(prefix + nonce + sealed)
        if len(value) > MAX_VALUE_LEN:
            raise Rejected(f"cookie value of {len(value)} characters, limit {MAX_VALUE_LEN}")
        return value

    def open_detailed(self, name: str, value: str, now: Optional[float] = None) -> "Session":
        """Opens a cookie value (§7, opening); raises Rejected with the reason."""
        _require_sodium()
        if len(value) > MAX_VALUE_LEN:
            raise Rejected("too long")
        if len(value) < MIN_VALUE_LEN:
            raise Rejected("too short")
        envelope = b64url_decode(value)
        if len(envelope) < OVERHEAD:
            raise Rejected("too short")
        version = envelope[0]
        if version not in VERSIONS:
            raise Rejected("unknown version")
        found = self.find(envelope[1:PREFIX_LEN])
        if found is None:
            raise Rejected("unknown key")
        key, by_primary = found
        nonce = envelope[PREFIX_LEN:HEADER_LEN]
        aad = envelope[:PREFIX_LEN] + name.encode("utf-8")
        try:
            payload = _sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                envelope[HEADER_LEN:], aad, nonce, key.seal_key
            )
        except Exception:  # nacl.exceptions.CryptoError
            raise Rejected("not authentic") from None
        session = decode_payload(payload, version)
        session.kid = key.kid
        session.by_primary = by_primary
        now = time.time() if now is None else now
        if session.expires <= now:
            raise Rejected("expired")
        return session

    def open(self, name: str, value: str, now: Optional[float] = None) -> Optional["Session"]:
        try:
            return self.open_detailed(name, value, now)
        except Rejected:
            return None

    # -- records at rest (§8.1) --

    def seal_record(
        self, record_id: int, expiry: int, data: dict, nonce: Optional[bytes] = None
    ) -> str:
        """The sealed string stored under "tower-sessions-sealed.record"."""
        _require_sodium()
        key = self.primary
        nonce = secrets.token_bytes(NONCE_LEN) if nonce is None else nonce
        prefix = bytes([RECORD_VERSION]) + key.kid
        out = bytearray()
        _encode_data(data, out)
        sealed = _sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            bytes(out), _record_aad(prefix, record_id, expiry), nonce, key.store_key
        )
        return b64url_encode(prefix + nonce + sealed)

    def open_record(self, record_id: int, expiry: int, value: str) -> dict:
        """Opens a record's sealed string for the id it was loaded under and the expiry (unix
        seconds, rounded down) the store returned; raises Rejected."""
        _require_sodium()
        envelope = b64url_decode(value)
        if len(envelope) < OVERHEAD:
            raise Rejected("too short")
        if envelope[0] != RECORD_VERSION:
            raise Rejected("unknown record version")
        found = self.find(envelope[1:PREFIX_LEN])
        if found is None:
            raise Rejected("unknown key")
        key, _ = found
        try:
            plaintext = _sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                envelope[HEADER_LEN:],
                _record_aad(envelope[:PREFIX_LEN], record_id, expiry),
                envelope[PREFIX_LEN:HEADER_LEN],
                key.store_key,
            )
        except Exception:
            raise Rejected("not authentic") from None
        reader = _Reader(plaintext)
        data = reader.data()
        reader.finish()
        return data


def _record_aad(prefix: bytes, record_id: int, expiry: int) -> bytes:
    return prefix + _i128_le(record_id) + struct.pack("<q", expiry)


def _i128_le(value: int) -> bytes:
    if not I128_MIN <= value <= I128_MAX:
        raise ValueError("a session id is a signed 128-bit integer")
    return value.to_bytes(16, "little", signed=True)


# --- derived ids (§8.3) ----------------------------------------------------------------


def derived_id(label: str, name: str, key: bytes) -> int:
    """The store id of an overflow record or tombstone."""
    if label not in ("session", "subject", "overflow"):
        raise ValueError("label is session, subject or overflow")
    name_bytes = name.encode("utf-8")
    digest = hashlib.sha256(
        DERIVED_ID_LABEL
        + b"\x00"
        + label.encode("ascii")
        + struct.pack("<Q", len(name_bytes))
        + name_bytes
        + key
    ).digest()
    return int.from_bytes(digest[:16], "little", signed=True)


def session_key(session_id: int) -> bytes:
    """The key of a "session" or "overflow" derived id: the id's 16 bytes."""
    return _i128_le(session_id)


def subject_key(value: Any) -> Optional[bytes]:
    """The key of a "subject" derived id: a string's bytes, other JSON as compact text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- the payload (§5) ------------------------------------------------------------------


@dataclass
class Session:
    """A decoded payload (§5.2, §5.3)."""

    id: int
    expires: int
    created: int
    data: dict
    version: int = VERSION_1
    created_nanos: int = 0
    checked: Optional[int] = None
    stored: bool = False
    # Set when opened:
    kid: Optional[bytes] = None
    by_primary: Optional[bool] = None


def _varint(n: int, out: bytearray) -> None:
    if n < 0:
        raise ValueError("varints are unsigned")
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _zigzag(n: int) -> int:
    if not I64_MIN <= n < 2**63:
        raise ValueError("out of i64 range")
    return ((n << 1) ^ (n >> 63)) & U64_MAX


def _check_date(seconds: int) -> None:
    if not MIN_DATE <= seconds <= MAX_DATE:
        raise Rejected("date out of range")


def _is_unsigned_array(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) >= MIN_UNSIGNED_LEN
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= U64_MAX for v in value)
    )


def _uses_unsigned_arrays(value: Any) -> bool:
    if _is_unsigned_array(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(_uses_unsigned_arrays(v) for v in value)
    if isinstance(value, dict):
        return any(_uses_unsigned_arrays(v) for v in value.values())
    return False


def payload_version(session: Session) -> int:
    """The version `session` is written as: 1 (2 with the store fields), or 3 (4) when its
    data has an unsigned array."""
    if session.version not in VERSIONS:
        raise ValueError("format 1 to 4")
    fields = has_store_fields(session.version)
    if _uses_unsigned_arrays(session.data):
        return VERSION_4 if fields else VERSION_3
    return VERSION_2 if fields else VERSION_1


def encode_payload(session: Session) -> bytes:
    """The payload of `session` in its format (§5.2, §5.3); the version it is written as
    is payload_version(session)."""
    version = payload_version(session)
    out = bytearray(_i128_le(session.id))
    for seconds in (session.expires, session.created):
        _check_date(seconds)
        _varint(_zigzag(seconds), out)
    _encode_data(session.data, out, allows_unsigned_arrays(version))
    if has_store_fields(version):
        if not 0 <= session.created_nanos < NANOS_PER_SECOND:
            raise Rejected("nanoseconds out of range")
        out += struct.pack("<I", session.created_nanos)
        if session.checked is None:
            out.append(0)
        else:
            _check_date(session.checked)
            out.append(1)
            _varint(_zigzag(session.checked), out)
        if session.stored and session.data:
            raise Rejected("a stored session carries no data")
        out.append(1 if session.stored else 0)
    return bytes(out)


def _encode_string(text: str, out: bytearray) -> None:
    raw = text.encode("utf-8")  # raises on lone surrogates: not valid UTF-8
    _varint(len(raw), out)
    out += raw


def _encode_map(entries: dict, out: bytearray, depth: int, compact: bool) -> None:
    for key in entries:
        if not isinstance(key, str):
            raise ValueError("keys are strings")
    # Sorted by UTF-8 bytes (§5.4 rule 3).
    ordered = sorted(entries.items(), key=lambda item: item[0].encode("utf-8"))
    _varint(len(ordered), out)
    for key, value in ordered:
        _encode_string(key, out)
        _encode_value(value, out, depth, compact)


def _encode_data(data: dict, out: bytearray, compact: bool = False) -> None:
    """`compact`: arrays of unsigned integers use tag 8 (versions 3 and 4; never records
    at rest)."""
    _encode_map(data, out, 0, compact)


def _encode_value(value: Any, out: bytearray, depth: int, compact: bool) -> None:
    if value is None:
        _varint(TAG_NULL, out)
    elif isinstance(value, bool):
        _varint(TAG_BOOL, out)
        out.append(1 if value else 0)
    elif isinstance(value, int):
        if 0 <= value <= U64_MAX:
            _varint(TAG_U64, out)
            _varint(value, out)
        elif I64_MIN <= value < 0:
            _varint(TAG_I64, out)
            _varint(_zigzag(value), out)
        else:
            raise ValueError("integer out of the u64 and i64 ranges")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinity cannot be sealed")
        _varint(TAG_F64, out)
        out += struct.pack("<d", value)
    elif isinstance(value, str):
        _varint(TAG_STRING, out)
        _encode_string(value, out)
    elif isinstance(value, (list, tuple)):
        if depth + 1 > MAX_DEPTH:
            raise Rejected("nesting too deep")
        if compact and _is_unsigned_array(value):
            _varint(TAG_UNSIGNED, out)
            _varint(len(value), out)
            for item in value:
                _varint(item, out)
            return
        _varint(TAG_ARRAY, out)
        _varint(len(value), out)
        for item in value:
            _encode_value(item, out, depth + 1, compact)
    elif isinstance(value, dict):
        if depth + 1 > MAX_DEPTH:
            raise Rejected("nesting too deep")
        _varint(TAG_OBJECT, out)
        _encode_map(value, out, depth + 1, compact)
    else:
        raise ValueError(f"cannot seal a {type(value).__name__}")


class _Reader:
    """A strict reader over a payload (§5.1, §5.4)."""

    def __init__(self, data: bytes, compact: bool = False):
        self.data_bytes = data
        self.pos = 0
        # Tag 8 is allowed (versions 3 and 4).
        self.compact = compact

    def take(self, n: int) -> bytes:
        if n > len(self.data_bytes) - self.pos:
            raise Rejected("payload ends early")
        chunk = self.data_bytes[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self, bits: int) -> int:
        max_len = (bits + 6) // 7
        max_last = (1 << (bits % 7)) - 1
        out = 0
        for i in range(max_len):
            byte = self.byte()
            out |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if i == max_len - 1 and byte > max_last:
                    raise Rejected("varint overflows")
                return out
        raise Rejected("varint too long")

    def zigzag(self) -> int:
        u = self.varint(64)
        return (u >> 1) ^ -(u & 1)

    def length(self) -> int:
        return self.varint(64)

    def boolean(self) -> bool:
        b = self.byte()
        if b > 1:
            raise Rejected("bad bool")
        return b == 1

    def string(self) -> str:
        raw = self.take(self.length())
        try:
            return raw.decode("utf-8", "strict")
        except UnicodeDecodeError:
            raise Rejected("string is not UTF-8") from None

    def map_entries(self, depth: int) -> dict:
        count = self.length()
        out: dict = {}
        for _ in range(count):  # each entry reads bytes, so a lying count runs out
            key = self.string()
            value = self.value(depth)
            if key in out:
                raise Rejected("duplicate key")
            out[key] = value
        return out

    def data(self) -> dict:
        return self.map_entries(0)

    def value(self, depth: int) -> Any:
        tag = self.varint(32)
        if tag == TAG_NULL:
            return None
        if tag == TAG_BOOL:
            return self.boolean()
        if tag == TAG_U64:
            return self.varint(64)
        if tag == TAG_I64:
            n = self.zigzag()
            if n >= 0:
                raise Rejected("non-canonical integer")
            return n
        if tag == TAG_F64:
            f = struct.unpack("<d", self.take(8))[0]
            if not math.isfinite(f):
                raise Rejected("non-finite float")
            return f
        if tag == TAG_STRING:
            return self.string()
        if tag in (TAG_ARRAY, TAG_OBJECT):
            if depth + 1 > MAX_DEPTH:
                raise Rejected("nesting too deep")
            if tag == TAG_ARRAY:
                return [self.value(depth + 1) for _ in range(self.length())]
            return self.map_entries(depth + 1)
        if tag == TAG_UNSIGNED and self.compact:
            if depth + 1 > MAX_DEPTH:
                raise Rejected("nesting too deep")
            items = [self.varint(64) for _ in range(self.length())]
            if len(items) < MIN_UNSIGNED_LEN:
                raise Rejected("non-canonical unsigned array")
            return items
        raise Rejected("unknown value tag")

    def finish(self) -> None:
        if self.pos != len(self.data_bytes):
            raise Rejected("trailing bytes")


def decode_payload(payload: bytes, version: int) -> Session:
    """The payload of format `version` (§5.2-§5.4), every rule enforced."""
    if version not in VERSIONS:
        raise Rejected("unknown version")
    reader = _Reader(payload, allows_unsigned_arrays(version))
    session_id = int.from_bytes(reader.take(16), "little", signed=True)
    expires = reader.zigzag()
    created = reader.zigzag()
    data = reader.data()
    session = Session(id=session_id, expires=expires, created=created, data=data, version=version)
    if has_store_fields(version):
        session.created_nanos = struct.unpack("<I", reader.take(4))[0]
        option = reader.byte()
        if option == 1:
            session.checked = reader.zigzag()
        elif option != 0:
            raise Rejected("bad option")
        session.stored = reader.boolean()
    reader.finish()
    for seconds in (expires, created) + ((session.checked,) if session.checked is not None else ()):
        _check_date(seconds)
    if session.created_nanos >= NANOS_PER_SECOND:
        raise Rejected("nanoseconds out of range")
    if session.stored and session.data:
        raise Rejected("a stored session carries no data")
    return session


# --- JSON views for the test harness ---------------------------------------------------


def typed(value: Any) -> Any:
    """A value as JSON that keeps the wire kind: u64/i64 as decimal strings, f64 as the 16
    hex digits of its bits, objects as [key, value] pairs in order."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"u64": str(value)} if value >= 0 else {"i64": str(value)}
    if isinstance(value, float):
        return {"f64": struct.pack(">d", value).hex()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, dict):
        return {"object": [[k, typed(v)] for k, v in value.items()]}
    raise TypeError(type(value).__name__)


def untyped(value: Any) -> Any:
    """The inverse of typed()."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, list):
        return [untyped(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"u64"} or set(value) == {"i64"}:
            return int(next(iter(value.values())))
        if set(value) == {"f64"}:
            return struct.unpack(">d", bytes.fromhex(value["f64"]))[0]
        if set(value) == {"object"}:
            return {k: untyped(v) for k, v in value["object"]}
    raise ValueError(f"not a typed value: {value!r}")


def session_to_json(session: Session) -> dict:
    return {
        "version": session.version,
        "kid": session.kid.hex() if session.kid is not None else None,
        "by_primary": session.by_primary,
        "id": str(session.id),
        "expires": session.expires,
        "created": session.created,
        "created_nanos": session.created_nanos if has_store_fields(session.version) else None,
        "checked": session.checked,
        "stored": session.stored if has_store_fields(session.version) else None,
        "data": [[k, typed(v)] for k, v in session.data.items()],
    }


def session_from_json(obj: dict) -> Session:
    # `data` as typed [key, value] pairs (session_to_json), or as a plain JSON object.
    data = obj.get("data", {})
    if isinstance(data, list):
        data = {k: untyped(v) for k, v in data}
    return Session(
        id=int(obj["id"]),
        expires=int(obj["expires"]),
        created=int(obj["created"]),
        data=data,
        version=int(obj.get("version", VERSION_1)),
        created_nanos=int(obj.get("created_nanos") or 0),
        checked=obj.get("checked"),
        stored=bool(obj.get("stored", False)),
    )


# --- self test on the frozen vectors (§9) ----------------------------------------------


def selftest(path: str) -> int:
    """Checks every vector of `path`; returns the number of checks made."""
    _require_sodium()
    with open(path, encoding="utf-8") as f:
        vectors = json.load(f)
    checks = 0

    def check(condition: bool, what: str) -> None:
        nonlocal checks
        if not condition:
            raise AssertionError(what)
        checks += 1

    # HKDF itself: RFC 5869 A.1.
    rfc = vectors["rfc5869_a1"]
    prk = hkdf_extract(bytes.fromhex(rfc["salt"]), bytes.fromhex(rfc["ikm"]))
    check(prk.hex() == rfc["prk"], "RFC 5869 A.1 PRK")
    okm = hkdf_expand(prk, bytes.fromhex(rfc["info"]), rfc["length"])
    check(okm.hex() == rfc["okm"], "RFC 5869 A.1 OKM")
    # The AEAD: draft-irtf-cfrg-xchacha-03 A.3.1 (libsodium as we call it).
    x = vectors["xchacha_a31"]
    sealed = _sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        bytes.fromhex(x["plaintext"]),
        bytes.fromhex(x["aad"]),
        bytes.fromhex(x["nonce"]),
        bytes.fromhex(x["key"]),
    )
    check(sealed.hex() == x["ciphertext"] + x["tag"], "XChaCha20-Poly1305 A.3.1")

    for name, spec in vectors["keys"].items():
        key = Key.derive(bytes.fromhex(spec["master"]))
        check(key.prk.hex() == spec["prk"], f"{name} prk")
        check(key.seal_key.hex() == spec["seal"], f"{name} seal key")
        check(key.store_key.hex() == spec["store"], f"{name} store key")
        check(key.kid.hex() == spec["kid"], f"{name} kid")
        for text in spec["texts"]:
            ring = KeyRing.parse(text)
            check(ring.primary.master == key.master, f"{name} as {text!r}")

    for bad in vectors["bad_key_lists"]:
        try:
            KeyRing.parse(bad)
        except Rejected:
            check(True, "")
        else:
            raise AssertionError(f"key list {bad!r} accepted")

    def ring_of(names: list[str]) -> KeyRing:
        return KeyRing([bytes.fromhex(vectors["keys"][n]["master"]) for n in names])

    for v in vectors["cookies"]:
        label = v["label"]
        ring = ring_of(v["ring"])
        expected = session_from_json(v["session"])
        # Writer: the same record and nonce give the exact cookie.
        check(encode_payload(expected).hex() == v["plaintext"], f"{label}: plaintext")
        value = ring.seal(v["name"], expected, nonce=bytes.fromhex(v["nonce"]))
        check(value == v["cookie"], f"{label}: cookie")
        # Reader.
        opened = ring.open_detailed(v["name"], v["cookie"], now=v["now"])
        check(session_to_json(opened)["data"] == v["session"]["data"], f"{label}: data")
        for attr in ("id", "expires", "created", "version"):
            check(str(getattr(opened, attr)) == str(v["session"][attr]), f"{label}: {attr}")
        if has_store_fields(expected.version):
            check(opened.created_nanos == expected.created_nanos, f"{label}: nanos")
            check(opened.checked == expected.checked, f"{label}: checked")
            check(opened.stored == expected.stored, f"{label}: stored")
        for other in v.get("also_opens_with", []):
            check(ring_of(other).open(v["name"], v["cookie"], v["now"]) is not None, label)

    for r in vectors["rejections"]:
        ring = ring_of(r["ring"])
        try:
            ring.open_detailed(r["name"], r["cookie"], now=r["now"])
        except Rejected:
            check(True, "")
        else:
            raise AssertionError(f"rejection accepted: {r['label']}")

    for p in vectors["bad_payloads"]:
        try:
            decode_payload(bytes.fromhex(p["plaintext"]), p["version"])
        except Rejected:
            check(True, "")
        else:
            raise AssertionError(f"bad payload accepted: {p['label']}")
    for p in vectors["good_payloads"]:
        decode_payload(bytes.fromhex(p["plaintext"]), p["version"])
        check(True, "")

    for d in vectors["derived_ids"]:
        key = bytes.fromhex(d["key"])
        check(str(derived_id(d["label"], d["name"], key)) == d["id"], f"derived id {d}")
    return checks


# --- command line ----------------------------------------------------------------------


def _ring_for(request: dict) -> KeyRing:
    text = request.get("keys")
    if text is None:
        text = os.environ.get("SESSION_KEYS")
    if text is None:
        raise SystemExit("no key ring: set SESSION_KEYS or pass \"keys\"")
    return KeyRing.parse(text)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[1]
    if command == "selftest":
        here = os.path.dirname(os.path.abspath(__file__))
        path = argv[2] if len(argv) > 2 else os.path.join(here, "vectors.json")
        checks = selftest(path)
        print(f"selftest: ok, {checks} checks")
        return 0
    request = json.load(sys.stdin)
    if command == "open":
        ring = _ring_for(request)
        results = []
        for value in request["values"]:
            try:
                session = ring.open_detailed(request["name"], value, request.get("now"))
                results.append({"ok": True, "session": session_to_json(session)})
            except Rejected as err:
                results.append({"ok": False, "reason": str(err)})
        json.dump({"results": results}, sys.stdout)
    elif command == "seal":
        ring = _ring_for(request)
        values = []
        for obj in request["sessions"]:
            nonce = bytes.fromhex(obj["nonce"]) if obj.get("nonce") else None
            values.append(ring.seal(request["name"], session_from_json(obj), nonce))
        json.dump({"values": values}, sys.stdout)
    elif command == "open-record":
        ring = _ring_for(request)
        results = []
        for rec in request["records"]:
            try:
                data = ring.open_record(int(rec["id"]), int(rec["expiry"]), rec["value"])
                results.append({"ok": True, "data": [[k, typed(v)] for k, v in data.items()]})
            except Rejected as err:
                results.append({"ok": False, "reason": str(err)})
        json.dump({"results": results}, sys.stdout)
    elif command == "seal-record":
        ring = _ring_for(request)
        values = []
        for rec in request["records"]:
            data = {k: untyped(v) for k, v in rec["data"]}
            values.append(ring.seal_record(int(rec["id"]), int(rec["expiry"]), data))
        json.dump({"values": values}, sys.stdout)
    elif command == "derived-id":
        ids = []
        for d in request["ids"]:
            ids.append(str(derived_id(d["label"], d["name"], bytes.fromhex(d["key"]))))
        json.dump({"ids": ids}, sys.stdout)
    else:
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
