"""The recovery code and the recovery kit: a way back from a lost laptop or a forgotten passphrase.

In the spirit of Keybase's paper keys. At ``init`` an identity gets a
recovery code: 160 random bits, written as ``circle-recovery-`` and 32 base32
letters in groups of four, shown once for the person to write on paper. A
recovery kit is the keystore's document (identity keys, every cohort's keys,
journals and replica locations) sealed with a key derived from that code
(HKDF-SHA256, ChaCha20-Poly1305, the identity id as associated data). The
file alone opens for nobody; the code alone holds nothing. With both, a new
laptop gets the identity back and restores its journals from the replicas.

The code is random, never chosen by a person, so no slow KDF is needed: 160
bits cannot be guessed offline.

Layout (docs/FORMAT.md, "Recovery kit"):
``"CRCLRCV1" || identity id (16) || nonce (12) || ChaCha20-Poly1305(key, nonce, JSON, ad = "circle/v1/recovery-kit" || identity id)``.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from circle.crypto import sealed
from circle.errors import InvalidEnvelope

MAGIC = b"CRCLRCV1"
LABEL = b"circle/v1/recovery-kit"
PREFIX = "circle-recovery-"
CODE_BYTES = 20
ID_LEN = 16
VERSION = 1


def new_code() -> bytes:
    """A new recovery secret (160 random bits)."""
    return os.urandom(CODE_BYTES)


def format_code(secret: bytes) -> str:
    """The code as a person writes it down: ``circle-recovery-abcd-efgh-…`` (8 groups of 4 letters and digits)."""
    letters = base64.b32encode(secret).decode().lower().rstrip("=")
    return PREFIX + "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def parse_code(text: str) -> bytes:
    """The secret of a code as typed (spaces, dashes and case do not matter; the prefix may be left out).

    Raises:
        InvalidEnvelope: it is not a recovery code (wrong letters or length).
    """
    t = "".join(text.split()).lower().replace("-", "")
    bare = PREFIX.replace("-", "")
    if t.startswith(bare):
        t = t[len(bare) :]
    t = t.upper()
    try:
        secret = base64.b32decode(t + "=" * (-len(t) % 8))
    except ValueError:
        raise InvalidEnvelope("that is not a recovery code") from None
    if len(secret) != CODE_BYTES:
        raise InvalidEnvelope("that is not a recovery code")
    return secret


def _key(secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=LABEL).derive(secret)


def seal_kit(secret: bytes, identity_id: bytes, document: dict[str, Any]) -> bytes:
    """The recovery kit of an identity: its keystore document sealed under the code's key."""
    if len(identity_id) != ID_LEN:
        raise ValueError("an identity id is 16 bytes")
    data = json.dumps({"v": VERSION, "document": document}, separators=(",", ":"), ensure_ascii=False).encode()
    return MAGIC + identity_id + sealed.seal(_key(secret), b"", LABEL, identity_id, data)


def kit_identity(blob: bytes) -> bytes:
    """The identity id a kit says it holds (in the clear, so the right code can be asked for).

    Raises:
        InvalidEnvelope: it is not a recovery kit.
    """
    if len(blob) < len(MAGIC) + ID_LEN + sealed.NONCE_LEN + sealed.TAG_LEN or blob[: len(MAGIC)] != MAGIC:
        raise InvalidEnvelope("that file is not a circle recovery kit")
    return blob[len(MAGIC) : len(MAGIC) + ID_LEN]


def open_kit(secret: bytes, blob: bytes) -> tuple[bytes, dict[str, Any]]:
    """The identity id and keystore document in a kit.

    Raises:
        InvalidEnvelope: not a kit, damaged, or another code's.
    """
    ident = kit_identity(blob)
    try:
        doc = json.loads(sealed.open_sealed(_key(secret), b"", LABEL, ident, blob[len(MAGIC) + ID_LEN :]))
    except InvalidEnvelope:
        raise InvalidEnvelope("the recovery code does not open this kit (another identity's, or the kit is damaged)") from None
    except ValueError:
        raise InvalidEnvelope("the recovery kit is damaged") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION or not isinstance(doc.get("document"), dict):
        raise InvalidEnvelope("the recovery kit is of another version")
    document = doc["document"]
    if document.get("identity", {}).get("id") != ident.hex():
        raise InvalidEnvelope("the recovery kit does not hold the identity it names")
    return ident, document
