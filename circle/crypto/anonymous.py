"""Lines of the anonymous round: sealed under a fresh key per line, signed by nobody.

A line is ``magic | version | key id (16) | salt (32) | ChaCha20-Poly1305(k, 0,
frame, ad = label | context | header)`` with ``k = HKDF(epoch key, salt,
label | context)`` and the frame a fixed :data:`FRAME_LEN` bytes, so every
line has the same length whatever it says. Only a holder of the epoch key
makes a line that opens, which is what "written by a member of this epoch"
means here: nothing in it names, signs or links to its author. Where lines
live is :func:`slot_name`: a name only holders of the epoch key can compute.
Every failure to open raises :class:`InvalidEnvelope`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from circle.errors import InvalidEnvelope

MAGIC = b"CRAN"
VERSION = 1
LABEL_LINE = b"circle/v1/anon/line"
LABEL_SLOT = b"circle/v1/anon/slot"
SALT_LEN = 32
FRAME_LEN = 1024  # u16 length + content + zeros: one length for every line
_HEAD = struct.Struct(">4sB16s32s")
HEADER_LEN = _HEAD.size
LINE_LEN = HEADER_LEN + FRAME_LEN + 16
_NONCE = bytes(12)  # every key seals exactly one frame


def _context(cohort_id: str, meeting_id: str) -> bytes:
    return cohort_id.encode() + b"\x00" + meeting_id.encode()


def seal_line(key_id: bytes, epoch_key: bytes, cohort_id: str, meeting_id: str, content: bytes) -> bytes:
    """Seal ``content`` (at most :data:`FRAME_LEN` - 2 bytes) as one line of a meeting's round."""
    if len(content) > FRAME_LEN - 2:
        raise ValueError("anonymous line content too long")
    header = _HEAD.pack(MAGIC, VERSION, key_id, os.urandom(SALT_LEN))
    frame = struct.pack(">H", len(content)) + content
    frame += bytes(FRAME_LEN - len(frame))
    return header + ChaCha20Poly1305(_line_key(epoch_key, header, cohort_id, meeting_id)).encrypt(_NONCE, frame, _ad(header, cohort_id, meeting_id))


def key_id_of(line: bytes) -> bytes:
    """The epoch key a line says it is sealed with (raises if it is no line)."""
    if len(line) != LINE_LEN:
        raise InvalidEnvelope("anonymous line of the wrong length")
    magic, version, key_id, _salt = _HEAD.unpack_from(line)
    if magic != MAGIC or version != VERSION:
        raise InvalidEnvelope("not an anonymous line of this version")
    return key_id


def open_line(line: bytes, epoch_key: bytes, cohort_id: str, meeting_id: str) -> bytes:
    """The content of a line sealed for this meeting with this epoch key."""
    key_id_of(line)
    header = line[:HEADER_LEN]
    try:
        frame = ChaCha20Poly1305(_line_key(epoch_key, header, cohort_id, meeting_id)).decrypt(_NONCE, line[HEADER_LEN:], _ad(header, cohort_id, meeting_id))
    except InvalidTag as exc:
        raise InvalidEnvelope("anonymous line does not authenticate") from exc
    (n,) = struct.unpack_from(">H", frame)
    if n > FRAME_LEN - 2 or frame[2 + n :].count(0) != FRAME_LEN - 2 - n:
        raise InvalidEnvelope("anonymous line framed wrongly")
    return frame[2 : 2 + n]


def slot_name(epoch_key: bytes, cohort_id: str, meeting_id: str, slot: int) -> str:
    """Where line ``slot`` of a meeting's round lives under the cohort's replica location (32 hex digits)."""
    k = HKDF(hashes.SHA256(), 32, None, LABEL_SLOT + _context(cohort_id, meeting_id)).derive(epoch_key)
    return hmac.new(k, struct.pack(">I", slot), hashlib.sha256).hexdigest()[:32]


def _line_key(epoch_key: bytes, header: bytes, cohort_id: str, meeting_id: str) -> bytes:
    salt = header[HEADER_LEN - SALT_LEN :]
    return HKDF(hashes.SHA256(), 32, salt, LABEL_LINE + _context(cohort_id, meeting_id)).derive(epoch_key)


def _ad(header: bytes, cohort_id: str, meeting_id: str) -> bytes:
    return LABEL_LINE + _context(cohort_id, meeting_id) + header
