"""Envelopes: one sealed, chained and (at commit points) signed event.

The format is specified in docs/FORMAT.md. In short::

    header  = magic "CRCL" | version | suite | flags | journal id (16)
              | seq u64 | prev hash (32) | key id (16) | salt (32)
              | commitment (32) | ciphertext length u32
    body    = ChaCha20-Poly1305(key, nonce, padded plaintext, ad=header)
    sig     = Ed25519(label | header | body)   present when flags has SIGNED

Key, nonce and commitment come from HKDF(epoch key, salt, label | header up
to the salt). Every failure raises :class:`InvalidEnvelope`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import zlib
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from circle.errors import InvalidEnvelope

MAGIC = b"CRCL"
VERSION = 1
SUITE = 1  # Ed25519, HKDF-SHA256, ChaCha20-Poly1305, zlib, Padmé
SIGNED = 0x01
_KNOWN_FLAGS = SIGNED

_HEAD = struct.Struct(">4sBBB16sQ32s16s32s32sI")
HEADER_LEN = _HEAD.size  # 147
_DERIVE_PREFIX = HEADER_LEN - 32 - 4  # header bytes before the commitment
SIG_LEN = 64
TAG_LEN = 16
MIN_PADDED = 256
MAX_CIPHERTEXT = 16 * 1024 * 1024
MAX_LEN = HEADER_LEN + MAX_CIPHERTEXT + SIG_LEN  # the longest envelope there can be

LABEL_EVENT_KEY = b"circle/v1/event-key"
LABEL_SIGNATURE = b"circle/v1/event-signature"
LABEL_EVENT_ID = b"circle/v1/event-id"

_INNER = struct.Struct(">BI")  # compressed flag, content length
_RAW, _ZLIB = 0, 1

HASH_LEN = 32  # an event id: SHA-256 of its envelope
ZERO_HASH = bytes(HASH_LEN)


class Header(NamedTuple):
    """The clear header of an envelope; all of it is associated data and signed.

    A NamedTuple rather than a dataclass: one is built per event on every walk
    of a journal, and this is several times cheaper.
    """

    flags: int
    journal_id: bytes
    seq: int
    prev: bytes
    key_id: bytes
    salt: bytes
    commitment: bytes
    ct_len: int

    @property
    def signed(self) -> bool:
        return bool(self.flags & SIGNED)


def padme(n: int) -> int:
    """Padmé padding length: leaks O(log log n) bits, overhead at most 12 %."""
    n = max(n, MIN_PADDED)
    e = n.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (n + mask) & ~mask


def pad(content: bytes) -> bytes:
    """Compress when it helps, frame, and pad with zeros to a Padmé bucket."""
    packed = zlib.compress(content, 6)
    flag, data = (_ZLIB, packed) if len(packed) < len(content) else (_RAW, content)
    framed = _INNER.pack(flag, len(data)) + data
    return framed + bytes(padme(len(framed)) - len(framed))


def unpad(padded: bytes) -> bytes:
    if len(padded) < _INNER.size:
        raise InvalidEnvelope("plaintext frame too short")
    flag, n = _INNER.unpack_from(padded)
    end = _INNER.size + n
    if flag not in (_RAW, _ZLIB) or end > len(padded) or len(padded) != padme(end):
        raise InvalidEnvelope("plaintext frame malformed")
    if padded[end:].count(0) != len(padded) - end:
        raise InvalidEnvelope("padding is not zero")
    data = padded[_INNER.size : end]
    if flag == _RAW:
        return data
    try:
        d = zlib.decompressobj()
        out = d.decompress(data, MAX_CIPHERTEXT * 4)
        if d.unconsumed_tail or d.unused_data or not d.eof:  # one zlib stream, nothing after it
            raise InvalidEnvelope("compressed plaintext malformed")
        return out
    except zlib.error as exc:
        raise InvalidEnvelope("compressed plaintext malformed") from exc


def _derive(key: bytes, salt: bytes, header_prefix: bytes) -> tuple[bytes, bytes, bytes]:
    okm = HKDF(hashes.SHA256(), 76, salt, LABEL_EVENT_KEY + header_prefix).derive(key)
    return okm[:32], okm[32:44], okm[44:]


def seal(
    *,
    journal_id: bytes,
    seq: int,
    prev: bytes,
    key_id: bytes,
    key: bytes,
    plaintext: bytes,
    signer: Ed25519PrivateKey | None,
    salt: bytes | None = None,
) -> bytes:
    """Seal one event. ``salt`` is a hook for known-answer tests only."""
    if len(journal_id) != 16 or len(key_id) != 16 or len(prev) != 32 or len(key) != 32:
        raise ValueError("bad field length")
    salt = os.urandom(32) if salt is None else salt
    padded = pad(plaintext)
    flags = SIGNED if signer is not None else 0
    ct_len = len(padded) + TAG_LEN
    head = _HEAD.pack(MAGIC, VERSION, SUITE, flags, journal_id, seq, prev, key_id, salt, bytes(32), ct_len)
    k, nonce, commitment = _derive(key, salt, head[:_DERIVE_PREFIX])
    head = head[:_DERIVE_PREFIX] + commitment + head[-4:]
    body = ChaCha20Poly1305(k).encrypt(nonce, padded, head)
    if signer is None:
        return head + body
    return head + body + signer.sign(LABEL_SIGNATURE + head + body)


def parse(envelope: bytes) -> Header:
    """Check the structure and lengths of an envelope and return its header."""
    if len(envelope) < HEADER_LEN:
        raise InvalidEnvelope("envelope truncated")
    magic, version, suite, flags, jid, seq, prev, key_id, salt, com, ct_len = _HEAD.unpack_from(envelope)
    if magic != MAGIC:
        raise InvalidEnvelope("not a circle envelope")
    if version != VERSION:
        raise InvalidEnvelope(f"envelope version {version} is not supported")
    if suite != SUITE:
        raise InvalidEnvelope(f"envelope suite {suite} is not supported")
    if flags & ~_KNOWN_FLAGS:
        raise InvalidEnvelope("unknown envelope flags")
    if seq < 1:
        raise InvalidEnvelope("sequence number out of range")
    if (seq == 1) != (prev == ZERO_HASH):
        raise InvalidEnvelope("chain start malformed")
    if not (MIN_PADDED + TAG_LEN <= ct_len <= MAX_CIPHERTEXT):
        raise InvalidEnvelope("ciphertext length out of range")
    expected = HEADER_LEN + ct_len + (SIG_LEN if flags & SIGNED else 0)
    if len(envelope) != expected:
        raise InvalidEnvelope("envelope length does not match its header")
    return Header(flags, jid, seq, prev, key_id, salt, com, ct_len)


def verify_signature(envelope: bytes, header: Header, verifier: Ed25519PublicKey) -> None:
    """Check the author's signature; the envelope must carry one."""
    if not header.signed:
        raise InvalidEnvelope("envelope is not signed")
    signed_part = envelope[:-SIG_LEN]
    try:
        verifier.verify(envelope[-SIG_LEN:], LABEL_SIGNATURE + signed_part)
    except InvalidSignature as exc:
        raise InvalidEnvelope("signature does not verify") from exc


def open_envelope(envelope: bytes, header: Header, key: bytes) -> bytes:
    """Check the key commitment, decrypt and unpad. Call only on verified envelopes."""
    k, nonce, commitment = _derive(key, header.salt, envelope[:_DERIVE_PREFIX])
    if not hmac.compare_digest(commitment, header.commitment):
        raise InvalidEnvelope("key commitment does not match")
    if len(nonce) != 12:  # AEADs accept other lengths; we never use them
        raise InvalidEnvelope("nonce length")
    body = envelope[HEADER_LEN : HEADER_LEN + header.ct_len]
    try:
        padded = ChaCha20Poly1305(k).decrypt(nonce, body, envelope[:HEADER_LEN])
    except InvalidTag as exc:
        raise InvalidEnvelope("ciphertext does not authenticate") from exc
    return unpad(padded)


def event_id(envelope: bytes) -> bytes:
    """The id of an event: a hash of its whole envelope; the next event's prev."""
    return hashlib.sha256(LABEL_EVENT_ID + envelope).digest()
