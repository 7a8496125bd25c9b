"""Identities: an Ed25519 signing key and a hybrid ML-KEM-768 + X25519 HPKE key.

An identity id is random (16 bytes) and says nothing about the person. The
fingerprint covers every public key and is shown as eight groups of five
digits (about 132 bits), to be compared aloud in the room.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from circle.errors import InvalidEnvelope

ID_LEN = 16
MLKEM_PK_LEN = 1184
PUBLIC_LEN = ID_LEN + 32 + MLKEM_PK_LEN + 32
READING_LEN = MLKEM_PK_LEN + 32  # a device's own reading keys (ML-KEM-768 and X25519 public keys)
_FP_LABEL = b"circle/v1/fingerprint"
_WRAP_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


@dataclass(frozen=True)
class PublicIdentity:
    """What others know of an identity: its id and public keys."""

    id: bytes
    sign_pk: bytes
    mlkem_pk: bytes
    x25519_pk: bytes

    def to_bytes(self) -> bytes:
        return self.id + self.sign_pk + self.mlkem_pk + self.x25519_pk

    @classmethod
    def from_bytes(cls, raw: bytes) -> PublicIdentity:
        if len(raw) != PUBLIC_LEN:
            raise InvalidEnvelope("public identity has the wrong length")
        a, b, c = ID_LEN, ID_LEN + 32, ID_LEN + 32 + MLKEM_PK_LEN
        return cls(raw[:a], raw[a:b], raw[b:c], raw[c:])

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.to_bytes())

    @property
    def reading(self) -> bytes:
        """The public half of the keys that open what is wrapped to this identity (ML-KEM-768 and X25519)."""
        return self.mlkem_pk + self.x25519_pk

    def with_reading(self, reading: bytes) -> PublicIdentity:
        """This identity with another device's reading keys: wraps to it open on that device only."""
        if len(reading) != READING_LEN:
            raise InvalidEnvelope("a device's reading key has the wrong length")
        return PublicIdentity(self.id, self.sign_pk, reading[:MLKEM_PK_LEN], reading[MLKEM_PK_LEN:])

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.sign_pk)

    def wrap(self, secret: bytes, info: bytes) -> bytes:
        """Encrypt ``secret`` to this identity with hybrid post-quantum HPKE."""
        pk = hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(self.mlkem_pk),
            x25519.X25519PublicKey.from_public_bytes(self.x25519_pk),
        )
        return _WRAP_SUITE.encrypt(secret, pk, info=info)


def fingerprint(data: bytes) -> str:
    """Eight groups of five digits over a SHA-256 of ``data`` (about 132 bits)."""
    n = int.from_bytes(hashlib.sha256(_FP_LABEL + data).digest()[:20], "big") % 10**40
    digits = f"{n:040d}"
    return " ".join(digits[i : i + 5] for i in range(0, 40, 5))


@dataclass(frozen=True)
class Identity:
    """A person's secret keys on this device (held only inside the keystore)."""

    id: bytes
    sign_seed: bytes  # 32-byte Ed25519 private key
    mlkem_seed: bytes  # 64-byte ML-KEM-768 seed
    x25519_sk: bytes  # 32-byte X25519 private key

    @classmethod
    def generate(cls) -> Identity:
        return cls(
            id=os.urandom(ID_LEN),
            sign_seed=Ed25519PrivateKey.generate().private_bytes_raw(),
            mlkem_seed=mlkem.MLKEM768PrivateKey.generate().private_bytes_raw(),
            x25519_sk=x25519.X25519PrivateKey.generate().private_bytes_raw(),
        )

    def new_reading(self) -> Identity:
        """The same identity (id, signing key) with new reading keys: what another device of it holds."""
        fresh = Identity.generate()
        return Identity(self.id, self.sign_seed, fresh.mlkem_seed, fresh.x25519_sk)

    def signer(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.sign_seed)

    def public(self) -> PublicIdentity:
        return PublicIdentity(
            id=self.id,
            sign_pk=self.signer().public_key().public_bytes_raw(),
            mlkem_pk=mlkem.MLKEM768PrivateKey.from_seed_bytes(self.mlkem_seed).public_key().public_bytes_raw(),
            x25519_pk=x25519.X25519PrivateKey.from_private_bytes(self.x25519_sk).public_key().public_bytes_raw(),
        )

    def unwrap(self, blob: bytes, info: bytes) -> bytes:
        """Open a secret wrapped to this identity; InvalidEnvelope if it is not ours."""
        sk = hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self.mlkem_seed),
            x25519.X25519PrivateKey.from_private_bytes(self.x25519_sk),
        )
        try:
            return _WRAP_SUITE.decrypt(blob, sk, info=info)
        except Exception as exc:  # the library raises several types; one for us
            raise InvalidEnvelope("wrapped key does not open with this identity") from exc
