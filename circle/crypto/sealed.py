"""Sealing local files with a key from the keystore (snapshots): one verb each way.

A sealed file is ``magic | nonce (12) | ChaCha20-Poly1305(key, nonce, data,
ad = label | context)``. The label names the kind of file and the context
binds it to one thing (a cohort id), so a sealed file cannot be swapped for
another. Every failure raises :class:`InvalidEnvelope`.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from circle.errors import InvalidEnvelope

NONCE_LEN = 12
TAG_LEN = 16


def seal(key: bytes, magic: bytes, label: bytes, context: bytes, data: bytes) -> bytes:
    """Seal ``data`` for this device only."""
    nonce = os.urandom(NONCE_LEN)
    return magic + nonce + ChaCha20Poly1305(key).encrypt(nonce, data, label + context)


def open_sealed(key: bytes, magic: bytes, label: bytes, context: bytes, blob: bytes) -> bytes:
    """Open what :func:`seal` sealed with the same key, magic, label and context."""
    head = len(magic) + NONCE_LEN
    if len(blob) < head + TAG_LEN or blob[: len(magic)] != magic:
        raise InvalidEnvelope("sealed file truncated or of another kind")
    try:
        return ChaCha20Poly1305(key).decrypt(blob[len(magic) : head], blob[head:], label + context)
    except InvalidTag as exc:
        raise InvalidEnvelope("sealed file does not authenticate") from exc
